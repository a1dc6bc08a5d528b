# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A small Keystone v3 session: a project-scoped token, the service catalog, JSON requests.

HTTP goes through ``ansible.module_utils.urls.open_url`` only (no
keystoneauth, no openstacksdk), so a module needs nothing beyond Ansible and
jmespath on the host that runs it. :class:`Session` asks Keystone for a token
with password authentication (the ``auth`` names of clouds.yaml), scoped to a
project: glance, placement and cinder answer 403 to an unscoped token, and the
compute API's admin calls need the admin role *on a project*. The endpoint of
each service comes from the token's catalog (``interface`` and optionally
``region_name``). A request that gets 401 (the token expired during a long
wait) authenticates again and is sent once more.

Like the RabbitMQ client, the session records every request (service type,
method, path with its query string, status) as the ``requests`` audit trail,
and skips mutating requests in check mode. Bodies are never recorded; the
password and the token are masked in every message.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from urllib.error import HTTPError, URLError
from urllib.parse import unquote

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, open_url

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.jmes import query
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import mask_text

IDENTITY = 'identity'
INTERFACES = ('admin', 'internal', 'public')
# The default domain of every Keystone: its id is fixed, its name can be changed.
DEFAULT_DOMAIN = {'id': 'default'}

# Connection options of every module that talks to an OpenStack API through
# this session; merge into argument_spec. The auth keys are those of a
# clouds.yaml ``auth`` section, so that section can be passed as it is.
OPENSTACK_ARGUMENT_SPEC = dict(
    api_timeout=dict(type='int', default=30),
    auth=dict(type='dict', required=True, options=dict(
        auth_url=dict(type='str', required=True),
        password=dict(type='str', required=True, no_log=True),
        project_domain_id=dict(type='str'),
        project_domain_name=dict(type='str'),
        project_id=dict(type='str'),
        project_name=dict(type='str'),
        user_domain_id=dict(type='str'),
        user_domain_name=dict(type='str'),
        username=dict(type='str', required=True),
    ), required_one_of=[('project_name', 'project_id')]),
    ca_path=dict(type='path'),
    interface=dict(type='str', choices=list(INTERFACES), default='public'),
    region_name=dict(type='str'),
    validate_certs=dict(type='bool', default=True),
)

# Service name in the OpenStack-API-Version header, by catalog service type.
MICROVERSION_NAMES = {
    'block-storage': 'volume',
    'compute': 'compute',
    'placement': 'placement',
    'volumev3': 'volume',
}

_VERSIONED_URL = re.compile(r'/v(?P<version>\d+(?:\.\d+)?)$')


class OpenStackError(OpsError):
    """An OpenStack API could not be reached, or its answer could not be used."""


class OpenStackApiError(OpenStackError):
    """An OpenStack API answered with an HTTP error status.

    ``status`` is the HTTP status, ``api_message`` the message the API gave
    (nova's ``{"badRequest": {"message": ...}}``, keystone's ``{"error":
    {"message": ...}}``), ``request`` the method and path.
    """

    def __init__(self, msg, status=None, api_message=None, request=None, **context):
        super().__init__(msg, status=status, api_message=api_message, request=request, **context)
        self.status = status
        self.api_message = api_message
        self.request = request


class AuthenticationError(OpenStackApiError):
    """Keystone refused the credentials or the project scope."""


class EndpointNotFound(OpenStackError):
    """The catalog has no (or no single) endpoint for a service, interface and region."""


# ---------------------------------------------------------------- pure helpers

def identity_url(auth_url):
    """The Keystone v3 base URL of ``auth_url`` (with or without its ``/v3``)."""
    url = (auth_url or '').strip().rstrip('/')
    if not url.startswith(('http://', 'https://')):
        raise OpenStackError('auth.auth_url must be an http(s) URL of Keystone, such as '
                             'https://keystone.example.org:5000/v3; got %r.' % mask_text(url))
    versioned = _VERSIONED_URL.search(url)
    if versioned:
        if versioned.group('version') != '3':
            raise OpenStackError('auth.auth_url %s names Keystone API v%s; only v3 is supported '
                                 '(drop the version or use /v3).'
                                 % (mask_text(url), versioned.group('version')))
        return url
    return url + '/v3'


def _domain(name, domain_id):
    if domain_id:
        return {'id': domain_id}
    if name:
        return {'name': name}
    return dict(DEFAULT_DOMAIN)


def token_request_body(auth):
    """The body of ``POST /v3/auth/tokens``: password auth, scoped to a project.

    The result carries the password: never log or return it.
    """
    project = {'id': auth['project_id']} if auth.get('project_id') else {
        'name': auth.get('project_name'),
        'domain': _domain(auth.get('project_domain_name'), auth.get('project_domain_id'))}
    return {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': auth['username'],
            'domain': _domain(auth.get('user_domain_name'), auth.get('user_domain_id')),
            'password': auth['password']}}},
        'scope': {'project': project}}}


def describe_scope(auth):
    """'user admin (domain Default) on project admin (domain Default)' for messages."""
    def dom(name, domain_id):
        return 'domain id %s' % domain_id if domain_id else 'domain %s' % (name or 'id default')
    if auth.get('project_id'):
        project = 'project id %s' % auth['project_id']
    else:
        project = 'project %s (%s)' % (auth.get('project_name'),
                                       dom(auth.get('project_domain_name'), auth.get('project_domain_id')))
    return 'user %s (%s) on %s' % (auth.get('username'),
                                   dom(auth.get('user_domain_name'), auth.get('user_domain_id')), project)


def header_value(headers, name):
    """The value of header ``name`` in ``headers`` (a dict or an http.client message),
    whatever its case: Keystone behind gunicorn answers ``x-subject-token``."""
    if headers is None:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def parse_json(text, what='answer'):
    """Decode a JSON answer; an empty body is None. Raises OpenStackError."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    if not text or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise OpenStackError('The %s is not JSON (starts with %r); does the URL point at the API?'
                             % (what, text.strip()[:80]))


def parse_error_message(text):
    """The message of an OpenStack error answer, or the start of a body that is not one.

    Nova: ``{"badRequest": {"message": "...", "code": 400}}`` (any one key);
    keystone: ``{"error": {"message": "...", "code": 401, "title": "..."}}``;
    placement and other WSGI services: ``{"errors": [{"title": ..., "detail": ...}]}``.
    """
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    text = (text or '').strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return re.sub(r'\s+', ' ', re.sub(r'<[^>]+>', ' ', text)).strip()[:300] or None
    if isinstance(data, dict):
        errors = data.get('errors')
        if isinstance(errors, list) and errors:
            parts = []
            for error in errors:
                if isinstance(error, dict):
                    parts.append(str(error.get('detail') or error.get('title') or error))
            return '; '.join(parts)[:500] or None
        for value in data.values():
            if isinstance(value, dict) and value.get('message'):
                return str(value['message'])[:500]
        if isinstance(data.get('message'), str):
            return data['message'][:500]
    return text[:300]


def parse_catalog(token):
    """The catalog of a token answer as [{type, name, endpoints: [{interface, region, url}]}]."""
    catalog = []
    for service in (token or {}).get('catalog') or []:
        endpoints = [{'interface': e.get('interface'),
                      'region': e.get('region_id') or e.get('region'),
                      'url': e.get('url')}
                     for e in service.get('endpoints') or []]
        catalog.append({'type': service.get('type'), 'name': service.get('name'), 'endpoints': endpoints})
    return catalog


def _literal(value):
    """A JSON literal for a JMESPath expression."""
    return '`%s`' % json.dumps(value).replace('`', '\\`')


def find_endpoint(catalog, service_type, interface='public', region=None):
    """The URL of the one endpoint of ``service_type`` with ``interface`` (and ``region``).

    Raises EndpointNotFound listing what the catalog offers when there is no
    such endpoint, or when several regions offer one and no region was given.
    """
    expression = '[?type == %s].endpoints[] | [?interface == %s]' % (_literal(service_type), _literal(interface))
    if region:
        expression += ' | [?region == %s]' % _literal(region)
    urls = sorted(set(e['url'].rstrip('/') for e in query(expression, catalog) or [] if e.get('url')))
    if len(urls) == 1:
        return urls[0]
    offered = query('[?type == %s].endpoints[]' % _literal(service_type), catalog) or []
    shown = ', '.join(sorted('%s %s' % (e.get('interface'), e.get('region') or '(no region)') for e in offered))
    if not urls:
        where = ' in region %s' % region if region else ''
        raise EndpointNotFound(
            'The service catalog has no %s endpoint of %s%s; it offers: %s. Check interface and '
            'region_name.' % (interface, service_type, where, shown or 'no endpoint of that type'),
            service_type=service_type, interface=interface, region_name=region)
    raise EndpointNotFound(
        'The service catalog has %d %s endpoints of %s (%s); set region_name to choose one.'
        % (len(urls), interface, service_type, shown), service_type=service_type, interface=interface)


def next_marker(data, links_key):
    """The ``marker`` of the ``next`` link of a paginated answer (``servers_links``), or None."""
    href = query('%s[?rel == `"next"`].href | [0]' % links_key, data or {})
    if not href:
        return None
    match = re.search(r'[?&]marker=([^&]+)', href)
    return unquote(match.group(1)) if match else None


# ---------------------------------------------------------------- session

class Session(object):
    """A Keystone v3 session for one module invocation.

    ``requests`` is the audit trail: one dict per distinct request with
    service, method, path (query string included), HTTP status, how many
    times it was made (a wait repeats the same GET) and whether check mode
    skipped it.
    """

    def __init__(self, auth, interface='public', region_name=None, validate_certs=True, ca_path=None,
                 timeout=30, check_mode=False, opener=None):
        self.auth = dict(auth)
        self.identity_url = identity_url(self.auth.get('auth_url'))
        self.shown_auth_url = mask_text(self.identity_url)
        self.interface = interface or 'public'
        self.region_name = region_name
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.check_mode = check_mode
        self.opener = opener or open_url
        self.requests = []
        # Added to every audit entry (a subclass's region, for example).
        self.audit_context = {}
        self.token = None
        self.catalog = None
        self.project = None
        self.roles = []
        self._endpoints = {}

    @classmethod
    def from_module(cls, module, **kwargs):
        p = module.params
        return cls(p['auth'], interface=p['interface'], region_name=p['region_name'],
                   validate_certs=p['validate_certs'], ca_path=p['ca_path'], timeout=p['api_timeout'],
                   check_mode=module.check_mode, **kwargs)

    # -- masking and the audit trail

    def mask(self, text):
        return mask_text(text, [self.auth.get('password'), self.token])

    def _record(self, service, method, path, status, skipped=False):
        # audit_context (such as a region) is part of every entry and of what
        # makes two identical GETs one entry.
        key = dict(self.audit_context, service=service, method=method, path=path, status=status)
        if method == 'GET':
            for entry in self.requests:
                if all(entry.get(k) == v for k, v in key.items()):
                    entry['count'] += 1
                    return
        self.requests.append(dict(key, count=1, skipped=skipped))

    # -- HTTP

    def _send(self, service, method, url, path, body=None, headers=None):
        """One HTTP exchange; returns (status, headers, body bytes). HTTP errors come back
        as statuses, unreachable hosts raise OpenStackError."""
        data = json.dumps(body) if body is not None else None
        sent = {'Accept': 'application/json'}
        if data is not None:
            sent['Content-Type'] = 'application/json'
        sent.update(headers or {})
        try:
            response = self.opener(
                url, data=data, headers=sent, method=method, timeout=self.timeout,
                validate_certs=self.validate_certs, ca_path=self.ca_path, use_netrc=False,
                follow_redirects='safe', http_agent='openstack_ops.upgrade')
            status = getattr(response, 'status', None) or response.getcode()
            return status, getattr(response, 'headers', None), response.read()
        except HTTPError as exc:
            try:
                text = exc.read()
            except Exception:  # pylint: disable=broad-except
                text = b''
            return exc.code, getattr(exc, 'headers', None), text
        except (URLError, UrlsConnectionError, socket.timeout, TimeoutError, ssl.SSLError, OSError) as exc:
            self._record(service, method, path, None)
            raise self._unreachable(service, url, exc)

    def _unreachable(self, service, url, exc):
        reason = getattr(exc, 'reason', None) or exc
        if isinstance(reason, ConnectionRefusedError):
            why = 'connection refused'
        elif isinstance(reason, (socket.timeout, TimeoutError)):
            why = 'no answer within %s seconds (api_timeout)' % self.timeout
        elif isinstance(reason, socket.gaierror):
            why = 'host name not resolved (%s)' % reason
        else:
            why = str(reason)
        if service == IDENTITY:
            hint = 'check auth.auth_url'
        else:
            hint = ('the address comes from the service catalog: check interface (%s) and region_name, '
                    'or whether this host can reach that network' % self.interface)
        if isinstance(reason, ssl.SSLError) or 'CERTIFICATE' in why.upper():
            hint += '; for TLS, check ca_path or validate_certs'
        base = url.split('?', 1)[0]
        return OpenStackError('The %s API at %s is not reachable: %s; %s.'
                              % (service, self.mask(base), self.mask(why), hint), service=service)

    # -- authentication

    def authenticate(self):
        """Get a project-scoped token and the catalog. Raises AuthenticationError."""
        path = '/v3/auth/tokens'
        status, headers, text = self._send(IDENTITY, 'POST', self.identity_url + '/auth/tokens', path,
                                           token_request_body(self.auth))
        self._record(IDENTITY, 'POST', path, status)
        if status >= 400:
            message = self.mask(parse_error_message(text))
            scope = describe_scope(self.auth)
            if status == 401:
                msg = ('Keystone at %s refused the credentials of %s (401: %s); check auth.username, '
                       'auth.password and the domains, and that the user has a role on the project.'
                       % (self.shown_auth_url, scope, message))
            else:
                msg = ('Keystone at %s answered HTTP %s to the token request for %s: %s'
                       % (self.shown_auth_url, status, scope, message))
            raise AuthenticationError(msg, status=status, api_message=message, request='POST ' + path,
                                      service=IDENTITY)
        token = header_value(headers, 'X-Subject-Token')
        data = parse_json(text, 'answer of Keystone to POST %s' % path) or {}
        body = data.get('token') or {}
        if not token:
            raise AuthenticationError('Keystone at %s answered the token request without an X-Subject-Token '
                                      'header.' % self.shown_auth_url, status=status, request='POST ' + path,
                                      service=IDENTITY)
        if not body.get('project'):
            raise AuthenticationError(
                'Keystone at %s gave %s a token that is not scoped to a project; the services refuse '
                'such tokens (403). Check auth.project_name/project_id and its domain.'
                % (self.shown_auth_url, describe_scope(self.auth)), status=status, request='POST ' + path,
                service=IDENTITY)
        self.token = token
        self.catalog = parse_catalog(body)
        self.project = {'id': body['project'].get('id'), 'name': body['project'].get('name')}
        self.roles = sorted(r.get('name') for r in body.get('roles') or [] if r.get('name'))
        self._endpoints = {}
        return self.token

    def endpoint(self, service_type):
        """The catalog URL of ``service_type`` for this session's interface and region."""
        if self.token is None:
            self.authenticate()
        if service_type not in self._endpoints:
            self._endpoints[service_type] = find_endpoint(self.catalog, service_type, self.interface,
                                                          self.region_name)
        return self._endpoints[service_type]

    # -- requests

    def request(self, service_type, method, path, body=None, microversion=None, missing_ok=False,
                mutating=None):
        """Send one request to ``service_type``; returns the decoded JSON (None for no body).

        ``path`` is relative to the catalog endpoint and may carry a query
        string. ``microversion`` (such as ``'2.53'``) is sent as
        ``OpenStack-API-Version: <service> <microversion>``. ``mutating``
        requests (default: anything but GET) are skipped in check mode. With
        ``missing_ok`` a 404 returns None instead of raising. A 401 gets one
        new token and one more try.
        """
        if mutating is None:
            mutating = method != 'GET'
        if mutating and self.check_mode:
            self._record(service_type, method, path, None, skipped=True)
            return None
        headers = {}
        if microversion:
            headers['OpenStack-API-Version'] = '%s %s' % (
                MICROVERSION_NAMES.get(service_type, service_type), microversion)
        retried = False
        while True:
            url = self.endpoint(service_type) + path
            headers['X-Auth-Token'] = self.token
            status, dummy, text = self._send(service_type, method, url, path, body, headers)
            self._record(service_type, method, path, status)
            if status == 401 and not retried:
                retried = True
                self.authenticate()
                continue
            break
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise self._http_error(service_type, method, path, status, text, microversion)
        return parse_json(text, 'answer of %s to %s %s' % (service_type, method, path))

    def _http_error(self, service, method, path, status, text, microversion):
        message = self.mask(parse_error_message(text)) or 'no details'
        request = '%s %s' % (method, path)
        if status == 401:
            msg = ('The %s API refused %s even with a new token (401: %s).' % (service, request, message))
        elif status == 403:
            msg = ('The %s API does not allow %s to %s (403: %s); this needs the admin role (or a policy '
                   'that allows it) on project %s.'
                   % (service, self.auth.get('username'), request, message,
                      (self.project or {}).get('name') or self.auth.get('project_name')))
        elif status == 406 and microversion:
            msg = ('The %s API does not support microversion %s, needed for %s (406: %s).'
                   % (service, microversion, request, message))
        else:
            msg = 'The %s API answered %s with HTTP %s: %s' % (service, request, status, message)
        return OpenStackApiError(msg, status=status, api_message=message, request=request, service=service)
