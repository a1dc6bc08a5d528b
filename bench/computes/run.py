#!/usr/bin/env python
"""Benchmark of playbooks/rolling_computes.yml on the lab's compute extension.

For each number of simulated compute hosts and each live-migration
concurrency asked for: nova is rebuilt at 2025.2 on the controller and the
compute extension at 2025.2 on that many hosts (extensions/molecule/shared/
computes_at_start.yml,
2 instances per host), the instance probe is started, the rolling upgrade
2025.2 -> 2026.1 runs (keystone, glance and placement must already be on
2026.1), the probe is stopped. From the task timer and the probe it writes:
the wall time, the controllers' phase, each compute host's time (from its
first task to its last) with its drain (live migrations) and its
stop-to-enabled part, the finish, the live migrations run, and the
instances lost (must be 0) or seen not running.

    .venv/bin/python bench/computes/run.py [--hosts 3 6] [--concurrency 1 2] [--output FILE]

Needs the lab's machine (root, loopback services) with the base lab built
and its shared services on 2026.1; about 6 minutes per run for 3 hosts.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from benchlib import RESULTS, ROOT, ansible_playbook, write_result  # noqa: E402

COMPUTE_PLAY = 'Compute hosts, a batch at a time - empty, upgrade, start, enable'
CONTROLLER_PLAY = "Controllers first - nova's schemas, conductor, scheduler and API on the new release"
FINISH_PLAY = 'Finish - the pin risen, controllers restarted, online migrations, status checks'
DRAIN_TASK = 'Disable the host and live-migrate its instances away'
STOP_TASK = 'Stop nova-compute on the old release'
ENABLE_TASK = 'Enable the host again'


def inventory(hosts):
    """A compute-extension inventory with cmp1..cmpN (inventories/lab/computes.yml has three)."""
    lines = ['all:', '  children:', '    compute_nodes:', '      vars:', '        ansible_connection: local',
             '        ansible_python_interpreter: "{{ ansible_playbook_python }}"', '      hosts:']
    for i in range(1, hosts + 1):
        lines += ['        cmp%d:' % i, '          lab_node_index: %d' % i]
    lines += ['    neutron_nodes:', '      hosts:', '        ctl1:', '    lab_computes:', '      children:',
              '        compute_nodes:', '        neutron_nodes:']
    # Beside the lab's inventory, so that group_vars/lab_computes.yml applies.
    handle = tempfile.NamedTemporaryFile('w', suffix='.yml', prefix='bench-computes-',
                                         dir=os.path.join(ROOT, 'inventories', 'lab'), delete=False)
    handle.write('\n'.join(lines) + '\n')
    handle.close()
    return handle.name


def shared_services_on(release):
    for path in ('active/keystone-api', 'glance/active/glance-api', 'placement/active/placement-api'):
        target = os.readlink(os.path.join('/srv/openstack-lab/nodes/ctl1', path))
        if os.path.basename(target) != release:
            raise SystemExit('%s runs %s: bring keystone, glance and placement to %s first '
                             '(playbooks/service_by_service.yml with upgrade_services [keystone, glance, placement])'
                             % (path, os.path.basename(target), release))


def span(records):
    return (min(r['start'] for r in records), max(r['end'] for r in records)) if records else (None, None)


def analyse(tasks, probe, hosts):
    per_host = {}
    for i in range(1, hosts + 1):
        name = 'cmp%d' % i
        mine = [t for t in tasks if t['play'] == COMPUTE_PLAY and t['host'] == name]
        start, end = span(mine)
        drain = [t for t in mine if DRAIN_TASK in t['task']]
        stop = [t for t in mine if STOP_TASK in t['task']]
        enable = [t for t in mine if ENABLE_TASK in t['task']]
        per_host[name] = {
            'seconds': round(end - start, 1) if start is not None else None,
            'drain_seconds': round(drain[0]['end'] - drain[0]['start'], 1) if drain else None,
            'stop_to_enabled_seconds': round(enable[0]['end'] - stop[0]['start'], 1) if stop and enable else None,
        }
    controllers = span([t for t in tasks if t['play'] == CONTROLLER_PLAY])
    computes = span([t for t in tasks if t['play'] == COMPUTE_PLAY])
    finish = span([t for t in tasks if t['play'] == FINISH_PLAY])
    seconds = [h['seconds'] for h in per_host.values() if h['seconds'] is not None]
    return {
        'controllers_seconds': round(controllers[1] - controllers[0], 1),
        'computes_seconds': round(computes[1] - computes[0], 1),
        'finish_seconds': round(finish[1] - finish[0], 1),
        'per_host': per_host,
        'per_host_mean_seconds': round(sum(seconds) / len(seconds), 1) if seconds else None,
        'live_migrations': probe['host_moves'],
        'instances': probe['instances_at_start'],
        'instances_lost': len(probe['lost']),
        'not_running_samples': probe['not_running_samples'],
        'probe_samples': probe['samples'],
        'probe_failed_samples': probe['failed_samples'],
    }


def run_one(hosts, concurrency, frm, to):
    inv = inventory(hosts)
    name = 'bench-computes-%dh-c%d' % (hosts, concurrency)
    probe_out = os.path.join(RESULTS, name + '.probe.json')
    stop_file = os.path.join(RESULTS, name + '.stop')
    timer = os.path.join(RESULTS, name + '.tasks.jsonl')
    for path in (probe_out, stop_file, timer):
        if os.path.exists(path):
            os.unlink(path)
    try:
        t0 = time.time()
        ansible_playbook('-i', inv, os.path.join(ROOT, 'extensions', 'molecule', 'shared', 'computes_at_start.yml'))
        reset_seconds = time.time() - t0
        subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'instance_probe.py'),
                        '--keystone-url', 'http://127.0.0.1:5000/v3', '--nova-url', 'http://127.0.0.1:18774/v2.1',
                        '--interval', '2', '--output', probe_out, '--stop-file', stop_file, '--daemonize'],
                       env=dict(os.environ, PROBE_PASSWORD='keystone-lab-admin-pw'), check=True)
        time.sleep(4)
        t0 = time.time()
        ansible_playbook('-i', inv, os.path.join(ROOT, 'playbooks', 'rolling_computes.yml'),
                         '-e', 'upgrade_from_release=%s' % frm, '-e', 'upgrade_to_release=%s' % to,
                         '-e', 'compute_upgrade_concurrency=%d' % concurrency,
                         env={'ANSIBLE_CALLBACKS_ENABLED': 'openstack_ops.upgrade.task_timer',
                              'OPENSTACK_OPS_TASK_TIMER_OUTPUT': timer})
        wall = time.time() - t0
        open(stop_file, 'w').close()
        for dummy in range(60):
            if os.path.exists(probe_out):
                break
            time.sleep(1)
        with open(probe_out) as handle:
            probe = json.load(handle)
        with open(timer) as handle:
            tasks = [t for line in handle for t in json.loads(line)['tasks']]
        result = {'hosts': hosts, 'concurrency': concurrency, 'reset_seconds': round(reset_seconds, 1),
                  'wall_seconds': round(wall, 1)}
        result.update(analyse(tasks, probe, hosts))
        print(json.dumps(result, sort_keys=True), flush=True)
        return result
    finally:
        os.unlink(inv)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, nargs='+', default=[3])
    parser.add_argument('--concurrency', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--from', dest='frm', default='2025.2')
    parser.add_argument('--to', default='2026.1')
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench', 'results', 'computes.json'))
    args = parser.parse_args()
    shared_services_on(args.to)
    planned = [(h, c) for h in sorted(args.hosts) for c in args.concurrency]
    runs = []
    # Written after every run: a long series cut short keeps what finished.
    for hosts, concurrency in planned:
        runs.append(run_one(hosts, concurrency, args.frm, args.to))
        write_result(args.output, {
            'benchmark': 'rolling_computes.yml %s -> %s on the lab (fake driver, 2 instances per host)'
                         % (args.frm, args.to),
            'machine': {'cpus': os.cpu_count()},
            'date': time.strftime('%Y-%m-%d'),
            'runs': runs,
            'runs_planned': [{'hosts': h, 'concurrency': c} for h, c in planned],
            'instances_lost_total': sum(r['instances_lost'] for r in runs),
        })


if __name__ == '__main__':
    main()
