# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one waiter of the collection.

Every poll (queue drained, service stopped, sessions gone, stacks settled,
online migrations finished) goes through :func:`wait_for`: a loop on a
monotonic clock with ``timeout``/``sleep``/``delay`` named as in
``ansible.builtin.wait_for``, a pure predicate, and a result carrying the
elapsed time and the last observed state. On timeout it raises
:class:`WaitTimeout` with that last state.
"""

from __future__ import annotations

import time

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError

# Module options shared by every module that waits; merge into argument_spec.
WAIT_ARGUMENT_SPEC = dict(
    timeout=dict(type='int', default=300),
    sleep=dict(type='int', default=2),
    delay=dict(type='int', default=0),
)


class WaitTimeout(OpsError):
    """The condition did not hold within the timeout; ``state`` is the last one seen."""

    def __init__(self, what, timeout, elapsed, state, attempts, describe=None):
        shown = describe(state) if describe else state
        msg = ('Timed out after %.1f seconds (timeout %s) waiting for %s; last observed state: %s'
               % (elapsed, timeout, what, shown))
        super().__init__(msg, elapsed=round(elapsed, 3), state=state, attempts=attempts)
        self.state = state
        self.elapsed = elapsed
        self.attempts = attempts


class WaitResult(object):
    __slots__ = ('elapsed', 'state', 'attempts')

    def __init__(self, elapsed, state, attempts):
        self.elapsed = round(elapsed, 3)
        self.state = state
        self.attempts = attempts


def wait_for(probe, predicate, timeout, sleep=2, delay=0, what='the condition',
             describe=None, clock=time.monotonic, sleeper=time.sleep):
    """Call ``probe()`` until ``predicate(state)`` is true or ``timeout`` passes.

    ``delay`` seconds are waited before the first probe; ``sleep`` between
    probes (never past the deadline). The probe runs at least once, and once
    more at the deadline, so a zero timeout is a single check. Returns a
    :class:`WaitResult`; raises :class:`WaitTimeout` with the last state.
    """
    start = clock()
    if delay:
        sleeper(delay)
    deadline = start + delay + max(timeout, 0)
    attempts = 0
    while True:
        state = probe()
        attempts += 1
        if predicate(state):
            return WaitResult(clock() - start, state, attempts)
        now = clock()
        if now >= deadline:
            raise WaitTimeout(what, timeout, now - start, state, attempts, describe)
        sleeper(max(0.0, min(sleep, deadline - now)))
