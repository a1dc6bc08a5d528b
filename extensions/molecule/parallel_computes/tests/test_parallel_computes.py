"""What the parallel compute upgrade 2025.2 -> 2026.1 left behind, what the instance probe saw in both
deployments, what each failed run left for the operator's re-run, and the old deployment's retirement."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

FROM, TO = '2025.2', '2026.1'
OLD, NEW = 'RegionOne', 'RegionTwo'
COMPUTES = ('cmp1', 'cmp2', 'cmp3')
INSTANCES_PER_HOST = 2
INSTANCES = INSTANCES_PER_HOST * len(COMPUTES)
AUTH = {'auth_url': labtest.KEYSTONE, 'username': 'admin', 'password': labtest.ADMIN_PASSWORD,
        'project_name': 'admin', 'user_domain_name': 'Default', 'project_domain_name': 'Default'}
NEW_NOVA = os.path.join(labtest.LAB_ROOT, 'nodes', 'ctl2', 'nova', 'releases', TO)
OLD_NOVA = os.path.join(labtest.LAB_ROOT, 'nodes', 'ctl1', 'nova', 'releases', FROM)
MARKER = 'openstack_ops_recreated_from'
RABBIT_PASSWORD = 'heat-lab-rabbit-pw'


def result(name):
    with open(os.path.join(labtest.RESULTS, name + '.json')) as handle:
        return json.load(handle)


def output(name):
    """A failed run's whole output, its whitespace runs made single spaces (messages are folded)."""
    with open(os.path.join(labtest.RESULTS, name + '.log')) as handle:
        return ' '.join(handle.read().split())


def service_version(venv):
    out = subprocess.run([venv + '/venv/bin/python', '-c',
                          'from nova.objects import service; print(service.SERVICE_VERSION)'],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def compute_info(region, host=None):
    args = {'auth': AUTH, 'region_name': region}
    if host:
        args.update(host=host, missing_ok=True)
    rc, info, raw = labtest.ansible('ctl1', 'openstack_ops.upgrade.nova_compute_info', args)
    assert rc == 0, raw
    return info


def snapshot(name):
    """{(host, region): {status, state, instances}} of a failed run's snapshot."""
    return {(h['host'], h['region']): h for h in result(name)['hosts']}


def test_every_compute_runs_the_new_release_in_the_new_deployment(host):
    new_version = service_version(NEW_NOVA)
    assert new_version > service_version(OLD_NOVA)
    services = compute_info(NEW)['services']
    assert sorted(s['host'] for s in services) == list(COMPUTES)
    assert all(s['state'] == 'up' and s['status'] == 'enabled' for s in services), services
    for node in COMPUTES:
        assert labtest.release_of(node, 'nova-compute', 'nova') == TO, node
        assert host.run('service osl-%s-nova-compute status' % node).rc == 0, node
        conf = os.path.join(labtest.LAB_ROOT, 'nodes', node, 'nova', 'releases', TO, 'etc', 'nova', 'nova-compute.conf')
        with open(conf) as handle:
            assert any(line.startswith('transport_url') and line.rstrip().endswith('/nova2') for line in handle)
    rows = labtest.sql("SELECT host, version FROM nova2.services WHERE deleted = 0 AND `binary` = 'nova-compute'")
    assert sorted(r[0] for r in rows) == list(COMPUTES) and {int(r[1]) for r in rows} == {new_version}, rows
    mapped = labtest.sql('SELECT host FROM nova2_api.host_mappings')
    assert sorted(r[0] for r in mapped) == list(COMPUTES), mapped


def test_every_instance_was_recreated_in_the_new_deployment_and_is_active():
    names = []
    for node in COMPUTES:
        info = compute_info(NEW, node)
        assert all(i['status'] == 'ACTIVE' for i in info['instances']), info['instances']
        names += [i['name'] for i in info['instances']]
    wanted = ['lab-vm-%s-%d' % (n, i) for n in COMPUTES for i in range(1, INSTANCES_PER_HOST + 1)]
    assert sorted(names) == sorted(wanted)
    # Each twin names its original, which is deleted in the old deployment's database.
    twins = labtest.sql("SELECT instance_uuid, value FROM nova2.instance_metadata WHERE deleted = 0 AND `key` = '%s'"
                        % MARKER)
    assert len(twins) == INSTANCES, twins
    originals = [t[1] for t in twins]
    left = labtest.sql("SELECT uuid FROM nova.instances WHERE deleted = 0")
    assert left == [], left
    gone = labtest.sql("SELECT uuid FROM nova.instances WHERE deleted != 0 AND uuid IN ('%s')" % "','".join(originals))
    assert len(gone) == INSTANCES


def test_the_report_gives_every_workloads_fate():
    report = result('pc-report')
    assert report['new_deployment_hosts'] == list(COMPUTES) and report['old_deployment_hosts'] == []
    # cmp2's method comes from its host_vars (the operator's hook), the others' from the default.
    assert report['methods'] == {'cmp1': 'recreate', 'cmp2': 'hook', 'cmp3': 'recreate'}, report['methods']
    fates = {f['host']: f for f in report['this_run']}
    # cmp1 (emptied by the failed run 4) had nothing left to move; cmp2 (live migration off) went by the hook;
    # cmp3, the last old host, had no other old host to live-migrate to: its instances were re-created.
    assert fates['cmp1']['emptied_by'] is None and fates['cmp1']['instances'] == [], fates['cmp1']
    assert fates['cmp2']['emptied_by'] == 'hook' and fates['cmp2']['live_migrate'] is False, fates['cmp2']
    assert fates['cmp2']['instances'] and all(i['fate'] == 'hook' for i in fates['cmp2']['instances'])
    assert fates['cmp3']['emptied_by'] == 'recreate' and fates['cmp3']['live_migrate'] is True, fates['cmp3']
    recreated = fates['cmp3']['instances']
    assert recreated and all(i['fate'] == 'recreated' and i['twin'] for i in recreated), recreated
    # Each of the six went one way or the other, once.
    moved = [i['id'] for i in fates['cmp2']['instances'] + recreated]
    assert len(moved) == len(set(moved)) == INSTANCES, moved
    assert all(f['left'] == [] for f in fates.values())
    now = {(h['host'], h['region']): h for h in report['hosts_now']}
    assert sorted(h for h, r in now if r == NEW) == list(COMPUTES) and not [k for k in now if k[1] == OLD]


def test_the_hook_told_each_owner_and_moved_each_instance_of_cmp2_once():
    # What was on cmp2 when the operator's run began (after run 4 had moved cmp1's instances away).
    on_cmp2 = {i['id']: i['name'] for i in snapshot('pc-run4')[('cmp2', OLD)]['instances']}
    assert on_cmp2
    with open(os.path.join(labtest.RESULTS, 'pc-hook-ledger.txt')) as handle:
        lines = [line.split() for line in handle if line.strip()]
    told = [tuple(line[1:]) for line in lines if line[0] == 'told']
    moved = [tuple(line[1:]) for line in lines if line[0] == 'moved']
    assert sorted(told) == sorted((i, n, 'cmp2') for i, n in on_cmp2.items()), told
    assert sorted(m[0] for m in moved) == sorted(on_cmp2), moved
    # Each owner was told before the instance moved.
    for original, twin in moved:
        assert lines.index(['told', original, on_cmp2[original], 'cmp2']) < lines.index(['moved', original, twin])
    # Each twin is in the new deployment, ACTIVE, under the original's name, marked with its original.
    twins = dict(labtest.sql("SELECT instance_uuid, value FROM nova2.instance_metadata WHERE deleted = 0 "
                             "AND `key` = '%s'" % MARKER))
    active = {i['id']: i for node in COMPUTES for i in compute_info(NEW, node)['instances']}
    for original, twin in moved:
        assert twins.get(twin) == original, (twin, original)
        assert active[twin]['status'] == 'ACTIVE' and active[twin]['name'] == on_cmp2[original]


def test_the_probe_saw_each_original_until_its_twin_was_active_and_none_lost():
    probe = result('pc-probe')
    assert probe['deployments'] == 2
    assert probe['instances_at_start'] == INSTANCES
    assert probe['lost'] == []
    assert probe['deleted_before_twin_active'] == []
    assert len(probe['recreated']) == INSTANCES
    assert all(r['original_seen'] and r['original_gone'] for r in probe['recreated']), probe['recreated']
    # The originals kept running until deleted (live migrations included); twins are BUILD before ACTIVE.
    originals = [i for i in probe['instances'].values() if i['deployment'] == 0]
    assert len(originals) == INSTANCES
    not_running = {i['name']: i['not_running'][:3] for i in originals if i['not_running']}
    assert not not_running, not_running
    # Neither API was restarted: no sample failed.
    assert probe['failed_samples'] == 0, probe['failed_windows']


def test_the_second_run_moved_nothing():
    probe = result('pc-rerun-probe')
    assert probe['lost'] == [] and probe['host_moves'] == 0
    assert probe['instances_at_start'] == probe['instances_at_end'] == INSTANCES
    assert probe['failed_samples'] == 0, probe['failed_windows']
    report = result('pc-rerun-report')
    assert all(f['emptied_by'] is None and f['instances'] == [] for f in report['this_run']), report['this_run']


def test_the_new_deployment_passes_its_status_check():
    rc, res, raw = labtest.ansible('ctl1', 'openstack_ops.upgrade.upgrade_check', {
        'service': 'nova', 'venv': NEW_NOVA + '/venv', 'config_file': [NEW_NOVA + '/etc/nova/nova.conf']})
    assert rc == 0, raw
    assert res['status'] in ('success', 'warning'), res


def test_resource_providers_kept_their_uuid_and_hold_only_the_twins():
    token = labtest.keystone_token()
    headers = {'X-Auth-Token': token, 'OpenStack-API-Version': 'placement 1.14'}
    twins = {t[0] for t in labtest.sql("SELECT instance_uuid FROM nova2.instance_metadata WHERE deleted = 0 AND "
                                       "`key` = '%s'" % MARKER)}
    for node in COMPUTES:
        with open(os.path.join(labtest.LAB_ROOT, 'nodes', node, 'nova', 'state', 'compute_id')) as handle:
            uuid = handle.read().strip()
        status, dummy, body = labtest.http('GET', '%s/resource_providers/%s/allocations' % (labtest.PLACEMENT, uuid),
                                           headers=headers)
        assert status == 200, (node, status)
        assert set(body['allocations']) <= twins, (node, body)


def test_run1_hook_without_its_file_refused_before_anything_changed():
    snap, out = snapshot('pc-run1'), output('pc-run1')
    assert 'compute_handover_method recreate, hook (with compute_handover_hook_tasks) or none' in out, out[-3000:]
    for node in COMPUTES:
        old = snap[(node, OLD)]
        assert old['status'] == 'enabled' and len(old['instances']) == INSTANCES_PER_HOST, old
        assert snap[(node, NEW)]['status'] is None
    assert all(r.endswith(FROM) for r in result('pc-run1')['releases'].values())


def test_run2_nothing_to_recreate_on_refused_for_cmp1_before_it_changed():
    snap, out = snapshot('pc-run2'), output('pc-run2')
    assert 'has no enabled compute host up to re-create them on' in out, out[-3000:]
    old = snap[('cmp1', OLD)]
    assert old['status'] == 'enabled' and len(old['instances']) == INSTANCES_PER_HOST, old
    assert all(i['status'] == 'ACTIVE' for i in old['instances'])
    assert snap[('cmp1', NEW)]['status'] is None


def test_run3_method_none_left_every_instance_where_it_was_and_reported_each():
    snap, run = snapshot('pc-run3'), result('pc-run3')
    assert run['rc'] == 0, run['output_tail']
    for node in COMPUTES:
        old = snap[(node, OLD)]
        # Not disabled: none moves nothing, so the host keeps taking new instances in the old deployment.
        assert old['status'] == 'enabled' and old['state'] == 'up', old
        assert len(old['instances']) == INSTANCES_PER_HOST and all(i['status'] == 'ACTIVE' for i in old['instances'])
        assert snap[(node, NEW)]['status'] is None
        assert run['releases'][node].endswith(FROM)
    report = result('pc-none-report')
    assert report['methods'] == {n: 'none' for n in COMPUTES}, report['methods']
    assert report['new_deployment_hosts'] == [] and report['old_deployment_hosts'] == list(COMPUTES)
    for fate in report['this_run']:
        on_host = {i['id'] for i in snap[(fate['host'], OLD)]['instances']}
        assert fate['emptied_by'] is None and fate['live_migrate'] is False, fate
        assert {i['id'] for i in fate['instances']} == on_host and all(i['fate'] == 'left' for i in fate['instances'])
        assert {i['id'] for i in fate['left']} == on_host


def test_run4_compute_not_up_in_the_new_deployment_left_cmp1_empty_and_out_of_the_old():
    snap, out = snapshot('pc-run4'), output('pc-run4')
    assert 'cmp1 did not come up in the new deployment (RegionTwo, on %s) within 40 s' % TO in out, out[-3000:]
    assert 'the new deployment has no nova-compute service on it' in out, out[-3000:]
    assert snap[('cmp1', OLD)]['status'] is None and snap[('cmp1', OLD)]['instances'] == []
    assert snap[('cmp1', NEW)]['state'] in (None, 'down')
    others = snap[('cmp2', OLD)]['instances'] + snap[('cmp3', OLD)]['instances']
    assert len(others) == INSTANCES and all(i['status'] == 'ACTIVE' for i in others)
    # The wrong transport_url carried the lab's RabbitMQ password: never shown.
    assert RABBIT_PASSWORD not in out


def test_the_old_deployment_is_retired(host):
    token = labtest.keystone_token()
    status, dummy, body = labtest.http('GET', labtest.KEYSTONE + '/endpoints', headers={'X-Auth-Token': token})
    assert status == 200
    compute_urls = {(e['region_id'], e['url']) for e in body['endpoints'] if e['url'].endswith('/v2.1')}
    assert compute_urls and all(region == NEW for region, dummy in compute_urls), compute_urls
    for unit in ('nova-conductor', 'nova-scheduler', 'nova-api'):
        assert host.run('service osl-ctl1-%s status' % unit).rc != 0, unit
    # The records the compute API lists are gone; the API's own version record (nova-osapi_compute, which
    # the API does not list) stays in the kept databases.
    assert labtest.sql("SELECT `binary`, host FROM nova.services WHERE deleted = 0 "
                       "AND `binary` != 'nova-osapi_compute'") == []
    # Its databases are kept.
    assert labtest.sql("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name IN "
                       "('nova_api', 'nova', 'nova_cell0')") == [['3']]
