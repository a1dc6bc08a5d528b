"""Whole-module tests of nova_service_versions: the client answers with services rows of nova cell databases."""

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import nova
from ansible_collections.openstack_ops.upgrade.plugins.modules import nova_service_versions

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

HEADER = 'host\tbinary\tversion\tdeleted\tforced_down\n'
MIXED = HEADER + ('cmp1\tnova-compute\t72\t0\t0\n'
                  'cmp2\tnova-compute\t70\t0\t0\n'
                  'ctl1\tnova-conductor\t72\t0\t0\n')
UPGRADED = HEADER + ('cmp1\tnova-compute\t72\t0\t0\n'
                     'cmp2\tnova-compute\t72\t0\t0\n'
                     'ctl1\tnova-conductor\t72\t0\t0\n')
CELL2 = HEADER + 'cmp7\tnova-compute\t66\t0\t0\n'


@pytest.fixture
def db(monkeypatch):
    """``answers`` maps a database to the successive outputs of its services query (the last one repeats)."""
    state = dict(answers={'nova': [MIXED]}, calls=[], option_files=[])

    def run_command(module, argv, **kwargs):
        if argv[0].endswith('/timeout'):
            argv = argv[3:]
        state['calls'].append(argv)
        with open(argv[1].split('=', 1)[1]) as handle:
            state['option_files'].append(handle.read())
        sql, database = argv[-2], argv[-1]
        assert sql == nova.SERVICE_VERSIONS_SQL
        outputs = state['answers'][database]
        return 0, (outputs.pop(0) if len(outputs) > 1 else outputs[0]), ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    monkeypatch.setattr(nova_service_versions.time, 'sleep', lambda s: None, raising=False)
    return state


def run(monkeypatch, args, check_mode=False):
    ended = run_module(monkeypatch, nova_service_versions, args, check_mode=check_mode)
    return dict(ended.result, failed=ended.failed)


URL = 'mysql+pymysql://nova:s3cret-pw@127.0.0.1/nova'


def test_reports_the_pin_once_in_check_mode_without_the_password(db, monkeypatch):
    out = run(monkeypatch, dict(database_url=URL, compute_rpc_versions={'70': '6.4', '72': '6.5'}),
              check_mode=True)
    assert out['changed'] is False and out['attempts'] == 1
    pin = out['rpc_pin']
    assert (pin['min_compute_version'], pin['max_compute_version'], pin['mixed'], pin['hosts_at_minimum'],
            pin['compute_rpc']) == (70, 72, True, ['cmp2'], '6.4')
    assert 's3cret-pw' not in repr(out)
    # The password goes to the client through its option file only.
    assert 's3cret-pw' in db['option_files'][0]
    assert not any('s3cret-pw' in arg for arg in db['calls'][0])


def test_reads_every_cell_database(db, monkeypatch):
    db['answers'] = {'nova': [UPGRADED], 'nova_cell2': [CELL2]}
    out = run(monkeypatch, dict(database_url=URL, databases=['nova', 'nova_cell2']))
    assert out['rpc_pin']['min_compute_version'] == 66
    assert out['rpc_pin']['hosts_at_minimum'] == ['cmp7']
    assert [c[-1] for c in db['calls']] == ['nova', 'nova_cell2']


def test_waits_for_a_host_to_report_the_new_version(db, monkeypatch):
    db['answers'] = {'nova': [MIXED, MIXED, UPGRADED]}
    out = run(monkeypatch, dict(database_url=URL, host='cmp2', min_version=72, timeout=60, sleep=0))
    assert out['attempts'] == 3 and out['changed'] is False
    assert out['rpc_pin']['mixed'] is False


def test_times_out_naming_the_hosts_that_hold_the_pin_down(db, monkeypatch):
    out = run(monkeypatch, dict(database_url=URL, min_version=72, timeout=0))
    assert out['failed'] is True
    assert 'every nova-compute at service version 72 or later' in out['msg']
    assert 'cmp2 70' in out['msg']
    assert out['rpc_pin']['hosts_at_minimum'] == ['cmp2']
    assert 's3cret-pw' not in repr(out)


def test_host_needs_a_version(db, monkeypatch):
    out = run(monkeypatch, dict(database_url=URL, host='cmp1'))
    assert out['failed'] is True and 'min_version' in out['msg']
    assert db['calls'] == []
