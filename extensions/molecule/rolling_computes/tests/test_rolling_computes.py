"""What the rolling compute upgrade 2025.2 -> 2026.1 left behind, what the instance probe saw, and what each
failed run left for the operator's re-run."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

FROM, TO = '2025.2', '2026.1'
COMPUTES = ('cmp1', 'cmp2', 'cmp3')
INSTANCES_PER_HOST = 2
AUTH = {'auth_url': labtest.KEYSTONE, 'username': 'admin', 'password': labtest.ADMIN_PASSWORD,
        'project_name': 'admin', 'user_domain_name': 'Default', 'project_domain_name': 'Default'}
NOVA_VENV = os.path.join(labtest.LAB_ROOT, 'nodes', 'ctl1', 'nova', 'releases', '%s', 'venv', 'bin', 'python')


def result(name):
    with open(os.path.join(labtest.RESULTS, name + '.json')) as handle:
        return json.load(handle)


def service_version(release):
    """SERVICE_VERSION of the nova code of `release`."""
    out = subprocess.run([NOVA_VENV % release, '-c', 'from nova.objects import service; print(service.SERVICE_VERSION)'],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def compute_info(host=None):
    args = {'auth': AUTH}
    if host:
        args['host'] = host
    rc, info, raw = labtest.ansible('ctl1', 'openstack_ops.upgrade.nova_compute_info', args)
    assert rc == 0, raw
    return info


def test_every_compute_and_controller_runs_the_new_release(host):
    labtest.assert_services_on(host.run, TO, services=('nova',))
    for node in COMPUTES:
        assert labtest.release_of(node, 'nova-compute', 'nova') == TO, node
        assert host.run('service osl-%s-nova-compute status' % node).rc == 0, node


def test_every_compute_is_up_and_enabled_with_its_instances():
    services = compute_info()['services']
    assert sorted(s['host'] for s in services) == list(COMPUTES)
    assert all(s['state'] == 'up' and s['status'] == 'enabled' for s in services), services
    total = 0
    for node in COMPUTES:
        info = compute_info(node)
        assert all(i['status'] == 'ACTIVE' for i in info['instances']), info['instances']
        total += len(info['instances'])
    assert total == INSTANCES_PER_HOST * len(COMPUTES)


def test_every_nova_service_reports_the_new_version_and_the_pin_has_risen():
    new, old = service_version(TO), service_version(FROM)
    assert new > old
    rows = labtest.sql("SELECT host, `binary`, version FROM nova.services WHERE deleted = 0")
    by_binary = {}
    for host_name, binary, version in rows:
        by_binary.setdefault(binary, set()).add(int(version))
    assert by_binary['nova-compute'] == {new}, rows
    assert by_binary['nova-conductor'] == {new}, rows
    # The window's pin: with [upgrade_levels] compute = auto the controllers of 2026.1 chose the RPC version of
    # the 2025.2 computes; the finish removed the setting and restarted them, so they speak 2026.1's own.
    conf = os.path.join(labtest.LAB_ROOT, 'nodes', 'ctl1', 'nova', 'releases', TO, 'etc', 'nova', 'nova.conf')
    with open(conf) as handle:
        text = handle.read()
    assert 'compute = auto' not in text
    log = os.path.join(labtest.LAB_ROOT, 'nodes', 'ctl1', 'nova', 'log', 'nova-conductor.log')
    with open(log) as handle:
        pinned = [line for line in handle if 'Automatically selected compute RPC version' in line]
    assert any('from minimum service version %d' % old in line for line in pinned), pinned[-5:]
    versions = compute_versions_after_finish()
    assert versions['min_compute_version'] == new and versions['mixed'] is False


def compute_versions_after_finish():
    conf = os.path.join(labtest.LAB_ROOT, 'nodes', 'ctl1', 'nova', 'active', 'nova-conductor', 'etc', 'nova',
                        'nova.conf')
    rc, out, raw = labtest.ansible('ctl1', 'openstack_ops.upgrade.nova_service_versions', {'config_file': conf})
    assert rc == 0, raw
    return out['rpc_pin']


def test_schemas_at_head_and_status_checks_pass():
    labtest.assert_schemas_at_head(TO, services=('nova', 'placement'))
    for service in ('nova', 'placement'):
        result = labtest.status_check(service, TO)
        assert result['failed_checks'] == [] and result['results'], result
        # nova warns that the instances have no hw_machine_type, which only matters to libvirt hosts.
        assert all(c['check'] == 'hw_machine_type unset' for c in result['warning_checks']), result


def test_the_probe_saw_every_instance_running_throughout_and_none_lost():
    probe = result('rc-probe')
    assert probe['samples'] >= 100, probe['samples']
    assert probe['instances_at_start'] == INSTANCES_PER_HOST * len(COMPUTES)
    assert probe['instances_at_end'] == probe['instances_at_start']
    assert probe['lost'] == []
    not_running = {i['name']: i['not_running'][:3] for i in probe['instances'].values() if i['not_running']}
    assert probe['not_running_samples'] == 0, not_running
    # Every instance moved at least once (every host was emptied), and nova showed MIGRATING while it did.
    for instance in probe['instances'].values():
        assert len(instance['hosts']) >= 2, instance
        assert instance['hosts'][-1]['host'] in COMPUTES
    assert probe['host_moves'] >= probe['instances_at_start']


def test_the_second_run_moved_nothing():
    probe = result('rc-probe.rerun')
    assert probe['lost'] == [] and probe['not_running_samples'] == 0
    assert probe['host_moves'] == 0
    assert probe['failed_samples'] == 0, probe['failed_windows']


def output(name):
    with open(os.path.join(labtest.RESULTS, name + '.log')) as handle:
        return handle.read()


def _hosts(snapshot):
    return {h['host']: h for h in snapshot['hosts']}


def test_run1_not_enough_capacity_refused_before_anything_changed():
    snap, out = result('rc-run1'), output('rc-run1')
    assert 'cannot be emptied now' in out and 'MB of RAM needed' in out, out
    assert snap['controllers'] == FROM
    for node, h in _hosts(snap).items():
        assert h['release'].endswith(FROM) and h['status'] == 'enabled', h
        assert len(h['instances']) == INSTANCES_PER_HOST and all(i['status'] == 'ACTIVE' for i in h['instances'])


def test_run2_failed_migration_left_cmp1_disabled_with_its_instances_named():
    snap, out = result('rc-run2'), output('rc-run2')
    assert 'Could not empty compute host cmp1: live migration failed for' in out, out
    hosts = _hosts(snap)
    assert snap['controllers'] == TO
    assert hosts['cmp1']['status'] == 'disabled' and hosts['cmp1']['disabled_reason'] == 'upgrade to ' + TO
    assert hosts['cmp1']['release'].endswith(FROM)
    # Nothing moved, so both are still there, running, and named in the error.
    assert len(hosts['cmp1']['instances']) == INSTANCES_PER_HOST
    for instance in hosts['cmp1']['instances']:
        assert instance['status'] == 'ACTIVE'
        assert instance['name'] in out


def test_run3_compute_not_back_left_cmp1_disabled_and_empty():
    snap, out = result('rc-run3'), output('rc-run3')
    assert 'cmp1 did not come back on %s within 40 s' % TO in out, out
    hosts = _hosts(snap)
    assert hosts['cmp1']['release'].endswith(TO)
    assert hosts['cmp1']['status'] == 'disabled' and hosts['cmp1']['instances'] == []
    others = hosts['cmp2']['instances'] + hosts['cmp3']['instances']
    assert len(others) == INSTANCES_PER_HOST * len(COMPUTES)
    assert all(i['status'] == 'ACTIVE' for i in others)
