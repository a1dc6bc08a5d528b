"""Without the last-engine guard, a chained stack on the old side gets stuck (the control run; the
guarded run is in the rolling_heat scenario)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

CHAIN, WAIT = 6, 30


def stack(name):
    rows = labtest.sql(
        "SELECT s.action, s.status, TIMESTAMPDIFF(SECOND, s.created_at, UTC_TIMESTAMP()), "
        "(SELECT COUNT(*) FROM heat.resource r WHERE r.stack_id = s.id AND r.engine_id IS NOT NULL), "
        "(SELECT COUNT(*) FROM heat.resource r WHERE r.stack_id = s.id AND r.action = 'CREATE' AND r.status = 'COMPLETE') "
        "FROM heat.stack s WHERE s.name = '%s' AND s.deleted_at IS NULL" % name)
    assert len(rows) == 1, rows
    action, status, age, locked, done = rows[0]
    return '%s_%s' % (action, status), int(age), int(locked), int(done)


def outcome(log, task, host='node3'):
    """The result line of a task for one host ('ok: [node3]', 'skipping: [node3]') in a run's output."""
    section = log.split('TASK [openstack_ops.upgrade.heat_rolling : %s' % task, 1)[1].split('\nTASK [', 1)[0]
    return next(line.strip() for line in section.splitlines() if '[%s]' % host in line)


def run_log(name):
    with open(os.path.join(labtest.RESULTS, name + '.log')) as handle:
        return handle.read()


def test_without_the_guard_the_chained_stack_is_stuck_for_good():
    log = run_log('guard-off-chain')
    assert outcome(log, 'List the stacks in progress').startswith('skipping: [node3]')
    # The chain's next step was requeued to the old vhost, where no engine is
    # left: the post-flight refuses to delete it and the run fails there.
    assert log.rstrip().endswith('rc=2'), log[-2000:]
    vhost_task = log.split('TASK [openstack_ops.upgrade.heat_rolling : Delete the old vhost once it is empty', 1)[1]
    assert 'engine_worker' in vhost_task.split('TASK [', 1)[0], vhost_task[:2000]
    state, age, locked, done = stack('guard-off-chain')
    # Give it every chance: past the time the whole chain needs, plus half a minute
    # (each step of a live chain starts within a second of the one before).
    if age < CHAIN * WAIT + 30:
        time.sleep(CHAIN * WAIT + 30 - age)
        state, age, locked, done = stack('guard-off-chain')
    assert state == 'CREATE_IN_PROGRESS'
    assert locked == 0, 'an engine still works on it: not the lost-message case'
    assert 0 < done < CHAIN
