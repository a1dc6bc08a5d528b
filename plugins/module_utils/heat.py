# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which Heat stacks are in progress, and which engines own them, read from Heat's database.

Columns from heat/db/models.py (unchanged from heat 25.0 to 27.0; the 26.0
migrations only touch sync_point, snapshot and the new resource_snapshot):

- ``stack``: id, name, action, status, convergence, current_traversal,
  owner_id, nested_depth, tenant, backup, created_at, updated_at and
  ``deleted_at`` (SoftDelete: a deleted stack has deleted_at set; there is
  no ``deleted`` column).
- ``stack_lock``: stack_id, engine_id -- the lock of a legacy (non
  convergence) stack operation (heat.db.api.stack_lock_*).
- ``resource``: stack_id, engine_id -- set while an engine works on the
  resource of a convergence stack; heat.db.api.engine_get_all_locked_by_stack
  reads the distinct non-NULL resource.engine_id of a stack.
- ``service``: id, engine_id, host, hostname, binary, topic,
  report_interval, created_at, updated_at, deleted_at. heat/common/
  service_utils.py format_service(): an engine is up when
  ``utcnow - (updated_at or created_at) <= 2 * report_interval``. Heat
  stores naive UTC times, so the age is computed by the database server
  against UTC_TIMESTAMP() (no clock of this host involved).

A convergence stack between two steps has no resource locked: its next step
is a message in an engine_worker queue. Such a stack is reported with no
engines (``owned: false``); see FIELD-NOTES on lost continuation messages.
``idle_seconds`` is the time since the stack's last event or change
(database clock; heat writes an event at every resource state change but
leaves ``resource.updated_at`` empty): a chain between two steps is idle
for a moment, a stack whose next step was lost stays idle for good.
"""

from __future__ import annotations

# heat's `stack.status` values are IN_PROGRESS, COMPLETE, FAILED; the action
# is separate (CREATE, UPDATE, DELETE, ...).
STACKS_SQL = (
    "SELECT s.id, s.name, s.action, s.status, s.convergence, s.current_traversal, "
    "s.owner_id, s.nested_depth, s.tenant, s.backup, s.created_at, s.updated_at, "
    "TIMESTAMPDIFF(SECOND, GREATEST(COALESCE(s.updated_at, s.created_at), "
    "COALESCE((SELECT MAX(e.created_at) FROM event e WHERE e.stack_id = s.id), "
    "s.created_at)), UTC_TIMESTAMP()) AS idle_seconds "
    "FROM stack s WHERE s.status = 'IN_PROGRESS' AND s.deleted_at IS NULL "
    "ORDER BY s.created_at, s.id"
)

OWNERS_SQL = (
    "SELECT l.stack_id, l.engine_id, 'stack_lock' AS source FROM stack_lock l "
    "JOIN stack s ON s.id = l.stack_id "
    "WHERE s.status = 'IN_PROGRESS' AND s.deleted_at IS NULL AND l.engine_id IS NOT NULL "
    "UNION "
    "SELECT DISTINCT r.stack_id, r.engine_id, 'resource' AS source FROM resource r "
    "JOIN stack s ON s.id = r.stack_id "
    "WHERE s.status = 'IN_PROGRESS' AND s.deleted_at IS NULL AND r.engine_id IS NOT NULL"
)

# Deleted service rows are read too: they name the host of an engine that
# was stopped but still holds a lock.
SERVICES_SQL = (
    "SELECT id, engine_id, host, hostname, `binary`, topic, report_interval, created_at, "
    "updated_at, deleted_at, "
    "TIMESTAMPDIFF(SECOND, COALESCE(updated_at, created_at), UTC_TIMESTAMP()) AS age_seconds "
    "FROM service ORDER BY created_at, id"
)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool(value):
    return str(value) in ('1', 'True', 'true')


def engine_alive(service):
    """heat's format_service() rule on one ``service`` row: up within 2 x report_interval."""
    if service.get('deleted_at'):
        return False
    age = _int(service.get('age_seconds'))
    interval = _int(service.get('report_interval'))
    if age is None or interval is None:
        return False
    return age <= 2 * interval


def parse_engines(service_rows):
    """``{engine_id: engine}`` from ``service`` rows (the newest row wins)."""
    engines = {}
    for row in service_rows:
        engines[row['engine_id']] = dict(
            engine_id=row['engine_id'],
            host=row.get('host'),
            hostname=row.get('hostname'),
            binary=row.get('binary'),
            alive=engine_alive(row),
            deleted=bool(row.get('deleted_at')),
            updated_at=row.get('updated_at'),
            age_seconds=_int(row.get('age_seconds')),
            report_interval=_int(row.get('report_interval')),
        )
    return engines


def _engine_matches(engine, engine_ids, engine_hosts):
    if engine_ids and engine['engine_id'] in engine_ids:
        return True
    if engine_hosts and (engine.get('host') in engine_hosts or engine.get('hostname') in engine_hosts):
        return True
    return False


def build_report(stack_rows, owner_rows, service_rows, engine_ids=None, engine_hosts=None,
                 include_unowned=True, stack_ids=None, stale_after=None, ignore_stale=False):
    """Stacks in progress with their owning engines, filtered to some engines.

    Returns ``{'in_progress': [...], 'engines': [...], 'count': n}``. Without
    ``engine_ids``/``engine_hosts`` every stack in progress is listed. With
    them, a stack is listed when one of its engines matches, or when no
    engine owns it right now and ``include_unowned`` is true (its next step
    may be waiting in an old engine's queue). With ``stack_ids`` only those
    stacks are considered. A stack is ``stuck`` when engines own it and none
    of them is alive: nothing will ever finish it. With ``stale_after`` (seconds),
    a stack no live engine works on and idle that long is ``stale``: stuck from
    before, its next step lost; ``ignore_stale`` leaves such stacks out.
    ``engines`` lists every live
    (not deleted) engine and every engine that owns a listed stack.
    """
    engines = parse_engines(service_rows)
    owners = {}
    for row in owner_rows:
        owners.setdefault(row['stack_id'], []).append((row['engine_id'], row['source']))
    filtering = bool(engine_ids or engine_hosts)

    stacks = []
    used = set()
    wanted = set(stack_ids) if stack_ids is not None else None
    for row in stack_rows:
        if wanted is not None and row['id'] not in wanted:
            continue
        owned_by = []
        for engine_id, source in sorted(set(owners.get(row['id'], []))):
            engine = engines.get(engine_id) or dict(
                engine_id=engine_id, host=None, hostname=None, binary=None, alive=False,
                deleted=None, updated_at=None, age_seconds=None, report_interval=None)
            engines.setdefault(engine_id, engine)
            owned_by.append(dict(engine_id=engine_id, host=engine['host'], alive=engine['alive'],
                                 source=source))
        if filtering:
            if owned_by:
                if not any(_engine_matches(engines[o['engine_id']], engine_ids, engine_hosts)
                           for o in owned_by):
                    continue
            elif not include_unowned:
                continue
        idle = _int(row.get('idle_seconds'))
        stale = (stale_after is not None and idle is not None and idle >= stale_after
                 and not any(o['alive'] for o in owned_by))
        if stale and ignore_stale:
            continue
        used.update(o['engine_id'] for o in owned_by)
        stacks.append(dict(
            id=row['id'],
            name=row.get('name'),
            action=row.get('action'),
            status=row.get('status'),
            stack_status='%s_%s' % (row.get('action'), row.get('status')),
            convergence=_bool(row.get('convergence')),
            current_traversal=row.get('current_traversal'),
            owner_id=row.get('owner_id'),
            nested_depth=_int(row.get('nested_depth'), 0),
            tenant=row.get('tenant'),
            backup=_bool(row.get('backup')),
            created_at=row.get('created_at'),
            updated_at=row.get('updated_at'),
            idle_seconds=idle,
            stale=stale,
            engines=owned_by,
            owned=bool(owned_by),
            owner_alive=any(o['alive'] for o in owned_by),
            stuck=bool(owned_by) and not any(o['alive'] for o in owned_by),
        ))

    listed = []
    for engine_id, engine in engines.items():
        if engine_id in used or not engine.get('deleted'):
            entry = dict(engine)
            entry['stacks'] = sum(1 for s in stacks if any(o['engine_id'] == engine_id for o in s['engines']))
            entry['selected'] = _engine_matches(engine, engine_ids, engine_hosts) if filtering else True
            listed.append(entry)
    listed.sort(key=lambda e: (e.get('host') or '', e['engine_id']))
    return {'in_progress': stacks, 'engines': listed, 'count': len(stacks)}


def describe(report):
    """Short text of a report for wait messages."""
    if not report['in_progress']:
        return 'no stack in progress'
    shown = ', '.join('%s (%s, engines: %s)' % (
        s['name'], s['stack_status'],
        ', '.join('%s@%s%s' % (o['engine_id'][:8], o['host'], '' if o['alive'] else ' dead')
                  for o in s['engines']) or 'none') for s in report['in_progress'][:10])
    more = len(report['in_progress']) - 10
    return '%d stack(s) in progress: %s%s' % (report['count'], shown,
                                              ' and %d more' % more if more > 0 else '')


def selected_alive(report):
    """Engines of a report that match the filter and are alive."""
    return [e for e in report['engines'] if e['selected'] and e['alive']]


def describe_engines(report):
    """Short text of the engines of a report, for wait messages."""
    return 'engines: %s' % (', '.join('%s@%s %s' % (e['engine_id'][:8], e.get('host'),
                                                    'alive' if e['alive'] else 'not alive')
                                      for e in report['engines'] if e['selected']) or 'none selected')


def read_report(client, database, engine_ids=None, engine_hosts=None, include_unowned=True,
                stack_ids=None, stale_after=None, ignore_stale=False):
    """Query Heat's database once and build the report."""
    stacks = client.query(STACKS_SQL, database=database)
    owners = client.query(OWNERS_SQL, database=database) if stacks else []
    services = client.query(SERVICES_SQL, database=database)
    return build_report(stacks, owners, services, engine_ids, engine_hosts, include_unowned, stack_ids,
                        stale_after, ignore_stale)
