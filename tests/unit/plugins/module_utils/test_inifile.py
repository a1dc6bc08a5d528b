"""Tests of the oslo.config-compatible INI editor.

Fixtures (tests/unit/fixtures/inifile, see README there): heat.conf.sample from
oslo-config-generator, heat's own api-paste.ini, a deployed heat.conf and a
hand-grown nova.conf; oslo_parsed.json is what oslo.config's own parser read
from each of them.
"""

import difflib
import json
import os

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import inifile
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.inifile import (
    IniError,
    IniFile,
    IniParseError,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import MASK

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'inifile')
NAMES = ['heat.conf.sample', 'heat.conf', 'nova.conf', 'heat-api-paste.ini']

with open(os.path.join(FIXTURES, 'oslo_parsed.json')) as _handle:
    OSLO = json.load(_handle)


def fixture(name):
    with open(os.path.join(FIXTURES, name), newline='') as handle:
        return handle.read()


def changed_lines(before, after):
    """(removed, added) lines of a diff, without the context."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)):
        if line.startswith('- '):
            removed.append(line[2:])
        elif line.startswith('+ '):
            added.append(line[2:])
    return removed, added


# -- reading: the same as oslo.config ------------------------------------------------

@pytest.mark.parametrize('name', NAMES)
def test_reads_what_oslo_config_reads(name):
    ini = IniFile(fixture(name))
    sections = {}
    for assignment in ini.assignments:
        sections.setdefault(assignment.section.name, {}).setdefault(assignment.key, []).append(assignment.value)
    expected = dict((section, options) for section, options in OSLO[name]['sections'].items() if options)
    assert sections == expected
    assert len(ini.assignments) == sum(len(v) for options in expected.values() for v in options.values())


@pytest.mark.parametrize('name', NAMES)
def test_groups_are_those_of_oslo_config(name):
    ini = IniFile(fixture(name))
    for group, options in OSLO[name]['normalized'].items():
        for option, values in options.items():
            assert ini.get(group, option) == values, (group, option)
    assert sorted(inifile.group_of(s) for s in ini.sections()) == sorted(OSLO[name]['normalized'])


@pytest.mark.parametrize('name', NAMES)
def test_render_is_byte_identical(name):
    assert IniFile(fixture(name)).render() == fixture(name)


@pytest.mark.parametrize('text', [
    '', '\n', '[DEFAULT]', '[DEFAULT]\r\na = 1\r\n', '[DEFAULT]\na = 1', '[DEFAULT]\ra = 1\r',
    '[DEFAULT]\n\n\n# end\n   \n', '\ufeff'[1:] + '[x]\nk = caf\u00e9 \udcff\n',
])
def test_render_round_trips_odd_files(text):
    assert IniFile(text).render() == text


def test_multi_line_values_and_quotes_read_like_oslo():
    ini = IniFile(fixture('nova.conf'))
    assert ini.get('filter_scheduler', 'enabled_filters') == [
        'ComputeFilter,\nComputeCapabilitiesFilter,\nImagePropertiesFilter,\nPciPassthroughFilter']
    assert ini.get('DEFAULT', 'instance_name_template') == ['instance-%08x']
    assert ini.get('DEFAULT', 'metadata_workers') == ['2']
    assert ini.get('placement', 'password') == ['Placement-Pass-7']
    # Both [DEFAULT] blocks count; a ';' comment is no value.
    assert ini.get('DEFAULT', 'debug') == ['true']
    assert ini.get('DEFAULT', 'osapi_compute_workers') == ['2']


def test_sections_match_like_oslo_groups():
    ini = IniFile('[Database]\nconnection = sqlite://\n[default]\ndebug = true\n[DEFAULT]\nx = 1\n')
    assert ini.get('database', 'connection') == ['sqlite://']
    assert ini.get('DATABASE', 'connection') == ['sqlite://']
    # [default] is not the DEFAULT group for oslo.config.
    assert ini.get('DEFAULT', 'debug') == []
    assert ini.get('DEFAULT', 'x') == ['1']


def test_option_names_are_case_sensitive():
    ini = IniFile('[DEFAULT]\nDebug = true\n')
    assert ini.get('DEFAULT', 'debug') == []
    assert ini.set('DEFAULT', 'debug', ['false'])[0]['action'] == 'add'
    assert ini.render() == '[DEFAULT]\nDebug = true\ndebug = false\n'


@pytest.mark.parametrize('text, lineno, message', [
    ('debug = true\n[DEFAULT]\n', 1, 'Section must be started before assignment'),
    ('[DEFAULT]\n# comment\n  continued\n', 3, 'Unexpected continuation line'),
    ('[DEFAULT]\na = 1\n\n  continued\n', 4, 'Unexpected continuation line'),
    ('[DEFAULT\na = 1\n', 1, 'Invalid section'),
    ('[]\na = 1\n', 1, 'Empty section name'),
    ('[DEFAULT]\njust words\n', 2, "No ':' or '=' found"),
    ('[DEFAULT]\n= value\n', 2, 'Key cannot be empty'),
    ('[DEFAULT]\n = value\n', 2, 'Unexpected continuation line'),
])
def test_files_oslo_config_refuses_are_refused(text, lineno, message):
    with pytest.raises(IniParseError) as caught:
        IniFile(text)
    assert caught.value.context['lineno'] == lineno
    assert message in caught.value.msg
    assert caught.value.msg.startswith('line %d: ' % lineno)


def test_parse_error_masks_url_credentials():
    with pytest.raises(IniParseError) as caught:
        IniFile('transport_url = rabbit://heat:Hunter-Pw-1@h:5672/v\n')
    assert 'Hunter-Pw-1' not in caught.value.msg
    assert 'rabbit://heat:%s@h' % MASK in caught.value.msg


# -- setting one value ------------------------------------------------------------------

@pytest.mark.parametrize('option, line_before, line_after', [
    ('num_engine_workers', 'num_engine_workers = 1\n', 'num_engine_workers = 4\n'),
    ('debug', 'debug=false\n', 'debug=4\n'),
])
def test_set_rewrites_only_that_line_keeping_its_spacing(option, line_before, line_after):
    text = fixture('heat.conf')
    ini = IniFile(text)
    changes = ini.set('DEFAULT', option, ['4'])
    assert changes == [dict(section='DEFAULT', option=option, action='set',
                            old=IniFile(text).get('DEFAULT', option)[0], new='4')]
    assert changed_lines(text, ini.render()) == ([line_before], [line_after])


def test_set_keeps_colon_separator():
    text = fixture('nova.conf')
    ini = IniFile(text)
    ini.set('DEFAULT', 'metadata_workers', ['8'])
    assert changed_lines(text, ini.render()) == (['metadata_workers: 2\n'], ['metadata_workers: 8\n'])


def test_set_to_empty_and_from_empty():
    ini = IniFile('[DEFAULT]\na = 1\nb =\n')
    ini.set('DEFAULT', 'a', [''])
    ini.set('DEFAULT', 'b', ['2'])
    assert ini.render() == '[DEFAULT]\na =\nb = 2\n'
    assert ini.get('DEFAULT', 'a') == ['']


@pytest.mark.parametrize('value', ['instance-%08x', '"instance-%08x"', "'instance-%08x'", '  instance-%08x '])
def test_same_value_as_oslo_reads_it_is_no_change(value):
    text = fixture('nova.conf')
    ini = IniFile(text)
    assert ini.set('DEFAULT', 'instance_name_template', [value]) == []
    assert ini.render() == text


@pytest.mark.parametrize('name', NAMES)
def test_setting_every_option_to_its_own_value_changes_nothing(name):
    text = fixture(name)
    ini = IniFile(text)
    for group, options in OSLO[name]['normalized'].items():
        for option, values in options.items():
            if not any('\n' in v for v in values):
                assert ini.set(group, option, values) == [], (group, option)
    assert ini.render() == text


def test_new_option_goes_after_its_commented_default():
    text = fixture('heat.conf.sample')
    ini = IniFile(text)
    assert ini.set('DEFAULT', 'num_engine_workers', ['4'])[0]['action'] == 'add'
    lines = ini.render().splitlines()
    at = lines.index('num_engine_workers = 4')
    assert lines[at - 1] == '#num_engine_workers = <None>'
    assert changed_lines(text, ini.render()) == ([], ['num_engine_workers = 4\n'])


def test_new_option_goes_after_the_first_of_duplicated_commented_defaults():
    # heat.conf.sample lists [database] connection twice (from heat.common.config and from oslo.db).
    ini = IniFile(fixture('heat.conf.sample'))
    ini.set('database', 'connection', ['mysql+pymysql://heat:pw@db/heat'])
    lines = ini.render().splitlines()
    at = lines.index('connection = mysql+pymysql://heat:pw@db/heat')
    assert lines[at - 1] == '#connection = <None>'
    assert lines[:at].count('#connection = <None>') == 1


def test_new_option_without_commented_default_goes_to_the_end_of_the_section():
    text = fixture('heat.conf')
    ini = IniFile(text)
    ini.set('keystone_authtoken', 'region_name', ['RegionOne'])
    rendered = ini.render()
    # After the last option, before the blank line and the comment that introduce the next section.
    assert 'service_token_roles = service\nregion_name = RegionOne\n\n# Options for [oslo_messaging_rabbit] ' \
        'follow.\n[oslo_messaging_rabbit]\n' in rendered
    assert changed_lines(text, rendered) == ([], ['region_name = RegionOne\n'])


def test_new_option_in_a_section_of_comments_only_goes_after_them():
    text = fixture('heat.conf.sample')
    ini = IniFile(text)
    ini.set('volumes', 'backups_enabled_extra', ['x'])
    assert ini.render() == text + 'backups_enabled_extra = x\n'
    ini = IniFile(text)
    ini.set('revision', 'heat_revision', ['abc'])
    rendered = ini.render()
    assert '#heat_revision = unknown\nheat_revision = abc\n\n\n[volumes]' in rendered


def test_new_option_goes_before_a_comment_that_heads_the_next_section():
    ini = IniFile('[DEFAULT]\na = 1\n\n\n# Database access\n[database]\nconnection = x\n')
    ini.set('DEFAULT', 'b', ['2'])
    assert ini.render() == '[DEFAULT]\na = 1\nb = 2\n\n\n# Database access\n[database]\nconnection = x\n'


def test_new_option_after_a_multi_line_value():
    ini = IniFile('[DEFAULT]\na = 1,\n  2\n\n[x]\n')
    ini.set('DEFAULT', 'b', ['3'])
    assert ini.render() == '[DEFAULT]\na = 1,\n  2\nb = 3\n\n[x]\n'


def test_new_option_in_the_last_block_of_a_repeated_section():
    text = fixture('nova.conf')
    ini = IniFile(text)
    ini.set('DEFAULT', 'use_syslog', ['false'])
    assert 'log_dir = /var/log/nova\nuse_syslog = false\n\n[oslo_messaging_rabbit]' in ini.render()


def test_new_section_is_appended_after_a_blank_line():
    text = fixture('heat.conf')
    ini = IniFile(text)
    changes = ini.set('upgrade_levels', 'engine', ['auto'])
    assert changes == [dict(section='upgrade_levels', option='engine', action='add', old=None, new='auto')]
    assert ini.render() == text + '\n[upgrade_levels]\nengine = auto\n'


@pytest.mark.parametrize('text, expected', [
    ('', '[DEFAULT]\na = 1\n'),
    ('[DEFAULT]\nb = 2', '[DEFAULT]\nb = 2\na = 1\n'),
    ('# only a comment', '# only a comment\n\n[DEFAULT]\na = 1\n'),
    ('[x]\ny = 1\n\n', '[x]\ny = 1\n\n[DEFAULT]\na = 1\n'),
])
def test_insertion_into_small_files(text, expected):
    ini = IniFile(text)
    ini.set('DEFAULT', 'a', ['1'])
    assert ini.render() == expected


def test_crlf_file_gets_crlf_lines():
    text = fixture('heat.conf').replace('\n', '\r\n')
    ini = IniFile(text)
    ini.set('DEFAULT', 'num_engine_workers', ['4'])
    ini.set('paste_deploy', 'extra', ['1'])
    ini.set('new', 'k', ['v'])
    rendered = ini.render()
    assert '\n' not in rendered.replace('\r\n', '')
    assert 'num_engine_workers = 4\r\n' in rendered
    assert rendered.endswith('api_paste_config = /etc/heat/api-paste.ini\r\nextra = 1\r\n\r\n[new]\r\nk = v\r\n')


def test_last_line_without_newline_keeps_none_when_rewritten():
    ini = IniFile('[DEFAULT]\na = 1')
    ini.set('DEFAULT', 'a', ['2'])
    assert ini.render() == '[DEFAULT]\na = 2'


def test_multi_line_value_is_replaced_by_one_line():
    text = fixture('nova.conf')
    ini = IniFile(text)
    changes = ini.set('filter_scheduler', 'enabled_filters', ['ComputeFilter,PciPassthroughFilter'])
    assert changes[0]['old'].count('\n') == 3
    removed, added = changed_lines(text, ini.render())
    assert len(removed) == 4 and added == ['enabled_filters = ComputeFilter,PciPassthroughFilter\n']
    assert IniFile(ini.render()).get('filter_scheduler', 'available_filters') == [
        'nova.scheduler.filters.all_filters']


def test_set_replaces_duplicates_across_blocks_keeping_the_first_place():
    ini = IniFile('[DEFAULT]\ndebug = true\n[database]\nx = 1\n[DEFAULT]\ndebug = true\n')
    changes = ini.set('DEFAULT', 'debug', ['true'])
    assert changes == [dict(section='DEFAULT', option='debug', action='unset', old='true', new=None)]
    assert ini.render() == '[DEFAULT]\ndebug = true\n[database]\nx = 1\n[DEFAULT]\n'


def test_section_given_in_other_case_edits_the_existing_block():
    text = fixture('nova.conf')
    ini = IniFile(text)
    ini.set('Placement', 'region_name', ['RegionTwo'])
    assert changed_lines(text, ini.render()) == (['region_name = RegionOne\n'], ['region_name = RegionTwo\n'])


# -- repeated keys ----------------------------------------------------------------------

ALIASES = [
    '{ "vendor_id":"8086", "product_id":"154d", "device_type":"type-PF", "name":"a1" }',
    '{ "vendor_id":"8086", "product_id":"10ed", "device_type":"type-VF", "name":"a2" }',
]


def test_values_already_there_change_nothing():
    text = fixture('nova.conf')
    ini = IniFile(text)
    assert ini.set('pci', 'alias', ALIASES) == []
    assert ini.render() == text


def test_values_are_matched_in_order():
    text = fixture('nova.conf')
    ini = IniFile(text)
    changes = ini.set('pci', 'alias', [ALIASES[0], 'A3', 'A4'])
    assert [c['action'] for c in changes] == ['set', 'add']
    assert ini.get('pci', 'alias') == [ALIASES[0], 'A3', 'A4']
    removed, added = changed_lines(text, ini.render())
    assert removed == ['alias = %s\n' % ALIASES[1]]
    assert added == ['alias = A3\n', 'alias = A4\n']
    assert 'alias = A4\ndevice_spec = ' in ini.render()


def test_fewer_values_remove_the_surplus():
    ini = IniFile(fixture('nova.conf'))
    changes = ini.set('pci', 'alias', [ALIASES[0]])
    assert changes == [dict(section='pci', option='alias', action='unset', old=ALIASES[1], new=None)]
    assert ini.get('pci', 'alias') == [ALIASES[0]]


def test_new_repeated_option_gets_all_its_lines_together():
    ini = IniFile(fixture('heat.conf'))
    ini.set('oslo_policy', 'policy_dirs', ['policy.d', 'policy.local.d'])
    assert 'enforce_scope = false\npolicy_dirs = policy.d\npolicy_dirs = policy.local.d\n\n[paste_deploy]' \
        in ini.render()


def test_empty_values_remove_the_option():
    ini = IniFile(fixture('nova.conf'))
    assert [c['action'] for c in ini.set('pci', 'alias', [])] == ['unset', 'unset']
    assert ini.get('pci', 'alias') == []
    assert '[pci]\n# [pci] alias' in ini.render()


# -- unsetting ----------------------------------------------------------------------------

def test_unset_removes_every_occurrence_and_keeps_comments():
    text = fixture('nova.conf')
    ini = IniFile(text)
    changes = ini.unset('DEFAULT', 'osapi_compute_workers')
    assert changes == [dict(section='DEFAULT', option='osapi_compute_workers', action='unset', old='2', new=None)]
    assert changed_lines(text, ini.render()) == (['osapi_compute_workers=2\n'], [])


def test_unset_one_value_of_a_repeated_option():
    ini = IniFile(fixture('nova.conf'))
    ini.unset('pci', 'alias', [' %s ' % ALIASES[1]])
    assert ini.get('pci', 'alias') == [ALIASES[0]]


def test_unset_what_is_not_there_changes_nothing():
    text = fixture('nova.conf')
    ini = IniFile(text)
    assert ini.unset('DEFAULT', 'nothing_like_this') == []
    assert ini.unset('no_such_section', 'x') == []
    assert ini.unset('pci', 'alias', ['not one of them']) == []
    assert ini.render() == text


def test_unset_multi_line_value_removes_its_continuation_lines():
    ini = IniFile(fixture('nova.conf'))
    ini.unset('filter_scheduler', 'enabled_filters')
    assert '[filter_scheduler]\navailable_filters = ' in ini.render()


def test_unset_the_last_line_of_a_file():
    ini = IniFile('[DEFAULT]\na = 1\nb = 2')
    ini.unset('DEFAULT', 'b')
    assert ini.render() == '[DEFAULT]\na = 1\n'


# -- bad requests --------------------------------------------------------------------------

@pytest.mark.parametrize('section', ['data]base', '[database', 'a\nb', ' database', 'default', 'Default', ''])
def test_bad_section_is_refused(section):
    ini = IniFile('[DEFAULT]\n')
    with pytest.raises(IniError):
        ini.set(section, 'a', ['1'])
    with pytest.raises(IniError):
        ini.unset(section, 'a')
    assert ini.render() == '[DEFAULT]\n'


def test_lower_case_default_error_says_what_to_do():
    with pytest.raises(IniError) as caught:
        IniFile('').set('default', 'a', ['1'])
    assert 'Use section DEFAULT' in caught.value.msg


@pytest.mark.parametrize('option', ['a=b', 'a:b', 'a b', '#a', ';a', '[a', '', ' a', 'a\n'])
def test_bad_option_is_refused(option):
    with pytest.raises(IniError):
        IniFile('[DEFAULT]\n').set('DEFAULT', option, ['1'])


@pytest.mark.parametrize('value', ['a\nb', 'a\rb', 'secret-pw\n'])
def test_value_with_line_break_is_refused_without_showing_it(value):
    ini = IniFile('[DEFAULT]\n')
    with pytest.raises(IniError) as caught:
        ini.set('DEFAULT', 'password', ['ok', value])
    assert 'line break' in caught.value.msg
    assert value.strip() not in caught.value.msg
    assert ini.render() == '[DEFAULT]\n'


# -- secrets ------------------------------------------------------------------------------

HEAT_SECRETS = ['Rabbit-Pass-1', 'Db-Pass-2', 'Keystone-Pass-3', 'Memcache-Secret-4',
                '0123456789abcdef0123456789abcdef',
                # the commented-out sample default: masked as any commented-out key would be
                'notgood but just long enough i t']
NOVA_SECRETS = ['Nova-Rabbit-5', 'Nova-Db-6', 'Placement-Pass-7', '6d2e9c0b1a4f8e7d6c5b4a3f2e1d0c9b']


@pytest.mark.parametrize('name, secrets', [('heat.conf', HEAT_SECRETS), ('nova.conf', NOVA_SECRETS)])
def test_masked_text_shows_no_secret(name, secrets):
    text = fixture(name)
    ini = IniFile(text)
    masked = ini.masked(ini.secret_values())
    for secret in secrets:
        assert secret in text
        assert secret not in masked
    assert sorted(ini.secret_values()) == sorted(secrets)
    # Only lines with secrets differ, one for one.
    removed, added = changed_lines(text, masked)
    assert len(removed) == len(added)
    assert all(MASK in line for line in added)


def test_masked_keeps_lines_that_hold_no_secret():
    ini = IniFile(fixture('heat.conf'))
    masked = ini.masked(ini.secret_values()).splitlines()
    assert 'password = %s' % MASK in masked
    assert 'auth_type = password' in masked
    assert 'transport_url = rabbit://heat:%s@10.0.0.11:5672,heat:%s@10.0.0.12:5672/heat-2025.2' % (MASK, MASK) \
        in masked
    assert '#auth_encryption_key = %s' % MASK in masked
    assert '[keystone_authtoken]' in masked


def test_masked_keeps_commented_defaults_of_generated_samples_readable():
    text = fixture('heat.conf.sample')
    ini = IniFile(text)
    masked = ini.masked(ini.secret_values())
    for line in ('#memcache_secret_key = <None>', '#token_cache_time = 300', '#stack_domain_admin_password = <None>',
                 '[auth_password]', '# Example: rabbit://rabbitmq:%s@127.0.0.1:5672//' % MASK):
        assert line in masked.splitlines()
    removed, _added = changed_lines(text, masked)
    # The example URLs and the insecure sample key, nothing else.
    assert len(removed) == 3


def test_a_secret_continuation_line_is_masked():
    ini = IniFile('[DEFAULT]\npassword = first-part\n  second-part\n')
    masked = ini.masked()
    assert 'first-part' not in masked and 'second-part' not in masked
    assert masked == '[DEFAULT]\npassword = %s\n  %s\n' % (MASK, MASK)


def test_a_secret_reused_in_a_non_secret_option_is_masked_too():
    ini = IniFile('[DEFAULT]\nadmin_password = Reused-Pw-11\nnote = Reused-Pw-11 is here\n')
    assert 'Reused-Pw-11' not in ini.masked(ini.secret_values())


def test_placeholders_and_booleans_are_not_literal_secrets():
    ini = IniFile('[a]\npassword = <None>\nauth_key = true\n#password = none\nsecret = abc\n')
    assert ini.secret_values() == []


@pytest.mark.parametrize('option, secret', [
    ('password', True), ('memcache_secret_key', True), ('fixed_key', True), ('key', True), ('admin_token', True),
    ('auth_encryption_key', True), ('ssl_key_file', False), ('keystone_authtoken', True), ('debug', False),
])
def test_is_secret(option, secret):
    assert inifile.is_secret(option) is secret


def test_mask_value():
    assert inifile.mask_value('password', 'x') == MASK
    assert inifile.mask_value('password', '') == ''
    assert inifile.mask_value('password', None) is None
    assert inifile.mask_value('transport_url', 'rabbit://u:p@h/v') == 'rabbit://u:%s@h/v' % MASK
    assert inifile.mask_value('note', 'uses Hunter-2 here', ['Hunter-2']) == 'uses %s here' % MASK


def test_url_passwords():
    assert inifile.url_passwords('rabbit://a:p1@h1:5672,b:p2@h2:5672/v') == ['p1', 'p2']
    assert inifile.url_passwords('http://h:5000/v3') == []
    assert inifile.url_passwords(None) == []


# -- the edited file is what oslo.config reads ---------------------------------------------

def test_many_edits_read_back_as_requested():
    ini = IniFile(fixture('heat.conf.sample'))
    wanted = {
        ('DEFAULT', 'num_engine_workers'): ['4'],
        ('DEFAULT', 'transport_url'): ['rabbit://heat:pw@h:5672/heat-2026.1'],
        ('database', 'connection'): ['mysql+pymysql://heat:pw@db/heat'],
        ('oslo_policy', 'enforce_scope'): ['false'],
        ('paste_deploy', 'flavor'): ['noauth'],
        ('upgrade_levels', 'engine'): ['auto'],
        ('pci', 'alias'): ['a', 'b', 'c'],
    }
    for (section, option), values in wanted.items():
        ini.set(section, option, values)
    again = IniFile(ini.render())
    for (section, option), values in wanted.items():
        assert again.get(section, option) == values
    # Nothing else is set: the sample had no assignment at all.
    assert len(again.assignments) == sum(len(v) for v in wanted.values())
