"""rabbitmq_vhost as a whole, against a stateful fake of the management API."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import rabbitmq
from ansible_collections.openstack_ops.upgrade.plugins.modules import rabbitmq_vhost

from rabbitmq_fake import FakeRabbit, fixture

FULL = {'configure': '.*', 'write': '.*', 'read': '.*'}


@pytest.fixture
def fake(monkeypatch):
    server = FakeRabbit()
    monkeypatch.setattr(rabbitmq, 'open_url', server)
    return server


def run(args, check=False, diff=False, capsys=None):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            rabbitmq_vhost.main()
    out = json.loads(capsys.readouterr().out)
    out['rc'] = exc.value.code
    return out


NEW = {'name': 'heat-2026.1', 'user': 'heat', 'user_password': 'heat-secret', 'permissions': [{'user': 'heat'}]}


def test_creates_vhost_user_and_permissions_then_is_idempotent(fake, capsys):
    result = run(NEW, diff=True, capsys=capsys)
    assert result['changed'] is True
    assert result['before']['exists'] is False
    assert result['after']['permissions'] == {'guest': FULL, 'heat': FULL}
    assert result['after']['user'] == {'name': 'heat', 'exists': True, 'tags': [], 'password_matches': True}
    assert result['diff'] == {'before': result['before'], 'after': result['after']}
    # read, change (user first), read again
    assert [(e['method'], e['path'], e['status']) for e in result['requests']] == [
        ('GET', '/api/vhosts/heat-2026.1', 404), ('GET', '/api/users/heat', 404),
        ('PUT', '/api/users/heat', 201), ('PUT', '/api/vhosts/heat-2026.1', 201),
        ('PUT', '/api/permissions/heat-2026.1/heat', 204), ('GET', '/api/vhosts/heat-2026.1', 200),
        ('GET', '/api/vhosts/heat-2026.1/permissions', 200), ('GET', '/api/users/heat', 200)]
    assert fake.permissions[('heat-2026.1', 'heat')] == FULL
    assert 'heat-secret' not in json.dumps(result)

    again = run(NEW, capsys=capsys)
    assert again['changed'] is False
    assert [e['method'] for e in again['requests']] == ['GET', 'GET', 'GET']


def test_check_mode_predicts_exactly_what_a_real_run_does(fake, capsys):
    predicted = run(NEW, check=True, capsys=capsys)
    assert 'heat-2026.1' not in fake.vhosts and 'heat' not in fake.users
    assert all(e['skipped'] for e in predicted['requests'] if e['method'] != 'GET')
    real = run(NEW, capsys=capsys)
    assert predicted['after'] == real['after']
    assert predicted['changed'] is True and real['changed'] is True


def test_password_is_compared_not_blindly_set(fake, capsys):
    fake.add_user('heat', 'old-secret', tags=['monitoring'])
    fake.add_vhost('heat-2026.1')
    fake.permissions[('heat-2026.1', 'heat')] = dict(FULL)
    result = run(NEW, capsys=capsys)
    assert result['changed'] is True
    assert result['before']['user']['password_matches'] is False
    assert result['after']['user'] == {'name': 'heat', 'exists': True, 'tags': ['monitoring'], 'password_matches': True}
    assert run(NEW, capsys=capsys)['changed'] is False
    assert run(dict(NEW, user_password='other', update_password='on_create'), capsys=capsys)['changed'] is False


def test_tags_change_keeps_the_password(fake, capsys):
    fake.add_user('heat', 'heat-secret')
    stored = fake.users['heat']['password_hash']
    result = run({'name': 'heat-2026.1', 'user': 'heat', 'user_tags': ['monitoring']}, capsys=capsys)
    assert result['changed'] is True
    assert fake.users['heat']['tags'] == ['monitoring']
    assert fake.users['heat']['password_hash'] == stored


def test_missing_user_without_password_is_refused_before_any_change(fake, capsys):
    result = run({'name': 'heat-2026.1', 'user': 'heat', 'permissions': [{'user': 'heat'}]}, capsys=capsys)
    assert result['failed'] is True
    assert "user 'heat' does not exist and no user_password" in result['msg']
    assert 'heat-2026.1' not in fake.vhosts


def test_permission_for_unknown_user_is_refused_before_any_change(fake, capsys):
    result = run({'name': 'heat-2026.1', 'permissions': [{'user': 'nobody'}]}, capsys=capsys)
    assert result['failed'] is True
    assert 'no such user' in result['msg'] and result['missing_users'] == ['nobody']
    assert 'heat-2026.1' not in fake.vhosts


def test_other_users_permissions_are_left_alone(fake, capsys):
    fake.add_user('heat', 'heat-secret')
    fake.add_user('monitor', 'm')
    fake.add_vhost('heat-2026.1')
    fake.permissions[('heat-2026.1', 'monitor')] = {'configure': '^$', 'write': '^$', 'read': '.*'}
    result = run({'name': 'heat-2026.1', 'permissions': [{'user': 'heat', 'read': '^heat'}]}, capsys=capsys)
    assert result['permissions'] == [
        {'user': 'heat', 'configure': '.*', 'write': '.*', 'read': '^heat'},
        {'user': 'monitor', 'configure': '^$', 'write': '^$', 'read': '.*'}]


def drained_vhost(fake, **overrides):
    queues = fixture('queues_realtime_columns.json')
    for q in queues:
        q.update(messages=0, messages_ready=0, messages_unacknowledged=0)
        q.update(overrides.get(q['name'], {}))
    fake.add_vhost('heat-2025.2', queues)


def test_absent_refuses_while_queues_hold_messages_and_lists_them(fake, capsys):
    drained_vhost(fake, engine={'messages': 3, 'messages_ready': 1, 'messages_unacknowledged': 2})
    for check in (True, False):
        result = run({'name': 'heat-2025.2', 'state': 'absent'}, check=check, capsys=capsys)
        assert result['failed'] is True
        assert result['msg'].startswith('Refusing to delete vhost heat-2025.2: 1 queue(s) still hold messages: '
                                        'engine (3 messages, 2 unacknowledged')
        assert [q['name'] for q in result['queues']] == ['engine']
        assert 'heat-2025.2' in fake.vhosts


@pytest.mark.parametrize('extra', [{'force': True}, {'only_if_empty': False}])
def test_absent_force_deletes_anyway(fake, capsys, extra):
    drained_vhost(fake, engine={'messages': 1, 'messages_ready': 1})
    result = run(dict({'name': 'heat-2025.2', 'state': 'absent'}, **extra), capsys=capsys)
    assert result['changed'] is True and 'heat-2025.2' not in fake.vhosts


def test_absent_deletes_an_empty_vhost_with_dead_engines_queues(fake, capsys):
    drained_vhost(fake)
    predicted = run({'name': 'heat-2025.2', 'state': 'absent'}, check=True, diff=True, capsys=capsys)
    assert predicted['changed'] is True and 'heat-2025.2' in fake.vhosts
    assert predicted['diff']['after'] == {'vhost': 'heat-2025.2', 'exists': False, 'permissions': {}}
    result = run({'name': 'heat-2025.2', 'state': 'absent'}, capsys=capsys)
    assert result['changed'] is True and result['queues'] == []
    assert 'heat-2025.2' not in fake.vhosts
    assert run({'name': 'heat-2025.2', 'state': 'absent'}, capsys=capsys)['changed'] is False


def test_slash_vhost_is_url_encoded(fake, capsys):
    result = run({'name': '/', 'permissions': [{'user': 'guest'}]}, capsys=capsys)
    assert result['changed'] is False
    assert result['requests'][0]['path'] == '/api/vhosts/%2F'


def test_bad_credentials(fake, capsys):
    result = run({'name': 'heat-2026.1', 'login_password': 'wrong-secret'}, capsys=capsys)
    assert result['failed'] is True
    assert "refused the credentials of user 'guest' (401" in result['msg']
    assert 'wrong-secret' not in json.dumps(result)
