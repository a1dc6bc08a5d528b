"""Whole-module tests of heat_stacks: the client answers with query outputs of a real heat 26 database."""

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import heat
from ansible_collections.openstack_ops.upgrade.plugins.modules import heat_stacks

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'heat_stacks')
EMPTY_STACKS = ('id\tname\taction\tstatus\tconvergence\tcurrent_traversal\towner_id\tnested_depth\ttenant\tbackup\t'
                'created_at\tupdated_at\n')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture
def db(monkeypatch):
    """A client that answers the three queries; ``states`` are the successive stack listings."""
    state = dict(states=['mixed'], calls=[], option_files=[])

    def run_command(module, argv, **kwargs):
        if argv[0].endswith('/timeout'):
            argv = argv[3:]
        state['calls'].append(argv)
        with open(argv[1].split('=', 1)[1]) as handle:
            state['option_files'].append(handle.read())
        sql, database = argv[-2], argv[-1]
        assert database == state.get('database', 'heat')
        if sql == heat.STACKS_SQL:
            state['current'] = state['states'].pop(0) if len(state['states']) > 1 else state['states'][0]
            if state['current'] == 'empty':
                return 0, EMPTY_STACKS, ''
            return 0, fixture(state['current'] + '_stacks.tsv'), ''
        prefix = 'mixed' if state['current'] == 'empty' else state['current']
        if sql == heat.OWNERS_SQL:
            return 0, fixture(prefix + '_owners.tsv'), ''
        if sql == heat.SERVICES_SQL:
            return 0, fixture(prefix + '_services.tsv'), ''
        raise AssertionError(sql)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    return state


def run(monkeypatch, args, check_mode=False):
    return run_module(monkeypatch, heat_stacks, args, check_mode=check_mode)


def test_lists_stacks_and_engines_once(db, monkeypatch):
    out = run(monkeypatch, dict(), check_mode=True)
    assert not out.failed
    assert out.result['changed'] is False
    assert out.result['count'] == 5
    assert out.result['attempts'] == 1
    assert len(out.result['engines']) == 2
    assert [c['cmd'][2:4] for c in out.result['commands']] == [['--batch', '--raw']] * 3


def test_connection_from_config_file_keeps_the_password_out_of_argv(db, monkeypatch, tmp_path):
    conf = tmp_path / 'heat.conf'
    conf.write_text('[database]\nconnection = mysql+pymysql://osl_test_heat:S3cret-heat-pw@127.0.0.1:3306/osl_test_heat\n')
    db['database'] = 'osl_test_heat'
    out = run(monkeypatch, dict(config_file=str(conf)))
    assert not out.failed
    assert 'S3cret-heat-pw' not in str(db['calls'])
    assert 'S3cret-heat-pw' not in str(out.result)
    assert 'password="S3cret-heat-pw"' in db['option_files'][0]
    assert 'host="127.0.0.1"' in db['option_files'][0]


def test_filter_old_engine_host(db, monkeypatch):
    out = run(monkeypatch, dict(engine_hosts=['osl-node-b']))
    assert sorted(s['name'] for s in out.result['in_progress']) == ['osl-chain-2', 'osl-chain-3', 'osl-chain-4']


def test_wait_until_none_in_progress(db, monkeypatch):
    db['states'] = ['mixed', 'mixed', 'empty']
    out = run(monkeypatch, dict(wait='none_in_progress', sleep=0, timeout=30))
    assert not out.failed
    assert out.result['count'] == 0
    assert out.result['attempts'] == 3


def test_wait_times_out_with_the_last_state(db, monkeypatch):
    db['states'] = ['dead_owner']
    out = run(monkeypatch, dict(wait='none_in_progress', engine_hosts=['osl-node-b'], sleep=0, timeout=0))
    assert out.failed
    assert 'Timed out' in out.result['msg']
    assert '3 stack(s) in progress: osl-chain-2 (CREATE_IN_PROGRESS, engines: 2857e8d0@osl-node-b dead)' \
        in out.result['msg']
    assert out.result['count'] == 3
    assert 'state' not in out.result
