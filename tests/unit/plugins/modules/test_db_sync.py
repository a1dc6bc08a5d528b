"""Whole-module tests of db_sync against a simulated heat 25/26 (and a few other services).

The simulated host answers with the outputs captured from real heat-manage
25.0.2 and 26.0.2 (tests/unit/fixtures/db_sync/): db_version before and
after, db_sync, the heads script. Its venvs are real files in tmp_path whose
heat-manage carries a #! line, as pip writes them.
"""

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.modules import db_sync

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'db_sync')
HEAD = {'25': 'c6214ca60943', '26': '97b2a986f922'}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def version_output(revision):
    # heat-manage db_version: oslo.log lines, then the revision (real capture)
    name = {None: 'heat25_db_version_empty', 'c6214ca60943': 'heat26_db_version_before',
            '97b2a986f922': 'heat26_db_version_after'}[revision]
    return fixture(name + '.stdout')


class FakeHeat(object):
    def __init__(self, tmp_path, revision='c6214ca60943'):
        self.revision = revision
        self.sync_error = None
        self.calls = []
        self.venvs = {}
        self.answers = {}
        for release in ('25', '26'):
            bindir = tmp_path / ('venv-%s' % release) / 'bin'
            bindir.mkdir(parents=True)
            for name in ('heat-manage', 'heat-status', 'nova-manage', 'keystone-manage', 'python3'):
                script = bindir / name
                script.write_text('#!%s/python3\n# -*- coding: utf-8 -*-\n' % bindir)
                script.chmod(0o755)
            self.venvs[release] = str(bindir.parent)
        self.conf = tmp_path / 'heat.conf'
        self.conf.write_text('[database]\nconnection = mysql+pymysql://heat:hunter22@127.0.0.1/heat\n')

    def release_of(self, path):
        return '25' if '/venv-25/' in path else '26'

    def run_command(self, module, argv, **kwargs):
        if argv[0].endswith('/timeout'):
            argv = argv[3:]
        self.calls.append(argv)
        release = self.release_of(argv[0])
        if argv[1] == '-c':  # the heads script run with the venv's python
            return 0, fixture('heat%s_heads.stdout' % release), ''
        tail = [a for a in argv[1:] if a != '--config-file' and not a.endswith('.conf')]
        if tail == ['db_version']:
            return 0, version_output(self.revision), 'EventletDeprecationWarning\n'
        if tail == ['db_sync']:
            if self.sync_error:
                return 1, '', self.sync_error
            if self.revision == HEAD['26'] and release == '25':
                return 1, fixture('heat25_db_sync_on26.stdout'), fixture('heat25_db_sync_on26.stderr')
            self.revision = HEAD[release]
            return 0, fixture('heat26_db_sync.stdout'), ''
        key = tuple(tail)
        if key in self.answers:
            return self.answers[key].pop(0)
        raise AssertionError('unexpected command %s' % argv)

    def syncs(self):
        return [c for c in self.calls if 'db_sync' in c or 'sync' in c]


@pytest.fixture
def heat(tmp_path, monkeypatch):
    fake = FakeHeat(tmp_path)

    def run_command(module, argv, **kwargs):
        return fake.run_command(module, argv, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    return fake


def run(monkeypatch, args, check_mode=False, diff=False):
    return run_module(monkeypatch, db_sync, args, check_mode=check_mode, diff=diff)


def heat_args(heat, release, **extra):
    return dict(service='heat', venv=heat.venvs[release], config_file=[str(heat.conf)], **extra)


def test_check_phase_reports_pending_without_syncing(heat, monkeypatch):
    out = run(monkeypatch, heat_args(heat, '26', phase='check'))
    assert not out.failed
    assert out.result['pending'] is True
    assert out.result['state'] == 'sync_needed (main)'
    assert out.result['version_before'] == 'c6214ca60943'
    assert out.result['heads'] == {'main': ['97b2a986f922']}
    assert out.result['changed'] is False
    assert out.result['exercised'] is True
    assert heat.syncs() == []
    assert heat.calls[0][:3] == [heat.venvs['26'] + '/bin/heat-manage', '--config-file', str(heat.conf)]
    # the heads were read with the venv's own python, from its #! line
    assert heat.calls[1][0] == heat.venvs['26'] + '/bin/python3'


def test_check_mode_predicts_changed_and_runs_no_sync(heat, monkeypatch):
    out = run(monkeypatch, heat_args(heat, '26'), check_mode=True, diff=True)
    assert out.result['changed'] is True
    assert out.result['version_after'] == 'c6214ca60943'
    assert heat.syncs() == []
    assert heat.revision == 'c6214ca60943'
    assert out.result['diff']['before'] == {'versions': {'main': 'c6214ca60943'}}


def test_sync_moves_the_version_then_is_idempotent(heat, monkeypatch):
    out = run(monkeypatch, heat_args(heat, '26'), diff=True)
    assert not out.failed
    assert out.result['changed'] is True
    assert (out.result['version_before'], out.result['version_after']) == ('c6214ca60943', '97b2a986f922')
    assert out.result['pending'] is True and out.result['pending_after'] is False
    assert 'Running upgrade 88be64598c0f -> 97b2a986f922' in out.result['stdout']
    assert out.result['diff']['after'] == {'versions': {'main': '97b2a986f922'}}
    assert len(heat.syncs()) == 1

    again = run(monkeypatch, heat_args(heat, '26'))
    assert again.result['changed'] is False
    assert again.result['state'] == 'up_to_date'
    assert len(heat.syncs()) == 1  # no second db_sync


def test_offline_changes_nothing_for_a_service_without_offline_arguments(heat, monkeypatch):
    out = run(monkeypatch, heat_args(heat, '26', offline=True))
    assert out.result['changed'] is True
    assert [c[1:] for c in heat.syncs()] == [['--config-file', str(heat.conf), 'db_sync']]


def test_offline_cinder_runs_its_version_bump_even_on_a_schema_at_head(heat, monkeypatch):
    # cinder 27 -> 28 has no schema change (9c74c1c6971f on both, seen in the lab's cold upgrade); the
    # sync still runs, offline, for --bump-versions, and reports the schema, which did not move.
    venv = heat.venvs['26']
    for name in ('cinder-manage',):
        script = os.path.join(venv, 'bin', name)
        with open(script, 'w') as handle:
            handle.write('#!%s/bin/python3\n' % venv)
        os.chmod(script, 0o755)
    heat.answers[('db', 'version')] = [(0, '9c74c1c6971f\n', '')] * 4
    heat.answers[('db', 'sync', '--bump-versions')] = [(0, '', '')]
    heads = '{"heads": ["9c74c1c6971f"], "revisions": ["9c74c1c6971f"]}\n'
    monkeypatch.setattr(heat, 'release_of', lambda path: '26')
    original = heat.run_command

    def run_command(module, argv, **kwargs):
        bare = argv[3:] if argv[0].endswith('/timeout') else argv
        if len(bare) > 1 and bare[1] == '-c':
            heat.calls.append(bare)
            return 0, heads, ''
        return original(module, argv, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    args = dict(service='cinder', venv=venv, config_file=[str(heat.conf)], offline=True)
    out = run(monkeypatch, args)
    assert not out.failed, out.result
    assert ['db', 'sync', '--bump-versions'] in [[a for a in c[1:] if a != '--config-file' and a != str(heat.conf)]
                                                 for c in heat.calls]
    assert out.result['changed'] is False and out.result['offline_args'] == ['--bump-versions']

    heat.calls.clear()
    plain = run(monkeypatch, dict(args, offline=False))
    assert plain.result['state'] == 'up_to_date'
    assert not [c for c in heat.calls if 'sync' in c]


def test_empty_database_is_pending_and_gets_synced(heat, monkeypatch):
    heat.revision = None
    out = run(monkeypatch, heat_args(heat, '25'))
    assert out.result['version_before'] is None
    assert out.result['version_after'] == 'c6214ca60943'
    assert out.result['changed'] is True


def test_old_code_on_a_migrated_schema_refuses_before_running_db_sync(heat, monkeypatch):
    heat.revision = '97b2a986f922'
    out = run(monkeypatch, heat_args(heat, '25'))
    assert out.failed
    assert 'revision the installed heat code does not know' in out.result['msg']
    assert 'restore a backup' in out.result['msg']
    assert out.result['state'] == 'database_ahead (main)'
    assert heat.syncs() == []
    # phase=check only reports it
    checked = run(monkeypatch, heat_args(heat, '25', phase='check'))
    assert not checked.failed
    assert checked.result['pending'] is False


def test_a_phase_heat_does_not_have_fails_before_any_command(heat, monkeypatch):
    out = run(monkeypatch, heat_args(heat, '26', phase='expand'))
    assert out.failed
    assert 'heat has no "expand" phase' in out.result['msg']
    assert heat.calls == []


def test_missing_config_file_is_a_clear_error(heat, monkeypatch, tmp_path):
    out = run(monkeypatch, dict(heat_args(heat, '26'), config_file=[str(tmp_path / 'nope.conf')]))
    assert out.failed
    assert 'does not exist' in out.result['msg']


def test_failed_sync_fails_with_the_error_and_no_password(heat, monkeypatch):
    heat.sync_error = ("ERROR: (pymysql.err.OperationalError) (1045, Access denied) "
                       "mysql+pymysql://heat:hunter22@127.0.0.1/heat\n")
    out = run(monkeypatch, heat_args(heat, '26'))
    assert out.failed
    assert 'failed with rc 1' in out.result['msg']
    assert 'Access denied' in out.result['msg']
    assert 'hunter22' not in str(out.result)
    assert out.result['version_before'] == 'c6214ca60943'


def test_online_data_migrations_loop_until_complete(heat, monkeypatch):
    heat.answers[('db', 'version')] = [(0, '2e3ca3a0c8d6\n', '')] * 2
    heat.answers[('db', 'online_data_migrations', '--max-count', '10')] = [
        (1, fixture('online_nova.stdout'), ''), (0, fixture('online_nova_empty.stdout'), '')]
    heat.answers[('api_db', 'version')] = [(0, 'cdeec0c85668\n', '')] * 2
    out = run(monkeypatch, dict(service='nova', venv=heat.venvs['26'], phase='online_data_migrations',
                                online_batch_size=10))
    assert not out.failed
    assert out.result['online']['runs'] == 2
    assert out.result['online']['migrated'] == 13
    assert out.result['online']['complete'] is True
    assert out.result['changed'] is True
    assert out.result['exercised'] is True
    assert out.result['versions_before'] == {'api': 'cdeec0c85668', 'main': '2e3ca3a0c8d6'}


def test_online_data_migrations_errors_fail(heat, monkeypatch):
    heat.answers[('db', 'version')] = [(0, '2e3ca3a0c8d6\n', '')]
    heat.answers[('api_db', 'version')] = [(0, 'cdeec0c85668\n', '')]
    heat.answers[('db', 'online_data_migrations')] = [(2, fixture('online_nova.stdout'), '')]
    out = run(monkeypatch, dict(service='nova', venv=heat.venvs['26'], phase='online_data_migrations'))
    assert out.failed
    assert 'reported failures (rc 2)' in out.result['msg']


def test_online_data_migrations_in_check_mode_run_nothing(heat, monkeypatch):
    heat.answers[('db', 'version')] = [(0, '2e3ca3a0c8d6\n', '')]
    heat.answers[('api_db', 'version')] = [(0, 'cdeec0c85668\n', '')]
    out = run(monkeypatch, dict(service='nova', venv=heat.venvs['26'], phase='online_data_migrations'),
              check_mode=True)
    assert out.result['changed'] is False
    assert out.result['state'] == 'unknown'
    assert out.result['commands'][-1]['skipped'] is True


@pytest.mark.parametrize('rc, phase, changed', [(2, 'expand', True), (4, 'expand', False), (4, 'contract', True),
                                                (2, 'sync', True)])
def test_keystone_check_codes_predict_each_phase(heat, monkeypatch, rc, phase, changed):
    heat.answers[('db_version',)] = [(0, 'e25ffa003242\n', '')]
    heat.answers[('db_sync', '--check')] = [(rc, '', '')]
    out = run(monkeypatch, dict(service='keystone', venv=heat.venvs['26'], phase=phase), check_mode=True)
    assert not out.failed
    assert out.result['changed'] is changed
    assert out.result['pending'] is True
