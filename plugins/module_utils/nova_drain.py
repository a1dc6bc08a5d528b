# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Emptying a compute host: live migrations, a few at a time, through the one waiter.

:class:`Drain` keeps up to ``concurrency`` live migrations in flight. Each
check of the wait (its ``probe``) lists the instances still on the host,
settles the migrations in flight and starts new ones in the free places.

- An instance in flight that has left the host's listing has moved, but the
  source still cleans up after the destination took it over (console tokens,
  the placement allocation, then the migration record becomes
  ``completed``): the migration counts as done when its record is final, so
  that nova-compute on the emptied host is not stopped in the middle of that.
  One ``GET /servers/{id}`` then tells where the instance went.
- An instance in flight still on the host with no task and not MIGRATING has
  failed: nova sets ``task_state = migrating`` before it answers 202 to
  ``os-migrateLive`` and clears it when the migration ends, and a failed
  migration rolls the instance back to the source. Its reason is read from
  the migration record and the failed events of the instance action (the
  traceback's last line, shown to admins), and the server's fault.
- After the first failure no new migration starts (a failure is usually the
  scheduler finding no host, or a network problem, and would repeat); those
  in flight are waited for, then :class:`DrainFailed` lists every instance
  that did not move. The compute service is left disabled.
- An instance that arrives on the host meanwhile (a migration to it started
  before it was disabled) is moved too once it has settled.
"""

from __future__ import annotations

import time

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova import (
    FINAL_MIGRATION_STATUSES,
    describe_instances,
    failed_events,
    failure_reason,
    latest_action,
    latest_live_migration,
    refusal_reason,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import OpenStackApiError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import WaitTimeout, wait_for


class DrainFailed(OpsError):
    """The host could not be emptied; ``migrations`` and ``instances_after`` say what is left."""


def planned_migrations(host, servers):
    """The migrations a drain would start (check mode)."""
    return [{'id': s['id'], 'name': s['name'], 'from': host, 'to': None, 'status': 'planned', 'elapsed': 0.0}
            for s in servers]


def drained(state):
    """The waiter's predicate: nothing in flight, and either the host is empty or the drain stopped
    after a failure (nothing more will move)."""
    if state['in_flight']:
        return False
    return state['stopped'] or (not state['pending'] and not state['on_host'])


def describe_state(state):
    """The last state of a drain for a timeout message."""
    parts = ['%d migration(s) in flight: %s' % (len(state['in_flight']), ', '.join(state['in_flight']) or 'none'),
             '%d waiting to start' % len(state['pending'])]
    unsettled = [i for i in state['on_host_detail'] if i.get('reason')]
    if unsettled:
        parts.append('not movable yet: ' + describe_instances(unsettled))
    return '; '.join(parts)


class Drain(object):
    """Live-migrates every instance off ``host``, ``concurrency`` at a time."""

    def __init__(self, client, host, servers, concurrency=1, clock=time.monotonic):
        self.client = client
        self.host = host
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self.pending = list(servers)
        self.on_host = list(servers)
        self.records = {}
        self.order = []
        self.in_flight = {}
        self.stopped = False
        self.warnings = []

    # -- one check

    def probe(self):
        listed = self.client.servers_on_host(self.host)
        by_id = dict((s['id'], s) for s in listed)
        for server_id in list(self.in_flight):
            server = by_id.get(server_id)
            if server is None:
                if self._finished(server_id):
                    self._moved(server_id)
            elif server['status'] == 'ERROR' or (not server['task_state'] and server['status'] != 'MIGRATING'):
                self._failed(server_id, server)
        known = set(self.records) | set(s['id'] for s in self.pending)
        for server in listed:
            if server['id'] not in known and refusal_reason(server) is None:
                self.pending.append(server)
        while self.pending and not self.stopped and len(self.in_flight) < self.concurrency:
            self._start(self.pending.pop(0))
        self.on_host = listed
        return self.state()

    def state(self):
        return {
            'in_flight': [self.records[i]['name'] or i for i in self.order if i in self.in_flight],
            'pending': [s['id'] for s in self.pending],
            'on_host': [s['id'] for s in self.on_host],
            'on_host_detail': [dict(id=s['id'], name=s['name'], reason=refusal_reason(s)) for s in self.on_host
                               if s['id'] not in self.in_flight],
            'stopped': self.stopped,
        }

    def _start(self, server):
        record = {'id': server['id'], 'name': server['name'], 'from': self.host, 'to': None,
                  'status': 'running', 'elapsed': 0.0}
        self.records[server['id']] = record
        self.order.append(server['id'])
        try:
            self.client.live_migrate(server['id'])
        except OpenStackApiError as exc:
            record.update(status='failed', reason=failure_reason(server, api_message=exc.api_message))
            self.stopped = True
            return
        self.in_flight[server['id']] = self.clock()

    def _elapsed(self, server_id):
        return round(self.clock() - self.in_flight.pop(server_id), 1)

    def _finished(self, server_id):
        try:
            migration = latest_live_migration(self.client.migrations(server_id))
        except OpenStackApiError:
            return True  # the record cannot be read here: the host's listing has to do
        return migration is None or migration['status'] in FINAL_MIGRATION_STATUSES

    def _moved(self, server_id):
        record = self.records[server_id]
        record['elapsed'] = self._elapsed(server_id)
        server = self.client.server(server_id)
        if server is None:
            record['status'] = 'deleted'
            return
        record.update(status='completed', to=server['host'])
        if server['status'] == 'ERROR':
            self.warnings.append('Instance %s (%s) moved to %s but is in ERROR there: %s'
                                 % (record['name'], server_id, server['host'], server.get('fault') or 'no fault'))

    def _failed(self, server_id, server):
        record = self.records[server_id]
        record.update(status='failed', elapsed=self._elapsed(server_id), reason=self.explain(server))
        self.stopped = True

    def explain(self, server):
        """Why the live migration of ``server`` failed, from what nova recorded (best effort:
        a record the user may not read is left out)."""
        migration = events = None
        try:
            migration = latest_live_migration(self.client.migrations(server['id']))
        except OpenStackApiError:
            pass
        try:
            request_id = latest_action(self.client.instance_actions(server['id']))
            if request_id:
                events = failed_events(self.client.instance_action(server['id'], request_id))
        except OpenStackApiError:
            pass
        return failure_reason(server, migration, events)

    # -- the whole drain

    def migrations(self):
        """Every migration record, in start order, then the instances never started."""
        records = [self.records[i] for i in self.order]
        started = set(self.order)
        records.extend({'id': s['id'], 'name': s['name'], 'from': self.host, 'to': None,
                        'status': 'not_started', 'elapsed': 0.0}
                       for s in self.pending if s['id'] not in started)
        return records

    def run(self, timeout, sleep=2, delay=0, sleeper=time.sleep):
        """Empty the host or raise DrainFailed; returns the migration records."""
        try:
            wait_for(self.probe, drained, timeout=timeout, sleep=sleep, delay=delay,
                     what='host %s to have no instance' % self.host, describe=describe_state,
                     clock=self.clock, sleeper=sleeper)
        except WaitTimeout as exc:
            for server_id in list(self.in_flight):
                self.records[server_id].update(status='timed_out', elapsed=self._elapsed(server_id))
            raise DrainFailed(
                '%s. The migrations in flight go on in nova; the compute service of %s stays disabled. '
                'Run the task again (with a longer timeout) once they have ended.' % (exc.msg, self.host),
                migrations=self.migrations(), instances_after=self.on_host, attempts=exc.attempts)
        if self.stopped or self.on_host:
            failed = [r for r in self.migrations() if r['status'] != 'completed' and r['status'] != 'deleted']
            failed_text = describe_instances([r for r in failed if r.get('reason')])
            not_started = [r for r in failed if r['status'] == 'not_started']
            msg = ('Could not empty compute host %s: live migration failed for %s.'
                   % (self.host, failed_text.rstrip('.')))
            if not_started:
                msg += ' Not started after that failure: %s.' % describe_instances(not_started)
            msg += (' %d instance(s) remain on the host; its compute service stays disabled. Fix the cause '
                    'and run the task again.' % len(self.on_host))
            raise DrainFailed(msg, migrations=self.migrations(), instances_after=self.on_host)
        return self.migrations()
