"""Last (it undoes the upgrade, so it has its own module, which pytest runs after
test_service_by_service.py): the rollback to 2025.2.

Regression: as a test of test_service_by_service.py that took testinfra's module-scoped
``host`` fixture, pytest moved it beside the other ``host`` test, second: the rollback ran
before the schema, backup and outage tests, which then failed."""

import os
import subprocess
import sys
import types

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

FROM, TO = '2025.2', '2026.1'


def run(command):
    """Like testinfra's host.run, for labtest.assert_services_on."""
    proc = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    return types.SimpleNamespace(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def test_rollback_restores_the_old_release_with_its_data():
    """rollback.yml takes every service back to 2025.2 from the dumps
    taken when the upgrade stopped them, and everything of before the upgrade is there."""
    rc, out = labtest.playbook('playbooks/rollback.yml', '-e', 'upgrade_from_release=%s' % FROM,
                               '-e', 'upgrade_to_release=%s' % TO)
    assert rc == 0, out[-3000:]
    labtest.assert_services_on(run, FROM)
    # The dumps taken at stop were restored (all three of nova's), and set aside for a later attempt.
    for service in labtest.SERVICES:
        assert 'taken at the stop (%s/backups/%s-%s-to-%s.at-stop.sql.gz)' % (
            labtest.LAB_ROOT, service, FROM, TO) in out, service
    for database in labtest.DATABASES:
        assert not os.path.exists('%s/backups/%s-%s-to-%s.sql.gz' % (labtest.LAB_ROOT, database, FROM, TO))
        assert not os.path.exists('%s/backups/%s-%s-to-%s.at-stop.sql.gz' % (labtest.LAB_ROOT, database, FROM, TO))
    labtest.assert_schemas_at_head(FROM)
    labtest.kept_data_is_there('kept-2025-2')
