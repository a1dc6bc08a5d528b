#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
module: heat_stacks
short_description: List Heat stacks in progress and the engines that own them, or wait until none is
version_added: 0.1.0
description:
  - Reads Heat's database (read-only) for stacks whose status is C(IN_PROGRESS) and not deleted
    (C(stack.deleted_at IS NULL)), and for each the engines working on it. A legacy stack is owned by
    the engine in C(stack_lock); a convergence stack by the engines in C(resource.engine_id) of its
    resources. Engines come from the C(service) table with their host and whether they are alive
    (updated within twice their C(report_interval), as C(heat-manage service list) decides).
  - Before the last old heat-engine stops, no stack may be in progress on old engines, or its next step
    can be lost with the old engines' queues. With I(engine_ids) or I(engine_hosts) the list is limited
    to stacks on those engines; with I(wait=none_in_progress) the task waits until that list is empty.
  - A convergence stack between two steps has no engine at all (its next step is a message in a queue).
    Such stacks are listed even when filtering, unless I(include_unowned=false).
  - Works with the schema of heat 25.0 to 27.0 (the columns read did not change between them).
options:
  config_file:
    description:
      - Heat's configuration file (for example C(/etc/heat/heat.conf)); its C([database] connection)
        gives the connection. Mutually exclusive with I(database_url).
    type: path
  database:
    description:
      - Heat's database. Defaults to the database of I(database_url) or I(config_file), else C(heat).
    type: str
  database_url:
    description:
      - SQLAlchemy URL of Heat's database, for example C(mysql+pymysql://heat:secret@127.0.0.1/heat).
    type: str
  engine_hosts:
    description:
      - Only stacks owned by engines on these hosts (the C(host) or C(hostname) of the C(service) row).
    type: list
    elements: str
  engine_ids:
    description:
      - Only stacks owned by these engine ids.
    type: list
    elements: str
  include_unowned:
    description:
      - When filtering by engine, also list stacks in progress that no engine owns right now.
    type: bool
    default: true
  stack_ids:
    description:
      - Only these stacks. A rolling upgrade lists the stacks in progress when the last heat-api moved
        to the new release, then waits for exactly those, while new stacks keep arriving on new engines.
    type: list
    elements: str
  stale_after:
    description:
      - Seconds. A stack in progress that no live engine works on and that had no event for this long is
        reported with C(stale=true), stuck already (its next step was lost) with nothing to finish it. Make
        it longer than the longest resource of the cloud.
    type: int
  ignore_stale:
    description:
      - Leave the stacks that are C(stale) by I(stale_after) out of the report and out of the wait.
    type: bool
    default: false
  wait:
    description:
      - C(none_in_progress) polls until no (selected) stack is in progress, within I(timeout).
      - C(engine_alive) polls until an engine selected by I(engine_hosts) or I(engine_ids) is alive, for
        example after starting a new heat-engine. An engine writes its C(service) row when it starts.
      - Without it the state is read once.
    type: str
    choices: [engine_alive, none_in_progress]
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
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Show stacks in progress and their engines
  openstack_ops.upgrade.heat_stacks:
    config_file: /etc/heat/heat.conf
  register: heat_in_flight

- name: Wait until no stack is in progress on the old engines before stopping the last of them
  openstack_ops.upgrade.heat_stacks:
    database_url: "{{ heat_database_url }}"
    engine_hosts: "{{ groups['heat_nodes'] | difference(upgraded_hosts) }}"
    wait: none_in_progress
    timeout: 900
    sleep: 5

- name: Refuse to go on while a stack is owned by a dead engine
  ansible.builtin.assert:
    that: heat_in_flight.in_progress | selectattr('owned') | rejectattr('owner_alive') | list | length == 0
'''

RETURN = r'''
attempts:
  description: How many times the database was read.
  returned: always
  type: int
  sample: 1
changed:
  description: Always false.
  returned: always
  type: bool
commands:
  description: The client commands of the last poll (no password in them).
  returned: always
  type: list
  elements: dict
count:
  description: Number of stacks in C(in_progress).
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds spent, including waiting.
  returned: always
  type: float
  sample: 0.12
engines:
  description:
    - Live engines, and every engine that owns a listed stack (even stopped or unknown ones).
    - C(selected) says whether it matches I(engine_ids)/I(engine_hosts); C(stacks) how many listed stacks it owns.
  returned: always
  type: list
  elements: dict
  sample: [{engine_id: 8d1b4a6e-0d3c-4f0e-9a51-5b7f4b0d2b11, host: node1, hostname: node1, binary: heat-engine,
            alive: true, deleted: false, updated_at: '2026-11-22 14:10:02', age_seconds: 12, report_interval: 60,
            stacks: 1, selected: true}]
in_progress:
  description:
    - Stacks in progress (filtered), oldest first, with the engines that own them.
    - C(stuck) is true when engines own the stack and none of them is alive, so nothing will finish it.
    - C(idle_seconds) is the time since the stack's last event (heat writes one at every resource state
      change) or its own last change, by the database's clock. A convergence stack that no live engine
      owns and that stays idle far longer than its longest resource has lost its next step (a message
      that will never come).
    - C(stale) is true when I(stale_after) is given and such a stack has been idle at least that long.
  returned: always
  type: list
  elements: dict
  sample: [{id: 5c3f0c1e-0d2b-4a53-8f5e-cc5f0a3f7f10, name: chain, action: CREATE, status: IN_PROGRESS,
            stack_status: CREATE_IN_PROGRESS, convergence: true, current_traversal: 3c1e..., owner_id: null,
            nested_depth: 0, tenant: admin, backup: false, created_at: '2026-11-22 14:09:50', updated_at: null,
            idle_seconds: 4, stale: false,
            engines: [{engine_id: 8d1b4a6e-0d3c-4f0e-9a51-5b7f4b0d2b11, host: node1, alive: true, source: resource}],
            owned: true, owner_alive: true, stuck: false}]
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.heat import (
    describe,
    describe_engines,
    read_report,
    selected_alive,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import (
    CONNECTION_ARGUMENT_SPEC,
    CONNECTION_MUTUALLY_EXCLUSIVE,
    MySQLClient,
    resolve_connection,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import (
    WAIT_ARGUMENT_SPEC,
    WaitTimeout,
    wait_for,
)


def _none_in_progress(report):
    return report['count'] == 0


def _engine_alive(report):
    return bool(selected_alive(report))


def main():
    argument_spec = dict(
        database=dict(type='str'),
        engine_hosts=dict(type='list', elements='str'),
        engine_ids=dict(type='list', elements='str'),
        include_unowned=dict(type='bool', default=True),
        stack_ids=dict(type='list', elements='str'),
        stale_after=dict(type='int'),
        ignore_stale=dict(type='bool', default=False),
        wait=dict(type='str', choices=['engine_alive', 'none_in_progress']),
    )
    argument_spec.update(CONNECTION_ARGUMENT_SPEC)
    argument_spec.update(WAIT_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec,
                           mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE,
                           required_if=[('wait', 'engine_alive', ('engine_hosts', 'engine_ids'), True),
                                        ('ignore_stale', True, ('stale_after',))],
                           supports_check_mode=True)
    params = module.params
    start = time.monotonic()
    # Each query is bounded on its own; `timeout` is the wait's budget.
    runner = CommandRunner(module, timeout=60)
    result = dict(changed=False, commands=runner.commands, in_progress=[], engines=[], count=0, attempts=0)
    try:
        conn = resolve_connection(params)
        database = params['database'] or conn.get('database') or 'heat'
        with MySQLClient(module, runner, conn) as client:
            def probe():
                # Only the last poll's commands are returned: a long wait
                # would otherwise flood the output with repeated queries.
                del runner.commands[:]
                return read_report(client, database, params['engine_ids'], params['engine_hosts'],
                                   params['include_unowned'], params['stack_ids'],
                                   params['stale_after'], params['ignore_stale'])

            if params['wait']:
                if params['wait'] == 'none_in_progress':
                    predicate, what, shown = (_none_in_progress,
                                              'no Heat stack in progress on the selected engines', describe)
                else:
                    predicate, what, shown = (_engine_alive,
                                              'a live heat-engine on %s' % ', '.join(
                                                  (params['engine_hosts'] or []) + (params['engine_ids'] or [])),
                                              describe_engines)
                try:
                    waited = wait_for(probe, predicate, params['timeout'],
                                      sleep=params['sleep'], delay=params['delay'],
                                      what=what, describe=shown)
                except WaitTimeout as exc:
                    result.update(exc.state)
                    result['attempts'] = exc.attempts
                    raise
                report, result['attempts'] = waited.state, waited.attempts
            else:
                report, result['attempts'] = probe(), 1
            result.update(report)
    except OpsError as exc:
        result['elapsed'] = round(time.monotonic() - start, 3)
        # A wait timeout's context repeats the last report as "state"; it is
        # already spread into the result.
        context = dict(exc.context)
        context.pop('state', None)
        result.update(context)
        module.fail_json(msg=exc.msg, **result)
    result['elapsed'] = round(time.monotonic() - start, 3)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
