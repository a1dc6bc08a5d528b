#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: nova_compute_info
short_description: Report nova-compute services, the instances on a host and whether the others can take them
version_added: 0.2.0
description:
  - Lists the nova-compute services of the cloud (status, state, disabled reason) through the compute API.
  - With O(host), also reports the instances on that host, those that could not be live-migrated now (in
    ERROR, in a task, stopped...), and whether the other enabled, up compute hosts have the vCPUs and RAM
    to take them, as M(openstack_ops.upgrade.nova_compute) checks before it empties a host.
  - Changes nothing.
author:
  - openstack_ops maintainers (!UNKNOWN)
requirements:
  - jmespath
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.openstack_api
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: Never changes anything.
  platform:
    platforms: posix
options:
  cpu_allocation_ratio:
    description:
      - The CPU allocation ratio of the compute hosts, for RV(capacity). See the option of the same name of
        M(openstack_ops.upgrade.nova_compute).
    type: float
    default: 1.0
  host:
    description:
      - A compute host, as nova knows it. When set, RV(service), RV(instances), RV(refused_instances) and
        RV(capacity) are reported for it; the task fails if nova has no nova-compute service on it, unless
        O(missing_ok=true).
    type: str
  missing_ok:
    description:
      - With O(host), a host nova has no nova-compute service for is not an error; RV(service) is then null
        and RV(instances) the instances nova still places on that host (normally none). For a host that may
        be in one of two deployments (a parallel compute upgrade).
    type: bool
    default: false
  ram_allocation_ratio:
    description:
      - The RAM allocation ratio of the compute hosts, for RV(capacity).
    type: float
    default: 1.0
notes:
  - The compute API is called with microversion 2.53; the hypervisor listing below 2.88, which removed its
    vCPU and RAM fields.
seealso:
  - module: openstack_ops.upgrade.nova_compute
'''

EXAMPLES = r'''
- name: List the compute services
  openstack_ops.upgrade.nova_compute_info:
    auth: "{{ openstack_admin_auth }}"
  register: computes

- name: The compute hosts to upgrade, one at a time
  ansible.builtin.debug:
    msg: "{{ computes.services | selectattr('state', 'equalto', 'up') | map(attribute='host') | list }}"

- name: Can compute1 be emptied?
  openstack_ops.upgrade.nova_compute_info:
    auth: "{{ openstack_admin_auth }}"
    host: compute1
    cpu_allocation_ratio: 4.0
  register: compute1

- name: Stop before the upgrade if it cannot
  ansible.builtin.assert:
    that:
      - compute1.capacity.fits
      - compute1.refused_instances | length == 0
    fail_msg: "{{ compute1.capacity.problems + (compute1.refused_instances | map(attribute='reason') | list) }}"
'''

RETURN = r'''
capacity:
  description: With O(host), whether the other enabled, up compute hosts can take the host's instances, in the
    form of the C(capacity) return value of M(openstack_ops.upgrade.nova_compute) (C(fits), C(needed),
    C(available), C(hosts), C(excluded), C(problems), the ratios).
  returned: when O(host) is set
  type: dict
  sample:
    available: {hosts: 1, memory_mb: 14336, vcpus: 7}
    cpu_allocation_ratio: 1.0
    excluded: []
    fits: true
    host: compute1
    hosts: [{host: compute2, hypervisor_hostname: compute2.example.org, memory_mb_free: 14336, vcpus_free: 7}]
    needed: {instances: 1, memory_mb: 2048, vcpus: 1}
    problems: []
    ram_allocation_ratio: 1.0
instances:
  description: With O(host), the instances on it, sorted by name, each with C(id), C(name), C(status),
    C(task_state), C(vm_state), C(host), C(flavor), C(vcpus), C(ram_mb) and C(fault).
  returned: when O(host) is set
  type: list
  elements: dict
  sample:
    - {fault: null, flavor: m1.small, host: compute1, id: 0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d, name: web1,
       ram_mb: 2048, status: ACTIVE, task_state: null, vcpus: 1, vm_state: active}
refused_instances:
  description: With O(host), the instances that could not be live-migrated now, with C(id), C(name),
    C(status), C(task_state) and C(reason).
  returned: when O(host) is set
  type: list
  elements: dict
  sample:
    - {id: 5b0e8f3a-2d7c-4b1e-9f6a-1c2d3e4f5a6b, name: db1, reason: "status SHUTOFF: only ACTIVE and PAUSED
       instances can be live-migrated", status: SHUTOFF, task_state: null}
requests:
  description: The HTTP requests made, in order (audit trail), as in M(openstack_ops.upgrade.nova_compute).
  returned: always
  type: list
  elements: dict
  sample:
    - {count: 1, method: POST, path: /v3/auth/tokens, service: identity, skipped: false, status: 201}
service:
  description: With O(host), its nova-compute service, as an element of RV(services); null when nova has none
    and O(missing_ok=true).
  returned: when O(host) is set
  type: dict
  sample: {binary: nova-compute, disabled_reason: null, forced_down: false, host: compute1,
           id: e81d66a4-ddd3-4aba-8a84-171d1cb4d339, state: up, status: enabled,
           updated_at: "2026-03-02T10:13:55.000000", zone: nova}
services:
  description: Every nova-compute service, sorted by host, each with C(id), C(binary), C(host), C(zone),
    C(status) (enabled or disabled), C(state) (up or down), C(disabled_reason), C(forced_down) and
    C(updated_at).
  returned: always
  type: list
  elements: dict
  sample:
    - {binary: nova-compute, disabled_reason: null, forced_down: false, host: compute1,
       id: e81d66a4-ddd3-4aba-8a84-171d1cb4d339, state: up, status: enabled,
       updated_at: "2026-03-02T10:13:55.000000", zone: nova}
'''

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova import (
    NovaClient,
    NovaRefused,
    capacity_report,
    find_service,
    refused_instances,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import (
    OPENSTACK_ARGUMENT_SPEC,
    Session,
)


def argument_spec():
    spec = copy.deepcopy(OPENSTACK_ARGUMENT_SPEC)
    spec.update(
        cpu_allocation_ratio=dict(type='float', default=1.0),
        host=dict(type='str'),
        missing_ok=dict(type='bool', default=False),
        ram_allocation_ratio=dict(type='float', default=1.0),
    )
    return spec


def run(client, p):
    services = client.compute_services()
    result = dict(services=services)
    host = p['host']
    if host:
        service = find_service(services, host)
        if service is None and p['missing_ok']:
            servers = client.servers_on_host(host)
            result.update(service=None, instances=servers, refused_instances=refused_instances(servers),
                          capacity=None)
            return result
        if service is None:
            raise NovaRefused('There is no nova-compute service on host %s; compute hosts known to nova: %s.'
                              % (host, ', '.join(s['host'] for s in services) or 'none'))
        servers = client.servers_on_host(host)
        result.update(service=service, instances=servers, refused_instances=refused_instances(servers),
                      capacity=capacity_report(host, servers, client.hypervisors(), services,
                                               p['cpu_allocation_ratio'], p['ram_allocation_ratio']))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    session = None
    try:
        session = Session.from_module(module)
        result = run(NovaClient(session), module.params)
    except OpsError as exc:
        fail_from(module, exc, requests=session.requests if session else [])
    module.exit_json(changed=False, requests=session.requests, **result)


if __name__ == '__main__':
    main()
