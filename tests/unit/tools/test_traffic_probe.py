"""Tests of tools/traffic_probe.py: pure helpers, the client, and runs against a fake Heat."""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOOL = os.path.join(ROOT, 'tools', 'traffic_probe.py')

_spec = importlib.util.spec_from_file_location('traffic_probe', TOOL)
tp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tp)


def rec(offset, endpoint='GET /stacks', status='200', latency=10.0, error=None):
    return tp.Request(offset, endpoint, status, not (status.startswith('error:') or int(status) >= 400),
                      latency, error)


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------

def test_percentile_nearest_rank():
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert tp.percentile(values, 50) == 50
    assert tp.percentile(values, 90) == 90
    assert tp.percentile(values, 99) == 99
    assert tp.percentile(values, 100) == 100
    assert tp.percentile([7.0], 99) == 7.0
    assert tp.percentile([1, 2, 3, 4], 50) == 2
    assert tp.percentile([1, 2, 3, 4], 51) == 3
    assert tp.percentile([], 50) is None


def test_latency_summary():
    assert tp.latency_summary([10.04, 20.0, 30.0, 1000.0]) == {'p50': 20.0, 'p90': 1000.0, 'p99': 1000.0, 'max': 1000.0}
    assert tp.latency_summary([]) == {'p50': None, 'p90': None, 'p99': None, 'max': None}


def test_downtime_windows_closed_and_open():
    events = [(0.0, True), (1.0, False), (1.5, False), (2.0, True), (3.0, True),
              (4.0, False), (5.0, True), (6.0, False), (6.5, False)]
    windows = tp.downtime_windows(events, end_offset=8.0)
    assert windows == [[1.0, 2.0], [4.0, 5.0], [6.0, 8.0]]
    assert tp.windows_total(windows) == 4.0


def test_downtime_windows_sorts_by_send_time_and_handles_no_failures():
    assert tp.downtime_windows([(2.0, True), (1.0, False), (0.5, True)], 3.0) == [[1.0, 2.0]]
    assert tp.downtime_windows([(0.1, True), (0.2, True)], 3.0) == []
    assert tp.downtime_windows([], 3.0) == []
    # failing from the very first request to the end
    assert tp.downtime_windows([(0.25, False), (1.0, False)], 2.5) == [[0.25, 2.5]]


def test_downtime_by_endpoint_keeps_labels_apart():
    records = [rec(0.0), rec(0.5, 'GET /build_info'), rec(1.0, status='503'),
               rec(1.2, 'GET /build_info', status='error:ConnectionRefusedError'),
               rec(1.4, 'GET /build_info'), rec(2.0), rec(3.0, 'GET /build_info', status='500')]
    assert tp.downtime_by_endpoint(records, end_offset=3.5) == {
        'GET /build_info': {'windows': [[1.2, 1.4], [3.0, 3.5]], 'total_seconds': 0.7},
        'GET /stacks': {'windows': [[1.0, 2.0]], 'total_seconds': 1.0},
    }


def test_build_template_kinds():
    plain = tp.build_template('plain', wait_secs=30, chain=3)
    assert plain['heat_template_version'] == '2016-10-14'
    assert plain['resources'] == {'r0': {'type': 'OS::Heat::TestResource', 'properties': {'value': 'plain'}}}

    long = tp.build_template('long', wait_secs=30, chain=3)
    props = long['resources']['r0']['properties']
    assert props['wait_secs'] == 30
    assert props['action_wait_secs'] == {'create': 30, 'update': 30, 'delete': 0}

    chained = tp.build_template('chained', wait_secs=5, chain=3)
    res = chained['resources']
    assert sorted(res) == ['r0', 'r1', 'r2']
    assert 'depends_on' not in res['r0']
    assert res['r1']['depends_on'] == 'r0'
    assert res['r2']['depends_on'] == 'r1'
    assert all(r['type'] == 'OS::Heat::TestResource' and r['properties']['wait_secs'] == 5 for r in res.values())
    json.dumps(chained)  # must be serialisable as a request body

    with pytest.raises(ValueError):
        tp.build_template('bogus')


def test_stack_kind_rotation():
    assert [tp.stack_kind(i, 3) for i in range(5)] == ['plain', 'long', 'chained', 'plain', 'long']
    assert [tp.stack_kind(i, 0) for i in range(3)] == ['plain', 'long', 'plain']


def test_state_predicates():
    assert tp.is_terminal('CREATE_COMPLETE') and tp.is_terminal('CREATE_FAILED')
    assert not tp.is_terminal('CREATE_IN_PROGRESS') and not tp.is_terminal(None)
    assert tp.is_good('CREATE_COMPLETE') and tp.is_good('UPDATE_COMPLETE')
    assert not tp.is_good('ROLLBACK_COMPLETE') and not tp.is_good('CREATE_FAILED') and not tp.is_good('UNKNOWN')


def test_summarize():
    records = [
        rec(0.0, latency=10.0),
        rec(0.1, 'POST /stacks', '201', latency=100.0),
        rec(0.2, 'POST /stacks', '201', latency=120.0),
        rec(0.3, 'POST /stacks', '201', latency=130.0),
        rec(1.0, status='error:ConnectionRefusedError', latency=1.0, error='[Errno 111] Connection refused'),
        rec(1.5, 'POST /stacks', '500', latency=60000.0, error='MessagingTimeout'),
        rec(2.0, latency=12.0),
    ]
    stacks = {
        'probe-a': {'id': '1', 'kind': 'plain', 'state': 'CREATE_COMPLETE', 'confirmed': True},
        'probe-b': {'id': '2', 'kind': 'long', 'state': 'CREATE_IN_PROGRESS', 'confirmed': True},
        'probe-c': {'id': '3', 'kind': 'chained', 'state': None, 'confirmed': True},
        'probe-d': {'id': '4', 'kind': 'plain', 'state': 'CREATE_COMPLETE', 'confirmed': False},
    }
    result = tp.summarize(records, stacks, started_epoch=1700000000.0, end_offset=3.0)
    assert result['running'] is False
    assert result['started'] == '2023-11-14T22:13:20.000+00:00'
    assert result['ended'] == '2023-11-14T22:13:23.000+00:00'
    assert result['duration'] == 3.0
    assert result['requests'] == {
        'sent': 7, 'failed': 2,
        'by_status': {'200': 2, '201': 3, '500': 1, 'error:ConnectionRefusedError': 1},
        'by_endpoint': {
            'GET /stacks': {'sent': 3, 'failed': 1,
                            'latency_ms': {'p50': 10.0, 'p90': 12.0, 'p99': 12.0, 'max': 12.0}},
            'POST /stacks': {'sent': 4, 'failed': 1,
                             'latency_ms': {'p50': 120.0, 'p90': 60000.0, 'p99': 60000.0, 'max': 60000.0}},
        },
    }
    assert result['latency_ms'] == {'p50': 100.0, 'p90': 60000.0, 'p99': 60000.0, 'max': 60000.0}
    assert [(f['time'], f['endpoint'], f['status']) for f in result['failures']] == [
        (1.0, 'GET /stacks', 'error:ConnectionRefusedError'), (1.5, 'POST /stacks', '500')]
    assert result['failures'][1]['error'] == 'MessagingTimeout'
    assert result['downtime'] == {
        'GET /stacks': {'windows': [[1.0, 2.0]], 'total_seconds': 1.0},
        'POST /stacks': {'windows': [[1.5, 3.0]], 'total_seconds': 1.5},
    }
    assert result['stacks'] == {
        'created': 3, 'create_failed': 1,
        'final_states': {'CREATE_COMPLETE': 2, 'CREATE_IN_PROGRESS': 1, 'UNKNOWN': 1},
        'stuck': ['probe-b'],
        'by_name': {'probe-a': 'CREATE_COMPLETE', 'probe-b': 'CREATE_IN_PROGRESS',
                    'probe-c': 'UNKNOWN', 'probe-d': 'CREATE_COMPLETE'},
        'kinds': {'probe-a': 'plain', 'probe-b': 'long', 'probe-c': 'chained', 'probe-d': 'plain'},
        'found_after_failed_create': ['probe-d'],
        'deleted': 0, 'delete_failed': 0,
    }
    assert result['ok'] is False


def test_summarize_ok_and_failure_cap():
    good = tp.summarize([rec(0.0), rec(0.1, 'POST /stacks', '201')],
                        {'s': {'id': '1', 'kind': 'plain', 'state': 'CREATE_COMPLETE', 'confirmed': True}},
                        started_epoch=0.0, end_offset=1.0)
    assert good['ok'] is True
    assert good['downtime'] == {'GET /stacks': {'windows': [], 'total_seconds': 0},
                                'POST /stacks': {'windows': [], 'total_seconds': 0}}
    stuck = tp.summarize([rec(0.0)], {'s': {'id': '1', 'kind': 'long', 'state': 'CREATE_IN_PROGRESS'}},
                         started_epoch=0.0, end_offset=1.0)
    assert stuck['ok'] is False
    many = tp.summarize([rec(i / 10.0, status='503') for i in range(80)], {}, started_epoch=0.0, end_offset=9.0)
    assert len(many['failures']) == 50 and many['requests']['failed'] == 80
    assert many['failures'][-1]['time'] == 4.9


def test_empty_summary_is_json():
    result = tp.summarize([], {}, started_epoch=time.time(), end_offset=0.0, running=True, phase='traffic')
    assert result['latency_ms']['p50'] is None and result['ok'] is True and result['running'] is True
    json.dumps(result)


def test_parse_header():
    assert tp.parse_header('X-Auth-Token: abc:def') == ('X-Auth-Token', 'abc:def')
    with pytest.raises(Exception):
        tp.parse_header('no-colon')


def test_write_json_atomic_replaces(tmp_path):
    path = tmp_path / 'out.json'
    tp.write_json_atomic(str(path), {'a': 1})
    tp.write_json_atomic(str(path), {'a': 2})
    assert json.loads(path.read_text()) == {'a': 2}
    assert os.listdir(tmp_path) == ['out.json']


# ---------------------------------------------------------------------------
# A tiny fake Heat
# ---------------------------------------------------------------------------

class FakeHeat:
    """Answers like heat-api with noauth under /v1/admin, logs every request.

    Stacks go CREATE_IN_PROGRESS -> CREATE_COMPLETE ``complete_after`` seconds
    after their create; with ``stuck_chained`` stacks with depends_on never
    complete. ``fail(prefix, start, end)`` answers 503 to paths starting with
    prefix between the two wall-clock times.
    """

    def __init__(self, complete_after=0.5, stuck_chained=False):
        self.complete_after = complete_after
        self.stuck_chained = stuck_chained
        self.lock = threading.Lock()
        self.log = []          # (wall time, method, path, status)
        self.stacks = {}       # name -> {id, created, chained}
        self.fail_rules = []   # (prefix, start, end)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # silence
                pass

            def do_GET(self):
                fake.handle(self, 'GET')

            def do_POST(self):
                fake.handle(self, 'POST')

            def do_DELETE(self):
                fake.handle(self, 'DELETE')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d/v1/admin' % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def fail(self, prefix, start, end):
        self.fail_rules.append((prefix, start, end))

    def state(self, stack):
        if stack['chained'] and self.stuck_chained:
            return 'CREATE_IN_PROGRESS'
        done = time.time() - stack['created'] >= self.complete_after
        return 'CREATE_COMPLETE' if done else 'CREATE_IN_PROGRESS'

    def handle(self, handler, method):
        now = time.time()
        path = handler.path
        length = int(handler.headers.get('Content-Length') or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        status, payload, headers = self.route(method, path, body, now)
        with self.lock:
            self.log.append((now, method, path, status))
        data = json.dumps(payload).encode() if payload is not None else b''
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header('Content-Type', 'application/json')
        handler.send_header('Content-Length', str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def route(self, method, path, body, now):
        for prefix, start, end in self.fail_rules:
            if path.startswith(prefix) and start <= now < end:
                return 503, {'error': 'down for the test'}, {}
        parts = path.split('?')[0].strip('/').split('/')  # v1 admin ...
        rest = parts[2:]
        if rest == ['slow']:
            time.sleep(1.0)
            return 200, {}, {}
        if rest == ['build_info'] and method == 'GET':
            return 200, {'api': {'revision': 'fake'}, 'engine': {'revision': 'fake'}}, {}
        if rest == ['services'] and method == 'GET':
            return 200, {'services': []}, {}
        if rest == ['stacks'] and method == 'GET':
            with self.lock:
                stacks = [{'stack_name': n, 'id': s['id'], 'stack_status': self.state(s)} for n, s in self.stacks.items()]
            return 200, {'stacks': stacks}, {}
        if rest == ['stacks'] and method == 'POST':
            resources = body['template']['resources']
            chained = any('depends_on' in r for r in resources.values())
            stack_id = str(uuid.uuid4())
            with self.lock:
                self.stacks[body['stack_name']] = {'id': stack_id, 'created': now, 'chained': chained}
            return 201, {'stack': {'id': stack_id, 'links': []}}, {}
        if len(rest) in (2, 3) and rest[0] == 'stacks':
            with self.lock:
                stack = self.stacks.get(rest[1])
            if stack is None:
                return 404, {'error': 'not found'}, {}
            if len(rest) == 2 and method == 'GET':
                location = '%s/stacks/%s/%s' % (self.url, rest[1], stack['id'])
                return 302, None, {'Location': location}
            if method == 'GET':
                return 200, {'stack': {'stack_name': rest[1], 'id': stack['id'], 'stack_status': self.state(stack)}}, {}
            if method == 'DELETE':
                return 204, None, {}
        return 404, {'error': 'no route'}, {}

    def requests(self, method=None, prefix=None, status=None):
        with self.lock:
            return [entry for entry in self.log
                    if (method is None or entry[1] == method)
                    and (prefix is None or entry[2].startswith(prefix))
                    and (status is None or entry[3] == status)]


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_probe(*args):
    return subprocess.Popen([sys.executable, TOOL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------

def test_client_follows_redirect_and_sends_headers():
    with FakeHeat() as fake:
        client = tp.HeatClient(fake.url, {'X-Auth-Token': 'tok'}, timeout=5)
        created = client.call('POST', '/stacks', {'stack_name': 's1', 'template': tp.build_template('plain')})
        assert (created.status, created.ok) == ('201', True)
        shown = client.call('GET', '/stacks/s1')
        assert (shown.status, shown.ok) == ('200', True)
        assert shown.data['stack']['stack_name'] == 's1'
        assert [entry[3] for entry in fake.requests('GET')] == [302, 200]
        missing = client.call('GET', '/stacks/nope')
        assert (missing.status, missing.ok) == ('404', False)
        assert 'not found' in missing.error


def test_client_connection_refused_and_timeout():
    refused = tp.HeatClient('http://127.0.0.1:%d/v1/admin' % free_port(), timeout=2).call('GET', '/stacks')
    assert (refused.status, refused.ok) == ('error:ConnectionRefusedError', False)
    with FakeHeat() as fake:
        slow = tp.HeatClient(fake.url, timeout=0.2).call('GET', '/slow')
    assert (slow.status, slow.ok) == ('error:TimeoutError', False)


# ---------------------------------------------------------------------------
# End to end, the tool as a process
# ---------------------------------------------------------------------------

def test_end_to_end_downtime_window(tmp_path):
    out = tmp_path / 'result.json'
    with FakeHeat(complete_after=0.5) as fake:
        t0 = time.time()
        fake.fail('/v1/admin/build_info', t0 + 1.5, t0 + 2.5)
        proc = run_probe('--url', fake.url, '--duration', '4', '--output', str(out), '--readers', '2',
                         '--read-interval', '0.1', '--create-interval', '0.5', '--wait-secs', '1',
                         '--chain', '2', '--settle-timeout', '10', '--progress-interval', '0.5')
        stderr = proc.communicate(timeout=30)[1]
        assert proc.returncode == 0, stderr
        result = json.loads(out.read_text())

        assert result['running'] is False and result['phase'] == 'done'
        assert 3.9 <= result['duration'] < 5
        # every request the probe counted reached the fake, and the other way round (a GET of one
        # stack is one probe request: the fake saw its 302; settle polls go to /stacks/NAME/ID)
        traffic = [e for e in fake.log if e[2] in ('/v1/admin/stacks', '/v1/admin/build_info', '/v1/admin/services')
                   or e[3] == 302]
        assert result['requests']['sent'] == len(traffic)
        served_503 = fake.requests(status=503)
        assert served_503, 'the fail window produced no failures'
        assert all(entry[2] == '/v1/admin/build_info' for entry in served_503)
        assert result['requests']['failed'] == len(served_503)
        assert result['requests']['by_status']['503'] == len(served_503)
        assert result['requests']['by_endpoint']['GET /build_info']['failed'] == len(served_503)
        assert {f['status'] for f in result['failures']} == {'503'}

        # exactly one window on build_info, from the first 503 to the next 200, as the fake saw them
        first_fail = served_503[0][0]
        next_ok = min(e[0] for e in fake.requests(prefix='/v1/admin/build_info', status=200) if e[0] > first_fail)
        windows = result['downtime']['GET /build_info']['windows']
        assert len(windows) == 1
        start, end = (result['started_epoch'] + w for w in windows[0])
        assert abs(start - first_fail) < 0.1
        assert abs(end - next_ok) < 0.1
        assert 0.8 < result['downtime']['GET /build_info']['total_seconds'] < 1.5
        for label in ('GET /stacks', 'GET /stacks/{name}', 'GET /services', 'POST /stacks'):
            assert result['downtime'][label] == {'windows': [], 'total_seconds': 0}, label

        # stacks: every create answered 201 and each settled to CREATE_COMPLETE
        posts = fake.requests(method='POST')
        assert result['stacks']['created'] == len(posts) >= 8
        assert result['stacks']['create_failed'] == 0
        assert result['stacks']['final_states'] == {'CREATE_COMPLETE': len(posts)}
        assert result['stacks']['stuck'] == []
        assert set(result['stacks']['by_name']) == set(fake.stacks)
        assert set(result['stacks']['kinds'].values()) == {'plain', 'long', 'chained'}
        assert result['ok'] is False  # because of the 503s
        assert 'ok=False' in stderr


def test_sigterm_settles_reports_stuck_and_heartbeats(tmp_path):
    out = tmp_path / 'result.json'
    pidfile = tmp_path / 'probe.pid'
    with FakeHeat(complete_after=0.2, stuck_chained=True) as fake:
        proc = run_probe('--url', fake.url, '--duration', '0', '--output', str(out), '--pidfile', str(pidfile),
                         '--readers', '1', '--read-interval', '0.2', '--create-interval', '0.3', '--chain', '2',
                         '--wait-secs', '1', '--settle-timeout', '1.5', '--progress-interval', '0.3',
                         '--reads', 'stacks,build_info')
        time.sleep(2.0)
        assert proc.poll() is None
        assert pidfile.read_text().strip() == str(proc.pid)
        progress = json.loads(out.read_text())
        assert progress['running'] is True and progress['phase'] == 'traffic'
        assert progress['requests']['sent'] > 0
        proc.send_signal(signal.SIGTERM)
        stderr = proc.communicate(timeout=30)[1]
        assert proc.returncode == 0, stderr
        result = json.loads(out.read_text())
        chained = sorted(name for name, stack in fake.stacks.items() if stack['chained'])

    assert not pidfile.exists()
    assert result['running'] is False and result['phase'] == 'done'
    assert 1.4 <= result['settle_seconds'] < 5
    assert result['requests']['failed'] == 0
    assert set(result['requests']['by_endpoint']) == {'GET /stacks', 'GET /build_info', 'POST /stacks'}
    assert chained and result['stacks']['stuck'] == chained
    assert all(name.endswith('-chained') for name in chained)
    assert result['stacks']['final_states'] == {
        'CREATE_COMPLETE': result['stacks']['created'] - len(chained), 'CREATE_IN_PROGRESS': len(chained)}
    assert result['ok'] is False


def test_stop_file_and_delete_stacks_ok(tmp_path):
    out = tmp_path / 'result.json'
    stop = tmp_path / 'stop'
    stop.write_text('stale')  # left over from an earlier run: removed at start, not obeyed
    with FakeHeat(complete_after=0.2) as fake:
        proc = run_probe('--url', fake.url, '--duration', '0', '--output', str(out), '--stop-file', str(stop),
                         '--readers', '2', '--read-interval', '0.1', '--create-interval', '0.2',
                         '--settle-timeout', '5', '--delete-stacks', '--stack-prefix', 'mine-')
        time.sleep(1.2)
        assert proc.poll() is None
        stop.write_text('')
        stderr = proc.communicate(timeout=30)[1]
        assert proc.returncode == 0, stderr
        result = json.loads(out.read_text())
        deletes = fake.requests(method='DELETE', status=204)

    assert result['ok'] is True
    assert result['requests']['failed'] == 0
    assert result['stacks']['created'] >= 2  # one each 0.2 s for 1.2 s, fewer on a loaded machine
    assert result['stacks']['final_states'] == {'CREATE_COMPLETE': result['stacks']['created']}
    assert all(name.startswith('mine-') for name in result['stacks']['by_name'])
    assert result['stacks']['deleted'] == len(deletes) == result['stacks']['created']
    assert all(w == {'windows': [], 'total_seconds': 0} for w in result['downtime'].values())


def test_failed_create_that_exists_is_found(tmp_path):
    """A create whose answer is lost (502 from the LB) but whose stack exists is looked up."""

    class Lossy(tp.HeatClient):
        def call(self, method, path, body=None):
            response = super().call(method, path, body)
            if method == 'POST':
                return tp.Response('502', False, response.latency_ms, None, 'Bad Gateway')
            return response

    with FakeHeat(complete_after=0.0) as fake:
        args = tp.build_parser().parse_args(['--url', fake.url, '--duration', '0.5', '--readers', '0',
                                             '--create-interval', '10', '--settle-timeout', '3'])
        result = tp.Probe(args, client=Lossy(fake.url, timeout=5)).run()
    names = list(fake.stacks)
    assert len(names) == 1
    name = names[0]
    assert result['stacks']['created'] == 0 and result['stacks']['create_failed'] == 1
    assert result['stacks']['found_after_failed_create'] == [name]
    assert result['stacks']['by_name'] == {name: 'CREATE_COMPLETE'}
    assert result['ok'] is False


def test_daemonized_probe_outlives_the_pipe_of_its_starter(tmp_path):
    """Started as an Ansible task starts it: the task's stderr pipe is gone when the stop file comes."""
    out, stop, pidfile = tmp_path / 'result.json', tmp_path / 'stop', tmp_path / 'probe.pid'
    with FakeHeat(complete_after=0.2) as fake:
        starter = run_probe('--url', fake.url, '--duration', '0', '--output', str(out), '--stop-file', str(stop),
                            '--pidfile', str(pidfile), '--readers', '1', '--read-interval', '0.1',
                            '--create-interval', '0.3', '--settle-timeout', '5', '--daemonize')
        starter.communicate(timeout=10)  # the starter returns at once; its pipes are closed now
        deadline = time.time() + 10
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.time() < deadline:
            time.sleep(0.1)
        pid = int(pidfile.read_text())
        time.sleep(1.0)
        stop.write_text('')
        deadline = time.time() + 30
        while pidfile.exists() and time.time() < deadline:
            time.sleep(0.2)
        alive = os.path.exists('/proc/%d' % pid) and 'zombie' not in open('/proc/%d/status' % pid).read()
        if alive:
            os.kill(pid, signal.SIGKILL)
        assert not alive, 'the probe did not exit after its stop file'
    result = json.loads(out.read_text())
    assert result['phase'] == 'done' and result['ok'] is True
    log = (tmp_path / 'result.json.log').read_text()
    assert 'stop file %s found' % stop in log


class FakeKeystone:
    """Answers POST /v3/auth/tokens: 201 for admin with the right password, 401 otherwise, and 503
    between the two wall-clock times of ``down``; logs (wall time, status, body). The token is
    'tok' when scoped to the project admin, 'unscoped' otherwise (the APIs refuse that one)."""

    def __init__(self, password, down=(0, 0)):
        self.log = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # silence
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                user = body['auth']['identity']['password']['user']
                if self.path != '/v3/auth/tokens':
                    status = 404
                elif down[0] <= time.time() < down[1]:
                    status = 503
                elif user == {'name': 'admin', 'domain': {'id': 'default'}, 'password': password}:
                    status = 201
                else:
                    status = 401
                fake.log.append((time.time(), status, body))
                self.send_response(status)
                # keystone behind gunicorn spells it in lower case.
                scoped = body['auth'].get('scope') == {'project': {'name': 'admin', 'domain': {'id': 'default'}}}
                self.send_header('x-subject-token', 'tok' if scoped else 'unscoped')
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'{}')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d/v3' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_keystone_tokens_are_asked_for_and_their_outage_measured(tmp_path):
    out = tmp_path / 'result.json'
    t0 = time.time()
    keystone = FakeKeystone('s3cret', down=(t0 + 1.5, t0 + 2.5))
    with FakeHeat() as fake:
        proc = subprocess.Popen(
            [sys.executable, TOOL, '--url', fake.url, '--duration', '4', '--output', str(out), '--readers', '1',
             '--read-interval', '0.1', '--create-interval', '0', '--keystone-url', keystone.url,
             '--keystone-password-env', 'TEST_KS_PW'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, TEST_KS_PW='s3cret'))
        stderr = proc.communicate(timeout=30)[1]
    keystone.server.shutdown()
    assert proc.returncode == 0, stderr
    result = json.loads(out.read_text())
    label = 'keystone POST /auth/tokens'
    statuses = [entry[1] for entry in keystone.log]
    assert result['requests']['by_endpoint'][label]['sent'] == len(statuses) >= 20
    assert set(statuses) == {201, 503}, 'the password from the environment was not sent'
    assert result['requests']['by_endpoint'][label]['failed'] == statuses.count(503)
    windows = result['downtime'][label]['windows']
    assert len(windows) == 1 and 0.8 < result['downtime'][label]['total_seconds'] < 1.5
    # The password never reaches the result.
    assert 's3cret' not in out.read_text()
    # heat's own labels saw no outage.
    assert all(not info['windows'] for name, info in result['downtime'].items() if name != label)


class FakeApi:
    """Answers GET with 200 when X-Auth-Token is 'tok', 401 otherwise, 503 between the wall-clock
    times of ``down``; logs (wall time, status, token)."""

    def __init__(self, down=(0, 0)):
        self.log = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # silence
                pass

            def do_GET(self):
                token = self.headers.get('X-Auth-Token')
                if down[0] <= time.time() < down[1]:
                    status = 503
                else:
                    status = 200 if token == 'tok' else 401
                fake.log.append((time.time(), status, token))
                self.send_response(status)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'{}')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d/v2/images' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_api_reads_use_a_kept_token_and_measure_their_own_outage(tmp_path):
    out = tmp_path / 'result.json'
    t0 = time.time()
    # keystone is down while the API is up, and the other way round later.
    keystone = FakeKeystone('s3cret', down=(t0 + 1.0, t0 + 2.0))
    api = FakeApi(down=(t0 + 2.5, t0 + 3.2))
    with FakeHeat() as fake:
        proc = subprocess.Popen(
            [sys.executable, TOOL, '--url', fake.url, '--duration', '4', '--output', str(out), '--readers', '1',
             '--read-interval', '0.1', '--create-interval', '0', '--keystone-url', keystone.url,
             '--keystone-password-env', 'TEST_KS_PW', '--api', 'glance GET /v2/images=' + api.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, TEST_KS_PW='s3cret'))
        stderr = proc.communicate(timeout=30)[1]
    keystone.server.shutdown()
    api.server.shutdown()
    assert proc.returncode == 0, stderr
    result = json.loads(out.read_text())
    label = 'glance GET /v2/images'
    assert result['requests']['by_endpoint'][label]['sent'] == len(api.log) >= 20
    # 'tok' is the project-scoped token: an unscoped one is refused by glance,
    # placement and cinder (403), which the lab's probe first sent.
    assert {entry[2] for entry in api.log} == {'tok'}, 'every API read carries the kept, scoped token'
    # The API's window is its own (2.5 -> 3.2 s), not keystone's (1.0 -> 2.0 s).
    windows = result['downtime'][label]['windows']
    assert len(windows) == 1 and 0.4 < result['downtime'][label]['total_seconds'] < 1.1
    assert windows[0][0] > 2.0
    assert len(result['downtime']['keystone POST /auth/tokens']['windows']) == 1


def test_api_reads_need_keystone(tmp_path):
    proc = subprocess.run([sys.executable, TOOL, '--duration', '1', '--api', 'x=http://127.0.0.1:1/'],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2 and '--api needs --keystone-url' in proc.stderr
