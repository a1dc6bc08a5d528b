"""module_utils.openstack_api: token scoping, the catalog, re-authentication, error messages."""

import json
import socket
from urllib.error import URLError

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import openstack_api as o

from openstack_fake import KEYSTONE, NOVA, NOVA_INTERNAL, PASSWORD, FakeCloud

AUTH = {'auth_url': KEYSTONE, 'username': 'admin', 'password': PASSWORD, 'project_name': 'admin',
        'user_domain_name': 'Default', 'project_domain_name': 'Default'}


def session(fake=None, **kwargs):
    fake = fake or FakeCloud()
    return o.Session(dict(AUTH, **kwargs.pop('auth', {})), opener=fake, **kwargs), fake


def requests_of(sess):
    return [(r['service'], r['method'], r['path'], r['status'], r['count']) for r in sess.requests]


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize('url,expected', [
    ('http://keystone.example:5000', 'http://keystone.example:5000/v3'),
    ('http://keystone.example:5000/', 'http://keystone.example:5000/v3'),
    ('http://keystone.example:5000/v3', 'http://keystone.example:5000/v3'),
    ('https://cloud.example/identity/v3/', 'https://cloud.example/identity/v3'),
    ('https://cloud.example/identity', 'https://cloud.example/identity/v3'),
])
def test_identity_url(url, expected):
    assert o.identity_url(url) == expected


@pytest.mark.parametrize('url,message', [
    ('http://keystone.example:5000/v2.0', 'only v3 is supported'),
    ('keystone.example:5000', 'must be an http(s) URL'),
    ('', 'must be an http(s) URL'),
])
def test_identity_url_refuses(url, message):
    with pytest.raises(o.OpenStackError) as err:
        o.identity_url(url)
    assert message in err.value.msg


def test_token_body_is_password_auth_scoped_to_the_project():
    body = o.token_request_body(AUTH)
    assert body == {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'admin', 'domain': {'name': 'Default'}, 'password': PASSWORD}}},
        'scope': {'project': {'name': 'admin', 'domain': {'name': 'Default'}}}}}


def test_token_body_ids_win_and_the_default_domain_is_by_id():
    auth = {'username': 'admin', 'password': 'x', 'project_name': 'admin'}
    body = o.token_request_body(auth)['auth']
    assert body['identity']['password']['user']['domain'] == {'id': 'default'}
    assert body['scope'] == {'project': {'name': 'admin', 'domain': {'id': 'default'}}}
    body = o.token_request_body(dict(auth, project_id='p1', user_domain_id='d1', user_domain_name='ignored'))['auth']
    assert body['scope'] == {'project': {'id': 'p1'}}
    assert body['identity']['password']['user']['domain'] == {'id': 'd1'}


@pytest.mark.parametrize('headers', [
    {'X-Subject-Token': 'tok'}, {'x-subject-token': 'tok'}, {'X-SUBJECT-TOKEN': 'tok'}])
def test_header_value_ignores_case(headers):
    assert o.header_value(headers, 'X-Subject-Token') == 'tok'
    assert o.header_value(headers, 'X-Other') is None
    assert o.header_value(None, 'X-Subject-Token') is None


@pytest.mark.parametrize('body,message', [
    ({'badRequest': {'message': "Invalid input for field/attribute status.", 'code': 400}},
     'Invalid input for field/attribute status.'),
    ({'itemNotFound': {'message': 'Instance abc could not be found.', 'code': 404}},
     'Instance abc could not be found.'),
    ({'conflictingRequest': {'message': 'Unable to delete compute service that is hosting instances.',
                             'code': 409}}, 'Unable to delete compute service that is hosting instances.'),
    ({'forbidden': {'message': "Policy doesn't allow os_compute_api:os-services:update to be performed.",
                    'code': 403}}, "Policy doesn't allow os_compute_api:os-services:update to be performed."),
    ({'error': {'code': 401, 'title': 'Unauthorized',
                'message': 'The request you have made requires authentication.'}},
     'The request you have made requires authentication.'),
    ({'errors': [{'status': 409, 'title': 'Conflict', 'detail': 'resource provider generation conflict'}]},
     'resource provider generation conflict'),
])
def test_parse_error_message_of_openstack_answers(body, message):
    assert o.parse_error_message(json.dumps(body).encode()) == message


def test_parse_error_message_of_something_else():
    assert o.parse_error_message(b'<html><body><h1>502 Bad Gateway</h1></body></html>') == '502 Bad Gateway'
    assert o.parse_error_message(b'') is None
    assert o.parse_error_message(b'plain text') == 'plain text'


CATALOG = o.parse_catalog({'catalog': [
    {'type': 'compute', 'name': 'nova', 'endpoints': [
        {'interface': 'public', 'region_id': 'RegionOne', 'url': 'https://nova.one/v2.1/'},
        {'interface': 'internal', 'region_id': 'RegionOne', 'url': 'http://nova.one.internal/v2.1'},
        {'interface': 'public', 'region_id': 'RegionTwo', 'url': 'https://nova.two/v2.1'}]},
    {'type': 'placement', 'name': 'placement', 'endpoints': [
        {'interface': 'public', 'region': 'RegionOne', 'url': 'https://placement.one'}]},
]})


@pytest.mark.parametrize('service,interface,region,url', [
    ('compute', 'internal', None, 'http://nova.one.internal/v2.1'),
    ('compute', 'public', 'RegionOne', 'https://nova.one/v2.1'),
    ('compute', 'public', 'RegionTwo', 'https://nova.two/v2.1'),
    ('placement', 'public', None, 'https://placement.one'),   # the older 'region' key
])
def test_find_endpoint(service, interface, region, url):
    assert o.find_endpoint(CATALOG, service, interface, region) == url


def test_find_endpoint_says_what_the_catalog_offers():
    with pytest.raises(o.EndpointNotFound) as err:
        o.find_endpoint(CATALOG, 'compute', 'admin')
    assert err.value.msg == ('The service catalog has no admin endpoint of compute; it offers: internal RegionOne, '
                             'public RegionOne, public RegionTwo. Check interface and region_name.')
    with pytest.raises(o.EndpointNotFound) as err:
        o.find_endpoint(CATALOG, 'volumev3', 'public')
    assert 'it offers: no endpoint of that type' in err.value.msg


def test_find_endpoint_needs_a_region_when_several_offer_one():
    with pytest.raises(o.EndpointNotFound) as err:
        o.find_endpoint(CATALOG, 'compute', 'public')
    assert 'set region_name to choose one' in err.value.msg


def test_next_marker():
    data = {'servers_links': [{'rel': 'next', 'href': NOVA + '/servers/detail?limit=2&marker=abc%2Ddef'}]}
    assert o.next_marker(data, 'servers_links') == 'abc-def'
    assert o.next_marker({'servers': []}, 'servers_links') is None


# ---------------------------------------------------------------- session

def test_authenticate_scopes_the_token_and_reads_the_catalog():
    sess, fake = session()
    token = sess.authenticate()
    assert token in fake.tokens
    sent = json.loads(fake.bodies[0])
    assert sent['auth']['scope'] == {'project': {'name': 'admin', 'domain': {'name': 'Default'}}}
    assert fake.log[0] == ('POST', KEYSTONE + '/v3/auth/tokens')
    assert sess.project == {'id': 'p-admin', 'name': 'admin'}
    assert sess.roles == ['admin', 'member']
    assert sess.endpoint('compute') == NOVA
    assert requests_of(sess) == [('identity', 'POST', '/v3/auth/tokens', 201, 1)]


def test_token_header_is_read_whatever_its_case():
    sess, fake = session(FakeCloud(token_header='X-Subject-Token'))
    assert sess.authenticate() in fake.tokens


def test_interface_chooses_the_endpoint():
    sess, fake = session(interface='internal')
    sess.request('compute', 'GET', '/os-services')
    assert fake.log[-1] == ('GET', NOVA_INTERNAL + '/os-services')


def test_unscoped_token_is_refused():
    fake = FakeCloud()
    fake.scoped = False
    sess, fake = session(fake)
    with pytest.raises(o.AuthenticationError) as err:
        sess.authenticate()
    assert 'not scoped to a project' in err.value.msg


def test_wrong_password_names_the_scope_and_never_the_password():
    sess, fake = session(auth={'password': 'Wr0ng-passw0rd'})
    with pytest.raises(o.AuthenticationError) as err:
        sess.request('compute', 'GET', '/os-services')
    assert err.value.status == 401
    assert err.value.msg == (
        'Keystone at http://keystone.example:5000/v3 refused the credentials of user admin (domain Default) on '
        'project admin (domain Default) (401: The request you have made requires authentication.); check '
        'auth.username, auth.password and the domains, and that the user has a role on the project.')
    assert 'Wr0ng-passw0rd' not in str(err.value) + json.dumps(err.value.context) + json.dumps(sess.requests)


def test_request_sends_token_microversion_and_json():
    sess, fake = session()
    fake.add_compute('compute1')
    answer = sess.request('compute', 'PUT', '/os-services/%s' % fake.service('compute1')['id'],
                          {'status': 'disabled', 'disabled_reason': 'upgrade'}, microversion='2.53')
    assert answer['service']['status'] == 'disabled'
    assert fake.microversions == ['compute 2.53']
    assert json.loads(fake.bodies[-1]) == {'status': 'disabled', 'disabled_reason': 'upgrade'}


def test_401_gets_one_new_token_and_one_more_try():
    sess, fake = session()
    fake.add_compute('compute1')
    sess.request('compute', 'GET', '/os-services')
    fake.expire_tokens()
    assert sess.request('compute', 'GET', '/os-services')['services'][0]['host'] == 'compute1'
    assert requests_of(sess) == [
        ('identity', 'POST', '/v3/auth/tokens', 201, 1), ('compute', 'GET', '/os-services', 200, 2),
        ('compute', 'GET', '/os-services', 401, 1), ('identity', 'POST', '/v3/auth/tokens', 201, 1)]
    assert fake.issued == 2


def test_a_second_401_is_an_error():
    fake = FakeCloud()
    fake.expire_every = 1     # every compute request finds its token expired
    sess, fake = session(fake)
    with pytest.raises(o.OpenStackApiError) as err:
        sess.request('compute', 'GET', '/os-services')
    assert err.value.status == 401
    assert 'even with a new token' in err.value.msg
    assert fake.issued == 2


def test_nova_error_carries_status_and_message():
    sess, fake = session()
    with pytest.raises(o.OpenStackApiError) as err:
        sess.request('compute', 'DELETE', '/os-services/nope', microversion='2.53')
    assert err.value.status == 404
    assert err.value.api_message == 'Service nope not found.'
    assert err.value.msg == 'The compute API answered DELETE /os-services/nope with HTTP 404: Service nope not found.'
    assert err.value.context['request'] == 'DELETE /os-services/nope'
    assert sess.request('compute', 'DELETE', '/os-services/nope', missing_ok=True) is None


class Refusing(object):
    """An opener that authenticates through the fake, then answers every other call with one error."""

    def __init__(self, status, body):
        self.fake, self.status, self.body = FakeCloud(), status, body

    def __call__(self, url, **kwargs):
        if url.startswith(KEYSTONE):
            return self.fake(url, **kwargs)
        self.fake._error(url, self.status, self.body)


def test_403_says_the_admin_role_is_needed():
    sess = o.Session(AUTH, opener=Refusing(403, {'forbidden': {'code': 403, 'message': "Policy doesn't allow "
                                                               "os_compute_api:os-services:list to be performed."}}))
    with pytest.raises(o.OpenStackApiError) as err:
        sess.request('compute', 'GET', '/os-services')
    assert err.value.msg == ("The compute API does not allow admin to GET /os-services (403: Policy doesn't allow "
                             "os_compute_api:os-services:list to be performed.); this needs the admin role (or a "
                             "policy that allows it) on project admin.")


def test_406_names_the_microversion():
    sess = o.Session(AUTH, opener=Refusing(406, {'computeFault': {'code': 406, 'message': 'Version 2.53 is not '
                                                                  'supported by the API. Minimum is 2.1 and '
                                                                  'maximum is 2.25.'}}))
    with pytest.raises(o.OpenStackApiError) as err:
        sess.request('compute', 'GET', '/os-services', microversion='2.53')
    assert 'does not support microversion 2.53' in err.value.msg and 'maximum is 2.25' in err.value.msg


def test_check_mode_skips_changes_but_reads():
    sess, fake = session(check_mode=True)
    fake.add_compute('compute1')
    assert sess.request('compute', 'GET', '/os-services')['services']
    assert sess.request('compute', 'PUT', '/os-services/x', {'status': 'disabled'}) is None
    assert [m for m, u in fake.log] == ['POST', 'GET']
    assert sess.requests[-1] == {'service': 'compute', 'method': 'PUT', 'path': '/os-services/x', 'status': None,
                                 'count': 1, 'skipped': True}


@pytest.mark.parametrize('exc,expected', [
    (URLError(ConnectionRefusedError(111, 'Connection refused')),
     'The identity API at http://keystone.example:5000/v3/auth/tokens is not reachable: connection refused; '
     'check auth.auth_url.'),
    (URLError(socket.timeout('timed out')), 'no answer within 7 seconds (api_timeout)'),
    (URLError(socket.gaierror(-2, 'Name or service not known')), 'host name not resolved'),
])
def test_unreachable_keystone(exc, expected):
    calls = []

    def opener(url, **kwargs):
        calls.append(kwargs)
        raise exc
    sess = o.Session(AUTH, opener=opener, timeout=7)
    with pytest.raises(o.OpenStackError) as err:
        sess.authenticate()
    assert expected in err.value.msg
    assert calls[0]['timeout'] == 7 and calls[0]['validate_certs'] is True
    assert sess.requests == [{'service': 'identity', 'method': 'POST', 'path': '/v3/auth/tokens', 'status': None,
                              'count': 1, 'skipped': False}]


def test_unreachable_endpoint_points_at_the_catalog():
    fake = FakeCloud()

    def opener(url, **kwargs):
        if url.startswith(KEYSTONE):
            return fake(url, **kwargs)
        raise URLError(ConnectionRefusedError(111, 'Connection refused'))
    sess = o.Session(AUTH, opener=opener, interface='internal')
    with pytest.raises(o.OpenStackError) as err:
        sess.request('compute', 'GET', '/os-services?binary=nova-compute')
    assert err.value.msg == ('The compute API at http://nova.internal:8774/v2.1/os-services is not reachable: '
                             'connection refused; the address comes from the service catalog: check interface '
                             '(internal) and region_name, or whether this host can reach that network.')


def test_password_and_token_are_masked_in_messages():
    sess, fake = session()
    sess.authenticate()
    text = 'echo %s and %s' % (PASSWORD, sess.token)
    assert sess.mask(text) == 'echo ******** and ********'
