"""Whole-module tests of openstack_config on scratch copies of the inifile fixtures.

The module runs to its real exit_json/fail_json, so what is checked is the JSON
Ansible would receive, with its ``invocation`` and no_log scrubbing.
"""

import json
import os
import shutil
import stat

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.openstack_ops.upgrade.plugins.modules import openstack_config

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'inifile')
MASK = '********'
OLD = 1600000000  # an mtime far in the past, to see any rewrite


def run(capsys, args, check_mode=False, diff=False):
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
        with pytest.raises(SystemExit) as caught:
            openstack_config.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result['_raw'] = out
    result['_rc'] = caught.value.code
    return result


@pytest.fixture
def conf(tmp_path):
    def copy(name='heat.conf', mode=0o640):
        path = tmp_path / name
        shutil.copy(os.path.join(FIXTURES, name), str(path))
        os.chmod(str(path), mode)
        os.utime(str(path), (OLD, OLD))
        return path
    return copy


def snapshot(path):
    st = os.stat(str(path))
    return path.read_bytes(), st.st_mtime_ns, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_ino


def test_set_changes_one_line_and_is_idempotent(capsys, conf):
    path = conf()
    before = path.read_text()
    result = run(capsys, dict(path=str(path), option='num_engine_workers', value=4))
    assert result['changed'] is True and result['_rc'] == 0
    assert result['changes'] == [dict(section='DEFAULT', option='num_engine_workers', action='set', old='1', new='4')]
    assert path.read_text() == before.replace('num_engine_workers = 1\n', 'num_engine_workers = 4\n')
    assert 'backup_file' not in result

    after = snapshot(path)
    again = run(capsys, dict(path=str(path), option='num_engine_workers', value='4'))
    assert again['changed'] is False and again['changes'] == []
    assert snapshot(path) == after


def test_check_mode_leaves_the_file_untouched(capsys, conf):
    path = conf()
    before = snapshot(path)
    result = run(capsys, dict(path=str(path), settings=dict(
        DEFAULT=dict(num_engine_workers=8, debug=True), upgrade_levels=dict(engine='auto')), backup=True),
        check_mode=True, diff=True)
    assert result['changed'] is True
    assert [c['action'] for c in result['changes']] == ['set', 'set', 'add']
    assert snapshot(path) == before
    assert 'backup_file' not in result
    assert os.listdir(str(path.parent)) == ['heat.conf']
    content = result['diff'][0]
    assert 'num_engine_workers = 8\n' in content['after'] and 'debug=true\n' in content['after']
    assert content['after'].endswith('\n[upgrade_levels]\nengine = auto\n')


def test_diff_and_changes_mask_secrets(capsys, conf):
    path = conf()
    result = run(capsys, dict(path=str(path), settings=dict(
        DEFAULT=dict(transport_url='rabbit://heat:New-Rabbit-Pw-9@10.0.0.11:5672/heat-2026.1'),
        keystone_authtoken=dict(password='New-Keystone-Pw-9', region_name='RegionOne'),
        database=dict(connection='mysql+pymysql://heat:New-Db-Pw-9@10.0.0.10/heat'))), diff=True)
    assert result['changed'] is True
    raw = result['_raw']
    for secret in ('New-Rabbit-Pw-9', 'New-Keystone-Pw-9', 'New-Db-Pw-9',
                   'Rabbit-Pass-1', 'Db-Pass-2', 'Keystone-Pass-3', 'Memcache-Secret-4',
                   '0123456789abcdef0123456789abcdef'):
        assert secret not in raw, secret
    by_option = dict((c['option'], c) for c in result['changes'])
    assert by_option['password'] == dict(section='keystone_authtoken', option='password', action='set',
                                         old=MASK, new=MASK)
    assert by_option['transport_url']['new'] == 'rabbit://heat:%s@10.0.0.11:5672/heat-2026.1' % MASK
    assert by_option['region_name']['new'] == 'RegionOne'
    content = result['diff'][0]
    assert content['before_header'] == content['after_header'] == str(path)
    assert 'password = %s\n' % MASK in content['after']
    assert 'region_name = RegionOne\n' in content['after']
    # The file itself has the real values.
    assert 'password = New-Keystone-Pw-9\n' in path.read_text()
    assert 'transport_url = rabbit://heat:New-Rabbit-Pw-9@10.0.0.11:5672/heat-2026.1\n' in path.read_text()


def test_secret_value_hidden_from_invocation(capsys, conf):
    path = conf()
    result = run(capsys, dict(path=str(path), section='keystone_authtoken', option='password',
                              value='Hunter-Secret-12'), diff=True)
    assert result['changed'] is True
    assert 'Hunter-Secret-12' not in result['_raw']
    assert result['invocation']['module_args']['value'] != 'Hunter-Secret-12'
    # Harmless values are not scrubbed.
    plain = run(capsys, dict(path=str(path), option='debug', value='true'), diff=True)
    assert plain['invocation']['module_args']['value'] == 'true'
    assert 'debug=true\n' in plain['diff'][0]['after']


def test_backup(capsys, conf):
    path = conf()
    before = path.read_bytes()
    result = run(capsys, dict(path=str(path), option='debug', value='true', backup=True))
    assert result['changed'] is True
    backup = result['backup_file']
    assert os.path.dirname(backup) == str(path.parent)
    with open(backup, 'rb') as handle:
        assert handle.read() == before
    # No change, no backup.
    again = run(capsys, dict(path=str(path), option='debug', value='true', backup=True))
    assert again['changed'] is False and 'backup_file' not in again
    assert len(os.listdir(str(path.parent))) == 2


def test_mode_and_owner_are_preserved(capsys, conf):
    path = conf(mode=0o640)
    if os.geteuid() == 0:
        os.chown(str(path), 4242, 4343)
    old = snapshot(path)
    result = run(capsys, dict(path=str(path), option='num_engine_workers', value='2'))
    assert result['changed'] is True
    new = snapshot(path)
    assert new[2] == 0o640
    assert new[3:5] == old[3:5]
    assert new[5] != old[5]  # replaced by rename, not written in place


def test_mode_option_changes_only_the_mode(capsys, conf):
    path = conf(mode=0o644)
    content = path.read_bytes()
    result = run(capsys, dict(path=str(path), option='debug', value='false', mode='0600'), diff=True)
    assert result['changed'] is True and result['changes'] == []
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert path.read_bytes() == content
    header = '%s (attributes)' % path
    assert result['diff'][1] == dict(before=dict(mode='0644'), after=dict(mode='0600'),
                                     before_header=header, after_header=header)
    assert result['diff'][0]['before'] == result['diff'][0]['after']
    assert run(capsys, dict(path=str(path), option='debug', value='false', mode='0600'))['changed'] is False


def test_check_mode_predicts_a_mode_change(capsys, conf):
    path = conf(mode=0o644)
    result = run(capsys, dict(path=str(path), option='debug', value='false', mode='0600'), check_mode=True)
    assert result['changed'] is True
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644


def test_missing_file_without_create_fails_clearly(capsys, tmp_path):
    path = tmp_path / 'heat.conf'
    result = run(capsys, dict(path=str(path), option='debug', value='true'))
    assert result['failed'] is True and result['_rc'] == 1
    assert result['msg'] == '%s does not exist. Check the path, or set create=true to create it.' % path
    assert not path.exists()


def test_create(capsys, tmp_path):
    path = tmp_path / 'new.conf'
    predicted = run(capsys, dict(path=str(path), section='upgrade_levels', option='compute', value='auto',
                                 create=True, mode='0640'), check_mode=True, diff=True)
    assert predicted['changed'] is True and not path.exists()
    assert predicted['diff'][0]['before'] == '' and predicted['diff'][0]['after'] == '[upgrade_levels]\ncompute = auto\n'
    result = run(capsys, dict(path=str(path), section='upgrade_levels', option='compute', value='auto',
                              create=True, mode='0640'))
    assert result['changed'] is True
    assert path.read_text() == '[upgrade_levels]\ncompute = auto\n'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
    assert run(capsys, dict(path=str(path), section='upgrade_levels', option='compute', value='auto',
                            create=True, mode='0640'))['changed'] is False


def test_absent_in_a_missing_file_creates_nothing(capsys, tmp_path):
    path = tmp_path / 'new.conf'
    result = run(capsys, dict(path=str(path), option='debug', state='absent', create=True))
    assert result['changed'] is False and not path.exists()


def test_create_in_a_missing_directory_fails(capsys, tmp_path):
    result = run(capsys, dict(path=str(tmp_path / 'no' / 'x.conf'), option='a', value='1', create=True))
    assert result['failed'] is True and 'directory' in result['msg']


@pytest.mark.parametrize('args, message', [
    (dict(section='data]base', option='x', value='1'), 'must not contain'),
    (dict(section='default', option='x', value='1'), 'Use section DEFAULT'),
    (dict(option='x=y', value='1'), 'cannot be written as a key'),
    (dict(option='password', value='Multi-Line-Pw\nsecond'), 'line break'),
    (dict(option='x', values=['a', 'b\nc']), 'line break'),
    (dict(option='x'), 'needs value or values'),
    (dict(option='x', value=['a']), 'must be a string, a number or a boolean'),
    (dict(settings=dict(DEFAULT='x')), 'must be a dictionary'),
    (dict(settings=dict(DEFAULT=dict(a=dict(b=1)))), 'must be a string, a number or a boolean'),
    (dict(option='x', settings=dict(DEFAULT=dict(a=1))), 'mutually exclusive'),
    (dict(option='x', value='1', values=['1']), 'mutually exclusive'),
    (dict(section='DEFAULT'), 'one of the following is required'),
])
def test_bad_input_fails_and_changes_nothing(capsys, conf, args, message):
    path = conf()
    before = snapshot(path)
    result = run(capsys, dict(args, path=str(path)))
    assert result['failed'] is True, result
    assert message in result['msg']
    assert 'Multi-Line-Pw' not in result['_raw']
    assert snapshot(path) == before


def test_unparsable_file_is_refused_untouched(capsys, tmp_path):
    path = tmp_path / 'broken.conf'
    path.write_text('connection = mysql+pymysql://heat:Broken-Pw-1@db/heat\n[database]\n')
    before = snapshot(path)
    result = run(capsys, dict(path=str(path), section='database', option='connection', value='sqlite://'))
    assert result['failed'] is True
    assert result['msg'].startswith('%s line 1: Section must be started before assignment' % path)
    assert result['lineno'] == 1
    assert 'Broken-Pw-1' not in result['_raw']
    assert snapshot(path) == before


def test_settings_apply_many_options_at_once(capsys, conf):
    path = conf('nova.conf')
    settings = {
        'DEFAULT': {'osapi_compute_workers': 4, 'compute_driver': None, 'debug': False},
        'pci': {'alias': ['{"name": "a1"}', '{"name": "a2"}', '{"name": "a3"}'], 'device_spec': []},
        'upgrade_levels': {'compute': 'auto'},
    }
    result = run(capsys, dict(path=str(path), settings=settings))
    assert result['changed'] is True
    assert [(c['option'], c['action']) for c in result['changes']] == [
        ('osapi_compute_workers', 'set'), ('compute_driver', 'unset'), ('debug', 'set'),
        ('alias', 'set'), ('alias', 'set'), ('alias', 'add'), ('device_spec', 'unset'), ('compute', 'add')]
    text = path.read_text()
    assert 'osapi_compute_workers=4\n' in text and 'compute_driver = fake' not in text
    assert '#compute_driver = libvirt.LibvirtDriver\n' in text
    assert 'debug = false\n' in text
    assert text.count('alias = {"name": "a') == 3
    assert text.endswith('[upgrade_levels]\ncompute = auto\n')
    assert run(capsys, dict(path=str(path), settings=settings))['changed'] is False


def test_state_absent_with_settings_removes_listed_values(capsys, conf):
    path = conf('nova.conf')
    alias = '{ "vendor_id":"8086", "product_id":"10ed", "device_type":"type-VF", "name":"a2" }'
    result = run(capsys, dict(path=str(path), state='absent', settings={
        'pci': {'alias': [alias]}, 'DEFAULT': {'debug': None, 'log_dir': '/elsewhere'}}))
    assert [(c['option'], c['action']) for c in result['changes']] == [('alias', 'unset'), ('debug', 'unset')]
    text = path.read_text()
    assert alias not in text and 'name":"a1"' in text and 'log_dir = /var/log/nova' in text


def test_values_and_absent_with_value(capsys, conf):
    path = conf('nova.conf')
    result = run(capsys, dict(path=str(path), section='pci', option='alias', values=['x', 'y']))
    assert [c['action'] for c in result['changes']] == ['set', 'set']
    result = run(capsys, dict(path=str(path), section='pci', option='alias', value='x', state='absent'))
    assert result['changes'] == [dict(section='pci', option='alias', action='unset', old='x', new=None)]
    assert 'alias = y\n' in path.read_text() and 'alias = x\n' not in path.read_text()


def test_symlink_is_followed_and_kept(capsys, conf):
    path = conf()
    link = path.parent / 'link.conf'
    link.symlink_to(path.name)
    result = run(capsys, dict(path=str(link), option='debug', value='true'))
    assert result['changed'] is True and result['path'] == str(path)
    assert link.is_symlink()
    assert 'debug=true\n' in path.read_text()


def test_a_directory_is_refused(capsys, tmp_path):
    result = run(capsys, dict(path=str(tmp_path), option='debug', value='true'))
    assert result['failed'] is True and 'is a directory' in result['msg']


def test_non_utf8_bytes_survive(capsys, tmp_path):
    path = tmp_path / 'latin1.conf'
    path.write_bytes(b'[DEFAULT]\n# caf\xe9\nname = caf\xe9\r\n')
    result = run(capsys, dict(path=str(path), option='debug', value='true'))
    assert result['changed'] is True
    assert path.read_bytes() == b'[DEFAULT]\n# caf\xe9\nname = caf\xe9\r\ndebug = true\n'


def test_secrets_are_hidden_even_when_another_setting_is_bad(capsys, conf):
    path = conf()
    result = run(capsys, dict(path=str(path), settings={
        'keystone_authtoken': {'password': 'Early-Secret-13'},
        'database': {'connection': 'mysql+pymysql://heat:Early-Url-Pw-13@db/heat'},
        'DEFAULT': 'not a dict'}))
    assert result['failed'] is True
    assert 'Early-Secret-13' not in result['_raw'] and 'Early-Url-Pw-13' not in result['_raw']
