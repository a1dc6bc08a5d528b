#!/usr/bin/env python
"""Benchmark of playbooks/rolling_heat.yml on the lab.

Brings the lab to the start release (a fresh heat database), starts the
traffic probe, runs the rolling upgrade with the task_timer callback, stops
the probe, and writes a JSON result:

- total and per-phase wall time (from the playbook's plays);
- requests sent and failed, downtime windows, stacks and their fates (probe);
- intrinsic time: the wall-clock union of the tasks that do the real work
  (pip installs, virtualenv creation, db_sync, service stops and starts,
  the backup dump and its restore check), and the orchestration overhead =
  playbook wall time minus that union.

    .venv/bin/python bench/rolling_heat/run.py [--from 2025.2 --to 2026.1] [--output FILE]

Needs the lab's machine (root, loopback services); takes about 5 minutes.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from benchlib import RESULTS, ROOT, ansible_playbook, union_seconds, write_result  # noqa: E402

# Task name endings of the intrinsic work; everything else is orchestration.
INTRINSIC = {
    'install': ('Install the packages', 'Create the virtualenv'),
    'db_sync': ('Migrate the heat schema with the code of',),
    'service_stop': ('Stop the old process gracefully',),
    'service_start': ('Start the service on the release',),
    'backup': ('Dump the heat database', 'Prove that the backup restores'),
}

PHASES = {
    'Pre-flight': 'preflight', 'Install N+1': 'install', 'Migrate the schema': 'migrate',
    'New RabbitMQ vhost': 'vhost', 'Engines,': 'engines', 'APIs,': 'apis',
    'The last old engine': 'last_engine', 'Post-flight': 'postflight',
}


def phase_of(play):
    for prefix, phase in PHASES.items():
        if play.startswith(prefix):
            return phase
    return None


def analyse(run):
    tasks = [t for t in run['tasks'] if t['status'] in ('ok', 'failed')]
    phases = {}
    for task in tasks:
        phase = phase_of(task['play'] or '')
        if phase:
            start, end = phases.get(phase, (task['start'], task['end']))
            phases[phase] = (min(start, task['start']), max(end, task['end']))
    intrinsic = {}
    for kind, endings in INTRINSIC.items():
        spans = [(t['start'], t['end']) for t in tasks if any(e in t['task'] for e in endings)]
        intrinsic[kind] = round(union_seconds(spans), 1)
    all_spans = [(t['start'], t['end']) for t in tasks
                 if any(e in t['task'] for endings in INTRINSIC.values() for e in endings)]
    intrinsic_union = union_seconds(all_spans)
    return {
        'playbook_wall_seconds': run['wall_seconds'],
        'phase_seconds': {k: round(v[1] - v[0], 1) for k, v in phases.items()},
        'intrinsic_seconds': intrinsic,
        'intrinsic_union_seconds': round(intrinsic_union, 1),
        'orchestration_overhead_seconds': round(run['wall_seconds'] - intrinsic_union, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--from', dest='start', default='2025.2')
    parser.add_argument('--to', dest='end', default='2026.1')
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench', 'results', 'rolling_heat.json'))
    args = parser.parse_args()
    tag = 'bench-%s-%s' % (args.start.replace('.', ''), args.end.replace('.', ''))
    timer = os.path.join(RESULTS, tag + '.tasks.jsonl')

    ansible_playbook('extensions/molecule/shared/lab_at.yml', '-e', 'lab_at_release=%s' % args.start)
    for stale in (timer, os.path.join(RESULTS, tag + '.json')):
        if os.path.exists(stale):
            os.remove(stale)
    ansible_playbook('extensions/molecule/shared/probe_start.yml', '-e', 'probe_name=%s' % tag)
    started = time.time()
    ansible_playbook('playbooks/rolling_heat.yml', '-e', 'upgrade_from_release=%s' % args.start,
                     '-e', 'upgrade_to_release=%s' % args.end,
                     '-e', 'heat_rolling_backup_dir=/srv/openstack-lab/backups/%s' % tag,
                     env={'ANSIBLE_CALLBACKS_ENABLED': 'openstack_ops.upgrade.task_timer',
                          'OPENSTACK_OPS_TASK_TIMER_OUTPUT': timer})
    upgrade_seconds = time.time() - started
    ansible_playbook('extensions/molecule/shared/probe_stop.yml', '-e', 'probe_name=%s' % tag,
                     '-e', 'probe_must_be_ok=false')
    with open(timer) as handle:
        run = json.loads(handle.readline())
    with open(os.path.join(RESULTS, tag + '.json')) as handle:
        probe = json.load(handle)
    result = {
        'benchmark': 'rolling_heat',
        'upgrade': '%s -> %s' % (args.start, args.end),
        'nodes': 3,
        'measured_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'machine': {'cpus': os.cpu_count()},
        'total_seconds': round(upgrade_seconds, 1),
        'requests': {'sent': probe['requests']['sent'], 'failed': probe['requests']['failed'],
                     'by_status': probe['requests']['by_status']},
        'latency_ms': probe['latency_ms'],
        'downtime': {k: v['total_seconds'] for k, v in probe['downtime'].items()},
        'stacks': {'created': probe['stacks']['created'], 'final_states': probe['stacks']['final_states'],
                   'stuck': len(probe['stacks']['stuck'])},
    }
    result.update(analyse(run))
    write_result(args.output, result)


if __name__ == '__main__':
    main()
