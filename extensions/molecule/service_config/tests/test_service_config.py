"""openstack_service and openstack_config on the lab's real processes and files."""

import hashlib
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://node1']

NODES = ['node1', 'node2', 'node3']


def conf(node):
    return '%s/nodes/%s/active/heat-engine/etc/heat/heat.conf' % (labtest.LAB_ROOT, node)


def fingerprint(path):
    with open(path, 'rb') as handle:
        data = handle.read()
    stat = os.stat(path)
    return hashlib.sha256(data).hexdigest(), stat.st_mtime_ns, stat.st_ino


def test_converge_set_the_options_and_kept_the_rest(host):
    for node in NODES:
        text = host.file(conf(node)).content_string
        assert 'max_stacks_per_tenant = 512' in text
        assert 'heartbeat_timeout_threshold = 60' in text
        assert '[paste_deploy]' in text and 'flavor = noauth' in text
        assert host.file(conf(node)).mode == 0o640


def test_every_heat_service_runs(host):
    for node in NODES:
        for service in ('heat-api', 'heat-engine'):
            name = 'osl-%s-%s' % (node, service)
            assert host.run('service %s status' % name).rc == 0, name
            assert labtest.pid_of(name)


def test_check_mode_config_change_touches_nothing_and_shows_a_diff():
    before = fingerprint(conf('node2'))
    rc, result, raw = labtest.ansible('node2', 'openstack_ops.upgrade.openstack_config',
                                      {'path': conf('node2'), 'section': 'DEFAULT', 'option': 'debug',
                                       'value': 'true'}, check=True, diff=True)
    assert rc == 0, raw
    assert result['changed'] is True
    assert 'debug = true' in raw
    assert fingerprint(conf('node2')) == before


def test_diff_masks_the_rabbitmq_password():
    secret_now = 'heat-lab-rabbit-pw'
    secret_new = 'n3w-Secret-value'
    url = 'rabbit://heat:%s@127.0.0.1:5672/heat-2025.2' % secret_new
    rc, result, raw = labtest.ansible('node1', 'openstack_ops.upgrade.openstack_config',
                                      {'path': conf('node1'), 'section': 'DEFAULT', 'option': 'transport_url',
                                       'value': url}, check=True, diff=True)
    assert rc == 0, raw
    assert result['changed'] is True
    assert secret_now not in raw and secret_new not in raw
    assert 'rabbit://heat:********@127.0.0.1:5672/heat-2025.2' in raw


def test_check_mode_stop_leaves_the_engine_running():
    pid = labtest.pid_of('osl-node2-heat-engine')
    rc, result, raw = labtest.ansible('node2', 'openstack_ops.upgrade.openstack_service',
                                      {'name': 'osl-node2-heat-engine', 'state': 'stopped'}, check=True)
    assert rc == 0, raw
    assert result['changed'] is True
    assert result['services'][0]['before'] == 'running'
    assert labtest.pid_of('osl-node2-heat-engine') == pid


def test_stop_by_glob_waits_until_the_processes_are_gone_then_start_again():
    before = {s: labtest.pid_of(s) for s in ('osl-node3-heat-api', 'osl-node3-heat-engine')}
    rc, result, raw = labtest.ansible('node3', 'openstack_ops.upgrade.openstack_service',
                                      {'name': 'osl-node3-heat-*', 'state': 'stopped', 'order': 'reverse',
                                       'graceful_timeout': 180})
    assert rc == 0, raw
    assert [s['name'] for s in result['services']] == ['osl-node3-heat-engine', 'osl-node3-heat-api']
    assert all(s['before'] == 'running' and s['after'] == 'stopped' for s in result['services'])
    for pid in before.values():
        assert not os.path.exists('/proc/%d' % pid)

    rc, result, raw = labtest.ansible('node3', 'openstack_ops.upgrade.openstack_service',
                                      {'name': 'osl-node3-heat-*', 'state': 'started'})
    assert rc == 0, raw
    assert result['changed'] is True
    after = {s: labtest.pid_of(s) for s in before}
    assert all(after.values()) and set(after.values()).isdisjoint(before.values())
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen('http://127.0.0.1:18003/healthcheck', timeout=5) as resp:
                assert resp.status == 200
                break
        except OSError:
            assert time.monotonic() < deadline, 'heat-api of node3 did not come back'
            time.sleep(1)

    rc, result, raw = labtest.ansible('node3', 'openstack_ops.upgrade.openstack_service',
                                      {'name': 'osl-node3-heat-*', 'state': 'started'})
    assert rc == 0 and result['changed'] is False, raw


def test_bad_input_fails_clearly_before_touching_anything():
    rc, result, raw = labtest.ansible('node1', 'openstack_ops.upgrade.openstack_service',
                                      {'name': 'osl-node1-nova-*', 'state': 'stopped'})
    assert rc != 0
    assert 'osl-node1-nova-*' in result.get('msg', raw)
    assert labtest.pid_of('osl-node1-heat-engine')

    rc, result, raw = labtest.ansible('node1', 'openstack_ops.upgrade.openstack_config',
                                      {'path': '/srv/openstack-lab/nodes/node1/no/such.conf',
                                       'option': 'debug', 'value': 'true'})
    assert rc != 0
    assert 'such.conf' in result.get('msg', raw)
    assert not os.path.exists('/srv/openstack-lab/nodes/node1/no')
