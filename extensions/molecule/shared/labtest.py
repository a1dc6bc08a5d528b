"""Helpers for the scenarios' testinfra tests: run ansible and ansible-playbook
against the lab exactly as an operator would, and read the lab's state."""

import json
import os
import subprocess
import urllib.error
import urllib.request

PROJECT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
INVENTORY = os.path.join(PROJECT, 'inventories', 'lab', 'hosts.yml')
LAB_ROOT = '/srv/openstack-lab'
RESULTS = os.path.join(LAB_ROOT, 'results')


def _env(extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': os.path.join(PROJECT, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(PROJECT, '.collections'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
    })
    env.update(extra or {})
    return env


def _bin(name):
    venv_bin = os.path.join(PROJECT, '.venv', 'bin', name)
    return venv_bin if os.path.exists(venv_bin) else name


def ansible(host, module, args, check=False, diff=False):
    """Run one module on one lab host; returns (rc, result dict, raw output)."""
    argv = [_bin('ansible'), '-i', INVENTORY, host, '-m', module, '-a', json.dumps(args)]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    proc = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=600, check=False,
                          env=_env({'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'}))
    raw = proc.stdout + proc.stderr
    # The ad-hoc output is "<host> | CHANGED => {json}", after any diff.
    result = {}
    marker = raw.rfind('%s | ' % host)
    if marker >= 0:
        start = raw.find('{', marker)
        try:
            result = json.JSONDecoder().raw_decode(raw[start:])[0]
        except ValueError:
            result = {}
    return proc.returncode, result, raw


def playbook(path, *args, env=None, timeout=1800):
    """Run a playbook of the checkout; returns (rc, output)."""
    argv = [_bin('ansible-playbook'), '-i', INVENTORY, os.path.join(PROJECT, path)] + list(args)
    proc = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, env=_env(env),
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


def pid_of(service):
    """The pid in a lab service's pid file, or None."""
    node, name = service[len('osl-'):].split('-', 1)
    path = os.path.join(LAB_ROOT, 'nodes', node, 'run', name + '.pid')
    try:
        with open(path) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return pid if os.path.exists('/proc/%d' % pid) else None


def release_of(node, service, prefix=''):
    """Which release a node's service is linked to ('2026.1'), or None. `prefix`: the service's own
    directory under the node (the controller's glance, placement, nova, cinder)."""
    try:
        return os.path.basename(os.readlink(os.path.join(LAB_ROOT, 'nodes', node, prefix, 'active', service)))
    except OSError:
        return None


def probe_result(name):
    with open(os.path.join(RESULTS, name + '.json')) as handle:
        return json.load(handle)


def sql(query):
    """Run a query on the lab's MariaDB as root; rows as lists of strings."""
    proc = subprocess.run(['mariadb', '-N', '-B', '-e', query], capture_output=True, text=True, check=True)
    return [line.split('\t') for line in proc.stdout.splitlines()]


KEYSTONE = 'http://127.0.0.1:5000/v3'
HEAT = 'http://127.0.0.1:8004/v1/admin'
# The controller's services (inventories/lab/group_vars/all.yml lab_service_ports).
GLANCE = 'http://127.0.0.1:19292'
PLACEMENT = 'http://127.0.0.1:18778'
NOVA = 'http://127.0.0.1:18774'
CINDER = 'http://127.0.0.1:18776'
ADMIN_PASSWORD = 'keystone-lab-admin-pw'


def http(method, url, body=None, headers=None):
    """One request; returns (status, headers (case-insensitive), parsed JSON or None). Never raises for HTTP
    errors."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(
        {'Accept': 'application/json'}, **({'Content-Type': 'application/json'} if data else {}), **(headers or {})))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, None


def keystone_token(user='admin', password=None, project='admin'):
    # The admin password is looked up here, not a default argument: a failing
    # test's traceback shows the arguments.
    auth = {'identity': {'methods': ['password'], 'password': {'user': {
        'name': user, 'domain': {'id': 'default'}, 'password': password or ADMIN_PASSWORD}}}}
    if project:
        auth['scope'] = {'project': {'name': project, 'domain': {'id': 'default'}}}
    status, headers, dummy = http('POST', KEYSTONE + '/auth/tokens', {'auth': auth})
    assert status == 201, 'keystone answered %s to a token request for %s' % (status, user)
    return headers.get('X-Subject-Token')


def kept_data_is_there(name):
    """The project, user (who can still log in) and stack that data_create.yml made as `name`."""
    token = keystone_token()
    status, dummy, body = http('GET', KEYSTONE + '/projects?name=' + name, headers={'X-Auth-Token': token})
    assert status == 200 and [p['name'] for p in body['projects']] == [name], (status, body)
    status, dummy, body = http('GET', KEYSTONE + '/users?name=%s-user' % name, headers={'X-Auth-Token': token})
    assert status == 200 and len(body['users']) == 1, (status, body)
    keystone_token(user=name + '-user', password=name + '-pw', project=None)
    headers = {'X-Auth-Token': token}
    status, dummy, body = http('GET', GLANCE + '/v2/images?name=%s-image' % name, headers=headers)
    assert status == 200 and len(body['images']) == 1, (status, body)
    image = body['images'][0]
    assert image['status'] == 'active' and image['size'] == len(b'kept across upgrades\n'), image
    status, dummy, body = http('GET', CINDER + '/v3/%s/types' % keystone_project_id(token), headers=headers)
    assert status == 200 and [t['name'] for t in body['volume_types'] if t['name'] == name + '-type'], (status, body)
    status, dummy, body = http('GET', NOVA + '/v2.1/flavors', headers=headers)
    assert status == 200 and [f['name'] for f in body['flavors'] if f['name'] == name + '-flavor'], (status, body)
    status, dummy, body = http('GET', HEAT + '/stacks/%s-stack' % name)
    assert status == 200, status
    assert body['stack']['stack_status'] == 'CREATE_COMPLETE', body['stack']['stack_status']


def keystone_project_id(token):
    """The id of the project `token` is scoped to."""
    status, dummy, body = http('GET', KEYSTONE + '/auth/tokens', headers={'X-Auth-Token': token, 'X-Subject-Token': token})
    assert status == 200, status
    return body['token']['project']['id']


PROBED = ('keystone', 'glance', 'placement', 'nova', 'cinder')


def outage_windows(result, service):
    """Downtime windows [start, end] the probe saw on `service`'s endpoints: the labels starting with
    "<service> " (keystone, glance, placement, nova, cinder), or for 'heat' every other label."""
    windows = []
    for label, info in result['downtime'].items():
        owner = label.split(' ', 1)[0] if label.split(' ', 1)[0] in PROBED else 'heat'
        if owner == service:
            windows.extend(info['windows'])
    return sorted(windows)


def _service_module(service, release, module, extra=None, check=False):
    node, prefix, conf = SERVICE_CONFS[service]
    base = '%s/nodes/%s/%sreleases/%s' % (LAB_ROOT, node, prefix + '/' if prefix else '', release)
    args = {'service': service, 'venv': base + '/venv', 'config_file': ['%s/etc/%s' % (base, conf)]}
    args.update(extra or {})
    return ansible(node, module, args, check=check)


def schema_check(service, release):
    """db_sync phase=check of `service` with the code and configuration of `release` (check mode)."""
    rc, result, raw = _service_module(service, release, 'openstack_ops.upgrade.db_sync',
                                      {'phase': 'check', 'release': release}, check=True)
    assert rc == 0, raw
    return result


def status_check(service, release):
    """upgrade_check of `service` with the code and configuration of `release`."""
    rc, result, raw = _service_module(service, release, 'openstack_ops.upgrade.upgrade_check')
    assert rc == 0, raw
    return result


# Every unit of the lab's services as (node, prefix under the node, unit),
# and where each service's configuration is read: (node, prefix, file).
HEAT_NODES = ('node1', 'node2', 'node3')
SERVICE_UNITS = {
    'keystone': [('ctl1', '', 'keystone-api')],
    'glance': [('ctl1', 'glance', 'glance-api')],
    'placement': [('ctl1', 'placement', 'placement-api')],
    'nova': [('ctl1', 'nova', u) for u in ('nova-conductor', 'nova-scheduler', 'nova-api')],
    'cinder': [('ctl1', 'cinder', u) for u in ('cinder-scheduler', 'cinder-api')],
    'heat': [(n, '', u) for n in HEAT_NODES for u in ('heat-api', 'heat-engine')],
}
SERVICE_CONFS = {
    'keystone': ('ctl1', '', 'keystone/keystone.conf'),
    'glance': ('ctl1', 'glance', 'glance/glance-api.conf'),
    'placement': ('ctl1', 'placement', 'placement/placement.conf'),
    'nova': ('ctl1', 'nova', 'nova/nova.conf'),
    'cinder': ('ctl1', 'cinder', 'cinder/cinder.conf'),
    'heat': ('node1', '', 'heat/heat.conf'),
}
SERVICES = tuple(SERVICE_UNITS)
DATABASES = ('keystone', 'glance', 'placement', 'nova_api', 'nova_cell0', 'nova', 'cinder', 'heat')


def task_log(scenario):
    """Every task record the task_timer callback wrote for `scenario`'s playbook runs."""
    records = []
    with open(os.path.join(RESULTS, '%s.tasks.jsonl' % scenario)) as handle:
        for line in handle:
            records.extend(json.loads(line)['tasks'])
    return records


def assert_services_on(run, release, services=SERVICES):
    """Every unit of `services` links to `release` and runs (`run`: testinfra's host.run)."""
    for service in services:
        for node, prefix, unit in SERVICE_UNITS[service]:
            assert release_of(node, unit, prefix) == release, (node, unit)
            assert run('service osl-%s-%s status' % (node, unit)).rc == 0, (node, unit)


def assert_schemas_at_head(release, services=SERVICES):
    """The schemas of `services` at the head of `release`'s code."""
    for service in services:
        result = schema_check(service, release)
        assert result['pending'] is False, result
        assert result['state'] == 'up_to_date', result


def assert_status_checks_pass(release, services=SERVICES):
    """<service>-status upgrade check of `release` reports success for every one of `services`."""
    for service in services:
        result = status_check(service, release)
        assert result['status'] == 'success', result
        assert result['results'], result
