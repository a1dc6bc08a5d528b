"""nova_compute as a whole, against a stateful fake of Keystone and the compute API."""

import json
import os
import sys

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import openstack_api
from ansible_collections.openstack_ops.upgrade.plugins.modules import nova_compute

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'module_utils'))
from openstack_fake import (  # noqa: E402 pylint: disable=wrong-import-position
    KEYSTONE, NO_VALID_HOST, PASSWORD, PLACEMENT, FakeCloud, hypervisor_id, server_id)

AUTH = {'auth_url': KEYSTONE + '/v3', 'username': 'admin', 'password': PASSWORD, 'project_name': 'admin',
        'user_domain_name': 'Default', 'project_domain_name': 'Default'}


@pytest.fixture
def fake(monkeypatch):
    cloud = FakeCloud()
    cloud.add_compute('compute1')
    cloud.add_compute('compute2')
    cloud.add_compute('compute3')
    monkeypatch.setattr(openstack_api, 'open_url', cloud)
    return cloud


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: seen.append(text))
    return seen


def run(monkeypatch, check=False, diff=False, **args):
    args = dict(dict(auth=AUTH, host='compute1', sleep=0), **args)
    return run_module(monkeypatch, nova_compute, args, check_mode=check, diff=diff)


def calls(fake, method):
    return [url for m, url in fake.log if m == method]


def assert_no_secret(out):
    text = str(out.result) + json.dumps(out.result, default=str)
    assert PASSWORD not in text
    assert 'gAAAAA' not in text           # no token either


# ---------------------------------------------------------------- enable / disable

def test_disable_then_nothing_to_do(fake, monkeypatch):
    out = run(monkeypatch, state='disabled', disabled_reason='upgrade to 2026.1', diff=True)
    assert not out.failed and out.result['changed'] is True
    assert out.result['service']['before']['status'] == 'enabled'
    assert out.result['service']['after']['status'] == 'disabled'
    assert out.result['service']['after']['disabled_reason'] == 'upgrade to 2026.1'
    assert out.result['diff'] == {
        'before': {'exists': True, 'status': 'enabled', 'disabled_reason': None, 'instances': 0},
        'after': {'exists': True, 'status': 'disabled', 'disabled_reason': 'upgrade to 2026.1', 'instances': 0}}
    assert fake.service('compute1')['status'] == 'disabled'
    assert_no_secret(out)

    again = run(monkeypatch, state='disabled', disabled_reason='upgrade to 2026.1')
    assert again.result['changed'] is False
    assert len(calls(fake, 'PUT')) == 1
    # without a reason the reason is kept
    assert run(monkeypatch, state='disabled').result['changed'] is False
    assert fake.service('compute1')['disabled_reason'] == 'upgrade to 2026.1'


def test_enable_then_nothing_to_do(fake, monkeypatch):
    fake.service('compute1').update(status='disabled', disabled_reason='upgrade')
    out = run(monkeypatch, state='enabled')
    assert out.result['changed'] is True
    assert fake.service('compute1')['status'] == 'enabled'
    assert fake.service('compute1')['disabled_reason'] is None
    assert run(monkeypatch, state='enabled').result['changed'] is False
    assert len(calls(fake, 'PUT')) == 1


def test_check_mode_changes_nothing_and_predicts_the_real_run(fake, monkeypatch):
    predicted = run(monkeypatch, state='disabled', disabled_reason='upgrade', check=True)
    assert predicted.result['changed'] is True
    assert fake.service('compute1')['status'] == 'enabled'
    assert calls(fake, 'PUT') == []
    assert [r for r in predicted.result['requests'] if r['method'] == 'PUT'][0]['skipped'] is True
    real = run(monkeypatch, state='disabled', disabled_reason='upgrade')
    for key in ('status', 'disabled_reason', 'id'):
        assert predicted.result['service']['after'][key] == real.result['service']['after'][key]


def test_unknown_host_lists_the_known_ones(fake, monkeypatch):
    out = run(monkeypatch, host='compute7', state='disabled')
    assert out.failed
    assert out.result['msg'] == ('There is no nova-compute service on host compute7; compute hosts known to nova: '
                                 'compute1, compute2, compute3.')


# ---------------------------------------------------------------- empty

def three_instances(fake):
    return [fake.add_server(name, 'compute1', vcpus=2, ram=2048) for name in ('web1', 'web2', 'web3')]


def test_empty_moves_three_instances_two_at_a_time(fake, monkeypatch):
    three_instances(fake)
    out = run(monkeypatch, state='empty', concurrency=2, disabled_reason='upgrade', diff=True)
    assert not out.failed, out.result['msg']
    result = out.result
    assert fake.max_in_flight == 2
    assert fake.on_host('compute1') == []
    assert fake.service('compute1')['status'] == 'disabled'
    assert result['changed'] is True
    assert [(m['name'], m['from'], m['to'], m['status']) for m in result['migrations']] == [
        ('web1', 'compute1', 'compute2', 'completed'), ('web2', 'compute1', 'compute2', 'completed'),
        ('web3', 'compute1', 'compute2', 'completed')]
    assert all(isinstance(m['elapsed'], float) for m in result['migrations'])
    assert [s['name'] for s in result['instances_before']] == ['web1', 'web2', 'web3']
    assert result['instances_after'] == []
    assert result['capacity']['fits'] is True
    assert result['diff']['before']['instances'] == 3 and result['diff']['after']['instances'] == 0
    assert result['service']['after']['status'] == 'disabled'
    assert isinstance(result['elapsed'], float)
    # the waiter polled the host's listing several times, counted as one audit entry
    listing = [r for r in result['requests'] if r['path'] == '/servers/detail?all_tenants=1&host=compute1']
    assert len(listing) == 1 and listing[0]['count'] >= 4
    assert_no_secret(out)

    again = run(monkeypatch, state='empty', concurrency=2, disabled_reason='upgrade')
    assert again.result['changed'] is False and again.result['migrations'] == []


def test_empty_in_check_mode_reports_and_moves_nothing(fake, monkeypatch):
    three_instances(fake)
    out = run(monkeypatch, state='empty', check=True, diff=True)
    assert out.result['changed'] is True
    assert [(m['name'], m['status']) for m in out.result['migrations']] == [
        ('web1', 'planned'), ('web2', 'planned'), ('web3', 'planned')]
    assert out.result['instances_after'] == []
    assert out.result['service']['after']['status'] == 'disabled'
    assert calls(fake, 'POST') == [KEYSTONE + '/v3/auth/tokens']
    assert calls(fake, 'PUT') == []
    assert fake.on_host('compute1') == ['web1', 'web2', 'web3']
    assert fake.service('compute1')['status'] == 'enabled'


def test_failed_migration_leaves_the_host_disabled_and_says_why(fake, monkeypatch):
    three_instances(fake)
    fake.fail[server_id('web2')] = NO_VALID_HOST
    out = run(monkeypatch, state='empty', concurrency=1)
    assert out.failed
    result = out.result
    assert result['msg'] == (
        'Could not empty compute host compute1: live migration failed for web2 (%s): migration 2 error '
        '(destination compute2); conductor_live_migrate_instance failed: nova.exception.NoValidHost: No valid '
        'host was found. There are not enough hosts available. Not started after that failure: web3 (%s). 2 '
        'instance(s) remain on the host; its compute service stays disabled. Fix the cause and run the task '
        'again.' % (server_id('web2'), server_id('web3')))
    assert result['changed'] is True
    assert [(m['name'], m['status']) for m in result['migrations']] == [
        ('web1', 'completed'), ('web2', 'failed'), ('web3', 'not_started')]
    assert [s['name'] for s in result['instances_after']] == ['web2', 'web3']
    assert fake.service('compute1')['status'] == 'disabled'
    assert result['service']['after']['status'] == 'disabled'
    assert fake.on_host('compute1') == ['web2', 'web3']
    assert_no_secret(out)


def test_migration_refused_by_the_api_is_a_failure_with_its_message(fake, monkeypatch):
    three_instances(fake)
    # it was stopped between the pre-flight and its turn
    original = fake._post_servers

    def stop_then_post(segs, params, body, headers):
        if segs[0] == server_id('web1'):
            fake.servers[segs[0]]['status'] = 'SHUTOFF'
        return original(segs, params, body, headers)
    fake._post_servers = stop_then_post
    out = run(monkeypatch, state='empty')
    assert out.failed
    assert ("web1 (%s): refused by the API: Cannot 'os-migrateLive' instance %s while it is in vm_state shutoff"
            % (server_id('web1'), server_id('web1'))) in out.result['msg']


def test_api_error_during_the_drain_still_reports_what_moved(fake, monkeypatch):
    three_instances(fake)
    original = fake._get_servers
    listings = []

    def failing_listing(segs, params, body, headers):
        if segs == ['detail']:
            listings.append(1)
            if len(listings) == 4:     # the third check of the wait, both migrations in flight
                return 500, {'computeFault': {'code': 500, 'message': 'Unexpected API Error.'}}
        return original(segs, params, body, headers)
    fake._get_servers = failing_listing
    out = run(monkeypatch, state='empty', concurrency=2)
    assert out.failed
    assert out.result['msg'] == ('The compute API answered GET /servers/detail?all_tenants=1&host=compute1 with '
                                 'HTTP 500: Unexpected API Error.')
    assert [(m['name'], m['status']) for m in out.result['migrations']] == [
        ('web1', 'running'), ('web2', 'running'), ('web3', 'not_started')]
    assert out.result['changed'] is True
    assert out.result['service']['after']['status'] == 'disabled'


def test_capacity_refusal_gives_the_numbers_and_changes_nothing(fake, monkeypatch):
    fake.hypervisors['compute2'].update(vcpus=2)
    fake.service('compute3')['status'] = 'disabled'
    three_instances(fake)
    out = run(monkeypatch, state='empty')
    assert out.failed
    assert out.result['msg'] == (
        'Refusing to empty compute host compute1: its 3 instance(s) need 6 vCPUs and 6144 MB of RAM; the other '
        'enabled, up compute hosts have 2 vCPUs and 15872 MB free (cpu_allocation_ratio 1.0, ram_allocation_ratio '
        '1.0): compute2 (2 vCPUs, 15872 MB); not counted: compute3 (disabled); short: 6 vCPUs needed, 2 free '
        '(cpu_allocation_ratio 1.0). Free capacity on other hosts, set cpu_allocation_ratio and '
        'ram_allocation_ratio to what the computes use, or set check_capacity=false.')
    assert out.result['capacity']['fits'] is False
    assert calls(fake, 'PUT') == [] and calls(fake, 'POST') == [KEYSTONE + '/v3/auth/tokens']
    assert fake.service('compute1')['status'] == 'enabled'
    # the operator's ratio makes room
    assert not run(monkeypatch, state='empty', cpu_allocation_ratio=4.0).failed
    assert fake.on_host('compute1') == []


def test_capacity_check_can_be_skipped(fake, monkeypatch):
    fake.hypervisors['compute2'].update(vcpus=1)
    fake.hypervisors['compute3'].update(vcpus=1)
    three_instances(fake)
    out = run(monkeypatch, state='empty', check_capacity=False, concurrency=3)
    assert not out.failed and out.result['capacity'] is None
    assert not [r for r in out.result['requests'] if r['path'].startswith('/os-hypervisors')]


def test_instances_in_error_or_in_a_task_are_refused_before_anything_changes(fake, monkeypatch):
    fake.add_server('ok', 'compute1')
    fake.add_server('broken', 'compute1', status='ERROR', fault='Build of instance aborted')
    fake.add_server('resizing', 'compute1', status='VERIFY_RESIZE')
    fake.add_server('moving', 'compute1', status='MIGRATING', task_state='migrating')
    fake.add_server('stopped', 'compute1', status='SHUTOFF')
    for check in (True, False):
        out = run(monkeypatch, state='empty', check=check)
        assert out.failed
        assert out.result['msg'].startswith('Refusing to empty compute host compute1: 4 instance(s) cannot be '
                                            'live-migrated now: broken (%s): in ERROR (Build of instance aborted), '
                                            'moving (%s): task migrating in progress, resizing'
                                            % (server_id('broken'), server_id('moving')))
        assert [i['name'] for i in out.result['instances']] == ['broken', 'moving', 'resizing', 'stopped']
        assert calls(fake, 'PUT') == []
        assert fake.service('compute1')['status'] == 'enabled'


def test_tokens_expiring_during_a_long_drain_are_renewed(fake, monkeypatch):
    three_instances(fake)
    fake.expire_every = 5
    out = run(monkeypatch, state='empty', concurrency=2)
    assert not out.failed, out.result['msg']
    assert fake.on_host('compute1') == []
    tokens = [r for r in out.result['requests'] if r['path'] == '/v3/auth/tokens']
    assert sum(r['count'] for r in tokens) == fake.issued >= 2


def test_timeout_reports_what_is_still_in_flight(fake, monkeypatch):
    fake.add_server('slow', 'compute1')
    fake.polls_to_move = 10 ** 6
    out = run(monkeypatch, state='empty', timeout=0)
    assert out.failed
    assert out.result['msg'].startswith('Timed out after')
    assert 'The migrations in flight go on in nova' in out.result['msg']
    assert out.result['migrations'][0]['status'] == 'timed_out'
    assert fake.service('compute1')['status'] == 'disabled'


# ---------------------------------------------------------------- absent

def test_delete_is_refused_while_instances_remain(fake, monkeypatch):
    fake.add_server('web1', 'compute1')
    for check in (True, False):
        out = run(monkeypatch, state='absent', check=check)
        assert out.failed
        assert out.result['msg'] == ('Refusing to delete the nova-compute service of compute1: 1 instance(s) are '
                                     'still on the host: web1 (%s). Empty it first (state=empty).'
                                     % server_id('web1'))
        assert calls(fake, 'DELETE') == []
        assert fake.service('compute1') is not None


def test_delete_an_empty_host_then_nothing_to_do(fake, monkeypatch):
    fake.service('compute1').update(state='down')
    predicted = run(monkeypatch, state='absent', check=True)
    assert predicted.result['changed'] is True and fake.service('compute1') is not None
    out = run(monkeypatch, state='absent', diff=True)
    assert out.result['changed'] is True
    assert out.result['service']['after'] is None
    assert out.result['diff']['after'] == {'exists': False, 'instances': 0}
    assert fake.service('compute1') is None
    assert run(monkeypatch, state='absent').result['changed'] is False


def test_delete_of_a_service_still_counted_up_says_why_it_may_be(fake, monkeypatch, warnings):
    # Stopped a moment ago: nova still counts it up (service_down_time); the record is deleted, with a warning
    # that names its last report and what to do if it runs.
    fake.service('compute1').update(updated_at='2026-12-02T01:10:00.000000')
    out = run(monkeypatch, state='absent')
    assert not out.failed, out.result['msg']
    assert out.result['changed'] is True and fake.service('compute1') is None
    assert warnings == [
        'nova counts nova-compute on compute1 up (its last report: 2026-12-02T01:10:00.000000): it was stopped less '
        'than service_down_time (60 s by default) ago, or it still runs. If it runs, stop it: it registers again '
        'and the host comes back in this deployment.']


# ---------------------------------------------------------------- absent: resource providers in placement

RP1 = hypervisor_id('compute1')
LEAKED = '0c8a1e9f-4b2d-4e6a-9c3f-5d7e8f9a0b1c'       # a migration consumer nova forgot


@pytest.fixture
def stopped(fake):
    """compute1's nova-compute is stopped, as it is before its service is deleted."""
    fake.service('compute1').update(state='down')
    return fake


def placement_requests(out):
    return [(r['method'], r['path'], r['status']) for r in out.result['requests'] if r['service'] == 'placement']


def test_delete_proves_the_resource_provider_gone(stopped, fake, monkeypatch, warnings):
    out = run(monkeypatch, state='absent')
    assert not out.failed, out.result['msg']
    assert out.result['changed'] is True
    assert out.result['resource_providers'] == [
        {'uuid': RP1, 'name': 'compute1.example', 'exists': False, 'parent_provider_uuid': None, 'allocations': {}}]
    # read before the delete (placement readable), then after it (gone)
    assert placement_requests(out) == [
        ('GET', '/resource_providers/%s' % RP1, 200), ('GET', '/resource_providers?in_tree=%s' % RP1, 200),
        ('GET', '/resource_providers/%s/allocations' % RP1, 200), ('GET', '/resource_providers/%s' % RP1, 404)]
    assert 'placement 1.14' in fake.microversions
    assert warnings == []


def test_delete_fails_when_the_resource_provider_keeps_allocations(stopped, fake, monkeypatch, warnings):
    fake.allocate(RP1, LEAKED, VCPU=2, MEMORY_MB=2048)
    out = run(monkeypatch, state='absent')
    assert out.failed
    assert out.result['msg'] == (
        'The nova-compute service of compute1 was deleted, but nova left its resource provider(s) in placement with '
        'allocations: compute1.example (%s) holds those of 1 consumer(s): %s (MEMORY_MB=2048, VCPU=2). A compute '
        'node registering in another nova deployment with the same UUID adopts the provider with these allocations. '
        'Move or delete the consumers that are instances (openstack server show <consumer>); delete the allocations '
        'that are leaked (openstack resource provider allocation delete %s deletes all the allocations of that '
        'consumer; openstack --os-placement-api-version 1.12 resource provider allocation unset --provider %s %s '
        'only those on this provider); then run the task again.' % (RP1, LEAKED, LEAKED, RP1, LEAKED))
    assert out.result['changed'] is True
    assert fake.service('compute1') is None
    assert out.result['service']['after'] is None
    assert out.result['resource_providers'] == [
        {'uuid': RP1, 'name': 'compute1.example', 'exists': True, 'parent_provider_uuid': None,
         'allocations': {LEAKED: {'MEMORY_MB': 2048, 'VCPU': 2}}}]
    assert_no_secret(out)

    # the operator deletes the leaked allocation: the re-run finds the provider by name, without allocations
    fake.providers[RP1].update(name='compute1', allocations={})
    again = run(monkeypatch, state='absent')
    assert not again.failed, again.result['msg']
    assert again.result['changed'] is False
    assert again.result['resource_providers'][0]['exists'] is True
    assert placement_requests(again)[0] == ('GET', '/resource_providers?name=compute1', 200)
    assert len(warnings) == 1


def test_a_child_provider_with_allocations_keeps_the_tree(fake, monkeypatch):
    child = fake.add_provider('compute1.example_pci_0000_81_00_0', parent=RP1)
    fake.allocate(child, LEAKED, CUSTOM_PCI_10DE_1EB8=1)
    out = run(monkeypatch, state='absent')
    assert out.failed
    assert [(p['name'], p['exists'], p['parent_provider_uuid']) for p in out.result['resource_providers']] == [
        ('compute1.example', True, None), ('compute1.example_pci_0000_81_00_0', True, RP1)]
    assert 'compute1.example_pci_0000_81_00_0 (%s) holds those of 1 consumer(s): %s (CUSTOM_PCI_10DE_1EB8=1)' \
        % (child, LEAKED) in out.result['msg']


def test_a_provider_left_without_allocations_is_returned_with_a_warning(stopped, fake, monkeypatch, warnings):
    # placement refused the delete (a child was being created meanwhile, say) and the child went away since
    original = fake._delete_os_services

    def delete_leaving_the_provider(segs, params, body, headers):
        kept = dict(fake.providers)
        answer = original(segs, params, body, headers)
        fake.providers = kept
        return answer
    fake._delete_os_services = delete_leaving_the_provider
    out = run(monkeypatch, state='absent')
    assert not out.failed, out.result['msg']
    assert out.result['changed'] is True
    assert out.result['resource_providers'] == [
        {'uuid': RP1, 'name': 'compute1.example', 'exists': True, 'parent_provider_uuid': None, 'allocations': {}}]
    assert warnings == [
        'Resource provider(s) of compute1 survived in placement without allocations: compute1.example (%s). A '
        'nova-compute that registers with the same compute node UUID (its compute_id file) adopts them, with their '
        'aggregates and traits; one with another UUID fails on the name and its node is never scheduled: delete them '
        'first (openstack resource provider delete <uuid>, children first).' % RP1]


def test_service_already_absent_and_a_leftover_provider_with_allocations_fails(fake, monkeypatch):
    del fake.services[fake.service('compute1')['id']]
    left = fake.add_provider('compute1', allocations={LEAKED: {'VCPU': 1}})
    out = run(monkeypatch, state='absent')
    assert out.failed
    assert out.result['msg'].startswith(
        'The nova-compute service of compute1 is gone, but resource provider(s) of it remain in placement with '
        'allocations: compute1 (%s) holds those of 1 consumer(s): %s (VCPU=1).' % (left, LEAKED))
    assert out.result['changed'] is False
    assert calls(fake, 'DELETE') == []
    assert out.result['resource_providers'][0]['allocations'] == {LEAKED: {'VCPU': 1}}
    # no hypervisor listing without a service: the providers are found by name
    assert not [r for r in out.result['requests'] if r['path'].startswith('/os-hypervisors')]


def test_service_already_absent_and_no_provider_changes_nothing(fake, monkeypatch, warnings):
    del fake.services[fake.service('compute1')['id']]
    out = run(monkeypatch, state='absent')
    assert not out.failed and out.result['changed'] is False
    assert out.result['resource_providers'] == []
    assert placement_requests(out) == [('GET', '/resource_providers?name=compute1', 200)]
    assert warnings == []


def test_the_placement_check_can_be_switched_off(fake, monkeypatch):
    fake.allocate(RP1, LEAKED, VCPU=1)
    out = run(monkeypatch, state='absent', check_resource_providers=False)
    assert not out.failed and out.result['changed'] is True
    assert out.result['resource_providers'] == []
    assert not [url for dummy, url in fake.log if url.startswith(PLACEMENT)]
    assert not [r for r in out.result['requests'] if r['path'].startswith('/os-hypervisors')]


def test_other_states_return_no_provider_and_ask_placement_nothing(fake, monkeypatch):
    out = run(monkeypatch, state='disabled')
    assert out.result['resource_providers'] == []
    assert not [url for dummy, url in fake.log if url.startswith(PLACEMENT)]


def test_delete_in_check_mode_reports_the_providers_as_they_are(stopped, fake, monkeypatch, warnings):
    fake.allocate(RP1, LEAKED, VCPU=1)
    out = run(monkeypatch, state='absent', check=True)
    assert not out.failed, out.result['msg']
    assert out.result['changed'] is True
    assert calls(fake, 'DELETE') == []
    assert [r['skipped'] for r in out.result['requests'] if r['method'] == 'DELETE'] == [True]
    assert out.result['resource_providers'] == [
        {'uuid': RP1, 'name': 'compute1.example', 'exists': True, 'parent_provider_uuid': None,
         'allocations': {LEAKED: {'VCPU': 1}}}]
    assert warnings == []
    assert fake.service('compute1') is not None and RP1 in fake.providers


def test_placement_missing_from_the_catalog_refuses_before_the_delete(fake, monkeypatch):
    fake.catalog = [entry for entry in fake.catalog if entry['type'] != 'placement']
    out = run(monkeypatch, state='absent')
    assert out.failed
    assert out.result['msg'] == (
        'The service catalog has no public endpoint of placement; it offers: no endpoint of that type. Check '
        'interface and region_name. Nothing was changed. Set check_resource_providers=false if placement cannot '
        'be reached from where the module runs.')
    assert calls(fake, 'DELETE') == []
    assert fake.service('compute1') is not None


def test_placement_failing_after_the_delete_says_the_service_is_gone(fake, monkeypatch):
    original = fake._placement

    def failing_after_the_delete(url, method, parts, params, headers):
        if calls(fake, 'DELETE'):
            return fake._error(url, 503, {'errors': [{'status': 503, 'title': 'Service Unavailable',
                                                      'detail': 'The server is currently unavailable.'}]})
        return original(url, method, parts, params, headers)
    fake._placement = failing_after_the_delete
    out = run(monkeypatch, state='absent')
    assert out.failed
    assert out.result['msg'] == (
        'The placement API answered GET /resource_providers/%s with HTTP 503: The server is currently unavailable. '
        'The nova-compute service of compute1 was deleted; run the task again to check its resource providers.'
        % RP1)
    assert out.result['changed'] is True and out.result['service']['after'] is None


# ---------------------------------------------------------------- secrets

def test_wrong_password_fails_without_showing_it(fake, monkeypatch):
    out = run(monkeypatch, state='disabled', auth=dict(AUTH, password='An0ther-s3cret'))
    assert out.failed
    assert 'refused the credentials of user admin (domain Default) on project admin (domain Default)' \
        in out.result['msg']
    assert 'An0ther-s3cret' not in str(out.result) + json.dumps(out.result, default=str)
    assert fake.service('compute1')['status'] == 'enabled'
