"""Whole-module tests of upgrade_check over real heat-status / oslo.upgradecheck outputs."""

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.modules import upgrade_check

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'upgrade_check')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture
def status(monkeypatch):
    """Answers `<service>-status upgrade check` with a captured output; records argv and warnings."""
    state = dict(answer=None, calls=[], warnings=[])

    def run_command(module, argv, **kwargs):
        state['calls'].append(argv)
        return state['answer']

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: state['warnings'].append(text))
    return state


def answer(name, stderr=''):
    return int(fixture(name + '.rc')), fixture(name + '.stdout'), stderr


def run(monkeypatch, args, check_mode=False):
    return run_module(monkeypatch, upgrade_check, args, check_mode=check_mode)


def test_success_with_json(status, monkeypatch):
    status['answer'] = answer('heat26_status_json')
    out = run(monkeypatch, dict(service='heat'), check_mode=True)
    assert not out.failed
    assert out.result['changed'] is False
    assert out.result['status'] == 'success'
    assert out.result['results'] == [{'check': 'Policy File JSON to YAML Migration', 'result': 0,
                                      'status': 'success', 'details': None}]
    assert status['calls'][0][-4:] == ['/usr/bin/heat-status', 'upgrade', 'check', '--json']


def test_failure_fails_and_lists_the_failing_check(status, monkeypatch):
    status['answer'] = answer('heat26_status_failure_json')
    out = run(monkeypatch, dict(service='heat'))
    assert out.failed
    assert 'heat is not ready for the upgrade' in out.result['msg']
    assert 'Policy File JSON to YAML Migration: Your policy file is JSON-formatted' in out.result['msg']
    assert out.result['failed_checks'][0]['result'] == 2
    assert out.result['rc'] == 2


def test_failure_from_the_table(status, monkeypatch):
    status['answer'] = answer('heat26_status_failure')
    out = run(monkeypatch, dict(service='heat', json=False))
    assert out.failed
    assert '--json' not in status['calls'][0]
    assert out.result['status'] == 'failure'


@pytest.mark.parametrize('name', ['oslo_upgradecheck_warning', 'oslo_upgradecheck_warning_json'])
def test_warnings_are_reported_and_allowed_by_default(status, monkeypatch, name):
    status['answer'] = answer(name)
    out = run(monkeypatch, dict(service='heat'))
    assert not out.failed
    assert out.result['status'] == 'warning'
    assert [c['check'] for c in out.result['warning_checks']] == ['hw_machine_type unset']
    assert 'warnings' not in out.result
    # rc 1 with no "failed" key would make Ansible fail the task (found on the lab's nova 33 with instances).
    assert out.result['rc'] == 1 and out.result['failed'] is False
    assert status['warnings'] and 'hw_machine_type unset' in status['warnings'][0]


def test_warnings_fail_when_not_allowed(status, monkeypatch):
    status['answer'] = answer('oslo_upgradecheck_warning_json')
    out = run(monkeypatch, dict(service='heat', allow_warnings=False))
    assert out.failed
    assert 'allow_warnings is false' in out.result['msg']


def test_nova_gets_no_json_flag_and_its_table_is_read(status, monkeypatch):
    status['answer'] = answer('oslo_upgradecheck_warning')
    out = run(monkeypatch, dict(service='nova'))
    assert status['calls'][0][-3:] == ['/usr/bin/nova-status', 'upgrade', 'check']
    assert out.result['status'] == 'warning'


def test_rc_1_with_a_traceback_is_not_a_warning(status, monkeypatch):
    # heat-status with a missing config file exits 1 with an oslo.config traceback
    status['answer'] = (1, '', fixture('heat26_status_missing_conf.stderr'))
    out = run(monkeypatch, dict(service='heat'))
    assert out.failed
    assert 'without a result table' in out.result['msg']
    assert 'ConfigFilesNotFoundError' in out.result['msg']


def test_rc_255_a_check_crashed(status, monkeypatch):
    status['answer'] = (255, 'Error:\nTraceback (most recent call last):\nKeyError: x\n', '')
    out = run(monkeypatch, dict(service='glance'))
    assert out.failed
    assert 'a check raised an exception' in out.result['msg']


def test_config_files_are_passed_and_must_exist(status, monkeypatch, tmp_path):
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\n')
    status['answer'] = answer('heat25_status_json')
    run(monkeypatch, dict(service='heat', config_file=[str(conf)]))
    assert status['calls'][0][-6:] == ['/usr/bin/heat-status', '--config-file', str(conf), 'upgrade', 'check',
                                       '--json']
    out = run(monkeypatch, dict(service='heat', config_file=[str(tmp_path / 'missing.conf')]))
    assert out.failed and 'does not exist' in out.result['msg']
