"""module_utils.placement: parsers and the client against the fake cloud."""

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import placement as pl
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova import parse_hypervisors
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import Session

from openstack_fake import KEYSTONE, PASSWORD, FakeCloud, hypervisor_id

AUTH = {'auth_url': KEYSTONE, 'username': 'admin', 'password': PASSWORD, 'project_name': 'admin'}

# The shapes of placement's api-ref samples (GET /resource_providers at 1.14, GET .../allocations).
PROVIDERS = {'resource_providers': [
    {'generation': 1, 'uuid': '99c09379-6e52-4ef8-9a95-b9ce6f68452e', 'name': 'vgr.localdomain_VGPU',
     'parent_provider_uuid': '99c09379-6e52-4ef8-9a95-b9ce6f68452f',
     'root_provider_uuid': '99c09379-6e52-4ef8-9a95-b9ce6f68452f', 'links': []},
    {'generation': 3, 'uuid': '99c09379-6e52-4ef8-9a95-b9ce6f68452f', 'name': 'vgr.localdomain',
     'parent_provider_uuid': None, 'root_provider_uuid': '99c09379-6e52-4ef8-9a95-b9ce6f68452f', 'links': []}]}
ALLOCATIONS = {'allocations': {
    '56785a3f-6f1c-4fec-af0b-0faf075b1fcb': {'resources': {'MEMORY_MB': 256, 'VCPU': 1}},
    '9afd5aeb-d6b9-4dea-a588-1e6327a91834': {'resources': {'MEMORY_MB': 512, 'VCPU': 2}}},
    'resource_provider_generation': 12}


def test_parse_providers_puts_roots_first():
    assert [(p['name'], p['parent_provider_uuid']) for p in pl.parse_providers(PROVIDERS)] == [
        ('vgr.localdomain', None), ('vgr.localdomain_VGPU', '99c09379-6e52-4ef8-9a95-b9ce6f68452f')]
    assert pl.parse_providers({'resource_providers': []}) == []


def test_parse_allocations_keeps_the_resources_by_consumer():
    assert pl.parse_allocations(ALLOCATIONS) == {
        '56785a3f-6f1c-4fec-af0b-0faf075b1fcb': {'MEMORY_MB': 256, 'VCPU': 1},
        '9afd5aeb-d6b9-4dea-a588-1e6327a91834': {'MEMORY_MB': 512, 'VCPU': 2}}
    assert pl.parse_allocations({'allocations': {}, 'resource_provider_generation': 0}) == {}
    assert pl.describe_allocations(pl.parse_allocations(ALLOCATIONS), limit=1) == (
        '56785a3f-6f1c-4fec-af0b-0faf075b1fcb (MEMORY_MB=256, VCPU=1) and 1 more')


def test_host_nodes_take_the_compute_node_uuids_of_the_host_only():
    hypervisors = parse_hypervisors({'hypervisors': [
        {'id': 'b1e43b5f-eec1-44e0-9f10-7b4945c0226d', 'hypervisor_hostname': 'host1.example', 'state': 'up',
         'status': 'enabled', 'service': {'host': 'host1', 'id': 'x'}},
        {'id': 7, 'hypervisor_hostname': 'host1-ironic', 'state': 'up', 'status': 'enabled',
         'service': {'host': 'host1', 'id': 'y'}},             # below 2.53: no UUID, no provider
        {'id': 'c2f4d7a1-0b6e-4d3f-8a9c-1e2f3a4b5c6d', 'hypervisor_hostname': 'host2.example', 'state': 'up',
         'status': 'enabled', 'service': {'host': 'host2', 'id': 'z'}}]})
    assert pl.host_nodes(hypervisors, 'host1') == [
        {'uuid': 'b1e43b5f-eec1-44e0-9f10-7b4945c0226d', 'name': 'host1.example'}]


def test_host_providers_by_uuid_and_by_name():
    fake = FakeCloud()
    fake.add_compute('compute1')
    client = pl.PlacementClient(Session(AUTH, opener=fake))
    gone = {'uuid': 'd4c3b2a1-0000-4000-8000-000000000001', 'name': 'compute0.example'}
    found = client.host_providers('compute1', [{'uuid': hypervisor_id('compute1'), 'name': 'compute1.example'}, gone])
    assert [(p['name'], p['exists']) for p in found] == [('compute0.example', False), ('compute1.example', True)]
    assert client.host_providers('compute1') == []               # its provider is named compute1.example
    assert [p['uuid'] for p in client.host_providers('compute1.example')] == [hypervisor_id('compute1')]
    assert set(fake.microversions) == {'placement 1.14'}
