# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The RabbitMQ management API: one HTTP client and pure parse functions.

HTTP goes through ``ansible.module_utils.urls.open_url`` only (no requests
library, no community collection). :class:`ManagementAPI` records every
request it makes (method, path, status) as the ``requests`` audit trail and
skips mutating requests in check mode. The ``parse_*`` and selection
functions below are pure and unit-tested against answers captured from a
real RabbitMQ 3.10 (tests/unit/fixtures/rabbitmq/).

Queue depths are read with ``disable_stats=true&enable_queue_totals=true``:
measured on RabbitMQ 3.10.8, those counters come straight from the queue
processes and change within 0.06 s of a publish, a consumer's delivery or a
purge, whereas the default (statistics database) answer lags by up to the
``collect_statistics_interval`` (5 s): 5 messages published read as 0 for
5.5 s, a purge read as 5 for 2 s. Consumers are counted from
``/api/consumers/VHOST``: a consumer that goes away disappears at once, one
that arrives shows up only at the next statistics tick (1.9 to 4 s measured).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import socket
import ssl
from urllib.error import HTTPError, URLError
from urllib.parse import quote

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, open_url

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.jmes import query
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import mask_text

DEFAULT_API_URL = 'http://127.0.0.1:15672'
DEFAULT_LOGIN = 'guest'

# Connection options of every module that talks to the management API; merge
# into argument_spec. login_password has no default on purpose: Ansible masks
# every value of a no_log option in the output, a default of "guest" would
# turn the guest user's name into ******** everywhere. None means "guest".
RABBITMQ_ARGUMENT_SPEC = dict(
    api_timeout=dict(type='int', default=10),
    api_url=dict(type='str', default=DEFAULT_API_URL),
    ca_path=dict(type='path'),
    login_password=dict(type='str', no_log=True),
    login_user=dict(type='str', default=DEFAULT_LOGIN),
    validate_certs=dict(type='bool', default=True),
)

# Columns of a queue listing; with disable_stats these come from the queues
# themselves (real time), consumers do not (see consumer_counts()).
QUEUE_COLUMNS = 'name,messages,messages_ready,messages_unacknowledged,state,type'
QUEUE_COUNTERS = ('messages', 'messages_ready', 'messages_unacknowledged')

# Queues that hold anything, or whose depth is unknown (a counter of null
# compares unequal to 0, so an unreadable queue is never taken for empty).
BUSY_QUEUES = '[?messages != `0` || messages_unacknowledged != `0`]'
# Queues nobody consumes from and that hold nothing: a dead engine's leftovers.
UNUSED_QUEUES = '[?consumers == `0` && messages == `0` && messages_unacknowledged == `0`]'
# Queues someone still works on: a consumer, or unacknowledged messages (held
# by a live channel: they go back to ready the moment it closes). The second
# test is real time; /api/consumers only learns of a new consumer at the next
# statistics tick.
QUEUES_IN_USE = '[?consumers != `0` || messages_unacknowledged != `0`]'

_PASSWORD_HASHES = {
    'rabbit_password_hashing_sha256': hashlib.sha256,
    'rabbit_password_hashing_sha512': hashlib.sha512,
    'rabbit_password_hashing_md5': hashlib.md5,
}


class RabbitMQError(OpsError):
    """The management API could not be reached or refused a request."""


class RabbitMQApiError(RabbitMQError):
    """The management API answered with an HTTP error status."""

    def __init__(self, msg, status=None, error=None, reason=None, **context):
        super().__init__(msg, status=status, error=error, reason=reason, **context)
        self.status = status
        self.error = error
        self.reason = reason


class QueueSelectionError(OpsError):
    """A pattern or JMESPath query did not select queues as expected."""


# ---------------------------------------------------------------- parsing

def vhost_path(vhost):
    """A vhost name as one URL path segment ('/' -> '%2F')."""
    return quote(vhost, safe='')


def parse_json(text, what='answer'):
    """Decode a JSON answer; an empty body is None. Raises RabbitMQError."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    if not text or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise RabbitMQError(
            'The %s is not JSON (starts with %r); is api_url the address of the '
            'rabbitmq_management plugin?' % (what, text.strip()[:80]))


def parse_error_body(text):
    """(error, reason) of an error answer such as
    ``{"error":"bad_request","reason":"vhost_or_user_not_found"}``."""
    try:
        data = parse_json(text)
    except RabbitMQError:
        return None, (text.decode('utf-8', 'replace') if isinstance(text, bytes) else text or '').strip()[:300] or None
    if isinstance(data, dict):
        return data.get('error'), data.get('reason')
    return None, None


def parse_tags(value):
    """User tags as a sorted list; RabbitMQ < 3.9 answers a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(',')
    return sorted(set(t.strip() for t in value if t and t.strip()))


def parse_user(data):
    """The parts of ``GET /api/users/NAME`` a module compares."""
    return {
        'name': data['name'],
        'tags': parse_tags(data.get('tags')),
        'hashing_algorithm': data.get('hashing_algorithm'),
        'password_hash': data.get('password_hash') or '',
    }


def password_matches(user, password):
    """True/False whether ``password`` is the one ``user`` (from parse_user) has.

    RabbitMQ stores base64(salt[4] + H(salt + password)). None when the
    hashing algorithm is not one this function knows (the caller cannot tell).
    """
    hasher = _PASSWORD_HASHES.get(user.get('hashing_algorithm'))
    if hasher is None:
        return None
    try:
        raw = base64.b64decode(user.get('password_hash') or '')
    except (ValueError, TypeError):
        return None
    if len(raw) <= 4:
        return False  # a user without a password
    salt, digest = raw[:4], raw[4:]
    return hasher(salt + password.encode('utf-8')).digest() == digest


def parse_permissions(data):
    """``GET /api/vhosts/V/permissions`` as {user: {configure, write, read}}."""
    return dict(
        (p['user'], {'configure': p.get('configure', ''), 'write': p.get('write', ''),
                     'read': p.get('read', '')})
        for p in data or [])


def permissions_list(permissions):
    """{user: {...}} back to a sorted list of {user, configure, write, read}."""
    return [dict(user=user, **permissions[user]) for user in sorted(permissions)]


def parse_consumer_counts(data):
    """``GET /api/consumers/V`` as {queue name: number of consumers}."""
    counts = {}
    for consumer in data or []:
        name = (consumer.get('queue') or {}).get('name')
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return counts


def parse_queues(data, consumer_counts=None):
    """A queue listing as sorted dicts of name, messages, messages_ready,
    messages_unacknowledged, consumers, state and type.

    A counter the answer lacks is None (unknown, never taken for 0).
    ``consumers`` comes from ``consumer_counts`` when given (real-time
    listings carry none), else from the answer's own sampled column.
    """
    queues = []
    for item in data or []:
        queue = {'name': item['name']}
        for key in QUEUE_COUNTERS:
            value = item.get(key)
            queue[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
        if consumer_counts is not None:
            queue['consumers'] = consumer_counts.get(item['name'], 0)
        else:
            value = item.get('consumers')
            queue['consumers'] = value if isinstance(value, int) else None
        queue['state'] = item.get('state')
        queue['type'] = item.get('type')
        queues.append(queue)
    return sorted(queues, key=lambda q: q['name'])


def lacks_counters(queues):
    """Names of queues whose depth the answer did not give."""
    return [q['name'] for q in queues if q['messages'] is None or q['messages_unacknowledged'] is None]


def _as_list(patterns):
    if patterns is None:
        return []
    if isinstance(patterns, str):
        return [patterns]
    return list(patterns)


def select_queues(queues, patterns=None, exclude_patterns=None, expression=None):
    """Queues whose name matches a glob of ``patterns`` (all if none) and no
    glob of ``exclude_patterns``, then filtered by JMESPath ``expression``.

    Globs are shell-style and case-sensitive (fnmatch): ``*`` also matches
    dots, so ``engine_worker.*`` is every per-engine worker queue.
    """
    patterns = _as_list(patterns) or ['*']
    excludes = _as_list(exclude_patterns)
    selected = [q for q in queues
                if any(fnmatch.fnmatchcase(q['name'], p) for p in patterns)
                and not any(fnmatch.fnmatchcase(q['name'], p) for p in excludes)]
    if expression:
        result = query(expression, selected)
        if result is None:
            result = []
        if not isinstance(result, list) or not all(isinstance(q, dict) and 'name' in q for q in result):
            raise QueueSelectionError(
                'The query %r must return a list of queues (objects with a name, as in the '
                'queues return value), e.g. "[?consumers == `0`]"; it returned %s.'
                % (expression, json.dumps(result)[:200]), query=expression)
        selected = result
    return selected


def queue_totals(queues):
    """Sums of messages, unacknowledged messages and consumers (unknowns count 0)."""
    return {
        'total_messages': sum(q.get('messages') or 0 for q in queues),
        'total_unacknowledged': sum(q.get('messages_unacknowledged') or 0 for q in queues),
        'total_consumers': sum(q.get('consumers') or 0 for q in queues),
    }


def busy_queues(queues):
    """Queues holding messages or unacknowledged messages (or of unknown depth)."""
    return query(BUSY_QUEUES, queues) or []


def unused_queues(queues):
    """Queues with no consumer, no message and no unacknowledged message."""
    return query(UNUSED_QUEUES, queues) or []


def queues_in_use(queues):
    """Queues with a consumer or with unacknowledged messages (or of unknown state)."""
    return query(QUEUES_IN_USE, queues) or []


def describe_queues(queues, limit=10):
    """'engine (3 messages, 2 unacknowledged, 1 consumer), ...' for messages."""
    def one(q):
        def num(v):
            return '?' if v is None else v
        consumers = q.get('consumers')
        messages = q.get('messages')
        return '%s (%s message%s, %s unacknowledged, %s consumer%s)' % (
            q['name'], num(messages), '' if messages == 1 else 's',
            num(q.get('messages_unacknowledged')), num(consumers), '' if consumers == 1 else 's')
    shown = ', '.join(one(q) for q in queues[:limit])
    if len(queues) > limit:
        shown += ' and %d more' % (len(queues) - limit)
    return shown or 'none'


# ---------------------------------------------------------------- client

class ManagementAPI(object):
    """A client of the management HTTP API for one module invocation.

    ``requests`` is the audit trail: one dict per distinct request with
    method, path (query string included), HTTP status, how many times it was
    made (a wait repeats the same GET) and whether check mode skipped it.
    Bodies are never recorded (they may carry passwords).
    """

    def __init__(self, api_url=DEFAULT_API_URL, login_user=DEFAULT_LOGIN, login_password=None,
                 validate_certs=True, ca_path=None, timeout=10, check_mode=False, opener=None):
        self.api_url = (api_url or DEFAULT_API_URL).rstrip('/')
        # for messages: an api_url may carry user:password@
        self.shown_url = mask_text(self.api_url)
        self.login_user = login_user or DEFAULT_LOGIN
        self.login_password = DEFAULT_LOGIN if login_password is None else login_password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.check_mode = check_mode
        self.opener = opener or open_url
        self.requests = []

    @classmethod
    def from_module(cls, module, **kwargs):
        p = module.params
        return cls(api_url=p['api_url'], login_user=p['login_user'],
                   login_password=p['login_password'], validate_certs=p['validate_certs'],
                   ca_path=p['ca_path'], timeout=p['api_timeout'],
                   check_mode=module.check_mode, **kwargs)

    def _mask(self, text):
        return mask_text(text, [self.login_password] if self.login_password != DEFAULT_LOGIN else [])

    def _record(self, method, path, status, skipped=False):
        if method == 'GET':
            for entry in self.requests:
                if entry['method'] == method and entry['path'] == path and entry['status'] == status:
                    entry['count'] += 1
                    return
        self.requests.append({'method': method, 'path': path, 'status': status,
                              'count': 1, 'skipped': skipped})

    def request(self, method, path, body=None, missing_ok=False, mutating=None):
        """Make one request and return its decoded JSON (None for an empty body).

        ``mutating`` (default: anything but GET) requests are skipped in check
        mode. With ``missing_ok`` a 404 returns None instead of raising.
        """
        if mutating is None:
            mutating = method != 'GET'
        if mutating and self.check_mode:
            self._record(method, path, None, skipped=True)
            return None
        url = self.api_url + path
        data = json.dumps(body) if body is not None else None
        headers = {'Accept': 'application/json'}
        if data is not None:
            headers['Content-Type'] = 'application/json'
        try:
            response = self.opener(
                url, data=data, headers=headers, method=method, timeout=self.timeout,
                validate_certs=self.validate_certs, ca_path=self.ca_path,
                url_username=self.login_user, url_password=self.login_password,
                force_basic_auth=True, use_netrc=False, follow_redirects='none')
            status = getattr(response, 'status', None) or response.getcode()
            text = response.read()
        except HTTPError as exc:
            try:
                text = exc.read()
            except Exception:  # pylint: disable=broad-except
                text = b''
            self._record(method, path, exc.code)
            if exc.code == 404 and missing_ok:
                return None
            raise self._http_error(method, path, exc.code, text)
        except (URLError, UrlsConnectionError, socket.timeout, TimeoutError, ssl.SSLError,
                OSError) as exc:
            self._record(method, path, None)
            raise self._unreachable(exc)
        self._record(method, path, status)
        return parse_json(text, 'answer of %s %s' % (method, path))

    def _unreachable(self, exc):
        reason = getattr(exc, 'reason', None) or exc
        hint = ('is the rabbitmq_management plugin enabled (rabbitmq-plugins enable '
                'rabbitmq_management) and RabbitMQ running?')
        if isinstance(reason, ConnectionRefusedError):
            why = 'connection refused'
        elif isinstance(reason, (socket.timeout, TimeoutError)):
            why = 'no answer within %s seconds (api_timeout)' % self.timeout
        elif isinstance(reason, socket.gaierror):
            why = 'host name not resolved (%s)' % reason
            hint = 'check the host name in api_url.'
        else:
            why = str(reason)
        if isinstance(reason, ssl.SSLError) or 'CERTIFICATE' in why.upper() or 'SSL' in why.upper():
            hint = ('check the scheme of api_url (the plugin serves plain http on 15672 unless '
                    'configured for TLS), ca_path, or validate_certs for a self-signed certificate.')
        return RabbitMQError(
            'RabbitMQ management API at %s is not reachable: %s; %s'
            % (self.shown_url, self._mask(why), hint), api_url=self.shown_url)

    def _http_error(self, method, path, status, text):
        error, reason = parse_error_body(text)
        detail = ': '.join(str(x) for x in (error, reason) if x) or 'no details'
        detail = self._mask(detail)
        if status == 401:
            msg = ('RabbitMQ management API at %s refused the credentials of user %r (401 %s); '
                   'check login_user and login_password (the guest user can only log in from localhost).'
                   % (self.shown_url, self.login_user, detail))
        elif status == 403:
            msg = ('RabbitMQ management API at %s does not allow user %r to %s %s (403 %s); '
                   'managing vhosts, users and permissions needs the administrator tag, reading '
                   'queues at least the monitoring tag or permissions on the vhost.'
                   % (self.shown_url, self.login_user, method, path, detail))
        elif status == 404:
            msg = 'RabbitMQ management API at %s has no %s (404 %s).' % (self.shown_url, path, detail)
        else:
            msg = ('RabbitMQ management API at %s answered %s %s with HTTP %s (%s).'
                   % (self.shown_url, method, path, status, detail))
        return RabbitMQApiError(msg, status=status, error=error, reason=reason and self._mask(reason),
                                api_url=self.shown_url, request='%s %s' % (method, path))

    # -- vhosts and permissions

    def get_vhost(self, vhost):
        return self.request('GET', '/api/vhosts/%s' % vhost_path(vhost), missing_ok=True)

    def put_vhost(self, vhost, description=None):
        body = {} if description is None else {'description': description}
        return self.request('PUT', '/api/vhosts/%s' % vhost_path(vhost), body)

    def delete_vhost(self, vhost):
        return self.request('DELETE', '/api/vhosts/%s' % vhost_path(vhost), missing_ok=True)

    def vhost_permissions(self, vhost):
        return parse_permissions(
            self.request('GET', '/api/vhosts/%s/permissions' % vhost_path(vhost), missing_ok=True))

    def put_permission(self, vhost, user, configure, write, read):
        return self.request('PUT', '/api/permissions/%s/%s' % (vhost_path(vhost), vhost_path(user)),
                            {'configure': configure, 'write': write, 'read': read})

    # -- users

    def get_user(self, user):
        data = self.request('GET', '/api/users/%s' % vhost_path(user), missing_ok=True)
        return parse_user(data) if data else None

    def put_user(self, user, tags, password=None, password_hash=None, hashing_algorithm=None):
        """Create or replace a user. Without ``password`` the stored hash is kept
        by sending it back (PUT replaces the whole user)."""
        body = {'tags': ','.join(tags)}
        if password is not None:
            body['password'] = password
        else:
            body['password_hash'] = password_hash or ''
            if hashing_algorithm:
                body['hashing_algorithm'] = hashing_algorithm
        return self.request('PUT', '/api/users/%s' % vhost_path(user), body)

    # -- queues

    def queues(self, vhost):
        """Queues of ``vhost`` with real-time depths and consumer counts.

        Returns (queues, counters) where counters is 'realtime', or 'sampled'
        when the server did not give real-time totals (RabbitMQ before 3.8
        ignores disable_stats/enable_queue_totals) and the statistics
        database's columns were read instead. Raises RabbitMQApiError (404) if
        the vhost does not exist.
        """
        base = '/api/queues/%s' % vhost_path(vhost)
        data = self.request('GET', base + '?disable_stats=true&enable_queue_totals=true&columns=' + QUEUE_COLUMNS)
        counts = parse_consumer_counts(
            self.request('GET', '/api/consumers/%s?columns=queue.name' % vhost_path(vhost)))
        queues = parse_queues(data, counts)
        counters = 'realtime'
        if lacks_counters(queues):
            sampled = dict((q['name'], q) for q in parse_queues(self.request(
                'GET', base + '?columns=name,' + ','.join(QUEUE_COUNTERS))))
            for queue in queues:
                if queue['messages'] is None and queue['name'] in sampled:
                    for key in QUEUE_COUNTERS:
                        queue[key] = sampled[queue['name']][key]
            counters = 'sampled'
        return queues, counters

    def delete_queue(self, vhost, name, if_unused=True, if_empty=True):
        """Delete a queue; the server refuses (400) one that gained a consumer or
        a message since it was read, when ``if_unused``/``if_empty``."""
        flags = []
        if if_unused:
            flags.append('if-unused=true')
        if if_empty:
            flags.append('if-empty=true')
        path = '/api/queues/%s/%s' % (vhost_path(vhost), vhost_path(name))
        if flags:
            path += '?' + '&'.join(flags)
        return self.request('DELETE', path)


# ---------------------------------------------------------------- vhost state

class VhostRefused(OpsError):
    """A vhost cannot be changed as asked (missing user, queues not empty)."""


def desired_permissions(entries):
    """The ``permissions`` option as {user: {configure, write, read}}."""
    out = {}
    for entry in entries or []:
        out[entry['user']] = {'configure': entry.get('configure', '.*'),
                              'write': entry.get('write', '.*'),
                              'read': entry.get('read', '.*')}
    return out


def read_vhost_state(api, vhost, user=None, password=None):
    """The observed state of ``vhost`` (and of ``user`` when given).

    Returns (state, raw_user): state is {vhost, exists, permissions{user:{..}}}
    plus ``user`` {name, exists, tags, password_matches} when a user is
    managed; raw_user is parse_user() of the user (for its stored hash).
    """
    exists = api.get_vhost(vhost) is not None
    state = {'vhost': vhost, 'exists': exists,
             'permissions': api.vhost_permissions(vhost) if exists else {}}
    raw_user = None
    if user:
        raw_user = api.get_user(user)
        state['user'] = user_state(user, raw_user, password)
    return state, raw_user


def user_state(name, raw_user, password=None):
    if raw_user is None:
        return {'name': name, 'exists': False, 'tags': [], 'password_matches': None}
    return {'name': name, 'exists': True, 'tags': raw_user['tags'],
            'password_matches': password_matches(raw_user, password) if password is not None else None}


def plan_vhost_present(before, permissions, login_user, user=None, password=None, tags=None,
                       update_password='always'):
    """What to do to make a vhost present with ``permissions``; pure.

    Returns (actions, predicted_after). Actions are tuples, in order:
    ('put_user', name, tags, password_or_None), ('put_vhost',),
    ('put_permission', user, {configure, write, read}). A vhost created through
    the API grants the creating ``login_user`` full permissions on it
    (observed on RabbitMQ 3.10), which the prediction includes.
    Raises VhostRefused when a user to create has no password.
    """
    actions = []
    after = {'vhost': before['vhost'], 'exists': True,
             'permissions': dict((u, dict(p)) for u, p in before['permissions'].items())}
    if user:
        current = before['user']
        new_tags = current['tags'] if tags is None else parse_tags(tags)
        if not current['exists']:
            if password is None:
                raise VhostRefused(
                    'RabbitMQ user %r does not exist and no user_password was given to create it.' % user)
            actions.append(('put_user', user, new_tags, password))
            after['user'] = {'name': user, 'exists': True, 'tags': new_tags, 'password_matches': True}
        else:
            change_password = (password is not None and update_password == 'always'
                               and current['password_matches'] is not True)
            if change_password or new_tags != current['tags']:
                actions.append(('put_user', user, new_tags, password if change_password else None))
            after['user'] = {'name': user, 'exists': True, 'tags': new_tags,
                             'password_matches': True if change_password else current['password_matches']}
    if not before['exists']:
        actions.append(('put_vhost',))
        after['permissions'][login_user] = {'configure': '.*', 'write': '.*', 'read': '.*'}
    for name in sorted(permissions):
        if before['permissions'].get(name) != permissions[name]:
            actions.append(('put_permission', name, permissions[name]))
        after['permissions'][name] = dict(permissions[name])
    return actions, after


def plan_vhost_absent(before):
    """(actions, predicted_after) to delete a vhost; pure."""
    after = {'vhost': before['vhost'], 'exists': False, 'permissions': {}}
    if 'user' in before:
        after['user'] = before['user']
    return ([('delete_vhost',)] if before['exists'] else []), after
