"""What the cold upgrade 2025.2 -> 2026.1 of keystone, glance, placement, nova, cinder and heat left
behind (the rollback is tested after the service-by-service upgrade)."""

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


def test_status_checks_pass():
    labtest.assert_status_checks_pass(TO)


def test_data_from_before_the_upgrades_is_still_there():
    labtest.kept_data_is_there('kept-cold-2025-2')
    if os.path.exists(os.path.join(labtest.RESULTS, 'sbs-25-26.json')):
        # Made before service_by_service, upgraded and rolled back since.
        labtest.kept_data_is_there('kept-2025-2')


def _down_at(instant, windows):
    return any(start <= instant <= end for start, end in windows)


def test_every_service_was_down_at_the_same_time():
    result = labtest.probe_result('cold-25-26')
    windows = {service: labtest.outage_windows(result, service) for service in labtest.SERVICES}
    for service, seen in windows.items():
        assert seen, 'the probe saw %s answer throughout: it did not measure the upgrade' % service
    # One outage for the whole cloud: at some instant every service was down.
    starts = sorted(start for seen in windows.values() for start, dummy in seen)
    assert any(all(_down_at(t, seen) for seen in windows.values()) for t in starts), windows
    assert result['stacks']['stuck'] == [], result['stacks']


def test_second_run_saw_no_outage():
    result = labtest.probe_result('cold-25-26.rerun')
    assert result['requests']['sent'] > 50
    assert result['requests']['failed'] == 0, result['failures'][:5]
    assert result['ok'] is True
