#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: openstack_service
short_description: Stop, start, restart or report OpenStack services, waiting until their processes are really gone
version_added: 0.1.0
description:
  - Acts on services named exactly or by glob (C(openstack-nova-*), C(heat-engine*)), one after the other, in the
    order given or in reverse.
  - Works with SysV init (Debian's C(service) wrapper over the scripts in C(/etc/init.d), or the script itself when
    C(service) is absent) and with systemd (C(systemctl)). O(init_system=auto) picks systemd when
    C(/run/systemd/system) exists, SysV otherwise.
  - A stop is finished only when the service's processes are gone, not when its init script returns or its status
    says stopped. The processes are those the init system names when the module starts (the pid file the init script
    declares, or C(MainPID) and the control group of a systemd unit), optionally those whose command line matches
    O(pattern), their descendants and the members of the session or process group they made when daemonizing.
  - Past O(graceful_timeout) the task fails with the remaining processes in the message; with O(escalate=true) they
    get SIGKILL instead.
  - A start is finished when the service's status says running (within O(timeout)); a status of dead or failed fails
    the task at once.
  - Systemd support is covered by unit tests over captured C(systemctl) output only; the machines this collection is
    developed on do not boot with systemd. SysV support is tested against real init scripts.
options:
  escalate:
    description:
      - Send SIGKILL to the service's remaining processes when they are still there O(graceful_timeout) seconds after
        the stop command (for systemd, C(systemctl kill --kill-who=all --signal=SIGKILL) first).
      - After SIGKILL a SysV script's stop action runs once more, so that it can remove its pid file.
      - When false such a stop fails and names the remaining processes.
    type: bool
    default: false
  graceful_timeout:
    description:
      - Seconds, counted from the stop command, that the service's processes get to exit after the stop command.
      - Also bounds the stop command itself.
    type: int
    default: 90
  init_system:
    description:
      - Init system to use. V(auto) chooses V(systemd) when C(/run/systemd/system) exists, V(sysv) otherwise.
    type: str
    choices: [auto, systemd, sysv]
    default: auto
  missing:
    description:
      - What to do when an exact name is not a service or a glob matches no service.
      - V(error) fails before anything is changed; V(ignore) skips them (they are reported with state V(absent)).
    type: str
    choices: [error, ignore]
    default: error
  name:
    description:
      - Services to act on, exact names or shell globs (C(*), C(?), C([...])).
      - For SysV these are script names in C(/etc/init.d); for systemd unit names, with or without C(.service).
      - The order is kept; a glob expands to its matches sorted by name; a service named twice is acted on once.
    type: list
    elements: str
    required: true
  order:
    description:
      - V(as_given) acts in the order of O(name); V(reverse) in the reverse of the expanded list (the usual order for
        stopping what was started as given).
    type: str
    choices: [as_given, reverse]
    default: as_given
  pattern:
    description:
      - Python regular expression searched in the command lines of all processes; matches count as processes of every
        service in O(name), in addition to those the init system names.
      - Use it when an init script declares no pid file, or to catch workers that outlive their parent. Give one task
        per service when the patterns differ.
      - The module's own process and its ancestors never match.
    type: str
  state:
    description:
      - V(started) starts the services that are not running.
      - V(stopped) stops the services that are running or still have processes.
      - V(restarted) stops (as V(stopped) does, waiting and escalating) and starts every service; it always reports a
        change.
      - V(status) only reports.
    type: str
    choices: [started, stopped, restarted, status]
    default: status
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.wait
attributes:
  check_mode:
    support: full
    details: Reads the states and processes, runs no start or stop command and reports the predicted states.
  diff_mode:
    support: full
    details: Shows each service's state before and after.
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: partial
    details: V(started), V(stopped) and V(status) act only on services not already in the requested state;
      V(restarted) always restarts.
  platform:
    support: full
    platforms: posix
notes:
  - O(timeout) bounds the start command and the wait for running; O(graceful_timeout) bounds the stop command and
    the wait for the processes to go; O(sleep) and O(delay) apply to both waits.
  - Start and stop commands are run with C(LANG=C) through the collection's command helper and are listed in
    RV(commands); status polls while a stop waits read C(/proc) and do not run commands until the processes are gone.
  - C(invoke-rc.d) is never used; a C(policy-rc.d) can make it exit 0 having done nothing.
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Stop the Heat services of this node, the engine last, killing what hangs after 2 minutes
  openstack_ops.upgrade.openstack_service:
    name:
      - "osl-{{ inventory_hostname }}-heat-api"
      - "osl-{{ inventory_hostname }}-heat-engine"
    state: stopped
    graceful_timeout: 120
    escalate: true

- name: Stop every Nova service (RDO units), in reverse name order
  openstack_ops.upgrade.openstack_service:
    name: openstack-nova-*
    state: stopped
    order: reverse
    init_system: systemd

- name: Start the Heat services again and wait until they say running
  openstack_ops.upgrade.openstack_service:
    name:
      - "osl-{{ inventory_hostname }}-heat-engine"
      - "osl-{{ inventory_hostname }}-heat-api"
    state: started
    timeout: 120

- name: Restart heat-engine, also counting workers that outlive their parent
  openstack_ops.upgrade.openstack_service:
    name: "osl-{{ inventory_hostname }}-heat-engine"
    state: restarted
    pattern: "heat-engine .*--config-file /srv/openstack-lab/nodes/{{ inventory_hostname }}/"

- name: Report the states of all lab services
  openstack_ops.upgrade.openstack_service:
    name: osl-*
    state: status
  register: lab_services

- name: Show which of them run
  ansible.builtin.debug:
    msg: "{{ lab_services.services | selectattr('after', 'equalto', 'running') | map(attribute='name') }}"
'''

RETURN = r'''
commands:
  description: The commands run (status, start, stop, kill), in order, with rc, elapsed seconds and whether check
    mode skipped them.
  returned: always
  type: list
  elements: dict
  sample: [{"cmd": ["/usr/sbin/service", "osl-node1-heat-engine", "stop"], "rc": 0, "elapsed": 0.041, "skipped": false}]
init_system:
  description: The init system used.
  returned: always
  type: str
  sample: sysv
services:
  description: One entry per service acted on or reported, in the order they were handled.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: What was done (or would be done in check mode) - V(none), V(start), V(stop) or V(restart).
      type: str
      sample: stop
    after:
      description: State after the action (predicted in check mode) - V(running), V(stopped), V(failed),
        V(starting), V(stopping), V(unknown) or V(absent).
      type: str
      sample: stopped
    before:
      description: State before the action, same values as RV(services[].after).
      type: str
      sample: running
    detail:
      description: Last status seen, e.g. C(rc 3 - osl-node1-heat-engine is not running ... failed!) or the
        systemd C(LoadState), C(ActiveState) and C(SubState).
      type: str
      sample: "rc 0: osl-node1-heat-engine is running."
    elapsed:
      description: Seconds spent on this service.
      type: float
      sample: 4.52
    escalated:
      description: Whether remaining processes had to be killed with SIGKILL.
      type: bool
      sample: false
    killed:
      description: Pids that got SIGKILL.
      type: list
      elements: int
      sample: []
    name:
      description: Service name (systemd units with their suffix).
      type: str
      sample: osl-node1-heat-engine
    pids_after:
      description: Processes of the service after the action (empty when predicted by check mode for a stop).
      type: list
      elements: int
      sample: []
    pids_before:
      description: Processes of the service before the action.
      type: list
      elements: int
      sample: [24511, 24519]
'''

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.initsystem import (
    ABSENT,
    DOWN_STATES,
    RUNNING,
    STOPPED,
    UNKNOWN,
    ServiceManager,
    Systemd,
    SysVInit,
    detect_init_system,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import WAIT_ARGUMENT_SPEC


def argument_spec():
    spec = dict(
        name=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='status', choices=['started', 'stopped', 'restarted', 'status']),
        init_system=dict(type='str', default='auto', choices=['auto', 'systemd', 'sysv']),
        order=dict(type='str', default='as_given', choices=['as_given', 'reverse']),
        graceful_timeout=dict(type='int', default=90),
        escalate=dict(type='bool', default=False),
        missing=dict(type='str', default='error', choices=['error', 'ignore']),
        pattern=dict(type='str'),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    return spec


def decide(state, before):
    """The action that brings a service from ``before`` (an Observation) to ``state``."""
    if state == 'status' or before.state == ABSENT:
        return 'none'
    if state == 'started':
        return 'none' if before.state == RUNNING else 'start'
    down = before.state in DOWN_STATES and not before.pids
    if state == 'stopped':
        return 'none' if down else 'stop'
    return 'start' if down else 'restart'


def predict(action, before):
    """State and pids after ``action`` in check mode."""
    if action == 'none':
        return before.state, before.pids
    if action == 'stop':
        return STOPPED, []
    return RUNNING, []


def handle(module, manager, name, params, services):
    """Act on one service; its entry is appended to ``services`` before acting."""
    started = time.monotonic()
    tracked = {}
    before = manager.observe(name, tracked)
    action = decide(params['state'], before)
    entry = dict(name=name, action=action, before=before.state, pids_before=before.pids,
                 escalated=False, killed=[], detail=before.detail, after=UNKNOWN, pids_after=[])
    services.append(entry)
    if action in ('stop', 'restart') and not before.pids:
        module.warn('No process of %s is known (no pid file found, no pattern match): its stop is confirmed by '
                    'its status only. Give pattern to wait for its processes.' % name)
    if module.check_mode or action == 'none':
        # The runner records these as skipped: the audit trail shows what would run.
        if action in ('stop', 'restart'):
            manager.backend.stop(name, timeout=params['graceful_timeout'])
        if action in ('start', 'restart'):
            manager.backend.start(name, timeout=params['timeout'])
        entry['after'], entry['pids_after'] = predict(action, before)
    else:
        try:
            act(manager, name, action, params, entry, tracked)
        except OpsError as exc:
            # Report what was last seen of the service that failed.
            last = exc.context.get('last_state') or {}
            entry.update(after=last.get('state', UNKNOWN), pids_after=last.get('pids', []),
                         detail=last.get('detail', exc.msg), killed=exc.context.get('killed', []),
                         escalated=bool(exc.context.get('killed')),
                         elapsed=round(time.monotonic() - started, 3))
            raise
    entry['elapsed'] = round(time.monotonic() - started, 3)


def act(manager, name, action, params, entry, tracked):
    after = None
    if action in ('stop', 'restart'):
        after, killed = manager.stop(name, params['graceful_timeout'], params['escalate'], tracked)
        entry.update(escalated=bool(killed), killed=killed)
    if action in ('start', 'restart'):
        after = manager.start(name, params['timeout'])
    entry.update(after=after.state, pids_after=after.pids, detail=after.detail)


def is_change(entry):
    if entry['action'] == 'restart':
        return True
    return (entry['before'], entry['pids_before']) != (entry['after'], entry['pids_after'])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = dict(module.params)
    runner = CommandRunner(module)
    init_system = params['init_system']
    if init_system == 'auto':
        init_system = detect_init_system()
    result = dict(changed=False, commands=runner.commands, init_system=init_system, services=[])

    for key in ('graceful_timeout', 'timeout', 'sleep', 'delay'):
        if params[key] < 0:
            module.fail_json(msg='%s must be 0 or more, got %s.' % (key, params[key]), **result)
    backend = Systemd(runner) if init_system == 'systemd' else SysVInit(runner)
    try:
        manager = ServiceManager(backend, pattern=params['pattern'], sleep=params['sleep'],
                                 delay=params['delay'], own_pid=os.getpid())
    except re.error as exc:
        module.fail_json(msg='pattern %r is not a valid regular expression: %s' % (params['pattern'], exc), **result)

    try:
        names, absent = manager.resolve(params['name'], params['missing'])
        if params['order'] == 'reverse':
            names.reverse()
        for name in names:
            if name in absent:
                result['services'].append(dict(
                    name=name, action='none', before=ABSENT, after=ABSENT, pids_before=[], pids_after=[],
                    detail='not found', escalated=False, killed=[], elapsed=0.0))
                continue
            handle(module, manager, name, params, result['services'])
    except OpsError as exc:
        result['changed'] = any(is_change(entry) for entry in result['services'])
        result.update(exc.context)
        module.fail_json(msg=exc.msg, **result)

    result['changed'] = any(is_change(entry) for entry in result['services'])
    if module._diff:
        result['diff'] = dict(
            before=dict((entry['name'], entry['before']) for entry in result['services']),
            after=dict((entry['name'], entry['after']) for entry in result['services']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
