"""module_utils.rabbitmq against answers captured from RabbitMQ 3.10.8
(tests/unit/fixtures/rabbitmq/, made by capture.sh there)."""

import io
import json
import os
import socket
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import rabbitmq as r
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.jmes import QueryError

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'rabbitmq')
LIVE = '9a7e51c2-5a4e-4b8e-9a4c-0d7b1f2c3e41'
DEAD = '3f1c0b7d-2c1e-4d6a-8f0e-6b5a4c3d2e10'


def raw(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def load(name):
    return json.loads(raw(name))


def realtime_queues():
    return r.parse_queues(load('queues_realtime_columns.json'),
                          r.parse_consumer_counts(load('consumers.json')))


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize('fixture', ['queues_realtime_columns.json', 'queues_realtime.json'])
def test_realtime_listings_parse_to_the_same_depths(fixture):
    queues = r.parse_queues(load(fixture), r.parse_consumer_counts(load('consumers.json')))
    by_name = dict((q['name'], q) for q in queues)
    assert [q['name'] for q in queues] == sorted(by_name)
    assert by_name['engine'] == {'name': 'engine', 'messages': 3, 'messages_ready': 1,
                                 'messages_unacknowledged': 2, 'consumers': 1,
                                 'state': 'running', 'type': 'classic'}
    assert by_name['heat-engine-listener.' + DEAD]['messages_ready'] == 2
    assert by_name['heat-engine-listener.' + DEAD]['consumers'] == 0
    assert by_name['engine_worker.' + LIVE]['consumers'] == 1
    assert r.lacks_counters(queues) == []


def test_sampled_listing_carries_its_own_consumers_column():
    queues = r.parse_queues(load('queues_sampled_columns.json'))
    assert dict((q['name'], q['consumers']) for q in queues) == \
        dict((q['name'], q['consumers']) for q in realtime_queues())
    assert [q['messages'] for q in queues] == [q['messages'] for q in realtime_queues()]


def test_consumers_counted_per_queue_from_the_captured_answer():
    counts = r.parse_consumer_counts(load('consumers.json'))
    assert counts == {'engine': 1, 'engine_worker': 1, 'engine_worker.' + LIVE: 1,
                      'heat-engine-listener.' + LIVE: 1}


def test_stats_disabled_without_totals_means_unknown_depth_not_zero():
    # what RabbitMQ answers to ?disable_stats=true alone: no counters at all
    data = [dict((k, v) for k, v in q.items() if not k.startswith('messages'))
            for q in load('queues_realtime.json')]
    queues = r.parse_queues(data, {})
    assert len(r.lacks_counters(queues)) == len(queues)
    assert len(r.busy_queues(queues)) == len(queues)  # unknown is never "drained"
    assert r.unused_queues(queues) == []


def test_empty_vhost():
    queues = r.parse_queues(load('queues_empty_vhost.json'), r.parse_consumer_counts(load('consumers_none.json')))
    assert queues == []
    assert r.busy_queues(queues) == []
    assert r.queue_totals(queues) == {'total_messages': 0, 'total_unacknowledged': 0, 'total_consumers': 0}


def test_totals_busy_unused_and_consumers():
    queues = realtime_queues()
    assert r.queue_totals(queues) == {'total_messages': 5, 'total_unacknowledged': 2, 'total_consumers': 4}
    assert [q['name'] for q in r.busy_queues(queues)] == ['engine', 'heat-engine-listener.' + DEAD]
    assert [q['name'] for q in r.unused_queues(queues)] == [
        'engine_worker.' + DEAD, 'heat-engine-listener']
    assert len(r.queues_in_use(queues)) == 4
    # a consumer too new for /api/consumers still holds its unacknowledged messages
    fresh = [dict(queues[0], consumers=0)]
    assert r.queues_in_use(fresh) == fresh


@pytest.mark.parametrize('patterns,excludes,expression,expected', [
    (None, None, None, 7),
    (['*'], [], None, 7),
    (['engine_worker.*', 'heat-engine-listener.*'], [], None, 4),
    (['engine_worker.*', 'heat-engine-listener.*'], ['*.' + LIVE], None, 2),
    ('engine', None, None, 1),                 # a bare string is one glob
    (['ENGINE'], None, None, 0),               # case-sensitive
    (['engine_worker?*'], None, None, 2),
    (['*'], None, '[?consumers == `0`]', 3),
    (['*'], None, '[?messages > `0`]', 2),
    (['heat-*'], None, '[?messages_unacknowledged > `0`]', 0),
])
def test_select_queues(patterns, excludes, expression, expected):
    assert len(r.select_queues(realtime_queues(), patterns, excludes, expression)) == expected


@pytest.mark.parametrize('expression', ['[].name', 'length(@)', '[0]'])
def test_query_must_return_queues(expression):
    with pytest.raises(r.QueueSelectionError) as err:
        r.select_queues(realtime_queues(), None, None, expression)
    assert 'must return a list of queues' in err.value.msg


def test_invalid_query_is_a_clear_error():
    with pytest.raises(QueryError):
        r.select_queues(realtime_queues(), None, None, '[?messages >')


def test_describe_queues_for_messages():
    text = r.describe_queues(r.busy_queues(realtime_queues()))
    assert text == ('engine (3 messages, 2 unacknowledged, 1 consumer), heat-engine-listener.%s '
                    '(2 messages, 0 unacknowledged, 0 consumers)' % DEAD)
    many = [dict(name='q%d' % i, messages=1, messages_unacknowledged=0, consumers=0) for i in range(12)]
    assert r.describe_queues(many, limit=3).endswith('and 9 more')
    assert r.describe_queues([]) == 'none'


@pytest.mark.parametrize('fixture,error,reason', [
    ('error_401.json', 'not_authorized', 'Login failed'),
    ('error_404_vhost.json', 'Object Not Found', 'Not Found'),
    ('error_400_no_such_user.json', 'bad_request', 'vhost_or_user_not_found'),
    ('error_400_queue_in_use.json', 'bad_request',
     "queue 'engine_worker.%s' in vhost 'osl-test-capture' in use" % LIVE),
    ('error_400_queue_not_empty.json', 'bad_request',
     "queue 'heat-engine-listener.%s' in vhost 'osl-test-capture' not empty" % DEAD),
])
def test_parse_error_body(fixture, error, reason):
    assert r.parse_error_body(raw(fixture)) == (error, reason)


def test_parse_error_body_of_something_else():
    assert r.parse_error_body(b'<html>Bad gateway</html>') == (None, '<html>Bad gateway</html>')
    assert r.parse_error_body(b'') == (None, None)


def test_parse_json_says_what_it_expected():
    with pytest.raises(r.RabbitMQError) as err:
        r.parse_json(b'<!DOCTYPE html><html>', 'answer of GET /api/overview')
    assert 'is api_url the address of the rabbitmq_management plugin' in err.value.msg


def test_parse_user_and_password_check_on_captured_hashes():
    user = r.parse_user(load('user.json'))
    assert user['tags'] == ['monitoring']
    assert r.password_matches(user, 'capture-pw') is True
    assert r.password_matches(user, 'capture-pW') is False
    guest = r.parse_user(load('users.json')[0])
    assert guest['name'] == 'guest' and r.password_matches(guest, 'guest') is True
    assert r.password_matches(dict(user, hashing_algorithm='rabbit_password_hashing_x'), 'capture-pw') is None
    assert r.password_matches(dict(user, password_hash=''), 'capture-pw') is False


@pytest.mark.parametrize('value,expected', [
    (['monitoring'], ['monitoring']),
    ('administrator,monitoring', ['administrator', 'monitoring']),  # RabbitMQ < 3.9
    ('', []),
    (None, []),
    (['b', 'a', 'a'], ['a', 'b']),
])
def test_parse_tags(value, expected):
    assert r.parse_tags(value) == expected


def test_parse_permissions_and_back():
    perms = r.parse_permissions(load('vhost_permissions.json'))
    assert perms == {'guest': {'configure': '.*', 'write': '.*', 'read': '.*'},
                     'osl-test-capture-user': {'configure': '^heat-.*', 'write': '.*', 'read': '.*'}}
    assert r.permissions_list(perms)[1] == {'user': 'osl-test-capture-user', 'configure': '^heat-.*',
                                            'write': '.*', 'read': '.*'}


@pytest.mark.parametrize('name,encoded', [('/', '%2F'), ('heat-2026.1', 'heat-2026.1'),
                                          ('a b/c', 'a%20b%2Fc'), ('%', '%25')])
def test_vhost_path(name, encoded):
    assert r.vhost_path(name) == encoded


# ---------------------------------------------------------------- plans

def state(exists=True, permissions=None, user=None):
    s = {'vhost': 'heat-2026.1', 'exists': exists, 'permissions': permissions or {}}
    if user is not None:
        s['user'] = user
    return s


FULL = {'configure': '.*', 'write': '.*', 'read': '.*'}


def test_plan_new_vhost_predicts_the_login_users_grant():
    actions, after = r.plan_vhost_present(state(exists=False), {'heat': FULL}, 'guest')
    assert actions == [('put_vhost',), ('put_permission', 'heat', FULL)]
    assert after['permissions'] == {'guest': FULL, 'heat': FULL}


def test_plan_is_empty_when_in_state():
    before = state(permissions={'guest': FULL, 'heat': FULL},
                   user={'name': 'heat', 'exists': True, 'tags': [], 'password_matches': True})
    actions, after = r.plan_vhost_present(before, {'heat': FULL}, 'guest', user='heat', password='pw')
    assert actions == []
    assert after == before


def test_plan_changes_only_differing_permissions():
    before = state(permissions={'heat': dict(FULL, read='^$'), 'other': FULL})
    actions, after = r.plan_vhost_present(before, {'heat': FULL, 'other': FULL}, 'guest')
    assert actions == [('put_permission', 'heat', FULL)]
    assert after['permissions']['heat'] == FULL


def test_plan_creates_user_first_and_needs_a_password():
    before = state(exists=False, user={'name': 'heat', 'exists': False, 'tags': [], 'password_matches': None})
    actions, after = r.plan_vhost_present(before, {'heat': FULL}, 'guest', user='heat', password='pw')
    assert actions[0] == ('put_user', 'heat', [], 'pw')
    assert after['user'] == {'name': 'heat', 'exists': True, 'tags': [], 'password_matches': True}
    with pytest.raises(r.VhostRefused) as err:
        r.plan_vhost_present(before, {}, 'guest', user='heat')
    assert 'no user_password' in err.value.msg


@pytest.mark.parametrize('matches,update,tags,expected', [
    (False, 'always', None, [('put_user', 'heat', ['monitoring'], 'pw')]),
    (False, 'on_create', None, []),
    (True, 'always', None, []),
    (True, 'always', ['monitoring'], []),
    (True, 'always', [], [('put_user', 'heat', [], None)]),       # tags only: keep the hash
    (None, 'always', None, [('put_user', 'heat', ['monitoring'], 'pw')]),  # unknown hash
])
def test_plan_existing_user(matches, update, tags, expected):
    before = state(user={'name': 'heat', 'exists': True, 'tags': ['monitoring'], 'password_matches': matches})
    actions, dummy = r.plan_vhost_present(before, {}, 'guest', user='heat', password='pw', tags=tags,
                                          update_password=update)
    assert actions == expected


def test_plan_absent():
    assert r.plan_vhost_absent(state(exists=False)) == ([], state(exists=False))
    actions, after = r.plan_vhost_absent(state(permissions={'heat': FULL}))
    assert actions == [('delete_vhost',)]
    assert after == state(exists=False)


# ---------------------------------------------------------------- client

class Response(object):
    def __init__(self, status, body):
        self.status = status
        self._body = body

    def read(self):
        return self._body


class Opener(object):
    """Stands in for open_url: answers from a list, records calls."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, url, **kwargs):
        self.calls.append(dict(kwargs, url=url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        if status >= 400:
            raise HTTPError(url, status, 'error', {}, io.BytesIO(body))
        return Response(status, body)


def api(*answers, **kwargs):
    return r.ManagementAPI(opener=Opener(*answers), **kwargs)


def test_request_sends_basic_auth_and_json_and_records_the_path():
    client = api((204, b''), login_password='s3cret')
    assert client.put_permission('/', 'heat', '.*', '.*', '^$') is None
    call = client.opener.calls[0]
    assert call['url'] == 'http://127.0.0.1:15672/api/permissions/%2F/heat'
    assert call['method'] == 'PUT'
    assert json.loads(call['data']) == {'configure': '.*', 'write': '.*', 'read': '^$'}
    assert call['url_username'] == 'guest' and call['url_password'] == 's3cret'
    assert call['force_basic_auth'] is True
    assert client.requests == [{'method': 'PUT', 'path': '/api/permissions/%2F/heat', 'status': 204,
                                'count': 1, 'skipped': False}]


def test_default_password_is_guest():
    client = api((200, raw('overview.json')))
    client.request('GET', '/api/overview')
    assert client.opener.calls[0]['url_password'] == 'guest'


def test_check_mode_skips_changes_but_reads():
    client = api((200, raw('vhost.json')), check_mode=True)
    assert client.get_vhost('osl-test-capture')['name'] == 'osl-test-capture'
    client.delete_vhost('osl-test-capture')
    assert len(client.opener.calls) == 1
    assert client.requests[-1] == {'method': 'DELETE', 'path': '/api/vhosts/osl-test-capture',
                                   'status': None, 'count': 1, 'skipped': True}


def test_repeated_gets_are_counted_once():
    client = api((200, raw('queues_realtime_columns.json')), (200, raw('consumers.json')),
                 (200, raw('queues_realtime_columns.json')), (200, raw('consumers.json')))
    client.queues('osl-test-capture')
    queues, counters = client.queues('osl-test-capture')
    assert counters == 'realtime'
    assert [e['count'] for e in client.requests] == [2, 2]
    assert 'disable_stats=true&enable_queue_totals=true' in client.requests[0]['path']
    assert client.requests[1]['path'] == '/api/consumers/osl-test-capture?columns=queue.name'
    assert r.queue_totals(queues)['total_unacknowledged'] == 2


def test_queues_fall_back_to_sampled_counters_when_totals_are_missing():
    no_totals = json.dumps([dict((k, v) for k, v in q.items() if not k.startswith('messages'))
                            for q in load('queues_realtime.json')]).encode()
    client = api((200, no_totals), (200, raw('consumers.json')), (200, raw('queues_sampled_columns.json')))
    queues, counters = client.queues('osl-test-capture')
    assert counters == 'sampled'
    assert r.queue_totals(queues)['total_messages'] == 5
    assert client.requests[2]['path'].endswith('?columns=name,messages,messages_ready,messages_unacknowledged')


def test_missing_vhost_is_none_on_get_and_an_error_on_queues():
    client = api((404, raw('error_404_vhost.json')), (404, raw('error_404_vhost.json')))
    assert client.get_vhost('osl-test-absent') is None
    with pytest.raises(r.RabbitMQApiError) as err:
        client.queues('osl-test-absent')
    assert err.value.status == 404


def test_401_says_to_check_the_credentials():
    client = api((401, raw('error_401.json')), login_user='admin', login_password='wrong-secret')
    with pytest.raises(r.RabbitMQApiError) as err:
        client.request('GET', '/api/overview')
    assert err.value.msg == (
        "RabbitMQ management API at http://127.0.0.1:15672 refused the credentials of user 'admin' "
        "(401 not_authorized: Login failed); check login_user and login_password (the guest user "
        "can only log in from localhost).")
    assert 'wrong-secret' not in str(err.value.context)


def test_400_carries_the_servers_reason():
    client = api((400, raw('error_400_no_such_user.json')))
    with pytest.raises(r.RabbitMQApiError) as err:
        client.put_permission('heat-2026.1', 'nobody', '.*', '.*', '.*')
    assert err.value.status == 400
    assert err.value.reason == 'vhost_or_user_not_found'
    assert 'PUT /api/permissions/heat-2026.1/nobody' in err.value.msg


def test_403_names_the_tag_needed():
    client = api((403, b'{"error":"not_authorised","reason":"Not administrator user"}'), login_user='heat')
    with pytest.raises(r.RabbitMQApiError) as err:
        client.put_vhost('heat-2026.1')
    assert 'administrator tag' in err.value.msg


@pytest.mark.parametrize('exc,expected', [
    (URLError(ConnectionRefusedError(111, 'Connection refused')),
     'RabbitMQ management API at http://127.0.0.1:15672 is not reachable: connection refused; '
     'is the rabbitmq_management plugin enabled'),
    (URLError(socket.timeout('timed out')), 'no answer within 10 seconds (api_timeout)'),
    (socket.timeout('timed out'), 'no answer within 10 seconds (api_timeout)'),
    (URLError(socket.gaierror(-2, 'Name or service not known')), 'check the host name in api_url'),
    (URLError(OSError('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')), 'ca_path'),
])
def test_unreachable(exc, expected):
    client = api(exc)
    with pytest.raises(r.RabbitMQError) as err:
        client.request('GET', '/api/overview')
    assert expected in err.value.msg
    assert client.requests == [{'method': 'GET', 'path': '/api/overview', 'status': None,
                                'count': 1, 'skipped': False}]


def test_put_user_keeps_the_hash_when_no_password_is_given():
    client = api((204, b''))
    user = r.parse_user(load('user.json'))
    client.put_user('osl-test-capture-user', ['administrator'], password_hash=user['password_hash'],
                    hashing_algorithm=user['hashing_algorithm'])
    body = json.loads(client.opener.calls[0]['data'])
    assert body == {'tags': 'administrator', 'password_hash': user['password_hash'],
                    'hashing_algorithm': 'rabbit_password_hashing_sha256'}


def test_delete_queue_asks_the_server_to_guard():
    client = api((400, raw('error_400_queue_in_use.json')))
    with pytest.raises(r.RabbitMQApiError) as err:
        client.delete_queue('osl-test-capture', 'engine_worker.' + LIVE)
    assert client.opener.calls[0]['url'].endswith(
        '/api/queues/osl-test-capture/engine_worker.%s?if-unused=true&if-empty=true' % LIVE)
    assert err.value.reason.endswith('in use')


def test_credentials_in_api_url_never_reach_a_message():
    client = api(URLError(ConnectionRefusedError(111, 'Connection refused')),
                 api_url='http://admin:topsecret@rabbit1:15672/')
    with pytest.raises(r.RabbitMQError) as err:
        client.request('GET', '/api/overview')
    assert 'topsecret' not in err.value.msg and 'topsecret' not in str(err.value.context)
    assert client.opener.calls[0]['url'] == 'http://admin:topsecret@rabbit1:15672/api/overview'
