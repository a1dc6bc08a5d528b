"""A small stateful stand-in for Keystone v3 and the nova compute API, for unit tests.

It answers the requests module_utils.openstack_api and module_utils.nova make,
in the shapes of nova's API reference at the microversions sent (2.53 for
services and hypervisors, servers with their flavor embedded as from 2.47),
and keeps services, servers, migrations and instance actions, so that a
module's re-read after a change sees the change. Placement (1.14) keeps
resource providers and their allocations: each compute gets a provider
named after its hypervisor, with the hypervisor's id as UUID, and a service
delete removes it the way nova does, leaving it in place, without a word,
while it holds allocations or children. Live migrations progress on
the fake's own clock: every listing of a host's servers is one tick, and a
migration ends ``polls_to_move`` ticks after it started. Plug it in with
``monkeypatch.setattr(openstack_api, 'open_url', fake)`` or pass it as the
session's ``opener``.

:class:`TwoRegionCloud`, at the end, is one Keystone in front of two nova
deployments in two regions (a parallel compute deployment), with flavors,
key pairs, and servers that are booted and deleted.
"""

import io
import json
import re
import uuid
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlsplit

KEYSTONE = 'http://keystone.example:5000'
NOVA = 'http://nova.example:8774/v2.1'
NOVA_INTERNAL = 'http://nova.internal:8774/v2.1'
PLACEMENT = 'http://placement.example:8778'
PLACEMENT_INTERNAL = 'http://placement.internal:8778'
PASSWORD = 'Sup3r-s3cret-pw'
RESERVED_HOST_MEMORY_MB = 512
NO_VALID_HOST = 'nova.exception.NoValidHost: No valid host was found. There are not enough hosts available.'


def server_id(name):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, 'server.' + name))


def service_id(host):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, 'service.' + host))


def hypervisor_id(host):
    """The compute node UUID of ``host``: its hypervisor id (2.53+) and its resource provider's UUID."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, 'hv.' + host))


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
            {'type': 'placement', 'name': 'placement', 'endpoints': [
                {'interface': 'public', 'region_id': 'RegionOne', 'region': 'RegionOne', 'url': PLACEMENT},
                {'interface': 'internal', 'region_id': 'RegionOne', 'region': 'RegionOne',
                 'url': PLACEMENT_INTERNAL}]},
        ]
        self.services = {}
        self.providers = {}             # uuid: {uuid, name, parent, allocations: {consumer: {rc: amount}}}
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
        self.add_provider(host + '.example', hypervisor_id(host))
        return service_id(host)

    def add_provider(self, name, provider_uuid=None, parent=None, allocations=None):
        provider_uuid = provider_uuid or str(uuid.uuid5(uuid.NAMESPACE_DNS, 'rp.' + name))
        self.providers[provider_uuid] = {'uuid': provider_uuid, 'name': name, 'parent': parent,
                                         'allocations': dict(allocations or {})}
        return provider_uuid

    def allocate(self, provider_uuid, consumer, **resources):
        self.providers[provider_uuid]['allocations'][consumer] = dict(resources)

    def provider(self, name):
        return next((p for p in self.providers.values() if p['name'] == name), None)

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
        if url.startswith((PLACEMENT, PLACEMENT_INTERNAL)):
            return self._placement(url, method, parts, params, headers)
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
        # nova deletes the compute node's provider tree leaves first and swallows placement's 409
        root = hypervisor_id(service['host'])
        tree = [p for p in self.providers.values() if self._root(p['uuid']) == root]
        for provider in sorted(tree, key=lambda p: self._depth(p['uuid']), reverse=True):
            children = [p for p in self.providers.values() if p['parent'] == provider['uuid']]
            if not provider['allocations'] and not children:
                del self.providers[provider['uuid']]
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
            item = {'id': hypervisor_id(host), 'hypervisor_hostname': host + '.example',
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

    # -- placement (read only)

    def _root(self, provider_uuid):
        while self.providers[provider_uuid]['parent']:
            provider_uuid = self.providers[provider_uuid]['parent']
        return provider_uuid

    def _depth(self, provider_uuid):
        depth = 0
        while self.providers[provider_uuid]['parent']:
            provider_uuid, depth = self.providers[provider_uuid]['parent'], depth + 1
        return depth

    def _provider_view(self, p):
        return {'uuid': p['uuid'], 'name': p['name'], 'generation': 1, 'parent_provider_uuid': p['parent'],
                'root_provider_uuid': self._root(p['uuid']), 'links': []}

    def _placement(self, url, method, parts, params, headers):
        if headers.get('X-Auth-Token') not in self.tokens:
            return self._error(url, 401, {'error': {'code': 401, 'title': 'Unauthorized',
                                                    'message': 'The request you have made requires authentication.'}})
        self.microversions.append(headers.get('OpenStack-API-Version'))
        version = tuple(int(n) for n in (headers.get('OpenStack-API-Version') or 'placement 1.0').split()[1].split('.'))
        segs = [s for s in parts.path.split('/') if s]
        assert method == 'GET' and segs[0] == 'resource_providers', (method, url)

        def not_found(uuid_):
            return self._error(url, 404, {'errors': [{'status': 404, 'title': 'Not Found',
                                                      'detail': 'No resource provider with uuid %s found' % uuid_}]})
        if len(segs) == 1:
            if 'in_tree' in params and version < (1, 14):
                return self._error(url, 400, {'errors': [{'status': 400, 'title': 'Bad Request',
                                                          'detail': "Invalid query string parameters: 'in_tree'"}]})
            listed = [p for p in self.providers.values() if p['name'] == params.get('name', p['name'])]
            if 'in_tree' in params:
                root = self._root(params['in_tree']) if params['in_tree'] in self.providers else None
                listed = [p for p in listed if root and self._root(p['uuid']) == root]
            return Response(200, {'resource_providers': [self._provider_view(p) for p in listed]})
        provider = self.providers.get(segs[1])
        if provider is None:
            return not_found(segs[1])
        if len(segs) == 2:
            return Response(200, self._provider_view(provider))
        assert segs[2:] == ['allocations'], url
        return Response(200, {'resource_provider_generation': 1,
                              'allocations': dict((c, {'resources': dict(r)})
                                                  for c, r in provider['allocations'].items())})


# ---------------------------------------------------------------- two deployments, one Keystone
#
# For a parallel compute deployment: the old nova behind the compute endpoint
# of REGION_OLD, the new one behind that of REGION_NEW, one Keystone and one
# glance (a set of image ids). The user admin has the admin role on project
# admin and the member role on project demo, and no role on project other.

REGION_OLD = 'RegionOne'
REGION_NEW = 'RegionTwo'
NOVA_OLD = 'http://nova-old.example:8774/v2.1'
NOVA_NEW = 'http://nova-new.example:8774/v2.1'
IMAGE = '7e3c1a9b-5d2f-4c6e-8a1b-3f4e5d6c7b8a'
ADMIN_PASS = 'Tw1n-adminPass'           # what nova answers to a server create; never to be shown
PROJECTS = {'p-admin': 'admin', 'p-demo': 'demo', 'p-other': 'other'}


def _microversion(headers):
    value = (headers or {}).get('OpenStack-API-Version') or 'compute 2.1'
    return tuple(int(part) for part in value.split()[1].split('.'))


def _not_found(what):
    return 404, {'itemNotFound': {'code': 404, 'message': '%s could not be found.' % what}}


def _http_error(url, status, body):
    raise HTTPError(url, status, 'error', {}, io.BytesIO(json.dumps(body).encode()))


def _bad(message, status=400):
    key = {400: 'badRequest', 403: 'forbidden', 409: 'conflictingRequest'}[status]
    return status, {key: {'code': status, 'message': message}}


class FakeDeployment(object):
    """The compute API of one nova deployment, at microversion 2.74 or so.

    Flavors (with extra specs and access lists), key pairs per user, servers
    with image, embedded flavor, metadata and project. A booted server stays in
    BUILD for ``build_polls`` GETs of it, then is ACTIVE on ``new_host``, or in
    ERROR with the next fault of ``build_faults``. A deleted one answers
    ``delete_polls - 1`` GETs with task ``deleting``, then 404 (or is
    SOFT_DELETED with ``soft_delete``).
    """

    def __init__(self, region, url, images):
        self.region, self.url, self.images = region, url, images
        self.flavors = {}
        self.keypairs = set()           # (user id, name)
        self.servers = {}
        self.deleted = []
        self.build_polls = 2
        self.delete_polls = 2
        self.build_faults = []
        self.soft_delete = False
        self.new_host = 'compute-new1'

    # -- building a state

    def add_flavor(self, name, flavor_id=None, ram=1024, vcpus=1, disk=1, ephemeral=0, swap=0, is_public=True,
                   extra_specs=None, description=None, projects=()):
        flavor_id = flavor_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, 'flavor.' + name))
        self.flavors[flavor_id] = {'id': flavor_id, 'name': name, 'ram': ram, 'vcpus': vcpus, 'disk': disk,
                                   'ephemeral': ephemeral, 'swap': swap, 'is_public': is_public,
                                   'description': description, 'extra_specs': dict(extra_specs or {}),
                                   'projects': list(projects)}
        return flavor_id

    def add_server(self, name, status='ACTIVE', project='p-demo', flavor='m1.small', image=IMAGE, metadata=None,
                   key_name=None, task_state=None, host='compute1', fault=None, sid=None):
        sid = sid or server_id('%s.%s' % (self.region, name))
        self.servers[sid] = {'id': sid, 'name': name, 'status': status, 'task_state': task_state, 'host': host,
                             'project': project, 'user': 'u-demo', 'flavor': flavor, 'image': image,
                             'metadata': dict(metadata or {}), 'key_name': key_name, 'fault': fault, 'ticks': 0}
        return sid

    def flavor_by_name(self, name):
        return next((f for f in self.flavors.values() if f['name'] == name), None)

    def named(self, name):
        return [s for s in self.servers.values() if s['name'] == name]

    # -- views

    def _flavor_view(self, f, version):
        view = {'id': f['id'], 'name': f['name'], 'ram': f['ram'], 'vcpus': f['vcpus'], 'disk': f['disk'],
                'OS-FLV-EXT-DATA:ephemeral': f['ephemeral'], 'OS-FLV-DISABLED:disabled': False,
                'swap': f['swap'] if f['swap'] or version >= (2, 75) else '', 'rxtx_factor': 1.0,
                'os-flavor-access:is_public': f['is_public'], 'links': []}
        if version >= (2, 55):
            view['description'] = f['description']
        if version >= (2, 61):
            view['extra_specs'] = dict(f['extra_specs'])
        return view

    def _server_view(self, s, version):
        flavor = self.flavor_by_name(s['flavor']) or {'ram': 1024, 'vcpus': 1, 'disk': 1, 'ephemeral': 0,
                                                      'swap': 0, 'extra_specs': {}}
        view = {'id': s['id'], 'name': s['name'], 'status': s['status'], 'tenant_id': s['project'],
                'user_id': s['user'], 'OS-EXT-STS:task_state': s['task_state'],
                'OS-EXT-STS:vm_state': s['status'].lower(), 'OS-EXT-SRV-ATTR:host': s['host'],
                'image': {'id': s['image'], 'links': []} if s['image'] else '',
                'metadata': dict(s['metadata']), 'key_name': s['key_name'], 'locked': False}
        assert version >= (2, 47), 'the flavor name is only embedded from 2.47'
        view['flavor'] = {'original_name': s['flavor'], 'vcpus': flavor['vcpus'], 'ram': flavor['ram'],
                          'disk': flavor['disk'], 'ephemeral': flavor['ephemeral'], 'swap': flavor['swap'],
                          'extra_specs': dict(flavor['extra_specs'])}
        if s['status'] == 'ERROR' and s['fault']:
            view['fault'] = {'code': 500, 'message': s['fault'], 'created': '2026-03-02T10:00:00Z'}
        return view

    def _tick(self, s):
        """One GET of server ``s``: a build or a delete moves on."""
        if s['task_state'] == 'deleting':
            s['ticks'] += 1
            if s['ticks'] >= self.delete_polls:
                if self.soft_delete:
                    s.update(status='SOFT_DELETED', task_state=None)
                else:
                    del self.servers[s['id']]
                    self.deleted.append(s['id'])
                    return None
        elif s['status'] == 'BUILD':
            s['ticks'] += 1
            if s['ticks'] >= self.build_polls:
                s['task_state'] = None
                if self.build_faults:
                    s.update(status='ERROR', fault=self.build_faults.pop(0))
                else:
                    s.update(status='ACTIVE', host=self.new_host)
        return s

    # -- serving

    def handle(self, method, segs, params, body, headers, token):
        version = _microversion(headers)
        handler = getattr(self, '_%s_%s' % (method.lower(), segs[0].replace('-', '_')), None)
        if handler is None:
            return _not_found('Resource')
        return handler(segs[1:], params, body, version, token)

    def _get_servers(self, segs, params, body, version, token):
        if segs == ['detail']:
            if params.get('all_tenants') != '1' or 'admin' not in token['roles']:
                return _bad('Policy does not allow os_compute_api:servers:detail:get_all_tenants to be '
                            'performed.', 403)
            listed = [s for s in sorted(self.servers.values(), key=lambda s: s['id'])
                      if 'name' not in params or re.search(params['name'], s['name'])]
            return 200, {'servers': [self._server_view(s, version) for s in listed]}
        server = self.servers.get(segs[0])
        if server is None or self._tick(server) is None:
            return _not_found('Instance %s' % segs[0])
        return 200, {'server': self._server_view(server, version)}

    def _post_servers(self, segs, params, body, version, token):
        assert not segs, 'no server action expected'
        request = body['server']
        if version >= (2, 37) and 'networks' not in request:
            return _bad("Invalid input for field/attribute server. Value: ... 'networks' is a required property")
        networks = request.get('networks')
        if not (networks in ('none', 'auto') or isinstance(networks, list)):
            return _bad('Invalid input for field/attribute networks.')
        if request['imageRef'] not in self.images:
            return _bad('Image %s could not be found.' % request['imageRef'])
        flavor = self.flavors.get(request['flavorRef'])
        if flavor is None or (not flavor['is_public'] and 'admin' not in token['roles']
                              and token['project'] not in flavor['projects']):
            return _bad('Flavor %s could not be found.' % request['flavorRef'])
        if request.get('key_name') and (token['user'], request['key_name']) not in self.keypairs:
            return _bad('Invalid key_name provided.')
        sid = str(uuid.uuid4())
        self.servers[sid] = {'id': sid, 'name': request['name'], 'status': 'BUILD', 'task_state': 'scheduling',
                             'host': None, 'project': token['project'], 'user': token['user'],
                             'flavor': flavor['name'], 'image': request['imageRef'],
                             'metadata': dict(request.get('metadata') or {}), 'key_name': request.get('key_name'),
                             'fault': None, 'ticks': 0, 'networks': networks}
        return 202, {'server': {'id': sid, 'links': [], 'adminPass': ADMIN_PASS, 'OS-DCF:diskConfig': 'MANUAL',
                                'security_groups': [{'name': 'default'}]}}

    def _delete_servers(self, segs, params, body, version, token):
        server = self.servers.get(segs[0])
        if server is None:
            return _not_found('Instance %s' % segs[0])
        server.update(task_state='deleting', ticks=0)
        return 204, None

    def _get_flavors(self, segs, params, body, version, token):
        if segs == ['detail']:
            wanted = params.get('is_public', 'true').lower()
            listed = [f for f in sorted(self.flavors.values(), key=lambda f: f['id'])
                      if wanted == 'none' or f['is_public']]
            return 200, {'flavors': [self._flavor_view(f, version) for f in listed]}
        flavor = self.flavors.get(segs[0])
        if flavor is None:
            return _not_found('Flavor %s' % segs[0])
        if len(segs) == 1:
            return 200, {'flavor': self._flavor_view(flavor, version)}
        if segs[1] == 'os-extra_specs':
            return 200, {'extra_specs': dict(flavor['extra_specs'])}
        if segs[1] == 'os-flavor-access':
            if flavor['is_public']:
                return 404, {'itemNotFound': {'code': 404, 'message': 'Access list not available for public '
                                                                      'flavors.'}}
            return 200, {'flavor_access': [{'flavor_id': flavor['id'], 'tenant_id': p} for p in flavor['projects']]}
        return _not_found('Resource')

    def _post_flavors(self, segs, params, body, version, token):
        if 'admin' not in token['roles']:
            return _bad('Policy does not allow os_compute_api:os-flavor-manage:create to be performed.', 403)
        if not segs:
            request = body['flavor']
            if request.get('id') in self.flavors:
                return _bad('Flavor with ID %s already exists.' % request['id'], 409)
            if self.flavor_by_name(request['name']):
                return _bad('Flavor with name %s already exists.' % request['name'], 409)
            swap = request.get('swap', 0)
            assert isinstance(swap, int), 'swap must be sent as an integer'
            flavor_id = self.add_flavor(request['name'], request.get('id'), request['ram'], request['vcpus'],
                                        request['disk'], request.get('OS-FLV-EXT-DATA:ephemeral', 0), swap,
                                        request.get('os-flavor-access:is_public', True),
                                        description=request.get('description'))
            return 200, {'flavor': self._flavor_view(self.flavors[flavor_id], version)}
        flavor = self.flavors.get(segs[0])
        if flavor is None:
            return _not_found('Flavor %s' % segs[0])
        if segs[1] == 'os-extra_specs':
            flavor['extra_specs'].update(body['extra_specs'])
            return 200, {'extra_specs': dict(body['extra_specs'])}
        if segs[1] == 'action' and 'addTenantAccess' in body:
            project = body['addTenantAccess']['tenant']
            if project in flavor['projects']:
                return _bad('Flavor access already exists for flavor %s and project %s combination.'
                            % (flavor['id'], project), 409)
            flavor['projects'].append(project)
            return 200, {'flavor_access': [{'flavor_id': flavor['id'], 'tenant_id': p} for p in flavor['projects']]}
        return _not_found('Resource')

    def _get_os_keypairs(self, segs, params, body, version, token):
        if (token['user'], segs[0]) not in self.keypairs:
            return _not_found('Keypair %s for user %s' % (segs[0], token['user']))
        return 200, {'keypair': {'name': segs[0], 'user_id': token['user'], 'type': 'ssh',
                                 'public_key': 'ssh-ed25519 AAAA... admin', 'fingerprint': 'aa:bb'}}


class TwoRegionCloud(object):
    """One Keystone in front of two nova deployments (``old`` in REGION_OLD, ``new`` in REGION_NEW).

    ``log`` holds (region, method, url) of every request, ``scopes`` the
    project scope of every token request, ``bodies`` every request body.
    """

    def __init__(self, password=PASSWORD):
        self.password = password
        self.roles = {'p-admin': ['admin', 'member'], 'p-demo': ['member']}      # of the user admin
        self.tokens = {}
        self.issued = 0
        self.images = {IMAGE}
        self.old = FakeDeployment(REGION_OLD, NOVA_OLD, self.images)
        self.new = FakeDeployment(REGION_NEW, NOVA_NEW, self.images)
        self.log = []
        self.scopes = []
        self.bodies = []
        self.microversions = []
        self.catalog = [
            {'type': 'identity', 'name': 'keystone', 'endpoints': [
                {'interface': 'public', 'region_id': REGION_OLD, 'region': REGION_OLD, 'url': KEYSTONE + '/v3'}]},
            {'type': 'compute', 'name': 'nova', 'endpoints': [
                {'interface': 'public', 'region_id': REGION_OLD, 'region': REGION_OLD, 'url': NOVA_OLD},
                {'interface': 'public', 'region_id': REGION_NEW, 'region': REGION_NEW, 'url': NOVA_NEW}]},
        ]

    def mutations(self):
        """(region, method, path) of every request that is not a GET nor a token request."""
        return [(region, method, urlsplit(url).path.split('/v2.1', 1)[-1]) for region, method, url in self.log
                if method != 'GET' and not url.startswith(KEYSTONE)]

    def __call__(self, url, data=None, headers=None, method='GET', **kwargs):
        parts = urlsplit(url)
        params = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        headers = headers or {}
        body = json.loads(data) if data else None
        self.bodies.append(data)
        if url.startswith(KEYSTONE):
            self.log.append((None, method, url))
            return self._keystone(url, parts.path, body)
        deployment = next((d for d in (self.old, self.new) if url.startswith(d.url)), None)
        if deployment is None:
            raise AssertionError('unexpected URL %s' % url)
        self.log.append((deployment.region, method, url))
        token = self.tokens.get(headers.get('X-Auth-Token'))
        if token is None:
            return _http_error(url, 401, {'error': {'code': 401, 'title': 'Unauthorized',
                                                    'message': 'The request you have made requires authentication.'}})
        self.microversions.append(headers.get('OpenStack-API-Version'))
        segs = [s for s in parts.path[len(urlsplit(deployment.url).path):].split('/') if s]
        status, answer = deployment.handle(method, segs, params, body, headers, token)
        if status >= 400:
            return _http_error(url, status, answer)
        return Response(status, answer)

    def _keystone(self, url, path, body):
        refused = {'error': {'code': 401, 'title': 'Unauthorized',
                             'message': 'The request you have made requires authentication.'}}
        if path != '/v3/auth/tokens':
            return _http_error(url, 404, {'error': {'code': 404, 'message': 'Not found'}})
        user = body['auth']['identity']['password']['user']
        if user['name'] != 'admin' or user['password'] != self.password or user['domain'] not in (
                {'id': 'default'}, {'name': 'Default'}):
            return _http_error(url, 401, refused)
        scope = body['auth']['scope']['project']
        self.scopes.append(scope)
        if 'id' in scope:
            project = scope['id']
        elif scope.get('domain') in ({'id': 'default'}, {'name': 'Default'}):
            project = next((pid for pid, name in PROJECTS.items() if name == scope.get('name')), None)
        else:
            project = None
        if project not in self.roles:
            return _http_error(url, 401, refused)
        self.issued += 1
        token = 'gAAAAAfake-token-%d' % self.issued
        self.tokens[token] = {'project': project, 'user': 'u-admin', 'roles': list(self.roles[project])}
        answer = {'token': {'methods': ['password'], 'expires_at': '2026-03-02T11:13:55.000000Z',
                            'user': {'id': 'u-admin', 'name': 'admin', 'domain': {'id': 'default', 'name': 'Default'}},
                            'project': {'id': project, 'name': PROJECTS[project],
                                        'domain': {'id': 'default', 'name': 'Default'}},
                            'roles': [{'id': 'r-' + r, 'name': r} for r in self.roles[project]],
                            'catalog': self.catalog}}
        return Response(201, answer, {'x-subject-token': token})
