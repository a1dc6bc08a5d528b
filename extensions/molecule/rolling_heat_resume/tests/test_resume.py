"""The interrupted 2026.1 -> 2026.2 upgrade, finished by a re-run."""

import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
import labtest  # noqa: E402

testinfra_hosts = ['ansible://infra']

NODES = ['node1', 'node2', 'node3']


def runs():
    with open(os.path.join(labtest.RESULTS, 'rolling_heat_resume.tasks.jsonl')) as handle:
        return [json.loads(line) for line in handle]


def test_probe_saw_no_failed_request_and_every_stack_completed():
    for name in ('resume-26-27', 'resume-26-27.rerun'):
        result = labtest.probe_result(name)
        assert result['requests']['failed'] == 0, result['failures'][:5]
        assert result['stacks']['stuck'] == []
        assert set(result['stacks']['by_name'].values()) == {'CREATE_COMPLETE'}, result['stacks']['final_states']
        assert result['ok'] is True


def test_the_rerun_left_the_finished_engines_alone():
    with open(os.path.join(labtest.RESULTS, 'resume-26-27.pids.json')) as handle:
        recorded = json.load(handle)
    for node in ('node1', 'node2'):
        assert labtest.pid_of('osl-%s-heat-engine' % node) == int(recorded[node])


def test_the_rerun_redid_no_finished_step_and_did_the_rest():
    # One line per playbook run with the timer (prepare, converge, idempotence);
    # the converge's re-run is the first to have APIs plays (the interrupted run
    # stopped after the engines and has no timer).
    rerun = next(r for r in runs() if any(t['play'].startswith('APIs') for t in r['tasks']))

    def changed(task, play='', hosts=None):
        return [t['host'] for t in rerun['tasks']
                if t['changed'] and t['task'].endswith(task) and t['play'].startswith(play)
                and (hosts is None or t['host'] in hosts)]

    assert changed('Install the packages') == []
    assert changed('Migrate the heat schema with the code of 2026.2') == []
    assert changed('Stop the old process gracefully', 'Engines') == []
    assert changed('Stop the old process gracefully', 'APIs') == ['node1', 'node2', 'node3']
    assert changed('Stop the old process gracefully', 'The last') == ['node3']


def test_every_heat_service_runs_2026_2(host):
    for node in NODES:
        for service in ('heat-api', 'heat-engine'):
            assert labtest.release_of(node, service) == '2026.2'
            assert host.run('service osl-%s-%s status' % (node, service)).rc == 0


def test_no_schema_change_from_2026_1_to_2026_2():
    assert labtest.sql('SELECT version_num FROM heat.alembic_version') == [['97b2a986f922']]


def test_old_vhost_deleted():
    req = urllib.request.Request('http://127.0.0.1:15672/api/vhosts?columns=name')
    req.add_header('Authorization', 'Basic Z3Vlc3Q6Z3Vlc3Q=')
    with urllib.request.urlopen(req, timeout=10) as resp:
        names = {v['name'] for v in json.load(resp)}
    assert 'heat-2026.1' not in names and 'heat-2026.2' in names
