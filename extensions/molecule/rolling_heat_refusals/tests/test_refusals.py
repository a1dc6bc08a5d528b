"""playbooks/rolling_heat.yml refuses bad input in its pre-flight and changes nothing."""

import json
import os
import socket
import sys
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

SERVICES = ['osl-%s-%s' % (n, s) for n in ('node1', 'node2', 'node3') for s in ('heat-api', 'heat-engine')]


def haproxy_states():
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(os.path.join(labtest.LAB_ROOT, 'haproxy', 'admin.sock'))
    sock.sendall(b'show servers state heat_api\n')
    data = b''
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...: the
    # admin state is what an upgrade sets; the operational one follows health checks.
    return sorted((line.split()[3], line.split()[6]) for line in data.decode().splitlines()[2:] if line.strip())


def vhosts():
    req = urllib.request.Request('http://127.0.0.1:15672/api/vhosts?columns=name')
    req.add_header('Authorization', 'Basic Z3Vlc3Q6Z3Vlc3Q=')
    with urllib.request.urlopen(req, timeout=10) as resp:
        return sorted(v['name'] for v in json.load(resp))


def backups():
    path = os.path.join(labtest.LAB_ROOT, 'backups')
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def snapshot():
    """Everything an upgrade would change."""
    nodes = {}
    for node in ('node1', 'node2', 'node3'):
        prefix = os.path.join(labtest.LAB_ROOT, 'nodes', node)
        nodes[node] = {
            'releases': sorted(os.listdir(os.path.join(prefix, 'releases'))),
            'links': {s: labtest.release_of(node, s) for s in ('heat-api', 'heat-engine')},
        }
    return {
        'pids': {s: labtest.pid_of(s) for s in SERVICES},
        'nodes': nodes,
        'schema': labtest.sql('SELECT version_num FROM heat.alembic_version'),
        'vhosts': vhosts(),
        'haproxy': haproxy_states(),
        'backups': backups(),
    }


REFUSALS = {
    'skip_level': (['-e', 'upgrade_to_release=2026.2'],
                   'Refusing to upgrade: 2025.2 to 2026.2 skips 1 releases'),
    'unreachable_rabbitmq_api': (['-e', 'heat_rabbit_api_url=http://127.0.0.1:1'],
                                 'The RabbitMQ management API at http://127.0.0.1:1 did not answer'),
    'unknown_lb_backend': (['-e', 'heat_lb_backend=heat_api_v2'],
                           'heat_api_v2'),
    'unknown_lb_server': (['-e', 'heat_lb_server=ghost'],
                          'ghost'),
    'unwritable_backup_path': (['-e', 'heat_rolling_backup_dir=/proc/osl-backups'],
                               '/proc/osl-backups'),
    'single_heat_node': (['--limit', 'node1'],
                         'A rolling upgrade needs at least 2 heat nodes'),
}


@pytest.mark.parametrize('case', sorted(REFUSALS))
def test_refused_in_preflight_with_nothing_changed(case):
    args, message = REFUSALS[case]
    before = snapshot()
    # The case's own -e comes last and wins.
    rc, out = labtest.playbook('playbooks/rolling_heat.yml',
                               '-e', 'heat_rolling_backup_dir=%s/backups' % labtest.LAB_ROOT, *args)
    assert rc != 0, out[-3000:]
    assert message in out, out[-3000:]
    # The run stopped in the pre-flight play: no later phase started.
    assert 'PLAY [Install N+1 beside N' not in out, out[-3000:]
    assert snapshot() == before


def test_engines_that_drop_messages_at_stop_are_refused():
    """Old engines without oslo.messaging's queue manager lose messages when one stops."""
    conf = os.path.join(labtest.LAB_ROOT, 'nodes', 'node2', 'releases', '2025.2', 'etc', 'heat', 'heat.conf')
    with open(conf) as f:
        original = f.read()
    assert 'use_queue_manager = true\n' in original
    before = snapshot()
    try:
        with open(conf, 'w') as f:
            f.write(original.replace('use_queue_manager = true\n', ''))
        rc, out = labtest.playbook('playbooks/rolling_heat.yml',
                                   '-e', 'heat_rolling_backup_dir=%s/backups' % labtest.LAB_ROOT)
    finally:
        with open(conf, 'w') as f:
            f.write(original)
    assert rc != 0, out[-3000:]
    assert 'node2: %s does not set [oslo_messaging_rabbit] use_queue_manager = true' % conf in out, out[-3000:]
    # Only the node whose configuration lacks it is named.
    assert out.count('does not set [oslo_messaging_rabbit] use_queue_manager') == 1, out[-3000:]
    assert 'PLAY [Install N+1 beside N' not in out, out[-3000:]
    assert snapshot() == before


def controller_snapshot():
    """What a service-by-service run would change on the controller."""
    units = [(n, p, u) for s in labtest.SERVICES if s != 'heat' for n, p, u in labtest.SERVICE_UNITS[s]]
    return {
        'links': {u: labtest.release_of(n, u, p) for n, p, u in units},
        'pids': {u: labtest.pid_of('osl-%s-%s' % (n, u)) for n, p, u in units},
        'keystone': labtest.sql('SELECT version_num FROM keystone.alembic_version'),
        'backups': backups(),
    }


SBS_REFUSALS = {
    # The lab runs from virtualenvs: no distribution package of keystone is
    # installed on this machine, and the package path must say so before any
    # service is touched (the packages are read with dpkg-query, for real).
    'packages_not_installed': (['-e', 'upgrade_install_method=packages'],
                               'None of the packages of keystone is installed here (keystone)'),
    'unknown_install_method': (['-e', 'upgrade_install_method=rpm'],
                               'service_upgrade_install'),
}


@pytest.mark.parametrize('case', sorted(SBS_REFUSALS))
def test_service_by_service_refused_in_preflight_with_nothing_changed(case):
    args, message = SBS_REFUSALS[case]
    before, heat_before = controller_snapshot(), snapshot()
    rc, out = labtest.playbook('playbooks/service_by_service.yml',
                               '-e', 'upgrade_from_release=2025.2', '-e', 'upgrade_to_release=2026.1',
                               '-e', 'upgrade_backup_dir=%s/backups' % labtest.LAB_ROOT, *args)
    assert rc != 0, out[-3000:]
    assert message in out, out[-3000:]
    assert 'PLAY [Upgrade one service at a time' not in out, out[-3000:]
    assert controller_snapshot() == before
    assert snapshot() == heat_before
