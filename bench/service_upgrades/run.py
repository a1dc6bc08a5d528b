#!/usr/bin/env python
"""Benchmark of playbooks/service_by_service.yml against playbooks/cold_upgrade.yml on the lab.

For each strategy: brings the lab to the start release (fresh databases),
starts the traffic probe (heat stacks and reads through HAProxy, a
keystone token request, and a read of glance, placement, nova and cinder
with a kept token, every read interval), runs the upgrade of every service
of the lab (keystone, glance, placement, nova, cinder, heat), stops the
probe. The outage of a service is read from the probe: from the first
failed request to the first successful one after it, on that service's
endpoints (labels "<service> ..."; heat: the union over its own endpoints). Writes a JSON result with, per strategy, the wall time, each
service's outage windows and total, requests sent and failed and stack
fates, and whether each service-by-service outage is shorter than the
cold upgrade's.

    .venv/bin/python bench/service_upgrades/run.py [--from 2025.2 --to 2026.1] [--output FILE]
    .venv/bin/python bench/service_upgrades/run.py --probe-results SBS.json COLD.json [--output FILE]

The second form runs nothing: it reads the probe results of runs made
elsewhere (the Molecule scenarios write them under /srv/openstack-lab/results)
and writes the same outage figures, with ``source`` naming the files and the
wall times left null.

Needs the lab's machine (root, loopback services); takes about 30 minutes.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from benchlib import RESULTS, ROOT, ansible_playbook, union_seconds, write_result  # noqa: E402

STRATEGIES = ('service_by_service', 'cold_upgrade')
# In the order service_by_service.yml upgrades them (inventories/lab upgrade_services).
SERVICES = ('keystone', 'glance', 'placement', 'nova', 'cinder', 'heat')


def owner(label):
    """The service a probe label belongs to: its first word, or heat for heat's own labels."""
    first = label.split(' ', 1)[0]
    return first if first in SERVICES else 'heat'


def outages(probe):
    """Per service, its outage windows (seconds from the probe's start) and their union."""
    windows = {service: [] for service in SERVICES}
    for label, info in probe['downtime'].items():
        windows[owner(label)].extend(info['windows'])
    result = {}
    for service, spans in windows.items():
        spans = sorted(spans)
        result[service] = {
            'windows': [[round(a, 1), round(b, 1)] for a, b in spans],
            'outage_seconds': round(union_seconds(spans), 1),
            'first_failure': round(spans[0][0], 1) if spans else None,
            'last_recovery': round(max(end for start, end in spans), 1) if spans else None,
        }
    return result


def summarize(probe, total_seconds=None, started=None):
    """The figures of one strategy's run from its probe result."""
    return {
        'total_seconds': None if total_seconds is None else round(total_seconds, 1),
        'probe_started_before_upgrade_seconds': None if started is None else round(started - probe['started_epoch'], 1),
        'services': outages(probe),
        'requests': {'sent': probe['requests']['sent'], 'failed': probe['requests']['failed'],
                     'by_status': probe['requests']['by_status']},
        'stacks': {'created': probe['stacks']['created'], 'final_states': probe['stacks']['final_states'],
                   'stuck': len(probe['stacks']['stuck'])},
    }


def run_strategy(strategy, start, end):
    tag = 'bench-%s-%s-%s' % (strategy, start.replace('.', ''), end.replace('.', ''))
    ansible_playbook('extensions/molecule/shared/lab_at.yml', '-e', 'lab_at_release=%s' % start)
    for stale in (os.path.join(RESULTS, tag + '.json'),):
        if os.path.exists(stale):
            os.remove(stale)
    backups = '/srv/openstack-lab/backups/%s' % tag
    ansible_playbook('extensions/molecule/shared/probe_start.yml', '-e', 'probe_name=%s' % tag,
                     '-e', 'probe_keystone=true')
    started = time.time()
    ansible_playbook('playbooks/%s.yml' % strategy, '-e', 'upgrade_from_release=%s' % start,
                     '-e', 'upgrade_to_release=%s' % end, '-e', 'upgrade_backup_dir=%s' % backups)
    upgrade_seconds = time.time() - started
    ansible_playbook('extensions/molecule/shared/probe_stop.yml', '-e', 'probe_name=%s' % tag,
                     '-e', 'probe_must_be_ok=false')
    with open(os.path.join(RESULTS, tag + '.json')) as handle:
        probe = json.load(handle)
    return summarize(probe, upgrade_seconds, started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--from', dest='start', default='2025.2')
    parser.add_argument('--to', dest='end', default='2026.1')
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench', 'results', 'service_upgrades.json'))
    parser.add_argument('--probe-results', nargs=2, metavar=('SBS_JSON', 'COLD_JSON'),
                        help='summarize these probe results instead of running the upgrades')
    args = parser.parse_args()
    result = {
        'benchmark': 'service_upgrades',
        'upgrade': '%s -> %s' % (args.start, args.end),
        'services': list(SERVICES),
        'nodes': {'keystone': 1, 'glance': 1, 'placement': 1, 'nova': 1, 'cinder': 1, 'heat': 3},
        'measured_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'machine': {'cpus': os.cpu_count()},
        'strategies': {},
    }
    if args.probe_results:
        result["source"] = dict(zip(STRATEGIES, args.probe_results))
        for strategy, path in zip(STRATEGIES, args.probe_results):
            with open(path) as handle:
                result['strategies'][strategy] = summarize(json.load(handle))
    else:
        for strategy in STRATEGIES:
            result['strategies'][strategy] = run_strategy(strategy, args.start, args.end)
    sbs = result['strategies']['service_by_service']['services']
    cold = result['strategies']['cold_upgrade']['services']
    result['sbs_outage_shorter_than_cold'] = {
        service: sbs[service]['outage_seconds'] < cold[service]['outage_seconds'] for service in sbs}
    # Service by service: each service is back before the next one goes down.
    result['sbs_outages_disjoint'] = all(
        (sbs[a]['last_recovery'] or 0) <= (sbs[b]['first_failure'] or 0) for a, b in zip(SERVICES, SERVICES[1:]))
    # The sum of the service-by-service windows, against the cold upgrade's single window.
    result['sbs_total_outage_seconds'] = round(sum(sbs[s]['outage_seconds'] for s in SERVICES), 1)
    write_result(args.output, result)


if __name__ == '__main__':
    main()
