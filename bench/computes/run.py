#!/usr/bin/env python
"""Benchmark of the compute upgrades on the lab's compute extension.

Strategies: `rolling` (playbooks/rolling_computes.yml, one deployment) and
`parallel` (playbooks/parallel_computes.yml, the hosts handed over to a new
nova deployment on ctl2). For each strategy, number of simulated compute
hosts and live-migration concurrency asked for: nova is rebuilt at 2025.2
on the controller and the compute extension at 2025.2 on that many hosts
(extensions/molecule/shared/computes_at_start.yml, 2 instances per host);
for `parallel` the new deployment is rebuilt at 2026.1 too
(playbooks/lab_parallel.yml -e lab_reset=true). The instance probe is
started (both deployments for `parallel`), the upgrade 2025.2 -> 2026.1
runs (keystone, glance and placement must already be on 2026.1), the probe
is stopped. From the task timer and the probe it writes: the wall time, the
controllers' phase (rolling), each compute host's time (from its first task
to its last) with its drain (live migrations), its re-creations (parallel)
and its stop-to-up part, the finish, the live migrations and re-creations
run, the instances lost (must be 0) or seen not running, and the memory the
simulated hosts take (RSS per host, what the machine has left, how many
more hosts that would hold).

Each run is merged into the output file by (strategy, hosts, concurrency):
a run replaces the earlier one of the same key, others are kept.

    .venv/bin/python bench/computes/run.py [--strategy rolling parallel] [--hosts 3 6] \
        [--concurrency 1 2] [--output FILE]

Needs the lab's machine (root, loopback services) with the base lab built
and its shared services on 2026.1; about 7 to 10 minutes per run for 3 hosts.
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

STRATEGIES = {
    'rolling': {
        'playbook': 'rolling_computes.yml',
        'compute_play': 'Compute hosts, a batch at a time - empty, upgrade, start, enable',
        'controller_play': "Controllers first - nova's schemas, conductor, scheduler and API on the new release",
        'finish_play': 'Finish - the pin risen, controllers restarted, online migrations, status checks',
        'drain_task': 'Disable the host and live-migrate its instances away',
        'recreate_task': None,
        'stop_task': 'Stop nova-compute on the old release',
        'up_task': 'Enable the host again',
        'concurrency_var': 'compute_upgrade_concurrency',
    },
    'parallel': {
        'playbook': 'parallel_computes.yml',
        'compute_play': 'Compute hosts, a batch at a time - empty, hand over, start in the new deployment',
        'controller_play': None,
        'finish_play': "Finish - every workload's fate, the new deployment checked, the old one retired if asked",
        'drain_task': "Disable the host and live-migrate its instances to the old deployment's other hosts",
        'recreate_task': 'Re-create each instance in the new deployment',
        'stop_task': 'Stop nova-compute of the old deployment',
        'up_task': 'Wait until the host reports the new service version',
        'concurrency_var': 'compute_handover_concurrency',
    },
}
NOVA_URLS = {'rolling': ['http://127.0.0.1:18774/v2.1'],
             'parallel': ['http://127.0.0.1:18774/v2.1', 'http://127.0.0.1:28774/v2.1']}
LAB_NODES = '/srv/openstack-lab/nodes'
# What the machine keeps for everything else when counting how many more hosts it would hold.
MEMORY_RESERVE_KB = 2 * 1024 * 1024


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


def seconds(records):
    start, end = span(records)
    return round(end - start, 1) if start is not None else None


def analyse(tasks, probe, hosts, strategy):
    spec = STRATEGIES[strategy]
    per_host = {}
    for i in range(1, hosts + 1):
        name = 'cmp%d' % i
        mine = [t for t in tasks if t['play'] == spec['compute_play'] and t['host'] == name]
        # A skipped task is not a drain (or re-creation) of 0 s: none happened.
        ran = [t for t in mine if t.get('status') != 'skipped']
        drain = [t for t in ran if spec['drain_task'] in t['task']]
        recreate = [t for t in ran if spec['recreate_task'] and spec['recreate_task'] in t['task']]
        stop = [t for t in mine if spec['stop_task'] in t['task']]
        up = [t for t in mine if spec['up_task'] in t['task']]
        per_host[name] = {
            'seconds': seconds(mine),
            'drain_seconds': seconds(drain),
            'stop_to_up_seconds': round(up[-1]['end'] - stop[0]['start'], 1) if stop and up else None,
        }
        if spec['recreate_task']:
            per_host[name]['recreate_seconds'] = seconds(recreate)
    by_host = [h['seconds'] for h in per_host.values() if h['seconds'] is not None]
    result = {
        'computes_seconds': seconds([t for t in tasks if t['play'] == spec['compute_play']]),
        'finish_seconds': seconds([t for t in tasks if t['play'] == spec['finish_play']]),
        'per_host': per_host,
        'per_host_mean_seconds': round(sum(by_host) / len(by_host), 1) if by_host else None,
        'live_migrations': live_migrations(probe),
        'probe_host_moves': probe['host_moves'],
        'recreated': len(probe.get('recreated') or []),
        'instances': probe['instances_at_start'],
        'instances_lost': len(probe['lost']),
        'deleted_before_twin_active': len(probe.get('deleted_before_twin_active') or []),
        'not_running_samples': probe['not_running_samples'],
        'probe_samples': probe['samples'],
        'probe_failed_samples': probe['failed_samples'],
    }
    if spec['controller_play']:
        result['controllers_seconds'] = seconds([t for t in tasks if t['play'] == spec['controller_play']])
    return result


def live_migrations(probe):
    """Moves from one compute host to another seen by the probe. Its host_moves also counts a twin's first
    host after BUILD (none -> host), which is not a migration."""
    moves = 0
    for entry in probe['instances'].values():
        hosts = [h['host'] for h in entry['hosts']]
        moves += sum(1 for before, after in zip(hosts, hosts[1:]) if before and after)
    return moves


def meminfo():
    with open('/proc/meminfo') as handle:
        return {line.split(':')[0]: int(line.split()[1]) for line in handle}


def memory(hosts):
    """RSS of each simulated compute host's processes (its nova-compute), and what the machine has left."""
    rss = {'cmp%d' % i: 0 for i in range(1, hosts + 1)}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read().replace(b'\0', b' ').decode(errors='replace')
            with open('/proc/%s/status' % pid) as handle:
                kb = next((int(line.split()[1]) for line in handle if line.startswith('VmRSS:')), 0)
        except OSError:
            continue
        for host in rss:
            if '%s/%s/' % (LAB_NODES, host) in cmdline:
                rss[host] += kb
    info = meminfo()
    per_host = [kb for kb in rss.values() if kb]
    mean = sum(per_host) / len(per_host) if per_host else 0
    return {
        'rss_mb_per_host': {h: round(kb / 1024, 1) for h, kb in rss.items()},
        'rss_mb_mean': round(mean / 1024, 1),
        'mem_total_mb': round(info['MemTotal'] / 1024),
        'mem_available_mb': round(info['MemAvailable'] / 1024),
        'more_hosts_the_memory_would_hold': (int((info['MemAvailable'] - MEMORY_RESERVE_KB) / mean)
                                             if mean else None),
    }


def python_speed():
    """Seconds for sum(range(10**8)): a figure to compare machines by."""
    t0 = time.time()
    subprocess.run([sys.executable, '-c', 'sum(range(10**8))'], check=True)
    return round(time.time() - t0, 2)


def reset(strategy, inv):
    ansible_playbook('-i', inv, os.path.join(ROOT, 'extensions', 'molecule', 'shared', 'computes_at_start.yml'))
    if strategy == 'parallel':
        ansible_playbook('-i', inv, '-i', os.path.join(ROOT, 'inventories', 'lab', 'parallel.yml'),
                         os.path.join(ROOT, 'playbooks', 'lab_parallel.yml'), '-e', 'lab_reset=true')


def run_one(strategy, hosts, concurrency, frm, to):
    spec = STRATEGIES[strategy]
    inv = inventory(hosts)
    name = 'bench-computes-%s-%dh-c%d' % (strategy, hosts, concurrency)
    probe_out = os.path.join(RESULTS, name + '.probe.json')
    stop_file = os.path.join(RESULTS, name + '.stop')
    timer = os.path.join(RESULTS, name + '.tasks.jsonl')
    for path in (probe_out, stop_file, timer):
        if os.path.exists(path):
            os.unlink(path)
    inventories = ['-i', inv] + (['-i', os.path.join(ROOT, 'inventories', 'lab', 'parallel.yml')]
                                 if strategy == 'parallel' else [])
    try:
        t0 = time.time()
        reset(strategy, inv)
        reset_seconds = time.time() - t0
        mem = memory(hosts)
        argv = [sys.executable, os.path.join(ROOT, 'tools', 'instance_probe.py'),
                '--keystone-url', 'http://127.0.0.1:5000/v3']
        for url in NOVA_URLS[strategy]:
            argv += ['--nova-url', url]
        subprocess.run(argv + ['--interval', '2', '--output', probe_out, '--stop-file', stop_file, '--daemonize'],
                       env=dict(os.environ, PROBE_PASSWORD='keystone-lab-admin-pw'), check=True)
        time.sleep(4)
        t0 = time.time()
        ansible_playbook(*inventories, os.path.join(ROOT, 'playbooks', spec['playbook']),
                         '-e', 'upgrade_from_release=%s' % frm, '-e', 'upgrade_to_release=%s' % to,
                         '-e', '%s=%d' % (spec['concurrency_var'], concurrency),
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
        result = {'strategy': strategy, 'hosts': hosts, 'concurrency': concurrency, 'date': time.strftime('%Y-%m-%d'),
                  'machine': {'cpus': os.cpu_count(), 'python_sum_range_1e8_seconds': python_speed()},
                  'reset_seconds': round(reset_seconds, 1), 'wall_seconds': round(wall, 1), 'memory': mem}
        result.update(analyse(tasks, probe, hosts, strategy))
        print(json.dumps(result, sort_keys=True), flush=True)
        return result
    finally:
        os.unlink(inv)


def key(run):
    return (run.get('strategy', 'rolling'), run['hosts'], run['concurrency'])


def merged(earlier, runs):
    """Earlier runs with each new one in place of the earlier run of its key, sorted by key."""
    by_key = {key(r): r for r in earlier}
    by_key.update({key(r): r for r in runs})
    return [by_key[k] for k in sorted(by_key)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--strategy', nargs='+', choices=sorted(STRATEGIES), default=['rolling'])
    parser.add_argument('--hosts', type=int, nargs='+', default=[3])
    parser.add_argument('--concurrency', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--from', dest='frm', default='2025.2')
    parser.add_argument('--to', default='2026.1')
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench', 'results', 'computes.json'))
    args = parser.parse_args()
    if min(args.hosts) < 2 or min(args.concurrency) < 1:
        parser.error('--hosts must be 2 or more (a host is emptied to the others), --concurrency 1 or more')
    shared_services_on(args.to)
    earlier = []
    if os.path.exists(args.output):
        with open(args.output) as handle:
            earlier = json.load(handle).get('runs', [])
    planned = [(s, h, c) for s in args.strategy for h in sorted(args.hosts) for c in args.concurrency]
    runs = []
    # Written after every run: a long series cut short keeps what finished.
    for strategy, hosts, concurrency in planned:
        runs.append(run_one(strategy, hosts, concurrency, args.frm, args.to))
        every = merged(earlier, runs)
        write_result(args.output, {
            'benchmark': 'rolling_computes.yml and parallel_computes.yml %s -> %s on the lab (fake driver, '
                         '2 instances per host); each run from computes_at_start.yml (parallel: and a fresh new '
                         'deployment), merged by (strategy, hosts, concurrency)' % (args.frm, args.to),
            'runs': every,
            'last_invocation': {'date': time.strftime('%Y-%m-%d'),
                                'planned': [{'strategy': s, 'hosts': h, 'concurrency': c} for s, h, c in planned]},
            'instances_lost_total': sum(r['instances_lost'] for r in every),
        })


if __name__ == '__main__':
    main()
