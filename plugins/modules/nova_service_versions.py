#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
module: nova_service_versions
short_description: Report nova's service versions and the compute RPC pin they give, or wait until they rise
version_added: 0.2.0
description:
  - Reads the C(services) table of nova's cell databases (read-only) and reports the service version of every
    nova service and the compute RPC pin that C([upgrade_levels] compute = auto) derives from them. The compute
    API does not show service versions; nova keeps them in that table.
  - nova counts a nova-compute service in the pin when it is not deleted, not forced down and reports a positive
    version; the pin is the minimum over every cell (nova.objects.service.get_minimum_version_all_cells). The
    controllers read it when they start, so after the last compute host is upgraded they must be restarted for the
    pin to rise.
  - With O(min_version) the task waits until the version is reached (of O(host)'s nova-compute when O(host) is
    set, else the minimum of every counted nova-compute) and fails at O(timeout) with the hosts that hold it down.
options:
  compute_rpc_versions:
    description:
      - Maps service versions to compute RPC versions (C(SERVICE_VERSION_HISTORY) of the controllers' release), so
        that RV(rpc_pin.compute_rpc) names the RPC version of the pin.
    type: dict
  config_file:
    description:
      - nova's configuration file of a controller; its C([database] connection) (the cell database) gives the
        connection. Mutually exclusive with O(database_url).
    type: path
  database_url:
    description:
      - SQLAlchemy URL of a nova cell database.
    type: str
  databases:
    description:
      - The cell databases to read (every cell but cell0, which has no services). Default the database of
        O(database_url) or O(config_file).
    type: list
    elements: str
  host:
    description:
      - With O(min_version), wait for the nova-compute service of this host.
    type: str
  min_version:
    description:
      - Wait until this service version is reached, for example the C(SERVICE_VERSION) of the new release's
        nova (C(python -c 'from nova.objects import service; print(service.SERVICE_VERSION)') with its code).
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.wait
  - openstack_ops.upgrade.database
attributes:
  check_mode:
    support: full
    details:
      - Only reads; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: full
    details:
      - Never changes anything.
  platform:
    platforms: posix
requirements:
  - the C(mariadb) or C(mysql) client on the target
seealso:
  - module: openstack_ops.upgrade.nova_compute_info
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Which computes hold the compute RPC pin down?
  openstack_ops.upgrade.nova_service_versions:
    config_file: /etc/nova/nova.conf
  register: versions

- name: Wait until compute1's nova-compute reports the new release's version
  openstack_ops.upgrade.nova_service_versions:
    config_file: /etc/nova/nova.conf
    host: compute1
    min_version: 72
    timeout: 120

- name: Prove that every compute runs the new release before the controllers restart
  openstack_ops.upgrade.nova_service_versions:
    config_file: /etc/nova/nova.conf
    databases: [nova_cell1, nova_cell2]
    min_version: 72
    timeout: 0
'''

RETURN = r'''
rpc_pin:
  description: The compute RPC pin the service versions give.
  returned: always
  type: dict
  contains:
    min_compute_version:
      description: The minimum version of the counted nova-compute services (null without any; nova then uses
        its own current version).
      type: int
    max_compute_version:
      description: The maximum version of the counted nova-compute services.
      type: int
    mixed:
      description: Whether counted nova-compute services report different versions.
      type: bool
    hosts_at_minimum:
      description: When mixed, the hosts whose version holds the pin down.
      type: list
      elements: str
    compute_rpc:
      description: The compute RPC version of the minimum, from O(compute_rpc_versions) (null without it).
      type: str
    computes:
      description: Every nova-compute row with C(host), C(version), C(deleted), C(forced_down) and C(counted).
      type: list
      elements: dict
    minimum_versions:
      description: The minimum version of each binary, counted by the same rule.
      type: dict
  sample:
    min_compute_version: 70
    max_compute_version: 72
    mixed: true
    hosts_at_minimum: [compute2]
    compute_rpc: "6.4"
    computes:
      - {host: compute1, version: 72, deleted: false, forced_down: false, counted: true}
      - {host: compute2, version: 70, deleted: false, forced_down: false, counted: true}
    minimum_versions: {nova-compute: 70, nova-conductor: 72, nova-scheduler: 72}
attempts:
  description: How many times the tables were read.
  returned: always
  type: int
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
commands:
  description: The client commands of the last read (passwords masked).
  returned: always
  type: list
  elements: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import (
    CONNECTION_ARGUMENT_SPEC,
    CONNECTION_MUTUALLY_EXCLUSIVE,
    MySQLClient,
    resolve_connection,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova import (
    SERVICE_VERSIONS_SQL,
    compute_version_reached,
    rpc_pin_report,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import (
    WAIT_ARGUMENT_SPEC,
    WaitTimeout,
    wait_for,
)


def main():
    argument_spec = dict(
        compute_rpc_versions=dict(type='dict'),
        databases=dict(type='list', elements='str'),
        host=dict(type='str'),
        min_version=dict(type='int'),
    )
    argument_spec.update(CONNECTION_ARGUMENT_SPEC)
    argument_spec.update(WAIT_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec,
                           mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE,
                           required_by={'host': ('min_version',)},
                           supports_check_mode=True)
    params = module.params
    start = time.monotonic()
    runner = CommandRunner(module, timeout=60)
    result = dict(changed=False, commands=runner.commands, rpc_pin={}, attempts=0)
    try:
        conn = resolve_connection(params)
        databases = params['databases'] or [conn.get('database') or 'nova']
        with MySQLClient(module, runner, conn) as client:
            def probe():
                # Only the last read's commands are returned.
                del runner.commands[:]
                rows = []
                for database in databases:
                    rows.extend(client.query(SERVICE_VERSIONS_SQL, database=database))
                return rpc_pin_report(rows, params['compute_rpc_versions'])

            if params['min_version'] is not None:
                what = ('nova-compute on %s at service version %d or later' % (params['host'], params['min_version'])
                        if params['host'] else
                        'every nova-compute at service version %d or later' % params['min_version'])
                try:
                    waited = wait_for(probe, lambda r: compute_version_reached(r, params['min_version'], params['host']),
                                      params['timeout'], sleep=params['sleep'], delay=params['delay'], what=what,
                                      describe=describe_pin)
                except WaitTimeout as exc:
                    result['rpc_pin'], result['attempts'] = exc.state, exc.attempts
                    raise
                result['rpc_pin'], result['attempts'] = waited.state, waited.attempts
            else:
                result['rpc_pin'], result['attempts'] = probe(), 1
    except OpsError as exc:
        result['elapsed'] = round(time.monotonic() - start, 3)
        context = dict(exc.context)
        context.pop('state', None)
        result.update(context)
        module.fail_json(msg=exc.msg, **result)
    result['elapsed'] = round(time.monotonic() - start, 3)
    module.exit_json(**result)


def describe_pin(report):
    computes = ', '.join('%s %s%s' % (c['host'], c['version'], '' if c['counted'] else ' (not counted)')
                         for c in report.get('computes', []))
    return 'minimum nova-compute version %s; nova-compute services: %s' % (
        report.get('min_compute_version'), computes or 'none')


if __name__ == '__main__':
    main()
