"""What the cold upgrade 2026.1 -> 2026.2 of keystone and heat left behind."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

FROM, TO = '2026.1', '2026.2'


def test_every_unit_runs_the_new_release(host):
    labtest.assert_services_on(host.run, TO)


def test_every_schema_is_at_the_head_of_the_new_release():
    labtest.assert_schemas_at_head(TO)


def test_status_checks_pass():
    labtest.assert_status_checks_pass(TO)


def test_data_from_before_the_upgrades_is_still_there():
    labtest.kept_data_is_there('kept-2026-1')
    if os.path.exists(os.path.join(labtest.RESULTS, 'sbs-25-26.json')):
        # Made before service_by_service, two upgrades ago.
        labtest.kept_data_is_there('kept-2025-2')


def test_every_service_was_down_at_the_same_time():
    result = labtest.probe_result('cold-26-27')
    keystone = labtest.outage_windows(result, 'keystone')
    heat = labtest.outage_windows(result, 'heat')
    assert keystone and heat, (keystone, heat)
    # One outage for the whole cloud: the windows of the two services overlap.
    assert keystone[0][0] < heat[-1][1] and heat[0][0] < keystone[-1][1], (keystone, heat)
    assert result['stacks']['stuck'] == [], result['stacks']


def test_second_run_saw_no_outage():
    result = labtest.probe_result('cold-26-27.rerun')
    assert result['requests']['sent'] > 50
    assert result['requests']['failed'] == 0, result['failures'][:5]
    assert result['ok'] is True


def test_zz_rollback_restores_the_old_release_with_its_data(host):
    """Last (it undoes the upgrade): rollback.yml takes keystone and heat back to 2026.1 from the
    dumps taken when the upgrade stopped them, and everything of before the upgrade is there."""
    rc, out = labtest.playbook('playbooks/rollback.yml', '-e', 'upgrade_from_release=%s' % FROM,
                               '-e', 'upgrade_to_release=%s' % TO)
    assert rc == 0, out[-3000:]
    labtest.assert_services_on(host.run, FROM)
    # The dumps taken at stop were restored, and set aside for a later attempt.
    assert 'restored %s/backups/keystone-%s-to-%s.at-stop.sql.gz' % (labtest.LAB_ROOT, FROM, TO) in out
    assert 'restored %s/backups/heat-%s-to-%s.at-stop.sql.gz' % (labtest.LAB_ROOT, FROM, TO) in out
    assert not os.path.exists('%s/backups/heat-%s-to-%s.sql.gz' % (labtest.LAB_ROOT, FROM, TO))
    labtest.assert_schemas_at_head(FROM)
    labtest.kept_data_is_there('kept-2026-1')
