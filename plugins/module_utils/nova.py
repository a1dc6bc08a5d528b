# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The nova compute API as a compute upgrade needs it: pure parse functions and a thin client.

Microversions. Every compute call sends ``OpenStack-API-Version: compute
2.53`` (nova 16.0, Pike, or later):

- 2.53: services and hypervisors are addressed by UUID, and
  ``PUT /os-services/{id}`` takes ``status`` and ``disabled_reason``;
- 2.47 (included): a server embeds its flavor (``vcpus``, ``ram``), so the
  demand of a host's instances is read from one server listing, with no flavor
  look-up (a deleted or private flavor cannot be looked up);
- 2.34 (included): live migration checks run after the 202, so a refused
  migration shows in the migration record and the instance action, not in
  the answer to ``os-migrateLive``;
- 2.30 to 2.67 accept ``force`` in ``os-migrateLive``: never sent, so the
  scheduler always checks the destination.

Capacity. ``GET /os-hypervisors/detail`` answers ``vcpus``, ``memory_mb``,
``vcpus_used`` and ``memory_mb_used`` up to microversion 2.87; 2.88 removed
them (the numbers live in placement since). The API keeps serving every
older microversion, so the hypervisor listing is pinned to
:data:`HYPERVISOR_MICROVERSION` (below 2.88) whatever the others use. That is
one call for every host's total and use, where computing from flavors would
still need the totals from placement. The numbers are the resource
tracker's: ``memory_mb_used`` counts ``reserved_host_memory_mb``,
``vcpus`` is the physical count, to which the caller's allocation ratios
apply. The check is the arithmetic of sums (and "the largest instance fits
somewhere"); the scheduler also weighs aggregates, affinity, traits and
disk, so passing it does not promise that every migration will be placed.

The RPC pin. ``os-services`` does not show the service version; nova keeps it
in the ``services.version`` column of each cell database. With
``[upgrade_levels] compute = auto`` the compute RPC version is capped by the
minimum ``version`` of the nova-compute services that are not deleted
(``deleted = 0``), not forced down, and report a positive version, across all
cells (nova.objects.service.get_minimum_version_all_cells and
nova.db.main.api.service_get_minimum_version). :func:`rpc_pin_report` applies
that rule to rows of :data:`SERVICE_VERSIONS_SQL`; reading them is left to the
caller.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.jmes import query
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import next_marker

COMPUTE = 'compute'
COMPUTE_BINARY = 'nova-compute'
COMPUTE_MICROVERSION = '2.53'
# Below 2.88, where the capacity fields of hypervisors were removed; see the module docstring.
HYPERVISOR_MICROVERSION = '2.53'

# Statuses of an instance that is in the middle of something (or broken): it
# must settle before anything moves it.
TRANSITIONAL_STATUSES = ('BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'REVERT_RESIZE', 'MIGRATING',
                         'REBOOT', 'HARD_REBOOT', 'PASSWORD', 'UNKNOWN')
# nova.compute.api.API.live_migrate accepts these vm states only.
LIVE_MIGRATABLE_STATUSES = ('ACTIVE', 'PAUSED')
# A migration record in one of these has nothing left to do on the source host.
FINAL_MIGRATION_STATUSES = ('cancelled', 'completed', 'done', 'error', 'failed')

SERVICE_VERSIONS_SQL = ('SELECT host, `binary`, version, deleted, forced_down FROM services '
                        'ORDER BY host, `binary`')
SERVICE_VERSION_COLUMNS = ('host', 'binary', 'version', 'deleted', 'forced_down')


class NovaRefused(OpsError):
    """The host cannot be changed as asked (instances left, capacity short, no such service)."""


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _flag(value):
    return str(value).strip().lower() in ('1', 'true', 'yes')


# ---------------------------------------------------------------- services

def parse_service(item):
    """One entry of ``GET /os-services`` (2.53)."""
    return {
        'id': item.get('id'),
        'binary': item.get('binary'),
        'host': item.get('host'),
        'zone': item.get('zone'),
        'status': item.get('status'),
        'state': item.get('state'),
        'disabled_reason': item.get('disabled_reason'),
        'forced_down': bool(item.get('forced_down')),
        'updated_at': item.get('updated_at'),
    }


def parse_services(data):
    """``GET /os-services`` as a list sorted by host, then binary."""
    services = [parse_service(s) for s in (data or {}).get('services') or []]
    return sorted(services, key=lambda s: (s['host'] or '', s['binary'] or ''))


def find_service(services, host, binary=COMPUTE_BINARY):
    """The service of ``binary`` on ``host``, or None. Raises NovaRefused if there are several
    (one host name in two cells)."""
    found = [s for s in services if s['host'] == host and s['binary'] == binary]
    if len(found) > 1:
        raise NovaRefused('There are %d %s services on host %s (ids %s), one per cell; remove the stale one '
                          'first.' % (len(found), binary, host, ', '.join(str(s['id']) for s in found)),
                          services=found)
    return found[0] if found else None


def service_view(service):
    """What a state change of the service compares: whether it exists, its status and reason.

    ``state`` (up/down) and ``updated_at`` are left out: they move with the heartbeat.
    """
    if service is None:
        return {'exists': False}
    return {'exists': True, 'status': service['status'], 'disabled_reason': service['disabled_reason']}


def plan_service(service, state, disabled_reason=None):
    """What to do to bring ``service`` to ``state``; pure.

    Returns (action, predicted service): action is None, ``('enable',)``,
    ``('disable', reason)`` or ``('delete',)``. Disabling without a
    ``disabled_reason`` keeps the reason a disabled service has; enabling clears
    it, as nova does.
    """
    if state == 'absent':
        return (('delete',) if service else None), None
    if state == 'enabled':
        if service['status'] == 'enabled':
            return None, service
        return ('enable',), dict(service, status='enabled', disabled_reason=None)
    reason = service['disabled_reason'] if disabled_reason is None else disabled_reason
    if service['status'] == 'disabled' and reason == service['disabled_reason']:
        return None, service
    return ('disable', reason), dict(service, status='disabled', disabled_reason=reason)


# ---------------------------------------------------------------- servers

def parse_server(item):
    """One server of ``GET /servers/detail`` (admin, 2.47+: the flavor embedded)."""
    flavor = item.get('flavor') or {}
    fault = item.get('fault') or {}
    return {
        'id': item.get('id'),
        'name': item.get('name'),
        'status': item.get('status'),
        'task_state': item.get('OS-EXT-STS:task_state'),
        'vm_state': item.get('OS-EXT-STS:vm_state'),
        'host': item.get('OS-EXT-SRV-ATTR:host'),
        'flavor': flavor.get('original_name'),
        'vcpus': _int(flavor.get('vcpus'), 0),
        'ram_mb': _int(flavor.get('ram'), 0),
        'fault': fault.get('message'),
    }


def parse_servers(data):
    """``GET /servers/detail`` as a list sorted by name, then id."""
    servers = [parse_server(s) for s in (data or {}).get('servers') or []]
    return sorted(servers, key=lambda s: (s['name'] or '', s['id'] or ''))


def host_is_empty(servers):
    """True when no instance is on the host (``servers`` is its listing)."""
    return not servers


def refusal_reason(server):
    """Why ``server`` cannot be live-migrated now, or None when it can."""
    status = server['status']
    if status == 'ERROR':
        return 'in ERROR' + (' (%s)' % server['fault'] if server.get('fault') else '')
    if server.get('task_state'):
        return 'task %s in progress' % server['task_state']
    if status in TRANSITIONAL_STATUSES:
        return 'status %s (in transition)' % status
    if status not in LIVE_MIGRATABLE_STATUSES:
        return 'status %s: only ACTIVE and PAUSED instances can be live-migrated' % status
    return None


def refused_instances(servers):
    """The instances that block a drain: in ERROR, in a transitional state or a task, or in
    a state live migration does not take (SHUTOFF, SUSPENDED, SHELVED...)."""
    refused = []
    for server in servers:
        reason = refusal_reason(server)
        if reason:
            refused.append({'id': server['id'], 'name': server['name'], 'status': server['status'],
                            'task_state': server.get('task_state'), 'reason': reason})
    return refused


def describe_instances(instances, limit=10):
    """'web1 (id: reason), ...' for messages."""
    def one(i):
        text = '%s (%s)' % (i.get('name') or i['id'], i['id'])
        return text + ': ' + i['reason'] if i.get('reason') else text
    shown = ', '.join(one(i) for i in instances[:limit])
    if len(instances) > limit:
        shown += ' and %d more' % (len(instances) - limit)
    return shown or 'none'


# ---------------------------------------------------------------- capacity

def parse_hypervisor(item):
    """One hypervisor of ``GET /os-hypervisors/detail`` below 2.88 (capacity fields present)."""
    service = item.get('service') or {}
    return {
        'id': item.get('id'),
        'hypervisor_hostname': item.get('hypervisor_hostname'),
        'host': service.get('host'),
        'status': item.get('status'),
        'state': item.get('state'),
        'vcpus': _int(item.get('vcpus')),
        'vcpus_used': _int(item.get('vcpus_used'), 0),
        'memory_mb': _int(item.get('memory_mb')),
        'memory_mb_used': _int(item.get('memory_mb_used'), 0),
        'running_vms': _int(item.get('running_vms')),
    }


def parse_hypervisors(data):
    hypervisors = [parse_hypervisor(h) for h in (data or {}).get('hypervisors') or []]
    return sorted(hypervisors, key=lambda h: (h['host'] or '', h['hypervisor_hostname'] or ''))


def instances_demand(servers):
    """vCPUs and RAM (MB) the instances take, by their flavors."""
    return {'instances': len(servers),
            'vcpus': sum(s['vcpus'] for s in servers),
            'memory_mb': sum(s['ram_mb'] for s in servers)}


def capacity_report(host, servers, hypervisors, services=None, cpu_allocation_ratio=1.0,
                    ram_allocation_ratio=1.0):
    """Whether the other enabled, up compute hosts can take the instances of ``host``; pure.

    A host's free vCPUs are ``int(vcpus * cpu_allocation_ratio) - vcpus_used``,
    its free RAM ``int(memory_mb * ram_allocation_ratio) - memory_mb_used``
    (never below 0). The instances fit when their vCPUs and RAM added up fit
    in the free vCPUs and RAM added up, and their largest one (by vCPUs, then
    RAM) fits on one host. Hosts that are disabled, down, forced down or that
    report no capacity are listed in ``excluded`` and not counted.
    """
    forced_down = set(s['host'] for s in services or [] if s.get('forced_down'))
    needed = instances_demand(servers)
    counted, excluded = [], []
    for hv in hypervisors:
        if hv['host'] == host:
            continue
        if hv['status'] != 'enabled':
            reason = 'disabled'
        elif hv['state'] != 'up':
            reason = 'down'
        elif hv['host'] in forced_down:
            reason = 'forced down'
        elif hv['vcpus'] is None or hv['memory_mb'] is None:
            reason = 'capacity not reported'
        else:
            reason = None
        if reason:
            excluded.append({'host': hv['host'], 'hypervisor_hostname': hv['hypervisor_hostname'],
                             'reason': reason})
            continue
        counted.append({
            'host': hv['host'], 'hypervisor_hostname': hv['hypervisor_hostname'],
            'vcpus_free': max(0, int(hv['vcpus'] * cpu_allocation_ratio) - hv['vcpus_used']),
            'memory_mb_free': max(0, int(hv['memory_mb'] * ram_allocation_ratio) - hv['memory_mb_used'])})
    available = {'hosts': len(counted),
                 'vcpus': sum(h['vcpus_free'] for h in counted),
                 'memory_mb': sum(h['memory_mb_free'] for h in counted)}
    problems = []
    if needed['vcpus'] > available['vcpus']:
        problems.append('%d vCPUs needed, %d free (cpu_allocation_ratio %s)'
                        % (needed['vcpus'], available['vcpus'], cpu_allocation_ratio))
    if needed['memory_mb'] > available['memory_mb']:
        problems.append('%d MB of RAM needed, %d MB free (ram_allocation_ratio %s)'
                        % (needed['memory_mb'], available['memory_mb'], ram_allocation_ratio))
    largest = max(servers, key=lambda s: (s['vcpus'], s['ram_mb'])) if servers else None
    if largest and not problems and not any(
            h['vcpus_free'] >= largest['vcpus'] and h['memory_mb_free'] >= largest['ram_mb'] for h in counted):
        problems.append('the largest instance, %s (%d vCPUs, %d MB), fits on no single host'
                        % (largest['name'] or largest['id'], largest['vcpus'], largest['ram_mb']))
    return {'host': host, 'needed': needed, 'available': available, 'hosts': counted, 'excluded': excluded,
            'cpu_allocation_ratio': cpu_allocation_ratio, 'ram_allocation_ratio': ram_allocation_ratio,
            'fits': not problems, 'problems': problems}


def describe_capacity(report):
    """A sentence with the numbers of a capacity_report() for messages."""
    needed, available = report['needed'], report['available']
    hosts = ', '.join('%s (%d vCPUs, %d MB)' % (h['host'], h['vcpus_free'], h['memory_mb_free'])
                      for h in report['hosts']) or 'none'
    text = ('its %d instance(s) need %d vCPUs and %d MB of RAM; the other enabled, up compute hosts have '
            '%d vCPUs and %d MB free (cpu_allocation_ratio %s, ram_allocation_ratio %s): %s'
            % (needed['instances'], needed['vcpus'], needed['memory_mb'], available['vcpus'],
               available['memory_mb'], report['cpu_allocation_ratio'], report['ram_allocation_ratio'], hosts))
    if report['excluded']:
        text += '; not counted: ' + ', '.join('%s (%s)' % (h['host'], h['reason']) for h in report['excluded'])
    if report['problems']:
        text += '; short: ' + '; '.join(report['problems'])
    return text


# ---------------------------------------------------------------- migrations

def parse_migrations(data):
    """``GET /os-migrations`` as a list, newest first (2.59+ sorts so; older ones do not)."""
    migrations = [{'id': m.get('id'), 'instance_uuid': m.get('instance_uuid'), 'status': m.get('status'),
                   'migration_type': m.get('migration_type'), 'source_compute': m.get('source_compute'),
                   'dest_compute': m.get('dest_compute'), 'created_at': m.get('created_at'),
                   'updated_at': m.get('updated_at')}
                  for m in (data or {}).get('migrations') or []]
    return sorted(migrations, key=lambda m: (m['created_at'] or '', _int(m['id'], 0)), reverse=True)


def latest_live_migration(migrations):
    """The newest live-migration record of a parse_migrations() list, or None."""
    return query('[?migration_type == `"live-migration"`] | [0]', migrations)


def latest_action(data, action='live-migration'):
    """The request id of the newest ``action`` of ``GET /servers/{id}/os-instance-actions``."""
    actions = sorted(query('instanceActions[?action == `"%s"`]' % action, data or {}) or [],
                     key=lambda a: a.get('start_time') or '', reverse=True)
    return actions[0].get('request_id') if actions else None


def failed_events(data):
    """The failed events of ``GET /servers/{id}/os-instance-actions/{request_id}`` as
    [{event, message}], the message being the last line of the traceback (admin only)."""
    events = []
    for event in query('instanceAction.events[?result == `"Error"`]', data or {}) or []:
        lines = [line.strip() for line in (event.get('traceback') or '').splitlines() if line.strip()]
        events.append({'event': event.get('event'), 'message': lines[-1] if lines else None})
    return events


def failure_reason(server=None, migration=None, events=None, api_message=None):
    """One sentence of why a live migration failed, from what nova recorded."""
    parts = []
    if api_message:
        parts.append('refused by the API: %s' % api_message)
    if migration:
        parts.append('migration %s %s%s' % (migration['id'], migration['status'],
                                            ' (destination %s)' % migration['dest_compute']
                                            if migration.get('dest_compute') else ''))
    for event in events or []:
        parts.append('%s failed%s' % (event['event'], ': ' + event['message'] if event['message'] else ''))
    if server and server.get('fault'):
        parts.append('fault: %s' % server['fault'])
    if server and server.get('status') == 'ERROR' and not server.get('fault'):
        parts.append('the instance is in ERROR')
    return '; '.join(parts) or 'nova recorded no reason (see the nova-conductor and nova-compute logs)'


# ---------------------------------------------------------------- RPC pin

def parse_service_version_rows(rows):
    """Rows of :data:`SERVICE_VERSIONS_SQL` (dicts, such as mysql.parse_batch gives, or tuples in
    its column order; ``forced_down`` may be missing) as dicts with typed values.

    ``deleted`` is 0 for a live row; nova's soft delete sets it to the row id.
    """
    parsed = []
    for row in rows or []:
        if not isinstance(row, dict):
            row = dict(zip(SERVICE_VERSION_COLUMNS, row))
        parsed.append({'host': row.get('host'), 'binary': row.get('binary'),
                       'version': _int(row.get('version')),
                       'deleted': _int(row.get('deleted'), 0) != 0,
                       'forced_down': _flag(row.get('forced_down'))})
    return parsed


def counts_for_pin(service):
    """Whether nova counts this service in the minimum version (not deleted, not forced down,
    a positive version)."""
    return not service['deleted'] and not service['forced_down'] and bool(service['version'])


def rpc_pin_report(rows, compute_rpc_versions=None):
    """The compute RPC pin that ``[upgrade_levels] compute = auto`` derives from these services.

    ``compute_rpc_versions`` optionally maps service versions to compute RPC
    versions (nova.objects.service.SERVICE_VERSION_HISTORY of the controllers'
    release); without it ``compute_rpc`` is None. Returns min_compute_version
    (None without any counted nova-compute service, where nova uses its own
    current version), max_compute_version, mixed, hosts_at_minimum (the hosts
    that hold the pin down), computes (one per row, with ``counted``), and
    minimum_versions ({binary: minimum} by the same rule).
    """
    services = parse_service_version_rows(rows)
    computes = sorted(({'host': s['host'], 'version': s['version'], 'deleted': s['deleted'],
                        'forced_down': s['forced_down'], 'counted': counts_for_pin(s)}
                       for s in services if s['binary'] == COMPUTE_BINARY),
                      key=lambda c: (c['host'] or '', c['version'] or 0))
    versions = [c['version'] for c in computes if c['counted']]
    minimum = min(versions) if versions else None
    maximum = max(versions) if versions else None
    minimum_versions = {}
    for service in services:
        if counts_for_pin(service):
            binary, version = service['binary'], service['version']
            minimum_versions[binary] = min(version, minimum_versions.get(binary, version))
    mapping = dict((_int(k), v) for k, v in (compute_rpc_versions or {}).items())
    return {
        'min_compute_version': minimum,
        'max_compute_version': maximum,
        'mixed': minimum != maximum,
        'hosts_at_minimum': sorted(c['host'] for c in computes if c['counted'] and c['version'] == minimum)
        if minimum is not None and minimum != maximum else [],
        'compute_rpc': mapping.get(minimum) if minimum is not None else None,
        'computes': computes,
        'minimum_versions': minimum_versions,
    }


def compute_version_reached(report, min_version, host=None):
    """Whether an :func:`rpc_pin_report` shows ``min_version`` reached: by the counted
    nova-compute of ``host`` when given, else by the minimum of every counted one."""
    if host:
        return any(c['counted'] and c['host'] == host and c['version'] >= min_version
                   for c in report['computes'])
    minimum = report['min_compute_version']
    return minimum is not None and minimum >= min_version


# ---------------------------------------------------------------- client

class NovaClient(object):
    """The compute API calls a compute upgrade makes, over an openstack_api.Session."""

    def __init__(self, session, microversion=COMPUTE_MICROVERSION):
        self.session = session
        self.microversion = microversion

    def _call(self, method, path, body=None, microversion=None, **kwargs):
        return self.session.request(COMPUTE, method, path, body=body,
                                    microversion=microversion or self.microversion, **kwargs)

    def _paged(self, path, key, params, microversion=None):
        """Every item of a paginated listing, following the markers of its ``<key>_links``."""
        items, marker = [], None
        while True:
            page = dict(params, marker=marker) if marker else params
            data = self._call('GET', path + ('?' + urlencode(page) if page else ''),
                              microversion=microversion) or {}
            items.extend(data.get(key) or [])
            marker = next_marker(data, key + '_links')
            if not marker:
                return {key: items}

    def compute_services(self):
        """Every nova-compute service (one listing: the host asked for and the others)."""
        return parse_services(self._call('GET', '/os-services?%s' % urlencode({'binary': COMPUTE_BINARY})))

    def enable_service(self, service_id):
        return self._call('PUT', '/os-services/%s' % quote(str(service_id), safe=''), {'status': 'enabled'})

    def disable_service(self, service_id, reason=None):
        body = {'status': 'disabled'}
        if reason:
            body['disabled_reason'] = reason
        return self._call('PUT', '/os-services/%s' % quote(str(service_id), safe=''), body)

    def delete_service(self, service_id):
        return self._call('DELETE', '/os-services/%s' % quote(str(service_id), safe=''))

    def servers_on_host(self, host):
        """The instances whose compute host is ``host``, of every project (admin)."""
        return parse_servers(self._paged('/servers/detail', 'servers', {'all_tenants': 1, 'host': host}))

    def server(self, server_id):
        data = self._call('GET', '/servers/%s' % quote(server_id, safe=''), missing_ok=True)
        return parse_server(data['server']) if data else None

    def live_migrate(self, server_id):
        """Ask the scheduler to place ``server_id`` elsewhere (no host, no force)."""
        return self._call('POST', '/servers/%s/action' % quote(server_id, safe=''),
                          {'os-migrateLive': {'host': None, 'block_migration': 'auto'}})

    def hypervisors(self):
        return parse_hypervisors(self._paged('/os-hypervisors/detail', 'hypervisors', {},
                                             microversion=HYPERVISOR_MICROVERSION))

    def migrations(self, server_id):
        return parse_migrations(self._call('GET', '/os-migrations?%s' % urlencode({'instance_uuid': server_id})))

    def instance_actions(self, server_id):
        return self._call('GET', '/servers/%s/os-instance-actions' % quote(server_id, safe=''))

    def instance_action(self, server_id, request_id):
        return self._call('GET', '/servers/%s/os-instance-actions/%s'
                          % (quote(server_id, safe=''), quote(request_id, safe='')))
