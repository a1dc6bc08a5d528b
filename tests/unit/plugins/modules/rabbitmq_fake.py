"""A small stateful stand-in for the RabbitMQ management API, for module tests.

It answers the requests module_utils.rabbitmq makes, in the shapes captured
from RabbitMQ 3.10.8 (tests/unit/fixtures/rabbitmq/), and keeps vhosts,
users, permissions and queues so that a module's re-read after a change sees
the change. Plug it in with ``monkeypatch.setattr(rabbitmq, 'open_url', fake)``.
"""

import base64
import hashlib
import io
import json
import os
from urllib.error import HTTPError
from urllib.parse import unquote, urlsplit, parse_qs

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'rabbitmq')


def fixture(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return json.loads(f.read())


def rabbit_hash(password, salt=b'\x01\x02\x03\x04'):
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


class Response(object):
    def __init__(self, status, body):
        self.status = status
        self._body = json.dumps(body).encode() if body is not None else b''

    def read(self):
        return self._body


class FakeRabbit(object):
    NOT_FOUND = {'error': 'Object Not Found', 'reason': 'Not Found'}

    def __init__(self, login=('guest', 'guest')):
        self.login = login
        self.users = {'guest': {'name': 'guest', 'password_hash': rabbit_hash('guest'),
                                'hashing_algorithm': 'rabbit_password_hashing_sha256',
                                'tags': ['administrator'], 'limits': {}}}
        self.vhosts = {'/': {}}
        self.permissions = {('/', 'guest'): {'configure': '.*', 'write': '.*', 'read': '.*'}}
        self.queues = {'/': {}}
        self.consumers = {}
        self.log = []

    # -- building a state
    def add_vhost(self, name, queues=(), consumers=None):
        self.vhosts[name] = {}
        self.queues[name] = dict((q['name'], dict(q)) for q in queues)
        for q in self.queues[name].values():
            for key in list(q):
                if key not in ('name', 'messages', 'messages_ready', 'messages_unacknowledged', 'state', 'type'):
                    del q[key]
        self.consumers[name] = dict(consumers or {})

    def add_user(self, name, password, tags=()):
        self.users[name] = {'name': name, 'password_hash': rabbit_hash(password),
                            'hashing_algorithm': 'rabbit_password_hashing_sha256',
                            'tags': list(tags), 'limits': {}}

    # -- serving
    def __call__(self, url, data=None, method='GET', url_username=None, url_password=None, **kwargs):
        parts = urlsplit(url)
        path = parts.path
        params = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        self.log.append((method, path + ('?' + parts.query if parts.query else '')))
        if (url_username, url_password) != self.login:
            return self._error(url, 401, {'error': 'not_authorized', 'reason': 'Login failed'})
        segs = [unquote(s) for s in path.split('/')[2:]]
        body = json.loads(data) if data else None
        handler = getattr(self, '_%s_%s' % (method.lower(), segs[0]), None)
        if handler is None:
            return self._error(url, 404, self.NOT_FOUND)
        status, answer = handler(segs[1:], params, body)
        if status >= 400:
            return self._error(url, status, answer)
        return Response(status, answer)

    def _error(self, url, status, body):
        raise HTTPError(url, status, 'error', {}, io.BytesIO(json.dumps(body).encode()))

    def _get_vhosts(self, segs, params, body):
        name = segs[0]
        if name not in self.vhosts:
            return 404, self.NOT_FOUND
        if len(segs) == 2 and segs[1] == 'permissions':
            return 200, [dict(vhost=v, user=u, **p) for (v, u), p in sorted(self.permissions.items()) if v == name]
        answer = fixture('vhost.json')
        answer['name'] = name
        return 200, answer

    def _put_vhosts(self, segs, params, body):
        name = segs[0]
        if name in self.vhosts:
            return 204, None
        self.add_vhost(name)
        # the API grants the acting user full permissions on a vhost it creates
        self.permissions[(name, self.login[0])] = {'configure': '.*', 'write': '.*', 'read': '.*'}
        return 201, None

    def _delete_vhosts(self, segs, params, body):
        name = segs[0]
        if name not in self.vhosts:
            return 404, self.NOT_FOUND
        del self.vhosts[name]
        self.queues.pop(name, None)
        for key in [k for k in self.permissions if k[0] == name]:
            del self.permissions[key]
        return 204, None

    def _put_permissions(self, segs, params, body):
        vhost, user = segs
        if vhost not in self.vhosts or user not in self.users:
            return 400, {'error': 'bad_request', 'reason': 'vhost_or_user_not_found'}
        self.permissions[(vhost, user)] = dict(body)
        return 204, None

    def _get_users(self, segs, params, body):
        if segs and segs[0]:
            user = self.users.get(segs[0])
            return (200, dict(user)) if user else (404, self.NOT_FOUND)
        return 200, [dict(u) for u in self.users.values()]

    def _put_users(self, segs, params, body):
        name = segs[0]
        created = name not in self.users
        if 'password' in body:
            password_hash = rabbit_hash(body['password'], salt=os.urandom(4))
        else:
            password_hash = body.get('password_hash', '')
        tags = [t for t in body.get('tags', '').split(',') if t]
        self.users[name] = {'name': name, 'password_hash': password_hash,
                            'hashing_algorithm': 'rabbit_password_hashing_sha256', 'tags': tags, 'limits': {}}
        return (201 if created else 204), None

    def _get_queues(self, segs, params, body):
        vhost = segs[0]
        if vhost not in self.vhosts:
            return 404, self.NOT_FOUND
        queues = [dict(q) for name, q in sorted(self.queues[vhost].items())]
        if params.get('disable_stats') != 'true':
            for q in queues:
                q['consumers'] = self.consumers.get(vhost, {}).get(q['name'], 0)
        return 200, queues

    def _get_consumers(self, segs, params, body):
        vhost = segs[0]
        if vhost not in self.vhosts:
            return 404, self.NOT_FOUND
        return 200, [{'queue': {'name': name}}
                     for name, n in sorted(self.consumers.get(vhost, {}).items()) for dummy in range(n)]

    def _delete_queues(self, segs, params, body):
        vhost, name = segs
        queue = self.queues.get(vhost, {}).get(name)
        if queue is None:
            return 404, self.NOT_FOUND
        if params.get('if-unused') == 'true' and self.consumers.get(vhost, {}).get(name):
            return 400, {'error': 'bad_request', 'reason': "queue '%s' in vhost '%s' in use" % (name, vhost)}
        if params.get('if-empty') == 'true' and queue.get('messages'):
            return 400, {'error': 'bad_request', 'reason': "queue '%s' in vhost '%s' not empty" % (name, vhost)}
        del self.queues[vhost][name]
        return 204, None
