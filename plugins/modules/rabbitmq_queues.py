#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: rabbitmq_queues
short_description: Report RabbitMQ queue depths, wait until queues are drained, delete dead consumers' queues
version_added: 0.1.0
description:
  - Reports the queues of a RabbitMQ vhost with their depth (messages, messages ready,
    unacknowledged messages) and consumers, through the RabbitMQ management HTTP API.
  - With O(wait=drained) it waits until every selected queue holds no message and no
    unacknowledged message; with O(wait=no_consumers) until no selected queue has a consumer
    (nor unacknowledged messages, which only a live consumer holds).
    A Heat rolling upgrade waits for the old release's vhost to be drained before it stops
    the last old engine.
  - With O(delete_unused=true) it deletes the selected queues that have no consumer and hold
    nothing, such as the C(engine_worker.<id>) and C(heat-engine-listener.<id>) queues that
    dead engines leave behind.
  - Queues are selected by O(pattern) and O(exclude_pattern) (shell-style globs), then by the
    JMESPath O(query) if given.
author:
  - openstack_ops maintainers (!UNKNOWN)
requirements:
  - jmespath
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.rabbitmq
  - openstack_ops.upgrade.wait
attributes:
  check_mode:
    support: full
    details: Reports and waits as usual; with O(delete_unused=true) reports the queues it would
      delete without deleting them.
  diff_mode:
    support: full
    details: With O(delete_unused=true), the names of the selected queues before and after.
  idempotent:
    support: full
    description: Reporting and waiting never change anything; deleting unused queues changes
      nothing once they are gone.
  platform:
    platforms: posix
options:
  confirmations:
    description:
      - With O(wait), the number of consecutive checks, O(sleep) seconds apart, on which the
        condition must hold before the wait ends.
      - The depths read are real time, so one check tells the truth of that instant; a second
        one guards against the moment between an engine consuming a message and publishing its
        continuation, when a busy vhost can read empty.
    type: int
    default: 2
  delete_unused:
    description:
      - Delete the selected queues that have no consumer and hold no message (after the wait, if
        any). The server is asked to refuse a queue that has gained a consumer or a message in
        the meantime (C(if-unused), C(if-empty)); such a queue is kept and reported in a warning.
    type: bool
    default: false
  exclude_pattern:
    description:
      - Shell-style globs (see O(pattern)); queues whose name matches any of them are not selected.
    type: list
    elements: str
    default: []
  pattern:
    description:
      - Shell-style globs (Python C(fnmatch), case-sensitive) of the queue names to select; a queue
        is selected if it matches any of them. C(*) matches any characters, dots included, C(?)
        one character, C([...]) a set. C(engine_worker.*) selects every per-engine worker queue.
      - Not a regular expression; for anything a glob cannot say, use O(query).
    type: list
    elements: str
    default: ['*']
  query:
    description:
      - A JMESPath expression applied to the list of queues selected by O(pattern) and
        O(exclude_pattern), each shaped like an element of RV(queues). It must return a list of
        such queues, for example C([?consumers == `0`]) or C([?messages > `100`]).
      - Applied again on every check of a wait.
    type: str
  vhost:
    description:
      - Name of the vhost, for example C(heat-2025.2). The task fails if it does not exist.
    type: str
    required: true
    aliases: [name]
  wait:
    description:
      - C(drained) waits until every selected queue has 0 messages and 0 unacknowledged messages
        (a queue whose depth cannot be read never counts as drained).
      - C(no_consumers) waits until no selected queue has a consumer nor unacknowledged messages.
        Unacknowledged messages are held by a live channel and go back to ready the moment it
        closes; they are counted in real time, while a consumer that has just arrived shows in
        the API only at the next statistics tick (see the notes).
      - Not set, the task reports once and does not wait. See O(timeout), O(sleep), O(delay),
        O(confirmations).
    type: str
    choices: [drained, no_consumers]
notes:
  - B(Measured on RabbitMQ 3.10.8) with C(collect_statistics_interval) 5000 ms. The management
    API's default queue listing comes from the statistics database and lags behind. 5 messages
    published read as 0 for 5.5 s, and a purge still read as 5 messages for 2 s. With
    C(?disable_stats=true&enable_queue_totals=true) the counts come from the queues themselves
    and changed within 0.06 s of a publish, of deliveries to a consumer (unacknowledged) or of
    a purge. This module reads depths that way. Consumers are counted from
    C(/api/consumers/VHOST). A consumer that goes away disappears from it at once. One that
    arrives shows up only at the next statistics tick (1.9 s to 4 s measured). The default
    C(consumers) column lags both ways (2 s to 6 s for a consumer gone).
  - On a server that ignores C(enable_queue_totals) (RabbitMQ before 3.8), the sampled columns
    are read instead and RV(counters) says C(sampled); then rely on O(confirmations) and O(sleep)
    longer than the statistics interval.
  - An empty old vhost is not proof that the last old heat-engine may stop. A stopping engine can
    still post the next step of a chained stack to its vhost, where it would be lost. Also check
    that no stack is IN_PROGRESS on the old engines.
seealso:
  - module: openstack_ops.upgrade.rabbitmq_vhost
'''

EXAMPLES = r'''
- name: Report the depths of the old release's queues
  openstack_ops.upgrade.rabbitmq_queues:
    vhost: heat-2025.2
  register: old_queues

- name: Wait until the old vhost is drained before stopping the last old engine
  openstack_ops.upgrade.rabbitmq_queues:
    vhost: heat-2025.2
    wait: drained
    timeout: 600
    sleep: 5

- name: Wait until no old engine consumes from the old vhost any more
  openstack_ops.upgrade.rabbitmq_queues:
    vhost: heat-2025.2
    pattern:
      - engine
      - engine_worker
    wait: no_consumers
    timeout: 120

- name: Delete the queues that dead engines left behind
  openstack_ops.upgrade.rabbitmq_queues:
    vhost: heat-2026.1
    pattern:
      - engine_worker.*
      - heat-engine-listener.*
    delete_unused: true

- name: List the queues with more than 100 messages, except fanout and reply queues
  openstack_ops.upgrade.rabbitmq_queues:
    vhost: heat-2026.1
    exclude_pattern:
      - "*_fanout_*"
      - reply_*
    query: "[?messages > `100`]"
  register: deep
'''

RETURN = r'''
changed:
  description: Whether queues were deleted (or would be, in check mode).
  returned: always
  type: bool
counters:
  description: Where the depths came from - C(realtime) (the queues themselves) or C(sampled)
    (the statistics database, on servers without real-time totals).
  returned: always
  type: str
  sample: realtime
deleted:
  description: Names of the queues deleted (in check mode, that would be deleted).
  returned: always
  type: list
  elements: str
  sample: [engine_worker.3f1c0b7d-2c1e-4d6a-8f0e-6b5a4c3d2e10]
elapsed:
  description: Seconds the task took, waiting included.
  returned: always
  type: float
  sample: 4.12
queues:
  description: The selected queues as last observed (after a wait, the state that ended it),
    without the deleted ones, sorted by name. C(messages), C(messages_ready) and
    C(messages_unacknowledged) are null when the server could not tell.
  returned: always
  type: list
  elements: dict
  contains:
    consumers:
      description: Number of consumers.
      type: int
    messages:
      description: Messages in the queue, ready plus unacknowledged.
      type: int
    messages_ready:
      description: Messages ready for delivery.
      type: int
    messages_unacknowledged:
      description: Messages delivered to a consumer and not yet acknowledged.
      type: int
    name:
      description: Name of the queue.
      type: str
    state:
      description: State of the queue process, usually C(running).
      type: str
    type:
      description: Queue type (C(classic), C(quorum), C(stream)).
      type: str
  sample:
    - {consumers: 1, messages: 3, messages_ready: 1, messages_unacknowledged: 2,
       name: engine, state: running, type: classic}
requests:
  description: The HTTP requests made to the management API, in order (audit trail). Identical
    GETs (the checks of a wait) are listed once with their C(count); C(skipped) is true for a
    deletion that check mode did not send.
  returned: always
  type: list
  elements: dict
  sample:
    - {count: 3, method: GET, path: "/api/consumers/heat-2025.2?columns=queue.name",
       skipped: false, status: 200}
total_consumers:
  description: Consumers of the selected queues, added up.
  returned: always
  type: int
  sample: 3
total_messages:
  description: Messages in the selected queues, added up (unknown depths count 0).
  returned: always
  type: int
  sample: 5
total_unacknowledged:
  description: Unacknowledged messages in the selected queues, added up.
  returned: always
  type: int
  sample: 2
vhost:
  description: Name of the vhost.
  returned: always
  type: str
  sample: heat-2025.2
'''

import copy
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.rabbitmq import (
    RABBITMQ_ARGUMENT_SPEC,
    ManagementAPI,
    RabbitMQApiError,
    busy_queues,
    describe_queues,
    queue_totals,
    queues_in_use,
    select_queues,
    unused_queues,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import (
    WAIT_ARGUMENT_SPEC,
    WaitTimeout,
    wait_for,
)

# wait option -> (queues that keep the wait going, what is awaited)
CONDITIONS = {
    'drained': (busy_queues, 'every selected queue to hold 0 messages and 0 unacknowledged'),
    'no_consumers': (queues_in_use, 'no selected queue to have a consumer or unacknowledged messages'),
}


def argument_spec():
    spec = copy.deepcopy(RABBITMQ_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(WAIT_ARGUMENT_SPEC))
    spec.update(
        confirmations=dict(type='int', default=2),
        delete_unused=dict(type='bool', default=False),
        exclude_pattern=dict(type='list', elements='str', default=[]),
        pattern=dict(type='list', elements='str', default=['*']),
        query=dict(type='str'),
        vhost=dict(type='str', required=True, aliases=['name']),
        wait=dict(type='str', choices=['drained', 'no_consumers']),
    )
    return spec


class Observer(object):
    """Reads the selected queues; counts consecutive reads on which a wait's
    condition held (the ``streak``), so the waiter's predicate stays pure."""

    def __init__(self, api, params):
        self.api = api
        self.params = params
        self.counters = 'realtime'
        self.blocking = CONDITIONS[params['wait']][0] if params['wait'] else None
        self.streak = 0

    def selected(self):
        try:
            queues, self.counters = self.api.queues(self.params['vhost'])
        except RabbitMQApiError as exc:
            if exc.status == 404:
                raise OpsError('RabbitMQ vhost %s does not exist (management API at %s); check vhost.'
                               % (self.params['vhost'], self.api.shown_url), vhost=self.params['vhost'])
            raise
        return select_queues(queues, self.params['pattern'], self.params['exclude_pattern'],
                             self.params['query'])

    def probe(self):
        queues = self.selected()
        blocking = self.blocking(queues)
        self.streak = 0 if blocking else self.streak + 1
        return {'queues': queues, 'blocking': blocking, 'streak': self.streak}


def wait(observer, p):
    confirmations = max(1, p['confirmations'])
    what = CONDITIONS[p['wait']][1] + ' in vhost %s' % p['vhost']
    if confirmations > 1:
        what += ' on %d consecutive checks' % confirmations
    try:
        return wait_for(observer.probe, lambda s: s['streak'] >= confirmations,
                        timeout=p['timeout'], sleep=p['sleep'], delay=p['delay'], what=what,
                        describe=lambda s: describe_queues(s['blocking']) if s['blocking']
                        else 'condition held on %d of %d checks' % (s['streak'], confirmations)).state
    except WaitTimeout as exc:
        queues = exc.state['queues']
        raise OpsError(exc.msg, elapsed=exc.context['elapsed'], attempts=exc.attempts, queues=queues,
                       blocking=exc.state['blocking'], **queue_totals(queues))


def delete_unused(module, api, vhost, queues):
    """Delete the unused ones of ``queues``; returns the names deleted."""
    deleted = []
    for queue in unused_queues(queues):
        try:
            api.delete_queue(vhost, queue['name'], if_unused=True, if_empty=True)
        except RabbitMQApiError as exc:
            if exc.status == 404:
                continue  # gone already, not by this task
            if exc.status != 400:
                raise
            module.warn('Kept queue %s of vhost %s: %s' % (queue['name'], vhost, exc.reason))
            continue
        deleted.append(queue['name'])
    return deleted


def run(module, api, started):
    p = module.params
    observer = Observer(api, p)
    if p['wait']:
        queues = wait(observer, p)['queues']
    else:
        queues = observer.selected()
    before = [q['name'] for q in queues]
    deleted = []  # changed is whether this task deleted queues, not whether others came or went
    if p['delete_unused']:
        deleted = delete_unused(module, api, p['vhost'], queues)
        if deleted and not module.check_mode:
            queues = observer.selected()
        else:
            queues = [q for q in queues if q['name'] not in deleted]
    after = [q['name'] for q in queues]
    result = dict(vhost=p['vhost'], queues=queues, deleted=deleted, counters=observer.counters,
                  changed=bool(deleted))
    result.update(queue_totals(queues))
    if module._diff and p['delete_unused']:
        result['diff'] = {'before': {'queues': before}, 'after': {'queues': after}}
    result['elapsed'] = round(time.monotonic() - started, 3)
    return result


def main():
    started = time.monotonic()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    api = ManagementAPI.from_module(module)
    try:
        result = run(module, api, started)
    except OpsError as exc:
        fail_from(module, exc, vhost=module.params['vhost'], requests=api.requests,
                  elapsed=round(time.monotonic() - started, 3))
    module.exit_json(requests=api.requests, **result)


if __name__ == '__main__':
    main()
