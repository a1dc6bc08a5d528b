#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: haproxy_server
short_description: Drain a server out of an HAProxy backend, wait for its sessions to end, put it back when healthy
version_added: 0.1.0
description:
  - Sets the administrative state of one server of an HAProxy backend through the admin socket
    (C(set server BACKEND/SERVER state ready|drain|maint)) and reports it, with its operational status and its
    current sessions.
  - A rolling upgrade takes a server out of the load balancer with O(state=drain) and O(wait_sessions=true), upgrades
    it, then puts it back with O(state=ready) and O(wait_healthy=true). O(state=present) changes nothing and asserts
    that HAProxy knows the backend and the server, so a pre-flight can refuse a wrong name before anything changes.
  - The state is read with two commands, because neither tells it all. C(show stat) gives the sessions and the status
    an operator sees (C(UP), C(DOWN), C(DRAIN), C(MAINT), C(no check), C(UP 1/2)). C(show servers state BACKEND) gives
    the administrative flags (C(srv_admin_state)) and the operational state. A drained server that is down reads
    C(DOWN) in C(show stat) and only its flags tell that it is drained.
  - Each command uses its own connection to the socket (HAProxy answers, then closes it).
author:
  - openstack_ops maintainers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.wait
attributes:
  check_mode:
    support: full
    details: Reads the server and predicts its administrative state without sending C(set server). A wait runs only
      when no change is predicted (the server already is in O(state)), because the state it waits for would not come.
  diff_mode:
    support: full
    details: The administrative state and flags of the server before and after.
  idempotent:
    support: full
    description: C(set server) is sent only when the server's forced flags differ from those O(state) asks for; a
      second run reports C(changed=false).
  platform:
    platforms: posix
options:
  backend:
    description:
      - Name of the backend (or C(listen) section), for example C(heat_api).
    type: str
    required: true
  fail_on_not_found:
    description:
      - Fail, before anything changes, when HAProxy has no such backend or no such server in it. The message lists the
        backends and servers that exist.
      - When false, an unknown backend or server gives RV(found=false) and nothing else happens.
    type: bool
    default: true
  server:
    description:
      - Name of the server in O(backend), as in the C(server) line of the configuration.
    type: str
    required: true
  socket:
    description:
      - The admin socket, declared in HAProxy's C(global) section as C(stats socket PATH level admin).
      - A path for a UNIX socket, for example C(/srv/openstack-lab/haproxy/admin.sock); or C(HOST:PORT)
        (C([IPV6]:PORT)) for a TCP one (C(stats socket ipv4@127.0.0.1:9999 level admin)).
      - A socket of a level below C(admin) can report (O(state=present)) but not change a server.
      - With the master-worker mode, the socket of the worker (C(stats socket)), not the master CLI.
    type: str
    required: true
  socket_timeout:
    description:
      - Seconds to wait for HAProxy's answer to one command.
    type: int
    default: 10
  state:
    description:
      - V(ready) puts the server in the load balancer (clears forced drain and forced maintenance).
      - V(drain) takes it out of load balancing; its current sessions go on, health checks go on, and only
        persistent connections (stickiness) may still reach it.
      - V(maint) takes it out entirely and stops its health checks; current sessions still go on.
      - V(present) changes nothing; the task fails (see O(fail_on_not_found)) if HAProxy does not know the server.
      - Flags that a module cannot clear (maintenance or drain inherited from a tracked server, maintenance after a
        failed name resolution) may keep the server in another state; the task then warns.
    type: str
    choices: [drain, maint, present, ready]
    default: present
  wait_healthy:
    description:
      - After O(state=ready) (or with O(state=present)), wait until the server's C(show stat) status is C(UP), a
        health check having passed since it came back. C(UP 1/2), which a server also reads just after leaving
        maintenance, is not enough. A server without health check (C(no check)) counts as healthy.
      - Not allowed with O(state=drain) or O(state=maint), where a server never reads C(UP).
      - See O(timeout), O(sleep), O(delay).
    type: bool
    default: false
  wait_sessions:
    description:
      - After O(state=drain) or O(state=maint) (or with O(state=present)), wait until the server has no current
        session (C(scur)) and no request queued for it (C(qcur)), so that its process can stop without cutting a
        request.
      - Not allowed with O(state=ready), where a server gets new sessions all the time.
      - See O(timeout), O(sleep), O(delay).
    type: bool
    default: false
notes:
  - B(Measured on HAProxy 2.6.12) (Debian 12). C(set server ... state drain) sets the flag C(FDRAIN) (0x08) and clears
    C(FMAINT) (0x01); C(maint) does the reverse; C(ready) clears both. A server declared C(disabled) reads C(FMAINT)
    and C(CMAINT) (0x05); once set ready it keeps C(CMAINT) alone and is in the load balancer again.
  - A long request in flight keeps C(scur) at 1 on a drained server until it ends; HAProxy does not cut it.
seealso:
  - name: HAProxy management guide, "set server" and "show servers state"
    description: The admin socket commands and the fields of their answers.
    link: https://docs.haproxy.org/2.6/management.html
'''

EXAMPLES = r'''
- name: Pre-flight - refuse a backend or server unknown to HAProxy
  openstack_ops.upgrade.haproxy_server:
    socket: /srv/openstack-lab/haproxy/admin.sock
    backend: heat_api
    server: "{{ inventory_hostname }}"
    state: present

- name: Take heat-api out of the load balancer and wait until its requests are done
  openstack_ops.upgrade.haproxy_server:
    socket: /srv/openstack-lab/haproxy/admin.sock
    backend: heat_api
    server: "{{ inventory_hostname }}"
    state: drain
    wait_sessions: true
    timeout: 120
    sleep: 1

- name: Put it back once upgraded, and wait until its health check passes
  openstack_ops.upgrade.haproxy_server:
    socket: /srv/openstack-lab/haproxy/admin.sock
    backend: heat_api
    server: "{{ inventory_hostname }}"
    state: ready
    wait_healthy: true
    timeout: 60

- name: Report a server through a TCP admin socket, without failing if it is unknown
  openstack_ops.upgrade.haproxy_server:
    socket: 127.0.0.1:9999
    backend: heat_api
    server: node4
    fail_on_not_found: false
  register: lb
'''

RETURN = r'''
after:
  description: The server after the task (after its wait, if any). In check mode, the administrative state is
    predicted and the rest is as read before. Null when the server was not found.
  returned: always
  type: dict
  contains:
    admin_bits:
      description: C(srv_admin_state) of C(show servers state), the administrative flags as a number.
      type: int
    admin_flags:
      description: Names of the administrative flags set (C(FMAINT), C(IMAINT), C(CMAINT), C(FDRAIN), C(IDRAIN),
        C(RMAINT), C(HMAINT)).
      type: list
      elements: str
    admin_state:
      description: C(ready), C(drain) or C(maint), reduced from the flags as HAProxy does.
      type: str
    check_status:
      description: Last health check result of C(show stat) (C(L7OK), C(L4CON), ...); null without health check.
      type: str
    operational_state:
      description: C(srv_op_state) as C(running), C(starting), C(stopping) or C(stopped).
      type: str
    qcur:
      description: Requests queued for the server.
      type: int
    scur:
      description: Current sessions on the server.
      type: int
    status:
      description: Status of C(show stat) (C(UP), C(DOWN), C(DRAIN), C(MAINT), C(no check), C(UP 1/2), ...).
      type: str
    weight:
      description: Effective weight of C(show stat).
      type: int
  sample:
    admin_bits: 8
    admin_flags: [FDRAIN]
    admin_state: drain
    check_status: L7OK
    operational_state: running
    qcur: 0
    scur: 0
    status: DRAIN
    weight: 1
attempts:
  description: Number of checks made by the wait that timed out.
  returned: when a wait timed out
  type: int
  sample: 31
backend:
  description: Name of the backend.
  returned: always
  type: str
  sample: heat_api
backends:
  description: The backends HAProxy has, each with its servers, when the backend or server was not found.
  returned: when not found
  type: dict
  sample: {heat_api: [node1, node2, node3]}
before:
  description: The server before the task, shaped like RV(after). Null when it was not found.
  returned: always
  type: dict
  sample:
    admin_bits: 0
    admin_flags: []
    admin_state: ready
    check_status: L7OK
    operational_state: running
    qcur: 0
    scur: 1
    status: UP
    weight: 1
changed:
  description: Whether the administrative state changed (in check mode, would change).
  returned: always
  type: bool
commands:
  description: The commands sent to the admin socket, in order of first use. Identical read-only commands (the checks
    of a wait) are listed once with their C(count); C(skipped) is true for a command that check mode did not send.
  returned: always
  type: list
  elements: dict
  sample:
    - {command: show stat, count: 4, skipped: false}
    - {command: show servers state heat_api, count: 4, skipped: false}
    - {command: set server heat_api/node1 state drain, count: 1, skipped: false}
elapsed:
  description: Seconds the task took, waiting included.
  returned: always
  type: float
  sample: 6.38
found:
  description: Whether HAProxy has the backend and the server.
  returned: always
  type: bool
  sample: true
server:
  description: Name of the server.
  returned: always
  type: str
  sample: node1
waiting_for:
  description: The wait that timed out (V(sessions) or V(healthy)); RV(after) is the last state it observed.
  returned: when a wait timed out
  type: str
  sample: sessions
waited:
  description: The waits that ran (V(sessions), V(healthy)); empty when none was asked for, or in check mode when a
    change was predicted.
  returned: always
  type: list
  elements: str
  sample: [sessions]
'''

import copy
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.haproxy import (
    AdminSocket,
    HAProxyNotFound,
    describe_view,
    healthy,
    needs_change,
    observe,
    predict_view,
    sessions_gone,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import (
    WAIT_ARGUMENT_SPEC,
    WaitTimeout,
    wait_for,
)

# wait option -> (name in RV(waited), predicate, what is awaited, states it goes with, why not others)
WAITS = (
    ('wait_sessions', 'sessions', sessions_gone, 'no session and no queued request', ('drain', 'maint', 'present'),
     'a server in the load balancer keeps getting new sessions'),
    ('wait_healthy', 'healthy', healthy, 'status UP', ('ready', 'present'),
     'a drained server reads DRAIN and one in maintenance MAINT, never UP'),
)


def argument_spec():
    spec = copy.deepcopy(WAIT_ARGUMENT_SPEC)
    spec.update(
        backend=dict(type='str', required=True),
        fail_on_not_found=dict(type='bool', default=True),
        server=dict(type='str', required=True),
        socket=dict(type='str', required=True),
        socket_timeout=dict(type='int', default=10),
        state=dict(type='str', default='present', choices=['drain', 'maint', 'present', 'ready']),
        wait_healthy=dict(type='bool', default=False),
        wait_sessions=dict(type='bool', default=False),
    )
    return spec


def check_options(p):
    for option, dummy, dummy, dummy, states, reason in WAITS:
        if p[option] and p['state'] not in states:
            raise OpsError('%s=true goes with state %s, not %s: %s.'
                           % (option, ', '.join(states), p['state'], reason))


def wait(client, p, name, predicate, what):
    target = '%s/%s' % (p['backend'], p['server'])
    try:
        return wait_for(lambda: observe(client, p['backend'], p['server']), predicate,
                        timeout=p['timeout'], sleep=p['sleep'], delay=p['delay'],
                        what='%s on HAProxy server %s' % (what, target), describe=describe_view).state
    except WaitTimeout as exc:
        raise OpsError(exc.msg, attempts=exc.attempts, after=exc.state, waiting_for=name)


def admin_diff(p, before, after):
    header = '%s/%s' % (p['backend'], p['server'])
    return {'before_header': header, 'after_header': header,
            'before': {'admin_state': before['admin_state'], 'admin_flags': before['admin_flags']},
            'after': {'admin_state': after['admin_state'], 'admin_flags': after['admin_flags']}}


def run(module, client, result):
    p = module.params
    check_options(p)
    try:
        before = observe(client, p['backend'], p['server'])
    except HAProxyNotFound as exc:
        if p['fail_on_not_found']:
            raise
        result.update(found=False, backends=exc.backends, msg=exc.msg)
        return result
    result.update(found=True, before=before, after=before)

    to_change = p['state'] != 'present' and needs_change(before, p['state'])
    if to_change:
        client.set_state(p['backend'], p['server'], p['state'])
        after = predict_view(before, p['state']) if module.check_mode else observe(client, p['backend'], p['server'])
    else:
        after = before
    result['changed'] = after['admin_bits'] != before['admin_bits']
    result['after'] = after

    if not (module.check_mode and to_change):
        for option, name, predicate, what, dummy, dummy in WAITS:
            if p[option]:
                after = result['after'] = wait(client, p, name, predicate, what)
                result['waited'].append(name)

    if p['state'] != 'present' and after['admin_state'] != p['state']:
        module.warn('HAProxy server %s/%s is %s, not %s, because of flags this module does not set: %s.'
                    % (p['backend'], p['server'], after['admin_state'], p['state'], ', '.join(after['admin_flags'])))
    if module._diff:
        result['diff'] = admin_diff(p, before, after)
    return result


def main():
    started = time.monotonic()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    result = dict(changed=False, backend=p['backend'], server=p['server'], found=False, before=None, after=None,
                  waited=[])
    try:
        client = AdminSocket(p['socket'], timeout=p['socket_timeout'], check_mode=module.check_mode)
    except OpsError as exc:
        fail_from(module, exc, commands=[], elapsed=round(time.monotonic() - started, 3), **result)
    try:
        result = run(module, client, result)
    except OpsError as exc:
        # run() fills result as it goes: a wait that times out after a change
        # still reports the change, and its last observed state as after
        fail_from(module, exc, commands=client.commands, elapsed=round(time.monotonic() - started, 3), **result)
    result['elapsed'] = round(time.monotonic() - started, 3)
    module.exit_json(commands=client.commands, **result)


if __name__ == '__main__':
    main()
