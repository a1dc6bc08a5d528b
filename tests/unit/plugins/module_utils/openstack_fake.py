"""A small stateful stand-in for Keystone v3 and the nova compute API, for unit tests.

It answers the requests module_utils.openstack_api and module_utils.nova make,
in the shapes of nova's API reference at the microversions sent (2.53 for
services and hypervisors, servers with their flavor embedded as from 2.47),
and keeps services, servers, migrations and instance actions, so that a
module's re-read after a change sees the change. Live migrations progress on
the fake's own clock: every listing of a host's servers is one tick, and a
migration ends ``polls_to_move`` ticks after it started. Plug it in with
``monkeypatch.setattr(openstack_api, 'open_url', fake)`` or pass it as the
session's ``opener``.
"""

import io
import json
import uuid
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlsplit

KEYSTONE = 'http://keystone.example:5000'
NOVA = 'http://nova.example:8774/v2.1'
NOVA_INTERNAL = 'http://nova.internal:8774/v2.1'
PASSWORD = 'Sup3r-s3cret-pw'
RESERVED_HOST_MEMORY_MB = 512
NO_VALID_HOST = 'nova.exception.NoValidHost: No valid host was found. There are not enough hosts available.'


def server_id(name):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, 'server.' + name))


def service_id(host):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, 'service.' + host))


class Response(object):
    def __init__(self, status, body, headers=None):
        self.status = status
        self.headers = headers or {}
        self._body = json.dumps(body).encode() if body is not None else b''

    def read(self):
        return self._body


class FakeCloud(object):
    """Keystone (one admin user and project) and nova (computes, servers, migrations)."""

    def __init__(self, password=PASSWORD, token_header='x-subject-token'):
        self.password = password
        self.token_header = token_header
        self.tokens = set()
        self.issued = 0
        self.scoped = True
        self.catalog = [
            {'type': 'identity', 'name': 'keystone', 'endpoints': [
                {'interface': 'public', 'region_id': 'RegionOne', 'region': 'RegionOne', 'url': KEYSTONE + '/v3'}]},
            {'type': 'compute', 'name': 'nova', 'endpoints': [
                {'interface': 'public', 'region_id': 'RegionOne', 'region': 'RegionOne', 'url': NOVA},
                {'interface': 'internal', 'region_id': 'RegionOne', 'region': 'RegionOne', 'url': NOVA_INTERNAL}]},
        ]
        self.services = {}
        self.hypervisors = {}
        self.servers = {}
        self.migrations = []
        self.actions = {}
        self.in_flight = {}
        self.fail = {}
        self.polls_to_move = 2
        self.polls_to_finish = 1        # the source's clean-up after the instance moved
        self.max_in_flight = 0
        self.page_size = None
        self.expire_every = None      # expire the tokens after this many compute requests
        self.compute_calls = 0
        self.log = []
        self.bodies = []
        self.microversions = []

    # -- building a state

    def add_compute(self, host, status='enabled', state='up', vcpus=8, memory_mb=16384, reason=None,
                    forced_down=False):
        self.services[service_id(host)] = {
            'id': service_id(host), 'binary': 'nova-compute', 'host': host, 'zone': 'nova',
            'status': status, 'state': state, 'disabled_reason': reason, 'forced_down': forced_down,
            'updated_at': '2026-03-02T10:13:55.000000'}
        self.hypervisors[host] = {'vcpus': vcpus, 'memory_mb': memory_mb}
        return service_id(host)

    def add_server(self, name, host, status='ACTIVE', task_state=None, vcpus=1, ram=1024, fault=None):
        sid = server_id(name)
        self.servers[sid] = {'id': sid, 'name': name, 'host': host, 'status': status, 'task_state': task_state,
                             'vcpus': vcpus, 'ram': ram, 'fault': fault}
        return sid

    def expire_tokens(self):
        self.tokens = set()

    def on_host(self, host):
        return sorted(s['name'] for s in self.servers.values() if s['host'] == host)

    def service(self, host):
        return next((s for s in self.services.values() if s['host'] == host), None)

    # -- serving

    def __call__(self, url, data=None, headers=None, method='GET', **kwargs):
        parts = urlsplit(url)
        params = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        headers = headers or {}
        self.log.append((method, url))
        body = json.loads(data) if data else None
        self.bodies.append(data)
        if url.startswith(KEYSTONE):
            return self._keystone(url, parts.path, body)
        base = NOVA if url.startswith(NOVA) else NOVA_INTERNAL
        if not url.startswith(base):
            raise AssertionError('unexpected URL %s' % url)
        self.compute_calls += 1
        if self.expire_every and self.compute_calls % self.expire_every == 0:
            self.expire_tokens()
        if headers.get('X-Auth-Token') not in self.tokens:
            return self._error(url, 401, {'error': {'code': 401, 'title': 'Unauthorized',
                                                    'message': 'The request you have made requires authentication.'}})
        self.microversions.append(headers.get('OpenStack-API-Version'))
        path = parts.path[len(urlsplit(base).path):]
        segs = [s for s in path.split('/') if s]
        handler = getattr(self, '_%s_%s' % (method.lower(), segs[0].replace('-', '_')), None)
        if handler is None:
            return self._error(url, 404, {'itemNotFound': {'code': 404, 'message': 'Not found'}})
        status, answer = handler(segs[1:], params, body, headers)
        if status >= 400:
            return self._error(url, status, answer)
        return Response(status, answer)

    def _error(self, url, status, body):
        raise HTTPError(url, status, 'error', {}, io.BytesIO(json.dumps(body).encode()))

    def _keystone(self, url, path, body):
        if path != '/v3/auth/tokens':
            return self._error(url, 404, {'error': {'code': 404, 'message': 'Not found', 'title': 'Not Found'}})
        user = body['auth']['identity']['password']['user']
        if user['name'] != 'admin' or user['password'] != self.password or user['domain'] not in (
                {'id': 'default'}, {'name': 'Default'}):
            return self._error(url, 401, {'error': {'code': 401, 'title': 'Unauthorized',
                                                    'message': 'The request you have made requires authentication.'}})
        project = body['auth']['scope']['project']
        if project not in ({'name': 'admin', 'domain': {'id': 'default'}},
                           {'name': 'admin', 'domain': {'name': 'Default'}}, {'id': 'p-admin'}):
            return self._error(url, 401, {'error': {'code': 401, 'title': 'Unauthorized',
                                                    'message': 'The request you have made requires authentication.'}})
        self.issued += 1
        token = 'gAAAAAfake-token-%d' % self.issued
        self.tokens.add(token)
        answer = {'token': {'methods': ['password'], 'expires_at': '2026-03-02T11:13:55.000000Z',
                            'user': {'id': 'u-admin', 'name': 'admin', 'domain': {'id': 'default', 'name': 'Default'}},
                            'roles': [{'id': 'r1', 'name': 'admin'}, {'id': 'r2', 'name': 'member'}],
                            'catalog': self.catalog}}
        if self.scoped:
            answer['token']['project'] = {'id': 'p-admin', 'name': 'admin',
                                          'domain': {'id': 'default', 'name': 'Default'}}
        return Response(201, answer, {self.token_header: token})

    # -- services

    def _get_os_services(self, segs, params, body, headers):
        services = [dict(s) for s in self.services.values()
                    if s['binary'] == params.get('binary', s['binary']) and s['host'] == params.get('host', s['host'])]
        return 200, {'services': services}

    def _put_os_services(self, segs, params, body, headers):
        service = self.services.get(segs[0])
        if service is None:
            return 404, {'itemNotFound': {'code': 404, 'message': 'Service %s not found.' % segs[0]}}
        if body.get('status') == 'enabled' and 'disabled_reason' in body:
            return 400, {'badRequest': {'code': 400, 'message': 'Specifying \'disabled_reason\' with status '
                                                                '\'enabled\' is invalid.'}}
        service['status'] = body['status']
        service['disabled_reason'] = body.get('disabled_reason') if body['status'] == 'disabled' else None
        return 200, {'service': dict(service)}

    def _delete_os_services(self, segs, params, body, headers):
        service = self.services.get(segs[0])
        if service is None:
            return 404, {'itemNotFound': {'code': 404, 'message': 'Service %s not found.' % segs[0]}}
        if self.on_host(service['host']):
            return 409, {'conflictingRequest': {'code': 409, 'message': 'Unable to delete compute service that '
                                                                        'is hosting instances. Migrate or delete '
                                                                        'the instances first.'}}
        del self.services[segs[0]]
        return 204, None

    # -- servers

    def _server_view(self, s):
        view = {'id': s['id'], 'name': s['name'], 'status': s['status'], 'OS-EXT-STS:task_state': s['task_state'],
                'OS-EXT-STS:vm_state': s['status'].lower(), 'OS-EXT-SRV-ATTR:host': s['host'],
                'flavor': {'original_name': 'm1.v%dr%d' % (s['vcpus'], s['ram']), 'vcpus': s['vcpus'],
                           'ram': s['ram'], 'disk': 1, 'ephemeral': 0, 'swap': 0, 'extra_specs': {}},
                'tenant_id': 'p-demo', 'user_id': 'u-demo'}
        if s['status'] == 'ERROR' and s['fault']:
            view['fault'] = {'code': 500, 'message': s['fault'], 'created': '2026-03-02T10:00:00Z'}
        return view

    def _tick(self):
        for migration in self.migrations:
            if migration['status'] == 'post-migrating':
                migration['finish_ticks'] -= 1
                if migration['finish_ticks'] <= 0:
                    migration['status'] = 'completed'
                    del migration['finish_ticks']
        for sid in list(self.in_flight):
            flight = self.in_flight[sid]
            flight['ticks'] += 1
            if flight['ticks'] < self.polls_to_move:
                continue
            server, migration = self.servers[sid], flight['migration']
            del self.in_flight[sid]
            server['task_state'] = None
            server['status'] = 'ACTIVE'
            if sid in self.fail:
                migration['status'] = 'error'
                action = self.actions[sid][-1]
                action['message'] = 'Error'
                action['events'] = [{'event': 'conductor_live_migrate_instance', 'result': 'Error',
                                     'start_time': '2026-03-02T10:14:00.000000',
                                     'finish_time': '2026-03-02T10:14:01.000000',
                                     'traceback': 'Traceback (most recent call last):\n  File "x.py", line 1\n'
                                                  + self.fail[sid] + '\n'}]
            else:
                server['host'] = migration['dest_compute']
                migration['status'] = 'post-migrating' if self.polls_to_finish else 'completed'
                if self.polls_to_finish:
                    migration['finish_ticks'] = self.polls_to_finish

    def _destination(self, source, vcpus, ram):
        for host in sorted(self.hypervisors):
            service = self.service(host)
            if host == source or service is None or service['status'] != 'enabled' or service['state'] != 'up':
                continue
            return host
        return None

    def _get_servers(self, segs, params, body, headers):
        if segs and segs[0] == 'detail':
            assert params.get('all_tenants') == '1', 'host filter without all_tenants'
            if 'host' in params:
                self._tick()
            listed = sorted((s for s in self.servers.values() if s['host'] == params.get('host', s['host'])),
                            key=lambda s: s['id'])
            if params.get('marker'):
                listed = [s for s in listed if s['id'] > params['marker']]
            answer = {'servers': [self._server_view(s) for s in listed[:self.page_size or len(listed)]]}
            if self.page_size and len(listed) > self.page_size:
                last = listed[self.page_size - 1]['id']
                answer['servers_links'] = [{'rel': 'next', 'href': NOVA + '/servers/detail?all_tenants=1&host=%s'
                                            '&limit=%s&marker=%s' % (params.get('host'), self.page_size, last)}]
            return 200, answer
        server = self.servers.get(segs[0])
        if server is None:
            return 404, {'itemNotFound': {'code': 404, 'message': 'Instance %s could not be found.' % segs[0]}}
        if len(segs) == 1:
            return 200, {'server': self._server_view(server)}
        if segs[1] == 'os-instance-actions':
            actions = self.actions.get(segs[0], [])
            if len(segs) == 2:
                return 200, {'instanceActions': [dict((k, v) for k, v in a.items() if k != 'events')
                                                 for a in reversed(actions)]}
            action = next((a for a in actions if a['request_id'] == segs[2]), None)
            if action is None:
                return 404, {'itemNotFound': {'code': 404, 'message': 'Action %s not found' % segs[2]}}
            return 200, {'instanceAction': action}
        return 404, {'itemNotFound': {'code': 404, 'message': 'Not found'}}

    def _post_servers(self, segs, params, body, headers):
        server = self.servers.get(segs[0])
        if server is None:
            return 404, {'itemNotFound': {'code': 404, 'message': 'Instance %s could not be found.' % segs[0]}}
        assert segs[1] == 'action'
        request = body['os-migrateLive']
        assert request == {'host': None, 'block_migration': 'auto'}, request
        if server['task_state'] or server['status'] not in ('ACTIVE', 'PAUSED'):
            message = "Cannot 'os-migrateLive' instance %s while it is in vm_state %s" % (
                server['id'], server['status'].lower())
            return 409, {'conflictingRequest': {'code': 409, 'message': message}}
        migration = {'id': len(self.migrations) + 1, 'instance_uuid': server['id'], 'status': 'running',
                     'migration_type': 'live-migration', 'source_compute': server['host'],
                     'dest_compute': self._destination(server['host'], server['vcpus'], server['ram']),
                     'created_at': '2026-03-02T10:14:%02d.000000' % len(self.migrations),
                     'updated_at': None}
        self.migrations.append(migration)
        self.actions.setdefault(server['id'], []).append({
            'action': 'live-migration', 'instance_uuid': server['id'], 'message': None,
            'request_id': 'req-%d' % migration['id'], 'start_time': migration['created_at'],
            'project_id': 'p-admin', 'user_id': 'u-admin', 'events': []})
        server['task_state'] = 'migrating'
        server['status'] = 'MIGRATING'
        self.in_flight[server['id']] = {'ticks': 0, 'migration': migration}
        self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
        return 202, None

    # -- hypervisors and migrations

    def _get_os_hypervisors(self, segs, params, body, headers):
        version = float(headers['OpenStack-API-Version'].split()[1])
        hypervisors = []
        for host in sorted(self.hypervisors):
            service = self.service(host)
            if service is None:
                continue
            servers = [s for s in self.servers.values() if s['host'] == host]
            item = {'id': str(uuid.uuid5(uuid.NAMESPACE_DNS, 'hv.' + host)), 'hypervisor_hostname': host + '.example',
                    'hypervisor_type': 'fake', 'state': service['state'], 'status': service['status'],
                    'service': {'host': host, 'id': service['id'], 'disabled_reason': service['disabled_reason']}}
            if version < 2.88:
                item.update(vcpus=self.hypervisors[host]['vcpus'], memory_mb=self.hypervisors[host]['memory_mb'],
                            vcpus_used=sum(s['vcpus'] for s in servers),
                            memory_mb_used=RESERVED_HOST_MEMORY_MB + sum(s['ram'] for s in servers),
                            running_vms=len(servers))
            hypervisors.append(item)
        return 200, {'hypervisors': hypervisors}

    def _get_os_migrations(self, segs, params, body, headers):
        found = [dict((k, v) for k, v in m.items() if k != 'finish_ticks') for m in self.migrations
                 if m['instance_uuid'] == params.get('instance_uuid', m['instance_uuid'])]
        return 200, {'migrations': found}
