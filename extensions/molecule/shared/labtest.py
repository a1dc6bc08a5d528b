"""Helpers for the scenarios' testinfra tests: run ansible and ansible-playbook
against the lab exactly as an operator would, and read the lab's state."""

import json
import os
import subprocess

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


def release_of(node, service):
    """Which release a node's service is linked to ('2026.1'), or None."""
    try:
        return os.path.basename(os.readlink(os.path.join(LAB_ROOT, 'nodes', node, 'active', service)))
    except OSError:
        return None


def probe_result(name):
    with open(os.path.join(RESULTS, name + '.json')) as handle:
        return json.load(handle)


def sql(query):
    """Run a query on the lab's MariaDB as root; rows as lists of strings."""
    proc = subprocess.run(['mariadb', '-N', '-B', '-e', query], capture_output=True, text=True, check=True)
    return [line.split('\t') for line in proc.stdout.splitlines()]
