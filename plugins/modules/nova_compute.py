#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: nova_compute
short_description: Enable, disable, empty or delete the nova-compute service of a host
version_added: 0.2.0
description:
  - Manages the nova-compute service record of one compute host through the compute API, as a compute
    upgrade needs it. O(state=disabled) keeps the scheduler from placing new instances on the host;
    O(state=empty) also live-migrates every instance away and waits until the host has none;
    O(state=enabled) puts the host back; O(state=absent) deletes the service record of a host that is
    retired or handed over to another deployment.
  - Before anything changes, O(state=empty) refuses when an instance cannot be live-migrated now (in
    ERROR, in a task such as a resize or a migration, or stopped, suspended or shelved) and, with
    O(check_capacity=true), when the other enabled, up compute hosts do not have the vCPUs and RAM for the
    host's instances. Both refusals list what was found.
  - Live migrations are started without a destination (the scheduler chooses) and without C(force),
    O(concurrency) at a time. After the first failure no new one starts; the task waits for those in flight,
    then fails with the instances that did not move and the reason nova recorded (the migration record, the
    failed event of the instance action, the server's fault). The host stays disabled.
  - A migration counts as done when its instance has left the host and its migration record is final, that is
    when the source host has also finished its clean-up; then nova-compute on the emptied host can be stopped.
  - With O(state=absent) and O(check_resource_providers=true), the task proves that the host's resource providers
    in placement are gone or hold no allocation once the service record is deleted. Nova deletes them with the
    service, but when placement refuses (a provider that still holds allocations, of a leaked migration or of an
    instance nova records on another host) nova deletes the service all the same. A compute node that later
    registers in another nova deployment with the same UUID would adopt that provider and its allocations.
    A provider left with allocations fails the task, after the delete, naming the consumers and what to do; a
    run after they are removed checks again. A provider left without allocations is returned with a warning.
author:
  - openstack_ops maintainers (!UNKNOWN)
requirements:
  - jmespath
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.openstack_api
  - openstack_ops.upgrade.wait
attributes:
  check_mode:
    support: full
    details: Reads as usual (the refusals happen in check mode too) and reports the service change and the
      migrations it would make (status C(planned)) without making them. With O(state=absent), the resource
      providers are read and returned as they are, before any delete; they neither fail the task nor warn.
  diff_mode:
    support: full
    details: The service's status and disabled reason, and the number of instances on the host, before and
      after.
  idempotent:
    support: full
    description: A second run with the same options changes nothing. A disabled host keeps its reason when
      O(disabled_reason) is not set; an empty, disabled host is left as it is.
  platform:
    platforms: posix
options:
  check_capacity:
    description:
      - With O(state=empty), refuse before anything changes when the other compute hosts that are enabled
        and up cannot take the host's instances. The vCPUs and RAM of the instances' flavors, added up,
        must fit in the free vCPUs and RAM of those hosts, added up, and the largest instance must fit on
        one of them.
      - A host's free vCPUs are its vCPUs times O(cpu_allocation_ratio), minus those in use; its free RAM
        its RAM times O(ram_allocation_ratio), minus the RAM in use (which includes the host's reserved
        memory). The numbers come from the hypervisors of the compute API.
      - The scheduler also weighs aggregates, affinity, traits and disk, so passing this check does not
        promise that every migration is placed; failing it means some would not be.
    type: bool
    default: true
  check_resource_providers:
    description:
      - With O(state=absent), read the host's resource providers in placement (service type C(placement) of
        the catalog, with the same O(interface) and O(region_name)) before and after the delete, and fail when
        one is left with allocations. See RV(resource_providers).
      - The compute nodes of the host, as the hypervisors of the compute API list them before the delete,
        give the providers (UUID and name). When the service record is already gone (a second run), or had no
        compute node, the providers named like O(host) are read instead.
      - Set it to V(false) only when placement cannot be reached from where the module runs, and check the
        providers another way (C(openstack resource provider list --name HOST), then C(openstack resource
        provider show --allocations UUID)).
    type: bool
    default: true
  concurrency:
    description:
      - With O(state=empty), how many live migrations are in flight at once.
    type: int
    default: 1
  cpu_allocation_ratio:
    description:
      - The CPU allocation ratio of the compute hosts, for O(check_capacity). Set it to what the hosts use
        (nova's C(cpu_allocation_ratio), or C(initial_cpu_allocation_ratio), 4.0 by default, when that is
        unset); 1.0 counts physical CPUs only and may refuse a drain nova would accept.
    type: float
    default: 1.0
  disabled_reason:
    description:
      - The reason recorded when the service is disabled (O(state=disabled) or O(state=empty)), for example
        C(upgrade to 2026.1). Shown by C(openstack compute service list --long).
      - When not set, a disabled service keeps its reason and one being disabled gets none.
    type: str
  host:
    description:
      - The compute host, as nova knows it (the C(host) of C(openstack compute service list)).
    type: str
    required: true
  ram_allocation_ratio:
    description:
      - The RAM allocation ratio of the compute hosts, for O(check_capacity).
    type: float
    default: 1.0
  state:
    description:
      - C(enabled) - the service takes new instances; enabling clears the disabled reason.
      - C(disabled) - the scheduler places no new instance on the host; instances stay where they are.
      - C(empty) - disabled, and no instance left on the host. See O(timeout), O(sleep) and O(delay) for the
        wait (O(delay) is waited before the first migration starts).
      - C(absent) - the service record is deleted. Refused while instances remain on the host. Stop
        nova-compute on the host first; a running nova-compute registers again when it restarts. See
        O(check_resource_providers) for what is checked in placement after the delete.
    type: str
    required: true
    choices: [absent, disabled, empty, enabled]
notes:
  - The compute API is called with microversion 2.53 (nova 16.0, Pike, or later), where services are
    addressed by UUID. The hypervisor listing used by O(check_capacity) is pinned below 2.88, the
    microversion that removed the vCPU and RAM fields from it.
  - Instances are found with C(GET /servers/detail?all_tenants=1&host=HOST), which needs the admin role.
  - Live migrations of the fake driver took 12 s to 18 s each in the project's lab; real ones take as long
    as their memory takes to copy. Set O(timeout) for the whole drain, not for one migration.
  - After a timeout, the migrations in flight go on in nova. A second run refuses while they are still
    running (their instances are in task C(migrating)) and moves the rest once they have ended.
  - Placement is called with microversion 1.14 (placement of Queens or later), for the C(in_tree) filter; nova
    deletes a provider tree leaves first, and a child provider that keeps allocations keeps its parent, so the
    whole tree of each provider is read.
    A hypervisor's C(id) is its compute node's UUID, which is the UUID of its resource provider, from compute
    microversion 2.53.
  - Once the service record is gone, the host's providers are found by name, the name being O(host). That
    holds when the compute node's C(hypervisor_hostname) is the host, as with the fake driver; a provider named
    otherwise (libvirt names it after the machine's host name, often an FQDN) is not found by a second run. A
    run that deletes the service finds the providers by UUID and has no such limit.
seealso:
  - module: openstack_ops.upgrade.nova_compute_info
'''

EXAMPLES = r'''
- name: Empty compute1 before upgrading it, two live migrations at a time
  openstack_ops.upgrade.nova_compute:
    auth: "{{ openstack_admin_auth }}"
    interface: internal
    host: compute1
    state: empty
    disabled_reason: upgrade to 2026.1
    concurrency: 2
    cpu_allocation_ratio: 4.0
    timeout: 3600
    sleep: 5
  register: drained

- name: Put compute1 back once nova-compute runs the new release
  openstack_ops.upgrade.nova_compute:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: admin
      password: "{{ keystone_admin_password }}"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    host: compute1
    state: enabled

- name: Keep the scheduler away from compute2 without moving anything
  openstack_ops.upgrade.nova_compute:
    auth: "{{ openstack_admin_auth }}"
    host: compute2
    state: disabled
    disabled_reason: hardware check

# Fails, after the delete, when placement keeps allocations on the host's resource provider.
- name: Forget a retired compute host (nova-compute stopped, no instance left)
  openstack_ops.upgrade.nova_compute:
    auth: "{{ openstack_admin_auth }}"
    host: compute9
    state: absent
  register: retired

- name: Show what is left of it in placement (adopted by a compute node registering with the same UUID)
  ansible.builtin.debug:
    msg: "{{ retired.resource_providers | selectattr('exists') | map(attribute='uuid') | list }}"

- name: Forget a retired compute host from a host that cannot reach placement
  openstack_ops.upgrade.nova_compute:
    auth: "{{ openstack_admin_auth }}"
    host: compute9
    state: absent
    check_resource_providers: false
'''

RETURN = r'''
capacity:
  description: With O(state=empty), the capacity check made before anything moved (null when the host had
    no instance or O(check_capacity=false)); also in the failure when the drain is refused for capacity.
  returned: always
  type: dict
  contains:
    available:
      description: Free C(vcpus) and C(memory_mb) of the counted hosts, added up, and how many C(hosts).
      type: dict
    cpu_allocation_ratio:
      description: The ratio applied to the hosts' vCPUs.
      type: float
    excluded:
      description: Hosts not counted, with C(host), C(hypervisor_hostname) and C(reason) (disabled, down,
        forced down, capacity not reported).
      type: list
      elements: dict
    fits:
      description: Whether the instances fit.
      type: bool
    host:
      description: The host being emptied.
      type: str
    hosts:
      description: The counted hosts, with C(host), C(hypervisor_hostname), C(vcpus_free) and
        C(memory_mb_free).
      type: list
      elements: dict
    needed:
      description: C(instances), C(vcpus) and C(memory_mb) of the host's instances, by their flavors.
      type: dict
    problems:
      description: What does not fit, in words with the numbers.
      type: list
      elements: str
    ram_allocation_ratio:
      description: The ratio applied to the hosts' RAM.
      type: float
  sample:
    available: {hosts: 2, memory_mb: 28672, vcpus: 14}
    cpu_allocation_ratio: 1.0
    excluded: [{host: compute4, hypervisor_hostname: compute4.example.org, reason: disabled}]
    fits: true
    host: compute1
    hosts:
      - {host: compute2, hypervisor_hostname: compute2.example.org, memory_mb_free: 14336, vcpus_free: 7}
      - {host: compute3, hypervisor_hostname: compute3.example.org, memory_mb_free: 14336, vcpus_free: 7}
    needed: {instances: 3, memory_mb: 6144, vcpus: 4}
    problems: []
    ram_allocation_ratio: 1.0
changed:
  description: Whether the service's status or reason changed, was created or deleted, or (with
    O(state=empty)) the instances on the host changed.
  returned: always
  type: bool
elapsed:
  description: Seconds the task took, the wait included.
  returned: always
  type: float
  sample: 41.7
host:
  description: The compute host.
  returned: always
  type: str
  sample: compute1
instances_after:
  description: The instances on the host after the task (predicted in check mode), in the form of
    RV(instances_before); also in the failure of a drain.
  returned: always
  type: list
  elements: dict
  sample: []
instances_before:
  description: The instances on the host before the task, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    fault:
      description: The message of the instance's fault (only for an instance in ERROR).
      type: str
    flavor:
      description: Name of the flavor.
      type: str
    host:
      description: The compute host.
      type: str
    id:
      description: UUID of the instance.
      type: str
    name:
      description: Name of the instance.
      type: str
    ram_mb:
      description: RAM of the flavor, in MB.
      type: int
    status:
      description: Status, such as C(ACTIVE), C(SHUTOFF), C(ERROR).
      type: str
    task_state:
      description: The task in progress (C(OS-EXT-STS:task_state)), such as C(migrating), or null.
      type: str
    vcpus:
      description: vCPUs of the flavor.
      type: int
    vm_state:
      description: The VM state (C(OS-EXT-STS:vm_state)), such as C(active).
      type: str
  sample:
    - {fault: null, flavor: m1.small, host: compute1, id: 0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d, name: web1,
       ram_mb: 2048, status: ACTIVE, task_state: null, vcpus: 1, vm_state: active}
migrations:
  description: With O(state=empty), one entry per instance to move, in the order started. C(status) is
    C(completed), C(failed) (with C(reason)), C(deleted) (the instance went away meanwhile), C(timed_out)
    (still in flight when the wait ended), C(running) (in flight when an API error ended the task),
    C(not_started) or, in check mode, C(planned). C(to) is the
    destination the scheduler chose; C(elapsed) the seconds from the request until the migration was seen
    done (to within O(sleep)). Also in the failure of a drain.
  returned: always
  type: list
  elements: dict
  sample:
    - {elapsed: 14.2, from: compute1, id: 0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d, name: web1, status: completed,
       to: compute2}
    - {elapsed: 6.1, from: compute1, id: 5b0e8f3a-2d7c-4b1e-9f6a-1c2d3e4f5a6b, name: db1, status: failed,
       to: null, reason: "migration 12 error; conductor_live_migrate_instance failed: nova.exception.NoValidHost:
       No valid host was found. There are not enough hosts available."}
requests:
  description: The HTTP requests made, in order (audit trail), with the C(service) type of the catalog.
    Identical GETs (the checks of a wait) are listed once with their C(count); C(skipped) is true for a change
    that check mode did not send. Bodies, tokens and passwords are never shown.
  returned: always
  type: list
  elements: dict
  sample:
    - {count: 1, method: POST, path: /v3/auth/tokens, service: identity, skipped: false, status: 201}
    - {count: 1, method: GET, path: "/os-services?binary=nova-compute", service: compute, skipped: false,
       status: 200}
    - {count: 1, method: PUT, path: /os-services/e81d66a4-ddd3-4aba-8a84-171d1cb4d339, service: compute,
       skipped: false, status: 200}
resource_providers:
  description: With O(state=absent) and O(check_resource_providers=true), the host's resource providers in
    placement after the task (in check mode, as they are before it), each tree root first; an empty list
    otherwise. Also in the failure when one is left with allocations.
  returned: always
  type: list
  elements: dict
  contains:
    allocations:
      description: The allocations against the provider, by consumer UUID, each the amounts by resource
        class. Empty when the provider is gone.
      type: dict
    exists:
      description: Whether placement still has the provider.
      type: bool
    name:
      description: Name of the provider (the compute node's C(hypervisor_hostname)).
      type: str
    parent_provider_uuid:
      description: UUID of the parent provider, null for a root (a compute node) and for a provider that is gone.
      type: str
    uuid:
      description: UUID of the provider (for a root, the compute node's UUID).
      type: str
  sample:
    - {allocations: {5b0e8f3a-2d7c-4b1e-9f6a-1c2d3e4f5a6b: {DISK_GB: 1, MEMORY_MB: 2048, VCPU: 1}}, exists: true,
       name: compute1.example.org, parent_provider_uuid: null, uuid: 7d1c2b1e-3c59-4c46-9d4e-0b8f5e2a6c11}
    - {allocations: {}, exists: true, name: compute1.example.org_pci_0000_81_00_0,
       parent_provider_uuid: 7d1c2b1e-3c59-4c46-9d4e-0b8f5e2a6c11, uuid: 2f8e6a4d-1b3c-4e5f-8a9b-0c1d2e3f4a5b}
service:
  description: The nova-compute service record of the host C(before) and C(after) the task (predicted in
    check mode; C(after) is null once deleted), each with C(id), C(binary), C(host), C(zone), C(status),
    C(state) (up or down), C(disabled_reason), C(forced_down) and C(updated_at).
  returned: always
  type: dict
  sample:
    after: {binary: nova-compute, disabled_reason: upgrade to 2026.1, forced_down: false, host: compute1,
            id: e81d66a4-ddd3-4aba-8a84-171d1cb4d339, state: up, status: disabled,
            updated_at: "2026-03-02T10:14:05.000000", zone: nova}
    before: {binary: nova-compute, disabled_reason: null, forced_down: false, host: compute1,
             id: e81d66a4-ddd3-4aba-8a84-171d1cb4d339, state: up, status: enabled,
             updated_at: "2026-03-02T10:13:55.000000", zone: nova}
'''

import copy
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova import (
    NovaClient,
    NovaRefused,
    capacity_report,
    describe_capacity,
    describe_instances,
    find_service,
    plan_service,
    refused_instances,
    service_view,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova_drain import Drain, planned_migrations
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import (
    OPENSTACK_ARGUMENT_SPEC,
    OpenStackError,
    Session,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.placement import (
    AllocationsLeft,
    PlacementClient,
    allocations_left_message,
    host_nodes,
    survivors_warning,
    with_allocations,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import WAIT_ARGUMENT_SPEC


def argument_spec():
    spec = copy.deepcopy(OPENSTACK_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(WAIT_ARGUMENT_SPEC))
    spec.update(
        check_capacity=dict(type='bool', default=True),
        check_resource_providers=dict(type='bool', default=True),
        concurrency=dict(type='int', default=1),
        cpu_allocation_ratio=dict(type='float', default=1.0),
        disabled_reason=dict(type='str'),
        host=dict(type='str', required=True),
        ram_allocation_ratio=dict(type='float', default=1.0),
        state=dict(type='str', required=True, choices=['absent', 'disabled', 'empty', 'enabled']),
    )
    return spec


def check_drain(client, p, services, servers):
    """Refuse an empty before anything changes; returns the capacity report (or None)."""
    refused = refused_instances(servers)
    if refused:
        raise NovaRefused(
            'Refusing to empty compute host %s: %d instance(s) cannot be live-migrated now: %s. Wait for their '
            'tasks to end, repair or delete the instances in ERROR, start or cold-migrate the stopped ones, then '
            'run the task again.' % (p['host'], len(refused), describe_instances(refused)), instances=refused)
    if not servers or not p['check_capacity']:
        return None
    report = capacity_report(p['host'], servers, client.hypervisors(), services,
                             p['cpu_allocation_ratio'], p['ram_allocation_ratio'])
    if not report['fits']:
        raise NovaRefused(
            'Refusing to empty compute host %s: %s. Free capacity on other hosts, set cpu_allocation_ratio and '
            'ram_allocation_ratio to what the computes use, or set check_capacity=false.'
            % (p['host'], describe_capacity(report)), capacity=report)
    return report


def apply(client, service, action):
    if action is None:
        return
    if action[0] == 'enable':
        client.enable_service(service['id'])
    elif action[0] == 'disable':
        client.disable_service(service['id'], action[1])
    elif action[0] == 'delete':
        client.delete_service(service['id'])


def drain(module, client, service, servers, action, capacity):
    """Live-migrate every instance away; on failure the error carries what moved and what is left."""
    p = module.params
    pool = Drain(client, p['host'], servers, p['concurrency'])
    try:
        return pool.run(p['timeout'], p['sleep'], p['delay'])
    except OpsError as exc:
        exc.context.setdefault('migrations', pool.migrations())
        exc.context.setdefault('instances_after', pool.on_host)
        moved = [m for m in exc.context['migrations'] if m['status'] == 'completed']
        try:
            after = find_service(client.compute_services(), p['host'])
        except OpsError:
            after = None  # the original error matters more than this re-read
        exc.context.update(changed=bool(action or moved), capacity=capacity, instances_before=servers,
                           service={'before': service, 'after': after})
        raise
    finally:
        for warning in pool.warnings:
            module.warn(warning)


def read_after(client, host):
    return find_service(client.compute_services(), host), client.servers_on_host(host)


def read_providers(placement, host, nodes, result=None):
    """The host's resource providers; ``result`` is the task's result once the service was deleted."""
    try:
        return placement.host_providers(host, nodes)
    except OpenStackError as exc:
        if result is None:
            exc.msg += (' Nothing was changed. Set check_resource_providers=false if placement cannot be reached '
                        'from where the module runs.')
        else:
            exc.msg += (' The nova-compute service of %s was deleted; run the task again to check its resource '
                        'providers.' % host)
            exc.context.update(result)  # as a drain failure does: the service record, not the API's type
        raise


def check_providers(module, host, result):
    """Fail when a provider of the host is left with allocations; warn when one is left without."""
    providers = result['resource_providers']
    left = with_allocations(providers)
    if left:
        raise AllocationsLeft(allocations_left_message(host, left, result['changed']), **result)
    survivors = [provider for provider in providers if provider['exists']]
    if survivors:
        module.warn(survivors_warning(host, survivors))


def run(module, client, placement=None):
    p = module.params
    host, state = p['host'], p['state']
    services = client.compute_services()
    service = find_service(services, host)
    if service is None and state != 'absent':
        raise NovaRefused('There is no nova-compute service on host %s; compute hosts known to nova: %s.'
                          % (host, ', '.join(s['host'] for s in services) or 'none'))
    servers = client.servers_on_host(host)
    result = dict(host=host, instances_before=servers, migrations=[], capacity=None)

    if state == 'absent' and service is not None and servers:
        raise NovaRefused(
            'Refusing to delete the nova-compute service of %s: %d instance(s) are still on the host: %s. '
            'Empty it first (state=empty).' % (host, len(servers), describe_instances(servers)),
            instances_after=servers)
    if state == 'absent' and service is not None and service['state'] == 'up':
        # Nova counts a service up until service_down_time (60 s by default) has passed since its last report:
        # one stopped a moment ago is still up, and a service that still runs registers again.
        module.warn('nova counts nova-compute on %s up (its last report: %s): it was stopped less than '
                    'service_down_time (60 s by default) ago, or it still runs. If it runs, stop it: it registers '
                    'again and the host comes back in this deployment.' % (host, service.get('updated_at') or 'unknown'))
    if state == 'empty':
        result['capacity'] = check_drain(client, p, services, servers)
    action, predicted = plan_service(service, 'disabled' if state == 'empty' else state, p['disabled_reason'])
    check_placement = state == 'absent' and p['check_resource_providers']
    nodes, providers = None, []
    if check_placement:
        # Before the delete: the compute nodes are listed only while the service exists, and placement must be
        # readable before anything changes.
        nodes = host_nodes(client.hypervisors(), host) if service is not None else None
        providers = read_providers(placement, host, nodes)

    apply(client, service, action)  # in check mode the session records it as skipped
    predicted_servers = servers
    if state == 'empty' and servers:
        if module.check_mode:
            result['migrations'] = planned_migrations(host, servers)
            predicted_servers = []
        else:
            result['migrations'] = drain(module, client, service, servers, action, result['capacity'])

    if module.check_mode or (action is None and not result['migrations']):
        after, servers_after = predicted, predicted_servers
    else:
        after, servers_after = read_after(client, host)
    before_state, after_state = service_view(service), service_view(after)
    if state == 'empty':
        before_state['instances'] = sorted(s['id'] for s in servers)
        after_state['instances'] = sorted(s['id'] for s in servers_after)
    result.update(service={'before': service, 'after': after}, instances_after=servers_after,
                  changed=before_state != after_state, resource_providers=providers)
    if module._diff:
        result['diff'] = {'before': dict(service_view(service), instances=len(servers)),
                          'after': dict(service_view(after), instances=len(servers_after))}
    if check_placement and not module.check_mode:
        if action is not None:
            result['resource_providers'] = read_providers(placement, host, nodes, result)
        check_providers(module, host, result)
    return result


def main():
    started = time.monotonic()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    session = None
    try:
        session = Session.from_module(module)
        result = run(module, NovaClient(session), PlacementClient(session))
    except OpsError as exc:
        fail_from(module, exc, host=module.params['host'], requests=session.requests if session else [],
                  elapsed=round(time.monotonic() - started, 3))
    result['elapsed'] = round(time.monotonic() - started, 3)
    module.exit_json(requests=session.requests, **result)


if __name__ == '__main__':
    main()
