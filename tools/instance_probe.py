#!/usr/bin/env python
"""Read every instance's state from nova, over and over, during a compute upgrade.

A sample is one ``GET /servers/detail?all_tenants=1`` (all pages) with an
admin token from keystone. For every instance the probe keeps how many
samples saw it in each status, vm_state and power state, the hosts it was
seen on (with when it was first seen there), and the samples that did not
show it running (vm_state ``active`` and power state 1, RUNNING). nova shows
status ``MIGRATING`` while a live migration runs; the guest keeps running,
which vm_state and power state tell.

An instance is *lost* when it was present in the first sample and absent
from the last, or was last seen in ERROR or DELETED, and no ACTIVE twin
re-created from it (see below) is there at the end. Samples that failed
(nova's API restarting) are counted apart, with their time windows.

With ``--nova-url`` given more than once (two nova deployments, a parallel
compute upgrade), a sample reads every deployment and is recorded only when
every listing answered. An instance whose metadata ``--marker-key`` names
another instance is that one's *twin*, re-created in another deployment;
the result's ``recreated`` lists each original with its twin, when the twin
was first seen ACTIVE and when the original was last seen alive (any status
but DELETED or SOFT_DELETED, which an admin's listing may show once while a
server goes), and
``deleted_before_twin_active`` the originals that were gone before their
twin was ACTIVE (must be empty).

Stops when ``--stop-file`` appears (or after ``--duration`` seconds when it
is positive) and writes the JSON result to ``--output``. Standard library
only; the password comes from ``PROBE_PASSWORD``.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

RUNNING = 1
GONE = ('DELETED', 'SOFT_DELETED')


def request(method, url, token=None, body=None, timeout=10):
    headers = {'Accept': 'application/json', 'OpenStack-API-Version': 'compute 2.53',
               'X-OpenStack-Nova-API-Version': '2.53'}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers['Content-Type'] = 'application/json'
    if token:
        headers['X-Auth-Token'] = token
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.headers, json.loads(resp.read() or b'null')


def get_token(args):
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': args.username, 'domain': {'name': 'Default'}, 'password': os.environ.get('PROBE_PASSWORD', '')}}},
        'scope': {'project': {'name': args.project, 'domain': {'name': 'Default'}}}}}
    headers = request('POST', args.keystone_url.rstrip('/') + '/auth/tokens', body=body)[1]
    return headers['X-Subject-Token']


def list_servers(args, token, nova_url):
    servers, url = [], nova_url.rstrip('/') + '/servers/detail?all_tenants=1&limit=1000'
    while url:
        data = request('GET', url, token=token)[2]
        servers.extend(data.get('servers') or [])
        url = None
        for link in data.get('servers_links') or []:
            if link.get('rel') == 'next':
                url = link['href']
    return servers


class Probe(object):
    def __init__(self, args):
        self.args = args
        self.start = time.time()
        self.instances = {}
        self.samples = 0
        self.failed = []
        self.first_ids = None
        self.last_ids = set()
        self.last_states = {}

    def now(self):
        return round(time.time() - self.start, 1)

    def record(self, servers):
        t = self.now()
        self.samples += 1
        ids = set()
        for s in servers:
            ids.add(s['id'])
            entry = self.instances.setdefault(s['id'], {
                'name': s.get('name'), 'first_seen': t, 'statuses': {}, 'vm_states': {}, 'power_states': {},
                'hosts': [], 'not_running': [], 'deployment': s.get('_deployment', 0), 'first_active': None,
                'recreated_from': (s.get('metadata') or {}).get(self.args.marker_key)})
            entry['last_seen'] = t
            status = s.get('status')
            if status == 'ACTIVE' and entry['first_active'] is None:
                entry['first_active'] = t
            # An admin's listing may show a server being deleted once more,
            # as DELETED: the moment it went, not a moment it was down.
            if status in GONE:
                entry['deleted_seen'] = t
            else:
                entry['last_alive'] = t
            vm_state = s.get('OS-EXT-STS:vm_state')
            power = s.get('OS-EXT-STS:power_state')
            host = s.get('OS-EXT-SRV-ATTR:host')
            for key, value in (('statuses', status), ('vm_states', vm_state), ('power_states', str(power))):
                entry[key][value] = entry[key].get(value, 0) + 1
            if not entry['hosts'] or entry['hosts'][-1]['host'] != host:
                entry['hosts'].append({'host': host, 'since': t})
            if (vm_state != 'active' or power != RUNNING) and status not in GONE:
                entry['not_running'].append({'t': t, 'status': status, 'vm_state': vm_state, 'power_state': power,
                                             'task_state': s.get('OS-EXT-STS:task_state')})
            self.last_states[s['id']] = status
        if self.first_ids is None:
            self.first_ids = set(ids)
        self.last_ids = ids

    def fail(self, error):
        t = self.now()
        if self.failed and self.failed[-1]['until'] >= t - 2 * self.args.interval - 10:
            self.failed[-1]['until'] = t
            self.failed[-1]['count'] += 1
        else:
            self.failed.append({'from': t, 'until': t, 'count': 1, 'error': str(error)[:200]})

    def twins(self):
        """{original id: twin id} for the twins present in the last sample."""
        return {e['recreated_from']: i for i, e in self.instances.items()
                if e.get('recreated_from') and i in self.last_ids}

    def result(self):
        first = self.first_ids or set()
        twins = self.twins()
        lost = sorted(i for i in first if (i not in self.last_ids or self.last_states.get(i) in ('ERROR', 'DELETED'))
                      and self.last_states.get(twins.get(i)) != 'ACTIVE')
        recreated = []
        for original, twin in sorted(twins.items()):
            o, t = self.instances.get(original, {}), self.instances[twin]
            gone = original not in self.last_ids or self.last_states.get(original) in GONE
            recreated.append({'original': original, 'twin': twin, 'name': t['name'],
                              'twin_first_active': t['first_active'],
                              'original_last_seen': o.get('last_seen'),
                              'original_last_alive': o.get('last_alive'), 'original_gone': gone,
                              'original_seen': bool(o)})
        # An original the probe never saw (deleted before it started) is not
        # judged here: its record says original_seen false.
        early = [r for r in recreated if r['original_seen'] and r['original_gone'] and (
            r['twin_first_active'] is None or r['original_last_alive'] is None
            or r['twin_first_active'] > r['original_last_alive'])]
        migrations = sum(max(len(e['hosts']) - 1, 0) for e in self.instances.values())
        return {
            'duration': self.now(),
            'interval': self.args.interval,
            'samples': self.samples,
            'failed_samples': sum(f['count'] for f in self.failed),
            'failed_windows': self.failed,
            'instances_at_start': len(first),
            'instances_at_end': len(self.last_ids),
            'lost': [{'id': i, 'name': self.instances[i]['name']} for i in lost],
            'host_moves': migrations,
            'not_running_samples': sum(len(e['not_running']) for e in self.instances.values()),
            'deployments': len(self.args.nova_url),
            'recreated': recreated,
            'deleted_before_twin_active': early,
            'instances': self.instances,
        }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keystone-url', required=True)
    parser.add_argument('--nova-url', required=True, action='append',
                        help='the compute endpoint, e.g. http://127.0.0.1:18774/v2.1; once per nova deployment')
    parser.add_argument('--marker-key', default='openstack_ops_recreated_from',
                        help="the metadata key naming a re-created twin's original")
    parser.add_argument('--username', default='admin')
    parser.add_argument('--project', default='admin')
    parser.add_argument('--interval', type=float, default=2.0)
    parser.add_argument('--duration', type=float, default=0)
    parser.add_argument('--output', required=True)
    parser.add_argument('--stop-file')
    parser.add_argument('--pidfile')
    parser.add_argument('--daemonize', action='store_true')
    args = parser.parse_args(argv)
    if args.stop_file and os.path.exists(args.stop_file):
        os.unlink(args.stop_file)
    if args.daemonize:
        if os.fork():
            return 0
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    if args.pidfile:
        with open(args.pidfile, 'w') as handle:
            handle.write('%d\n' % os.getpid())
    probe, token, token_at = Probe(args), None, 0
    while True:
        started = time.time()
        try:
            if token is None or started - token_at > 1800:
                token, token_at = get_token(args), started
            servers = []
            for index, url in enumerate(args.nova_url):
                for server in list_servers(args, token, url):
                    server['_deployment'] = index
                    servers.append(server)
            probe.record(servers)
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                token = None
            probe.fail('HTTP %s' % exc.code)
        except Exception as exc:  # pylint: disable=broad-except
            probe.fail(exc)
        if args.stop_file and os.path.exists(args.stop_file):
            break
        if args.duration and time.time() - probe.start >= args.duration:
            break
        time.sleep(max(0.0, args.interval - (time.time() - started)))
    tmp = args.output + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(probe.result(), handle, indent=1, sort_keys=True)
    os.rename(tmp, args.output)
    if args.pidfile and os.path.exists(args.pidfile):
        os.unlink(args.pidfile)
    return 0


if __name__ == '__main__':
    sys.exit(main())
