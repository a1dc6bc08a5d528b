"""module_utils.nova and module_utils.nova_drain: parsers, rules and the client against the fake cloud."""

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import nova as n
from ansible_collections.openstack_ops.upgrade.plugins.module_utils import nova_drain as d
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import parse_batch
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import Session

from openstack_fake import KEYSTONE, NO_VALID_HOST, PASSWORD, FakeCloud, server_id, service_id

AUTH = {'auth_url': KEYSTONE, 'username': 'admin', 'password': PASSWORD, 'project_name': 'admin'}


@pytest.fixture
def fake():
    return FakeCloud()


def client(fake, check_mode=False):
    return n.NovaClient(Session(AUTH, opener=fake, check_mode=check_mode))


# ---------------------------------------------------------------- services

SERVICES = {'services': [
    {'id': 'e81d66a4-ddd3-4aba-8a84-171d1cb4d339', 'binary': 'nova-compute', 'disabled_reason': 'test2',
     'host': 'host1', 'state': 'up', 'status': 'disabled', 'updated_at': '2012-10-29T13:42:05.000000',
     'forced_down': False, 'zone': 'nova'},
    {'id': 'c4726392-27de-4ff9-b2e0-5aa1d08a520f', 'binary': 'nova-scheduler', 'disabled_reason': None,
     'host': 'host1', 'state': 'up', 'status': 'enabled', 'updated_at': '2012-10-29T13:42:02.000000',
     'forced_down': False, 'zone': 'internal'},
    {'id': '13aa304e-5340-45a7-a7fb-b6d6e914d272', 'binary': 'nova-compute', 'disabled_reason': None,
     'host': 'host0', 'state': 'down', 'status': 'enabled', 'updated_at': '2012-09-18T08:03:38.000000',
     'forced_down': True, 'zone': 'nova'},
]}


def test_parse_services_and_find_one():
    services = n.parse_services(SERVICES)
    assert [(s['host'], s['binary']) for s in services] == [
        ('host0', 'nova-compute'), ('host1', 'nova-compute'), ('host1', 'nova-scheduler')]
    found = n.find_service(services, 'host1')
    assert found == {'id': 'e81d66a4-ddd3-4aba-8a84-171d1cb4d339', 'binary': 'nova-compute', 'host': 'host1',
                     'zone': 'nova', 'status': 'disabled', 'state': 'up', 'disabled_reason': 'test2',
                     'forced_down': False, 'updated_at': '2012-10-29T13:42:05.000000'}
    assert n.find_service(services, 'host9') is None
    assert n.find_service(services, 'host0')['forced_down'] is True


def test_one_host_in_two_cells_is_refused():
    services = n.parse_services(SERVICES) + [dict(n.parse_services(SERVICES)[1], id='other')]
    with pytest.raises(n.NovaRefused) as err:
        n.find_service(services, 'host1')
    assert 'There are 2 nova-compute services on host host1' in err.value.msg


ENABLED = {'id': 's1', 'host': 'h', 'status': 'enabled', 'disabled_reason': None, 'state': 'up'}
DISABLED = dict(ENABLED, status='disabled', disabled_reason='upgrade')


@pytest.mark.parametrize('service,state,reason,action,after', [
    (ENABLED, 'enabled', None, None, ENABLED),
    (DISABLED, 'enabled', None, ('enable',), ENABLED),
    (ENABLED, 'disabled', None, ('disable', None), dict(ENABLED, status='disabled')),
    (ENABLED, 'disabled', 'upgrade', ('disable', 'upgrade'), DISABLED),
    (DISABLED, 'disabled', None, None, DISABLED),                 # keeps its reason
    (DISABLED, 'disabled', 'upgrade', None, DISABLED),
    (DISABLED, 'disabled', 'hardware', ('disable', 'hardware'), dict(DISABLED, disabled_reason='hardware')),
    (DISABLED, 'absent', None, ('delete',), None),
    (None, 'absent', None, None, None),
])
def test_plan_service(service, state, reason, action, after):
    assert n.plan_service(service, state, reason) == (action, after)


def test_service_view_ignores_the_heartbeat():
    assert n.service_view(ENABLED) == n.service_view(dict(ENABLED, state='down', updated_at='later'))
    assert n.service_view(None) == {'exists': False}


# ---------------------------------------------------------------- servers

def server(status='ACTIVE', task_state=None, fault=None, name='web1', vcpus=2, ram=4096):
    item = {'id': 'id-' + name, 'name': name, 'status': status, 'OS-EXT-STS:task_state': task_state,
            'OS-EXT-STS:vm_state': status.lower(), 'OS-EXT-SRV-ATTR:host': 'compute1',
            'flavor': {'original_name': 'm1.medium', 'vcpus': vcpus, 'ram': ram, 'disk': 20}}
    if fault:
        item['fault'] = {'code': 500, 'message': fault}
    return n.parse_server(item)


def test_parse_server_reads_the_embedded_flavor():
    assert server() == {'id': 'id-web1', 'name': 'web1', 'status': 'ACTIVE', 'task_state': None,
                        'vm_state': 'active', 'host': 'compute1', 'flavor': 'm1.medium', 'vcpus': 2,
                        'ram_mb': 4096, 'fault': None}


@pytest.mark.parametrize('args,reason', [
    (dict(), None),
    (dict(status='PAUSED'), None),
    (dict(status='ERROR', fault='NoValidHost'), 'in ERROR (NoValidHost)'),
    (dict(status='ERROR'), 'in ERROR'),
    (dict(status='ACTIVE', task_state='migrating'), 'task migrating in progress'),
    (dict(status='MIGRATING', task_state='migrating'), 'task migrating in progress'),
    (dict(status='VERIFY_RESIZE'), 'status VERIFY_RESIZE (in transition)'),
    (dict(status='BUILD'), 'status BUILD (in transition)'),
    (dict(status='SHUTOFF'), 'status SHUTOFF: only ACTIVE and PAUSED instances can be live-migrated'),
    (dict(status='SHELVED'), 'status SHELVED: only ACTIVE and PAUSED instances can be live-migrated'),
])
def test_refusal_reason(args, reason):
    assert n.refusal_reason(server(**args)) == reason


def test_refused_instances_are_listed_with_their_reason():
    servers = [server(name='a'), server(name='b', status='SHUTOFF'), server(name='c', status='ERROR', fault='boom')]
    refused = n.refused_instances(servers)
    assert [(r['name'], r['reason']) for r in refused] == [
        ('b', 'status SHUTOFF: only ACTIVE and PAUSED instances can be live-migrated'), ('c', 'in ERROR (boom)')]
    assert n.describe_instances(refused) == ('b (id-b): status SHUTOFF: only ACTIVE and PAUSED instances can be '
                                             'live-migrated, c (id-c): in ERROR (boom)')
    assert n.host_is_empty([]) and not n.host_is_empty(servers)


# ---------------------------------------------------------------- capacity

def hypervisor(host, vcpus=8, used=0, memory=16384, memory_used=512, status='enabled', state='up'):
    return n.parse_hypervisor({'hypervisor_hostname': host + '.example', 'status': status, 'state': state,
                               'service': {'host': host}, 'vcpus': vcpus, 'vcpus_used': used,
                               'memory_mb': memory, 'memory_mb_used': memory_used})


THREE = [server(name='a', vcpus=2, ram=4096), server(name='b', vcpus=2, ram=4096), server(name='c', vcpus=2, ram=4096)]


def test_capacity_fits():
    report = n.capacity_report('compute1', THREE, [hypervisor('compute1', used=6), hypervisor('compute2'),
                                                   hypervisor('compute3')])
    assert report['fits'] is True and report['problems'] == []
    assert report['needed'] == {'instances': 3, 'vcpus': 6, 'memory_mb': 12288}
    assert report['available'] == {'hosts': 2, 'vcpus': 16, 'memory_mb': 31744}
    assert [h['host'] for h in report['hosts']] == ['compute2', 'compute3']


def test_capacity_short_gives_the_numbers_and_the_excluded_hosts():
    services = [{'host': 'compute5', 'forced_down': True}]
    report = n.capacity_report('compute1', THREE, [
        hypervisor('compute2', vcpus=4, used=2), hypervisor('compute3', status='disabled'),
        hypervisor('compute4', state='down'), hypervisor('compute5')], services)
    assert report['fits'] is False
    assert report['problems'] == ['6 vCPUs needed, 2 free (cpu_allocation_ratio 1.0)']
    assert report['excluded'] == [
        {'host': 'compute3', 'hypervisor_hostname': 'compute3.example', 'reason': 'disabled'},
        {'host': 'compute4', 'hypervisor_hostname': 'compute4.example', 'reason': 'down'},
        {'host': 'compute5', 'hypervisor_hostname': 'compute5.example', 'reason': 'forced down'}]
    assert n.describe_capacity(report) == (
        'its 3 instance(s) need 6 vCPUs and 12288 MB of RAM; the other enabled, up compute hosts have 2 vCPUs and '
        '15872 MB free (cpu_allocation_ratio 1.0, ram_allocation_ratio 1.0): compute2 (2 vCPUs, 15872 MB); not '
        'counted: compute3 (disabled), compute4 (down), compute5 (forced down); short: 6 vCPUs needed, 2 free '
        '(cpu_allocation_ratio 1.0)')


def test_allocation_ratios_apply_to_the_totals():
    hypervisors = [hypervisor('compute2', vcpus=4, used=2, memory=8192, memory_used=3584)]
    assert n.capacity_report('compute1', THREE, hypervisors)['problems'] == [
        '6 vCPUs needed, 2 free (cpu_allocation_ratio 1.0)',
        '12288 MB of RAM needed, 4608 MB free (ram_allocation_ratio 1.0)']
    report = n.capacity_report('compute1', THREE, hypervisors, cpu_allocation_ratio=4.0, ram_allocation_ratio=2.0)
    assert report['fits'] is True
    assert report['available'] == {'hosts': 1, 'vcpus': 14, 'memory_mb': 12800}


def test_the_largest_instance_must_fit_on_one_host():
    big = [server(name='big', vcpus=6, ram=2048)]
    report = n.capacity_report('compute1', big, [hypervisor('compute2', vcpus=4), hypervisor('compute3', vcpus=4)])
    assert report['fits'] is False
    assert report['problems'] == ['the largest instance, big (6 vCPUs, 2048 MB), fits on no single host']


def test_a_hypervisor_without_capacity_fields_is_not_counted():
    # what a microversion of 2.88 or later answers
    hv = n.parse_hypervisor({'hypervisor_hostname': 'c2', 'status': 'enabled', 'state': 'up',
                             'service': {'host': 'compute2'}})
    report = n.capacity_report('compute1', THREE, [hv])
    assert report['excluded'][0]['reason'] == 'capacity not reported'
    assert report['fits'] is False


# ---------------------------------------------------------------- migrations and reasons

def test_latest_live_migration_of_an_unsorted_listing():
    migrations = n.parse_migrations({'migrations': [
        {'id': 1, 'status': 'completed', 'migration_type': 'live-migration', 'created_at': '2026-03-01T10:00:00'},
        {'id': 3, 'status': 'error', 'migration_type': 'live-migration', 'created_at': '2026-03-02T10:00:00',
         'dest_compute': 'compute3'},
        {'id': 2, 'status': 'confirmed', 'migration_type': 'resize', 'created_at': '2026-03-03T10:00:00'}]})
    assert [m['id'] for m in migrations] == [2, 3, 1]
    assert n.latest_live_migration(migrations)['id'] == 3
    assert n.latest_live_migration([]) is None


def test_failed_events_and_the_reason():
    actions = {'instanceActions': [
        {'action': 'live-migration', 'request_id': 'req-old', 'start_time': '2026-03-01T10:00:00'},
        {'action': 'stop', 'request_id': 'req-stop', 'start_time': '2026-03-03T10:00:00'},
        {'action': 'live-migration', 'request_id': 'req-new', 'start_time': '2026-03-02T10:00:00'}]}
    assert n.latest_action(actions) == 'req-new'
    detail = {'instanceAction': {'action': 'live-migration', 'events': [
        {'event': 'conductor_live_migrate_instance', 'result': 'Error',
         'traceback': 'Traceback (most recent call last):\n  File "x"\n' + NO_VALID_HOST + '\n'},
        {'event': 'compute_check_can_live_migrate_destination', 'result': 'Success', 'traceback': None}]}}
    events = n.failed_events(detail)
    assert events == [{'event': 'conductor_live_migrate_instance', 'message': NO_VALID_HOST}]
    migration = {'id': 7, 'status': 'error', 'dest_compute': None}
    assert n.failure_reason(server(), migration, events) == (
        'migration 7 error; conductor_live_migrate_instance failed: ' + NO_VALID_HOST)
    assert n.failure_reason(server(status='ERROR', fault='libvirt error'), None, []) == 'fault: libvirt error'
    assert n.failure_reason(server(), api_message='Cannot migrate') == 'refused by the API: Cannot migrate'
    assert n.failure_reason(server()).startswith('nova recorded no reason')


# ---------------------------------------------------------------- RPC pin

# What `mysql --batch --raw` prints for SERVICE_VERSIONS_SQL on a cell database in the middle of a compute
# upgrade: compute2 already runs the new release; compute9 was deleted (nova's soft delete sets deleted to the
# row id); compute8 is forced down; a service that never reported has version 0.
SERVICES_TSV = (
    'host\tbinary\tversion\tdeleted\tforced_down\n'
    'compute1\tnova-compute\t68\t0\t0\n'
    'compute2\tnova-compute\t70\t0\t0\n'
    'compute3\tnova-compute\t68\t0\t0\n'
    'compute7\tnova-compute\t0\t0\t0\n'
    'compute8\tnova-compute\t66\t0\t1\n'
    'compute9\tnova-compute\t61\t9\t0\n'
    'controller\tnova-conductor\t70\t0\t0\n'
    'controller\tnova-scheduler\t70\t0\t0\n'
)


def test_rpc_pin_from_service_rows():
    report = n.rpc_pin_report(parse_batch(SERVICES_TSV), {68: '6.4', '70': '6.5'})
    assert report['min_compute_version'] == 68
    assert report['max_compute_version'] == 70
    assert report['mixed'] is True
    assert report['hosts_at_minimum'] == ['compute1', 'compute3']
    assert report['compute_rpc'] == '6.4'
    assert report['minimum_versions'] == {'nova-compute': 68, 'nova-conductor': 70, 'nova-scheduler': 70}
    by_host = dict((c['host'], c) for c in report['computes'])
    assert by_host['compute9'] == {'host': 'compute9', 'version': 61, 'deleted': True, 'forced_down': False,
                                   'counted': False}
    assert by_host['compute8']['counted'] is False and by_host['compute7']['counted'] is False


def test_rpc_pin_when_every_compute_is_upgraded_and_from_tuples():
    rows = [('compute1', 'nova-compute', 70, 0), ('compute2', 'nova-compute', 70, 0),
            ('compute3', 'nova-compute', 68, 12)]
    report = n.rpc_pin_report(rows)
    assert (report['min_compute_version'], report['mixed'], report['hosts_at_minimum'], report['compute_rpc']) == \
        (70, False, [], None)


def test_rpc_pin_without_computes():
    report = n.rpc_pin_report([{'host': 'controller', 'binary': 'nova-conductor', 'version': '70', 'deleted': '0'}])
    assert report['min_compute_version'] is None and report['computes'] == []
    assert report['mixed'] is False


# ---------------------------------------------------------------- client

def test_servers_on_host_follows_the_pages(fake):
    fake.add_compute('compute1')
    for i in range(5):
        fake.add_server('vm%d' % i, 'compute1')
    fake.add_server('elsewhere', 'compute2')
    fake.page_size = 2
    nova = client(fake)
    assert [s['name'] for s in nova.servers_on_host('compute1')] == ['vm0', 'vm1', 'vm2', 'vm3', 'vm4']
    paths = [r['path'] for r in nova.session.requests if r['service'] == 'compute']
    assert paths[0] == '/servers/detail?all_tenants=1&host=compute1'
    assert len(paths) == 3 and all('&marker=' in p for p in paths[1:])


def test_hypervisors_are_read_below_2_88(fake):
    fake.add_compute('compute1', vcpus=4)
    nova = client(fake)
    nova.microversion = '2.95'          # whatever the other calls use
    assert nova.hypervisors()[0]['vcpus'] == 4
    assert fake.microversions == ['compute 2.53']


def test_client_paths_and_bodies(fake):
    fake.add_compute('compute1')
    fake.add_compute('compute2')
    sid = fake.add_server('web1', 'compute1')
    nova = client(fake)
    nova.disable_service(service_id('compute1'), 'upgrade')
    nova.enable_service(service_id('compute2'))
    nova.live_migrate(sid)
    assert fake.servers[sid]['task_state'] == 'migrating'
    assert [(r['method'], r['path'], r['status']) for r in nova.session.requests if r['service'] == 'compute'] == [
        ('PUT', '/os-services/' + service_id('compute1'), 200), ('PUT', '/os-services/' + service_id('compute2'), 200),
        ('POST', '/servers/%s/action' % sid, 202)]
    assert fake.service('compute1')['disabled_reason'] == 'upgrade'
    assert set(fake.microversions) == {'compute 2.53'}


# ---------------------------------------------------------------- drain

def test_drain_keeps_concurrency_in_flight_and_records_where_each_went(fake):
    fake.add_compute('compute1', status='disabled')
    fake.add_compute('compute2')
    for name in ('a', 'b', 'c'):
        fake.add_server(name, 'compute1')
    nova = client(fake)
    drain = d.Drain(nova, 'compute1', nova.servers_on_host('compute1'), concurrency=2)
    migrations = drain.run(timeout=30, sleep=0)
    assert fake.max_in_flight == 2
    # done once the source finished its clean-up, not when the instance left its listing
    assert [m['status'] for m in fake.migrations] == ['completed'] * 3
    assert [(m['name'], m['status'], m['to']) for m in migrations] == [
        ('a', 'completed', 'compute2'), ('b', 'completed', 'compute2'), ('c', 'completed', 'compute2')]
    assert fake.on_host('compute1') == []


def test_drain_stops_after_a_failure_and_explains_it(fake):
    fake.add_compute('compute1', status='disabled')
    fake.add_compute('compute2')
    for name in ('a', 'b', 'c'):
        fake.add_server(name, 'compute1')
    fake.fail[server_id('a')] = NO_VALID_HOST
    nova = client(fake)
    drain = d.Drain(nova, 'compute1', nova.servers_on_host('compute1'), concurrency=1)
    with pytest.raises(d.DrainFailed) as err:
        drain.run(timeout=30, sleep=0)
    records = err.value.context['migrations']
    assert [(m['name'], m['status']) for m in records] == [
        ('a', 'failed'), ('b', 'not_started'), ('c', 'not_started')]
    assert records[0]['reason'] == ('migration 1 error (destination compute2); conductor_live_migrate_instance '
                                    'failed: ' + NO_VALID_HOST)
    assert [s['name'] for s in err.value.context['instances_after']] == ['a', 'b', 'c']


def test_drain_timeout_reports_the_migrations_in_flight(fake):
    fake.add_compute('compute1', status='disabled')
    fake.add_compute('compute2')
    fake.add_server('a', 'compute1')
    fake.polls_to_move = 100
    ticks = iter(range(1000))
    nova = client(fake)
    drain = d.Drain(nova, 'compute1', nova.servers_on_host('compute1'), clock=lambda: float(next(ticks)))
    with pytest.raises(d.DrainFailed) as err:
        drain.run(timeout=3, sleep=1, sleeper=lambda s: None)
    assert err.value.msg.startswith('Timed out after')
    assert 'waiting for host compute1 to have no instance; last observed state: 1 migration(s) in flight: a' \
        in err.value.msg
    assert err.value.context['migrations'][0]['status'] == 'timed_out'


def test_compute_version_reached_by_host_and_by_minimum():
    report = n.rpc_pin_report(parse_batch(SERVICES_TSV))
    assert n.compute_version_reached(report, 70, 'compute2') is True
    assert n.compute_version_reached(report, 70, 'compute1') is False
    # compute8 is forced down: not counted, so never "reached" for the host either.
    assert n.compute_version_reached(report, 60, 'compute8') is False
    assert n.compute_version_reached(report, 68) is True
    assert n.compute_version_reached(report, 70) is False
    assert n.compute_version_reached(n.rpc_pin_report([]), 1) is False
