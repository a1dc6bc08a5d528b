"""What the rolling upgrade 2025.2 -> 2026.1 left behind, checked on the lab and its API."""

import datetime
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

NODES = ['node1', 'node2', 'node3']
FROM, TO = '2025.2', '2026.1'


def test_probe_saw_no_failed_request_and_every_stack_completed():
    for name in ('rolling-25-26', 'rolling-25-26.rerun'):
        result = labtest.probe_result(name)
        assert result['running'] is False
        assert result['requests']['sent'] > 100, name
        assert result['requests']['failed'] == 0, result['failures'][:5]
        assert result['stacks']['created'] > 0
        assert result['stacks']['stuck'] == []
        assert set(result['stacks']['by_name'].values()) == {'CREATE_COMPLETE'}, result['stacks']['final_states']
        assert result['ok'] is True


def test_every_heat_service_runs_the_new_release(host):
    for node in NODES:
        for service in ('heat-api', 'heat-engine'):
            assert labtest.release_of(node, service) == TO
            assert host.run('service osl-%s-%s status' % (node, service)).rc == 0
    assert host.run('curl -sf http://127.0.0.1:8004/healthcheck').rc == 0


def test_one_live_engine_per_node_and_no_stale_record():
    rows = labtest.sql("SELECT host, TIMESTAMPDIFF(SECOND, updated_at, UTC_TIMESTAMP()) <= 2 * report_interval "
                       "FROM heat.service WHERE deleted_at IS NULL")
    assert sorted(rows) == [[n, '1'] for n in NODES]


def test_schema_is_at_the_head_of_the_new_release():
    rc, result, raw = labtest.ansible('node1', 'openstack_ops.upgrade.db_sync', {
        'service': 'heat',
        'venv': '%s/nodes/node1/releases/%s/venv' % (labtest.LAB_ROOT, TO),
        'config_file': ['%s/nodes/node1/releases/%s/etc/heat/heat.conf' % (labtest.LAB_ROOT, TO)],
    }, check=True)
    assert rc == 0, raw
    assert result['pending'] is False
    assert result['version_before'] == '97b2a986f922'


def test_status_check_passes():
    rc, result, raw = labtest.ansible('node2', 'openstack_ops.upgrade.upgrade_check', {
        'service': 'heat',
        'venv': '%s/nodes/node2/releases/%s/venv' % (labtest.LAB_ROOT, TO),
        'config_file': ['%s/nodes/node2/releases/%s/etc/heat/heat.conf' % (labtest.LAB_ROOT, TO)],
    })
    assert rc == 0, raw
    assert result['status'] == 'success'


def test_old_vhost_is_gone_and_the_new_one_serves():
    req = urllib.request.Request('http://127.0.0.1:15672/api/vhosts?columns=name')
    req.add_header('Authorization', 'Basic Z3Vlc3Q6Z3Vlc3Q=')
    with urllib.request.urlopen(req, timeout=10) as resp:
        names = {v['name'] for v in json.load(resp)}
    assert 'heat-' + FROM not in names
    assert 'heat-' + TO in names


def test_backup_was_taken_and_verified():
    path = '%s/backups/heat-%s-to-%s.sql.gz' % (labtest.LAB_ROOT, FROM, TO)
    assert os.path.exists(path) and os.path.exists(path + '.sha256')


def runs():
    """One line per playbook run that had the task timer: prepare, the interrupted first run, the
    re-run, the idempotence run."""
    with open(os.path.join(labtest.RESULTS, 'rolling_heat.tasks.jsonl')) as handle:
        return [json.loads(line) for line in handle]


def rerun():
    """The operator's re-run: the first run that moved heat-apis."""
    return next(r for r in runs() if any(t['play'].startswith('APIs') and t['changed'] for t in r['tasks']))


def test_long_and_chained_stacks_were_in_flight_during_every_engine_swap():
    """From the heat database: a probe stack created before each engine stop
    finished only after the stop had ended."""
    engine_stops = [(run, t) for run in runs() for t in run['tasks']
                    if t['task'].endswith('Stop the old process gracefully') and t['status'] == 'ok'
                    and t['play'].startswith(('Engines', 'The last'))]
    # node1 and node2 in the interrupted run, node3 in the re-run.
    assert sorted(t['host'] for run, t in engine_stops) == NODES, [(t['play'], t['host']) for run, t in engine_stops]
    rows = labtest.sql(
        "SELECT s.name, UNIX_TIMESTAMP(s.created_at), UNIX_TIMESTAMP(MAX(e.created_at)) FROM heat.stack s "
        "JOIN heat.event e ON e.stack_id = s.id WHERE s.name LIKE 'rolling-25-26-%' "
        "AND s.status = 'COMPLETE' GROUP BY s.id")
    # heat stores naive UTC; UNIX_TIMESTAMP reads it in the server's zone.
    offset = float(labtest.sql('SELECT UNIX_TIMESTAMP(UTC_TIMESTAMP()) - UNIX_TIMESTAMP(NOW())')[0][0])
    spans = [(float(row[1]) - offset, float(row[2]) - offset) for row in rows]
    for run, stop in engine_stops:
        start = run['started_epoch'] + stop['start']
        end = run['started_epoch'] + stop['end']
        in_flight = [s for s in spans if s[0] < start and s[1] > end]
        assert in_flight, 'no probe stack was in flight while %s stopped its engine (%s)' % (
            stop['host'], datetime.datetime.fromtimestamp(start, datetime.timezone.utc))


def test_the_rerun_left_the_finished_engines_alone():
    with open(os.path.join(labtest.RESULTS, 'rolling-25-26.pids.json')) as handle:
        recorded = json.load(handle)
    for node in ('node1', 'node2'):
        assert labtest.pid_of('osl-%s-heat-engine' % node) == int(recorded[node])


def test_the_rerun_redid_no_finished_step_and_did_the_rest():
    tasks = rerun()['tasks']

    def changed(task, play=''):
        return [t['host'] for t in tasks if t['changed'] and t['task'].endswith(task) and t['play'].startswith(play)]

    assert changed('Install the packages') == []
    assert changed('Migrate the heat schema with the code of %s' % TO) == []
    assert changed('Stop the old process gracefully', 'Engines') == []
    assert changed('Stop the old process gracefully', 'APIs') == NODES
    assert changed('Stop the old process gracefully', 'The last') == ['node3']


def test_with_the_guard_the_chained_stack_on_the_old_side_completed_because_the_guard_waited():
    rows = labtest.sql(
        "SELECT CONCAT(s.action, '_', s.status), (SELECT COUNT(*) FROM heat.resource r WHERE r.stack_id = s.id "
        "AND r.action = 'CREATE' AND r.status = 'COMPLETE') FROM heat.stack s "
        "WHERE s.name = 'guard-on-chain' AND s.deleted_at IS NULL")
    assert rows == [['CREATE_COMPLETE', '6']], rows
    waits = [t for t in rerun()['tasks']
             if t['task'].endswith('Wait until those stacks have finished') and t['status'] == 'ok']
    assert [t['host'] for t in waits] == ['node3'], waits
    # The chain (6 x 15 s) was still running when the last old engine was due to stop.
    assert waits[0]['end'] - waits[0]['start'] > 10, waits
