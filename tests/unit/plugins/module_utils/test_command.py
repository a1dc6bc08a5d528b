import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import (
    CommandError,
    CommandRunner,
    CommandTimeout,
)


class FakeModule(object):
    """Stands in for AnsibleModule: records run_command calls, answers from a script."""

    def __init__(self, answers=None, check_mode=False, bins=('mysqldump', 'heat-manage', 'timeout')):
        self.answers = list(answers or [])
        self.check_mode = check_mode
        self.calls = []
        self.bins = bins

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/bin/' + name if name in self.bins else None

    def run_command(self, argv, environ_update=None, cwd=None, data=None, binary_data=False, check_rc=False):
        self.calls.append({'argv': argv, 'env': environ_update})
        return self.answers.pop(0) if self.answers else (0, '', '')


def test_runs_argv_with_lang_c_and_records_masked_command():
    module = FakeModule([(0, 'ok\n', '')])
    runner = CommandRunner(module, secrets=['hunter22'])
    result = runner.run(['heat-manage', '--config-file', '/etc/heat/heat.conf', 'db_version'])
    assert result.stdout == 'ok\n'
    assert module.calls[0]['argv'] == ['/usr/bin/heat-manage', '--config-file', '/etc/heat/heat.conf', 'db_version']
    assert module.calls[0]['env']['LANG'] == 'C'
    assert runner.commands[0]['cmd'][0] == '/usr/bin/heat-manage'
    assert runner.commands[0]['rc'] == 0


def test_mutating_command_is_skipped_in_check_mode():
    module = FakeModule(check_mode=True)
    runner = CommandRunner(module)
    result = runner.run(['heat-manage', 'db_sync'], mutating=True)
    assert result.skipped
    assert module.calls == []
    assert runner.commands == [{'cmd': ['/usr/bin/heat-manage', 'db_sync'], 'rc': None, 'elapsed': 0.0, 'skipped': True}]


def test_read_only_command_still_runs_in_check_mode():
    module = FakeModule([(0, '3\n', '')], check_mode=True)
    assert CommandRunner(module).run(['heat-manage', 'db_version']).stdout == '3\n'


def test_failure_message_masks_secrets():
    module = FakeModule([(1, '', 'Access denied for mysql+pymysql://heat:hunter22@db/heat\n')])
    runner = CommandRunner(module)
    with pytest.raises(CommandError) as err:
        runner.run(['mysqldump', '--password=hunter22', 'heat'])
    assert 'hunter22' not in err.value.msg
    assert 'hunter22' not in str(err.value.context)
    assert err.value.context['rc'] == 1


def test_timeout_wraps_with_coreutils_timeout_and_reports_it():
    module = FakeModule([(124, '', '')])
    with pytest.raises(CommandTimeout) as err:
        CommandRunner(module).run(['heat-manage', 'db_sync'], timeout=30)
    assert module.calls[0]['argv'][:3] == ['/usr/bin/timeout', '--kill-after=10', '30']
    assert 'within 30 seconds' in err.value.msg


def test_missing_binary_is_a_clear_error():
    with pytest.raises(CommandError, match='glance-manage was not found'):
        CommandRunner(FakeModule()).run(['glance-manage', 'db_sync'])


def test_expected_rc_accepts_documented_codes():
    module = FakeModule([(1, 'more to do', '')])
    assert CommandRunner(module).run(['heat-manage', 'x'], expected_rc=(0, 1)).rc == 1
