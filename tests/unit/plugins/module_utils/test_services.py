"""Parse functions of services.py over outputs captured from real heat 25.0.2/26.0.2.

tests/unit/fixtures/db_sync/ holds heat-manage and heads-script outputs from a
real 25 -> 26 migration of a scratch MariaDB database (oslo.log writes its
lines to stdout there, which the parsers must skip), alembic's own `current`
and `heads`, and online_data_migrations tables printed by the upstream
formatting code with the real prettytable/tabulate (online_tables.py).
tests/unit/fixtures/upgrade_check/ holds heat-status outputs (success and a
real failure from a JSON policy file) and a warning printed by the real
oslo.upgradecheck formatter (oslo_upgradecheck_warning.py).
"""

import os

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import services
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.services import ServiceError

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def fixture(topic, name):
    with open(os.path.join(FIXTURES, topic, name)) as handle:
        return handle.read()


@pytest.mark.parametrize('name, expected', [
    ('heat25_db_version_empty', None),
    ('heat25_db_version', 'c6214ca60943'),
    ('heat26_db_version_before', 'c6214ca60943'),
    ('heat26_db_version_after', '97b2a986f922'),
    ('heat25_db_version_on26', '97b2a986f922'),
])
def test_parse_db_version_reads_real_heat_manage_output(name, expected):
    stdout = fixture('db_sync', name + '.stdout')
    assert 'INFO alembic.runtime.migration' in stdout  # the log lines really are there
    assert services.parse_db_version(stdout) == expected
    assert services.parse_version('heat', stdout) == expected


def test_parse_db_version_refuses_output_without_revision():
    with pytest.raises(ServiceError):
        services.parse_db_version(fixture('db_sync', 'heat26_db_sync.stdout'))
    with pytest.raises(ServiceError):
        services.parse_db_version('')


def test_version_kind_tells_alembic_from_legacy_numbers():
    assert services.version_kind('c6214ca60943') == 'alembic'
    assert services.version_kind('2024_1_contract01') == 'alembic'
    assert services.version_kind('72') == 'legacy'
    assert services.version_kind(None) == 'none'


@pytest.mark.parametrize('name, heads, known', [
    ('heat25_heads', ['c6214ca60943'], 1),
    ('heat26_heads', ['97b2a986f922'], 4),
])
def test_parse_heads_reads_real_heads_script_output(name, heads, known):
    parsed = services.parse_heads(fixture('db_sync', name + '.stdout'))
    assert parsed['heads'] == heads
    assert len(parsed['revisions']) == known


def test_parse_heads_refuses_garbage():
    with pytest.raises(ServiceError):
        services.parse_heads('Traceback (most recent call last):\nModuleNotFoundError: No module named heat\n')


def test_compare_revision_over_the_real_heat_25_to_26_history():
    h25 = services.parse_heads(fixture('db_sync', 'heat25_heads.stdout'))
    h26 = services.parse_heads(fixture('db_sync', 'heat26_heads.stdout'))
    at25 = services.parse_db_version(fixture('db_sync', 'heat26_db_version_before.stdout'))
    at26 = services.parse_db_version(fixture('db_sync', 'heat26_db_version_after.stdout'))
    assert services.compare_revision(None, h25['heads'], h25['revisions']) == 'behind'
    assert services.compare_revision(at25, h25['heads'], h25['revisions']) == 'up_to_date'
    assert services.compare_revision(at25, h26['heads'], h26['revisions']) == 'behind'
    assert services.compare_revision(at26, h26['heads'], h26['revisions']) == 'up_to_date'
    # 25's code on the migrated schema: what made its db_sync fail with
    # "Can't locate revision" (fixture heat25_db_sync_on26).
    assert services.compare_revision(at26, h25['heads'], h25['revisions']) == 'ahead'
    assert not services.is_pending(at26, h25['heads'], h25['revisions'])
    assert "Can't locate revision identified by '97b2a986f922'" in fixture('db_sync', 'heat25_db_sync_on26.stderr')


def test_parse_alembic_lines_reads_alembic_current_and_heads():
    assert services.parse_alembic_lines(fixture('db_sync', 'alembic_current.stdout')) == ['97b2a986f922']
    assert services.parse_alembic_lines(fixture('db_sync', 'alembic_heads.stdout')) == ['97b2a986f922']
    # neutron-db-manage wraps alembic's lines (neutron/db/migration/cli.py do_alembic_command)
    wrapped = ('Running current for neutron ...\n'
               '5c85685d616d (head)\n'
               'I38991de2b4 (contract) (head)\n'
               'OK\n')
    assert services.parse_alembic_lines(wrapped) == ['5c85685d616d', 'I38991de2b4']
    assert services.parse_version('neutron', wrapped) == '5c85685d616d,I38991de2b4'


def test_parse_db_heads_one_revision_a_line_as_glance_prints_them():
    assert services.parse_db_heads('2024_1_contract01\n') == ['2024_1_contract01']
    assert services.parse_version('glance', 'x_expand01\nx_contract01\n') == 'x_contract01,x_expand01'


@pytest.mark.parametrize('name, expected, migrated', [
    ('online_nova', [('fill_virtual_interface_list', 0, 0), ('migrate_empty_ratio', 3, 3),
                     ('populate_instance_compute_id', 12, 10), ('populate_user_id', 0, 0)], 13),
    ('online_nova_empty', [('fill_virtual_interface_list', 0, 0), ('migrate_empty_ratio', 0, 0)], 0),
    ('online_placement', [('create_incomplete_consumers', 7, 5)], 5),
    ('online_cinder', [('remove_temporary_admin_metadata_data_migration', 40, 40)], 40),
])
def test_parse_online_migrations_reads_prettytable_and_tabulate(name, expected, migrated):
    rows = services.parse_online_migrations(fixture('db_sync', name + '.stdout'))
    assert [(r['migration'], r['total'], r['completed']) for r in rows] == expected
    assert services.online_migrated_rows(rows) == migrated


def test_merge_online_runs_adds_completed_over_batches():
    first = [{'migration': 'a', 'total': 10, 'completed': 5}]
    second = [{'migration': 'a', 'total': 5, 'completed': 5}, {'migration': 'b', 'total': 0, 'completed': 0}]
    merged = services.merge_online_runs([first, second])
    assert merged == [{'migration': 'a', 'total': 10, 'completed': 10},
                      {'migration': 'b', 'total': 0, 'completed': 0}]


@pytest.mark.parametrize('text, expected', [
    ('#!/tmp/osl_heat/venv-2025.2/bin/python3\n# -*- coding: utf-8 -*-\n', '/tmp/osl_heat/venv-2025.2/bin/python3'),
    ('#!/usr/bin/env python3\n', 'python3'),
    ('#! /usr/bin/python3 -s\n', '/usr/bin/python3'),
    ('\x7fELF', None),
    ('', None),
])
def test_parse_shebang(text, expected):
    assert services.parse_shebang(text) == expected


def test_parse_shebang_of_a_real_heat_manage():
    # the first line of /tmp/osl_heat/venv-2025.2/bin/heat-manage, as pip wrote it
    assert services.parse_shebang('#!/tmp/osl_heat/venv-2025.2/bin/python3\n') == '/tmp/osl_heat/venv-2025.2/bin/python3'


def test_phase_commands_put_config_files_before_the_subcommand():
    assert services.phase_commands('heat', 'sync', ['--config-file', '/etc/heat/heat.conf']) == [
        ['--config-file', '/etc/heat/heat.conf', 'db_sync']]
    assert services.phase_commands('nova', 'sync', extra_args=['--local_cell']) == [
        ['api_db', 'sync'], ['db', 'sync', '--local_cell']]
    assert services.phase_commands('keystone', 'contract') == [['db_sync', '--contract']]
    assert services.phase_commands('neutron', 'expand') == [['upgrade', '--expand']]


def test_offline_adds_cinders_bump_versions_and_nothing_to_the_others():
    assert services.phase_commands('cinder', 'sync', offline=True) == [['db', 'sync', '--bump-versions']]
    assert services.phase_commands('cinder', 'sync') == [['db', 'sync']]
    # Given by hand as well: not twice.
    assert services.phase_commands('cinder', 'sync', extra_args=['--bump-versions'], offline=True) == [
        ['db', 'sync', '--bump-versions']]
    assert services.phase_commands('heat', 'sync', offline=True) == [['db_sync']]
    assert services.phase_commands('keystone', 'expand', offline=True) == [['db_sync', '--expand']]
    assert services.phase_commands('nova', 'sync', extra_args=['--local_cell'], offline=True) == [
        ['api_db', 'sync'], ['db', 'sync', '--local_cell']]


def test_glance_has_its_legacy_one_step_upgrade_and_no_other_service_has():
    assert services.phase_commands('glance', 'upgrade') == [['db', 'upgrade']]
    for service in ('heat', 'keystone', 'cinder', 'nova', 'placement', 'neutron'):
        with pytest.raises(services.ServiceError, match='has no "upgrade" phase'):
            services.phase_commands(service, 'upgrade')


def test_phase_commands_refuse_a_phase_the_service_does_not_have():
    with pytest.raises(ServiceError, match='heat has no "expand" phase'):
        services.phase_commands('heat', 'expand')
    with pytest.raises(ServiceError, match='Unknown service'):
        services.get_service('swift')


def test_keystone_check_codes_depend_on_the_release():
    assert services.check_states('keystone', '2026.1') == {0: 'up_to_date', 2: 'expand_needed', 4: 'contract_needed'}
    assert services.check_states('keystone') == services.check_states('keystone', '2025.2')
    assert services.check_states('keystone', '2022.1')[3] == 'migrate_needed'
    assert services.check_states('glance')[5] == 'contract_needed'
    with pytest.raises(ServiceError):
        services.check_states('heat')


def test_only_neutron_is_not_marked_exercised():
    assert sorted(name for name, spec in services.SERVICES.items() if not spec['exercised']) == ['neutron']


@pytest.mark.parametrize('name, statuses', [
    ('heat25_status', ['success']),
    ('heat25_status_json', ['success']),
    ('heat26_status', ['success']),
    ('heat26_status_json', ['success']),
    ('heat26_status_failure', ['failure']),
    ('heat26_status_failure_json', ['failure']),
    ('oslo_upgradecheck_warning', ['warning', 'success']),
    ('oslo_upgradecheck_warning_json', ['warning', 'success']),
])
def test_parse_upgrade_check_reads_table_and_json(name, statuses):
    checks = services.parse_upgrade_check(fixture('upgrade_check', name + '.stdout'))
    assert [c['status'] for c in checks] == statuses
    assert [c['result'] for c in checks] == [{'success': 0, 'warning': 1, 'failure': 2}[s] for s in statuses]
    worst = max(c['result'] for c in checks)
    assert int(fixture('upgrade_check', name + '.rc')) == worst


@pytest.mark.parametrize('base', ['heat26_status_failure', 'oslo_upgradecheck_warning'])
def test_table_and_json_agree(base):
    table = services.parse_upgrade_check_table(fixture('upgrade_check', base + '.stdout'))
    data = services.parse_upgrade_check_json(fixture('upgrade_check', base + '_json.stdout'))
    assert [(c['check'], c['result']) for c in table] == [(c['check'], c['result']) for c in data]
    # wrapped details are joined with spaces: same words, modulo textwrap's cuts
    for left, right in zip(table, data):
        if right['details']:
            assert left['details'].replace(' ', '').replace('-', '') == right['details'].replace(' ', '').replace('-', '')
        else:
            assert left['details'] is None


def test_parse_upgrade_check_refuses_a_traceback():
    with pytest.raises(ServiceError):
        services.parse_upgrade_check(fixture('upgrade_check', 'heat26_status_missing_conf.stderr'))
    with pytest.raises(ServiceError):
        services.parse_upgrade_check('')


def test_parse_glance_migrated():
    assert services.parse_glance_migrated('Migrated 12 rows\n') == 12
    assert services.parse_glance_migrated('Database migration is up to date. No migration needed.\n') == 0
