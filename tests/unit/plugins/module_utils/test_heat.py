"""heat.py over query outputs of a real heat 26.0.2 database.

Captured with `mariadb --batch --raw` running heat.STACKS_SQL, OWNERS_SQL and
SERVICES_SQL against a scratch heat database served by two real heat-engines
(osl-node-a with convergence, osl-node-b legacy) with five chained stacks of
OS::Heat::TestResource in CREATE_IN_PROGRESS:

- mixed_*: both engines up. Legacy stacks osl-chain-2/4 are locked in
  stack_lock by node-b; convergence stacks osl-chain-1/5 have a resource
  locked by node-a and osl-chain-3 one locked by node-b. An earlier node-b
  engine (stopped gracefully) left a soft-deleted service row.
- dead_owner_*: the same after node-b got SIGTERM and was cut off after the
  graceful timeout: its locks stayed, its service row was not deleted and
  went stale (130 s > 2 x report_interval 60).
"""

import os

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import heat
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import parse_batch

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'heat_stacks')
NODE_A = '500ee3eb-e925-479d-852d-c6cef0d3601d'
NODE_B = '2857e8d0-395f-4d92-9283-896c39a796aa'
NODE_B_OLD = '82ea68a5-0868-4932-89b9-f0a8341c42bb'


def rows(prefix, name):
    with open(os.path.join(FIXTURES, '%s_%s.tsv' % (prefix, name))) as handle:
        return parse_batch(handle.read())


def report(prefix, **kwargs):
    return heat.build_report(rows(prefix, 'stacks'), rows(prefix, 'owners'), rows(prefix, 'services'), **kwargs)


def by_name(result):
    return {s['name']: s for s in result['in_progress']}


def test_all_stacks_in_progress_with_their_owners():
    result = report('mixed')
    stacks = by_name(result)
    assert result['count'] == 5
    assert sorted(stacks) == ['osl-chain-%d' % i for i in range(1, 6)]
    assert [(o['engine_id'], o['source']) for o in stacks['osl-chain-2']['engines']] == [(NODE_B, 'stack_lock')]
    assert [(o['engine_id'], o['source']) for o in stacks['osl-chain-1']['engines']] == [(NODE_A, 'resource')]
    assert stacks['osl-chain-3']['engines'][0]['host'] == 'osl-node-b'
    assert stacks['osl-chain-1']['convergence'] is True
    assert stacks['osl-chain-2']['convergence'] is False
    assert stacks['osl-chain-1']['current_traversal'] == 'a6d5972e-4edd-498b-8059-1f7324e3d6b0'
    assert stacks['osl-chain-2']['current_traversal'] is None
    assert stacks['osl-chain-1']['stack_status'] == 'CREATE_IN_PROGRESS'
    assert all(s['owner_alive'] for s in result['in_progress'])


def test_engines_alive_and_the_soft_deleted_row_left_out():
    engines = {e['engine_id']: e for e in report('mixed')['engines']}
    assert set(engines) == {NODE_A, NODE_B}  # NODE_B_OLD has deleted_at set and owns nothing
    assert engines[NODE_A]['alive'] and engines[NODE_B]['alive']
    assert engines[NODE_A]['stacks'] == 2
    assert engines[NODE_B]['stacks'] == 3


@pytest.mark.parametrize('kwargs, names', [
    (dict(engine_hosts=['osl-node-b']), ['osl-chain-2', 'osl-chain-3', 'osl-chain-4']),
    (dict(engine_hosts=['osl-node-a']), ['osl-chain-1', 'osl-chain-5']),
    (dict(engine_ids=[NODE_A]), ['osl-chain-1', 'osl-chain-5']),
    (dict(engine_hosts=['nowhere']), []),
])
def test_filter_on_old_engines(kwargs, names):
    result = report('mixed', **kwargs)
    assert sorted(by_name(result)) == names
    assert result['count'] == len(names)
    selected = [e['host'] for e in result['engines'] if e['selected']]
    assert selected == [h for h in ['osl-node-a', 'osl-node-b'] if h in kwargs.get('engine_hosts', [])
                        or (kwargs.get('engine_ids') and h == 'osl-node-a')]


def test_dead_owner_is_reported_as_not_alive():
    result = report('dead_owner', engine_hosts=['osl-node-b'])
    engines = {e['engine_id']: e for e in result['engines']}
    assert engines[NODE_B]['alive'] is False
    assert engines[NODE_B]['deleted'] is False
    assert engines[NODE_B]['age_seconds'] == 130
    assert engines[NODE_A]['alive'] is True
    assert result['count'] == 3
    assert not any(s['owner_alive'] for s in result['in_progress'])
    text = heat.describe(result)
    assert text.startswith('3 stack(s) in progress: osl-chain-2 (CREATE_IN_PROGRESS, engines: 2857e8d0@osl-node-b dead)')


def test_unowned_convergence_stack_between_steps():
    # osl-chain-1 with no resource locked: its next step is a queue message
    stacks = rows('mixed', 'stacks')
    owners = [o for o in rows('mixed', 'owners') if o['stack_id'] != 'f8aa1197-bd41-49ac-8b9e-3045c5ab515b']
    services = rows('mixed', 'services')
    kept = heat.build_report(stacks, owners, services, engine_hosts=['osl-node-b'])
    assert 'osl-chain-1' in by_name(kept)
    assert by_name(kept)['osl-chain-1']['owned'] is False
    dropped = heat.build_report(stacks, owners, services, engine_hosts=['osl-node-b'], include_unowned=False)
    assert 'osl-chain-1' not in by_name(dropped)
    assert 'osl-chain-1' in by_name(heat.build_report(stacks, owners, services))


def test_lock_of_an_engine_without_service_row():
    stacks = rows('mixed', 'stacks')[:1]
    owners = [dict(stack_id=stacks[0]['id'], engine_id='gone-engine', source='stack_lock')]
    result = heat.build_report(stacks, owners, [], engine_ids=['gone-engine'])
    assert result['count'] == 1
    assert result['engines'][0]['engine_id'] == 'gone-engine'
    assert result['engines'][0]['alive'] is False


@pytest.mark.parametrize('row, alive', [
    (dict(age_seconds='35', report_interval='60', deleted_at=None), True),
    (dict(age_seconds='120', report_interval='60', deleted_at=None), True),
    (dict(age_seconds='121', report_interval='60', deleted_at=None), False),
    (dict(age_seconds='5', report_interval='60', deleted_at='2026-11-22 14:03:42'), False),
    (dict(age_seconds=None, report_interval='60', deleted_at=None), False),
])
def test_engine_alive_follows_heat_format_service(row, alive):
    assert heat.engine_alive(row) is alive


def test_no_stack_in_progress():
    result = heat.build_report([], [], rows('mixed', 'services'))
    assert result['count'] == 0
    assert heat.describe(result) == 'no stack in progress'


def test_queries_filter_deleted_stacks_by_deleted_at():
    # heat's SoftDelete mixin has deleted_at only; there is no "deleted" column
    assert 's.deleted_at IS NULL' in heat.STACKS_SQL
    assert heat.OWNERS_SQL.count('s.deleted_at IS NULL') == 2
    assert ' deleted ' not in heat.STACKS_SQL


def _row(stack_id, name):
    return {'id': stack_id, 'name': name, 'action': 'CREATE', 'status': 'IN_PROGRESS', 'convergence': '1'}


def _service(engine_id, host, age, deleted=None):
    return {'engine_id': engine_id, 'host': host, 'hostname': host, 'binary': 'heat-engine',
            'report_interval': '60', 'age_seconds': str(age), 'deleted_at': deleted}


def test_stack_ids_limit_the_report_to_the_cutover_snapshot():
    from ansible_collections.openstack_ops.upgrade.plugins.module_utils.heat import build_report
    report = build_report([_row('a', 'old'), _row('b', 'new')], [], [_service('e1', 'node3', 5)],
                          stack_ids=['a'])
    assert [s['name'] for s in report['in_progress']] == ['old']
    assert report['count'] == 1


def test_a_stack_owned_only_by_dead_engines_is_stuck():
    from ansible_collections.openstack_ops.upgrade.plugins.module_utils.heat import build_report
    owners = [{'stack_id': 'a', 'engine_id': 'dead', 'source': 'resource'},
              {'stack_id': 'b', 'engine_id': 'live', 'source': 'resource'}]
    services = [_service('dead', 'node1', 500), _service('live', 'node2', 3)]
    report = build_report([_row('a', 'x'), _row('b', 'y'), _row('c', 'between-steps')], owners, services)
    assert {s['name']: s['stuck'] for s in report['in_progress']} == {'x': True, 'y': False, 'between-steps': False}


def test_selected_alive_finds_the_new_engine_of_a_host():
    from ansible_collections.openstack_ops.upgrade.plugins.module_utils.heat import build_report, selected_alive
    services = [_service('old', 'node1', 0, deleted='2026-11-22 14:00:00'), _service('new', 'node1', 2),
                _service('other', 'node2', 1)]
    report = build_report([], [], services, engine_hosts=['node1'])
    assert [e['engine_id'] for e in selected_alive(report)] == ['new']
    report = build_report([], [], [_service('stale', 'node1', 400)], engine_hosts=['node1'])
    assert selected_alive(report) == []


def test_a_chain_whose_next_step_was_lost_is_unowned_and_idle():
    # lost_step_*: heat 2026.2 engines after the control run of the
    # rolling_heat_guard scenario: the last 2026.1 engine was stopped without
    # the guard while a 6-step chain was in flight; 4 steps are CREATE_COMPLETE,
    # the 5th waits in the old vhost's engine_worker queue with no consumer.
    # No resource is locked; the last event was 124 s before the capture.
    stacks = by_name(report('lost_step'))
    chain = stacks['guard-off-chain']
    assert chain['idle_seconds'] == 124
    assert chain['owned'] is False and chain['owner_alive'] is False and chain['stuck'] is False
    assert chain['stale'] is False  # no stale_after given


@pytest.mark.parametrize('stale_after, stale', [(120, True), (124, True), (125, False)])
def test_stale_after_marks_an_unowned_idle_stack(stale_after, stale):
    assert by_name(report('lost_step', stale_after=stale_after))['guard-off-chain']['stale'] is stale


def test_ignore_stale_leaves_the_stale_stack_out_of_the_report_and_the_count():
    result = report('lost_step', stale_after=120, ignore_stale=True)
    assert result['in_progress'] == [] and result['count'] == 0
    assert report('lost_step', stale_after=125, ignore_stale=True)['count'] == 1


def test_a_stack_a_live_engine_works_on_is_never_stale():
    # mixed_* has no idle column; even with one, a live owner rules staleness out.
    rows_ = rows('mixed', 'stacks')
    for row in rows_:
        row['idle_seconds'] = '99999'
    result = heat.build_report(rows_, rows('mixed', 'owners'), rows('mixed', 'services'), stale_after=60)
    assert all(s['stale'] is (not s['owner_alive']) for s in result['in_progress'])
    assert any(s['owner_alive'] for s in result['in_progress'])


def test_idle_seconds_is_none_when_the_query_did_not_read_it():
    assert {s['idle_seconds'] for s in report('mixed')['in_progress']} == {None}


def test_the_idle_time_counts_the_stack_events():
    # heat leaves resource.updated_at empty; its events carry the activity.
    assert 'SELECT MAX(e.created_at) FROM event e WHERE e.stack_id = s.id' in heat.STACKS_SQL
    assert 'UTC_TIMESTAMP()) AS idle_seconds' in heat.STACKS_SQL
