"""What the service-by-service upgrade 2025.2 -> 2026.1 of keystone, glance, placement, nova, cinder and heat
left behind. The rollback to 2025.2 is in test_zz_rollback.py, which runs after this module."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

FROM, TO = '2025.2', '2026.1'


def test_every_unit_runs_the_new_release(host):
    labtest.assert_services_on(host.run, TO)


def test_every_schema_is_at_the_head_of_the_new_release():
    labtest.assert_schemas_at_head(TO)
    # keystone 28.1.0 -> 29.1.0 has a real expand migration; heat 25 -> 26 three.
    assert labtest.sql('SELECT version_num FROM heat.alembic_version') == [['97b2a986f922']]
    assert labtest.sql('SELECT version_num FROM keystone.alembic_version ORDER BY 1') == [['742c857f1dfb'], ['c88cdce8f248']]


def test_status_checks_pass():
    labtest.assert_status_checks_pass(TO)


def test_data_from_before_the_upgrade_is_still_there():
    labtest.kept_data_is_there('kept-2025-2')


def test_each_service_had_its_own_outage_and_they_did_not_overlap():
    result = labtest.probe_result('sbs-25-26')
    windows = {service: labtest.outage_windows(result, service) for service in labtest.SERVICES}
    for service, seen in windows.items():
        assert seen, 'the probe saw %s answer throughout: it did not measure the upgrade' % service
    # In upgrade order: each service's last outage ends before the next one's first begins.
    order = ['keystone', 'glance', 'placement', 'nova', 'cinder', 'heat']
    for before, after in zip(order, order[1:]):
        assert windows[before][-1][1] <= windows[after][0][0], (before, windows[before], after, windows[after])
    # Nothing was lost: every stack the probe created finished.
    assert result['stacks']['stuck'] == [], result['stacks']
    assert set(result['stacks']['by_name'].values()) <= {'CREATE_COMPLETE'}, result['stacks']['final_states']


def test_second_run_saw_no_outage():
    result = labtest.probe_result('sbs-25-26.rerun')
    assert result['requests']['sent'] > 50
    assert result['requests']['failed'] == 0, result['failures'][:5]
    assert result['ok'] is True


def test_backups_were_taken_before_anything_changed():
    for database in labtest.DATABASES:
        path = '%s/backups/%s-%s-to-%s.sql.gz' % (labtest.LAB_ROOT, database, FROM, TO)
        assert os.path.getsize(path) > 1000, path


def test_a_failed_migration_stopped_the_run_before_any_new_unit_started():
    with open(os.path.join(labtest.RESULTS, 'sbs-failed-migration.json')) as handle:
        failed = json.load(handle)
    assert failed['rc'] != 0
    assert 'migration phase with the new code - keystone expand' in failed['failed_task'], failed
    assert failed['migration_error'] is True, 'the failure was not the missing privilege'
    # The first failed phase (expand) ended the run: migrate and contract did not run after it.
    assert not any('contract ahead of expand' in line for line in failed['output_tail']), failed['output_tail']
    # keystone stopped on the old release; the services after it not touched yet, still serving.
    assert failed['units'] == ['ctl1-keystone-api %s stopped' % FROM,
                               'ctl1-nova/nova-api %s running' % FROM,
                               'node1-heat-api %s running' % FROM,
                               'node1-heat-engine %s running' % FROM], failed['units']


def test_nova_rpc_pin_was_set_while_mixed_and_removed_at_the_end():
    conf = '%s/nodes/ctl1/nova/releases/%s/etc/nova/nova.conf' % (labtest.LAB_ROOT, TO)
    with open(conf) as handle:
        text = handle.read()
    assert 'compute = auto' not in text, 'the [upgrade_levels] pin is still there after the post-flight'
    log = labtest.task_log('service_by_service')
    # Task names carry the role's name first ("openstack_ops.upgrade.service_upgrade : ...").
    wrote = [t for t in log if ': Write the settings of the mixed-release window - nova' in t['task']]
    removed = [t for t in log if ': Remove the settings of the mixed-release window - nova' in t['task']]
    assert wrote and any(t.get('changed') for t in wrote), wrote
    assert removed and any(t.get('changed') for t in removed), removed
