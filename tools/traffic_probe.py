#!/usr/bin/env python
"""Traffic probe for Heat: steady API reads and stack creates through a load balancer.

Runs until ``--duration`` seconds have passed, a ``--stop-file`` appears or it
gets SIGTERM/SIGINT. Then it stops sending traffic, waits for in-flight
requests, polls the stacks it created until each is in a terminal state (or
``--settle-timeout`` runs out), optionally deletes them, writes the result and
exits 0. A second SIGTERM/SIGINT cuts the settling short. Python 3.11 stdlib
only; run it with ``nohup python tools/traffic_probe.py ... &``, Ansible async
or ``--daemonize``.

Traffic:
  * ``--readers`` threads, each sending one read every ``--read-interval``
    seconds, rotating over ``--reads`` (``GET /stacks``, ``GET /stacks/<name>``
    of one of the probe's stacks with the 302 followed, ``GET /build_info``,
    ``GET /services``);
  * one stack create (``POST /stacks``) every ``--create-interval`` seconds
    (each in its own thread, so a slow create does not delay the next one),
    rotating over three templates of ``OS::Heat::TestResource``: ``plain`` (one
    resource), ``long`` (one resource with ``wait_secs``) and ``chained``
    (``--chain`` resources linked with ``depends_on``, each with ``wait_secs``).

With ``--keystone-url``, one more thread asks Keystone for a token
(``POST /auth/tokens``, password auth of ``--keystone-user`` in the Default
domain, scoped to ``--keystone-project``, the password read from the
environment variable named by
``--keystone-password-env``) every ``--read-interval`` seconds, so Keystone's
downtime is measured beside Heat's. With ``--api LABEL=URL`` (repeatable, needs
``--keystone-url``), one thread per API sends ``GET URL`` every
``--read-interval`` seconds with a token that the keystone thread obtained;
the token is kept (renewed every ``--api-token-age`` seconds or after a 401),
so that an API's outage is its own and not Keystone's (the services cache
the tokens they validated).

A request fails when it gets an HTTP status >= 400 or raises (its status label
is then ``error:<ExceptionClass>``, e.g. ``error:ConnectionRefusedError``,
``error:TimeoutError``). Times are offsets in seconds from ``started``, taken
when a request was sent.

Result JSON (``--output``, replaced atomically; rewritten every
``--progress-interval`` seconds with ``"running": true`` while the probe runs):

``running``      true in progress snapshots, false in the final result
``phase``        ``traffic``, ``settling``, ``deleting`` or ``done``
``started``      UTC ISO 8601 time the traffic started (``started_epoch``: the same in Unix seconds)
``ended``        UTC ISO 8601 time of this snapshot / of the end of the run
``duration``     seconds of traffic (until the last in-flight request returned)
``settle_seconds``  seconds spent polling stacks after the traffic stopped
``url``, ``config``  what the probe was run with (header values are not written)
``requests``     ``{sent, failed, by_status: {"200": n, "503": n, "error:...": n},
                 by_endpoint: {label: {sent, failed, latency_ms}}}``; labels are
                 ``GET /stacks``, ``GET /stacks/{name}``, ``GET /build_info``,
                 ``GET /services``, ``POST /stacks``, ``keystone POST /auth/tokens``
``latency_ms``   ``{p50, p90, p99, max}`` over all requests (nearest rank; null if none)
``failures``     the first 50 failed requests: ``{time, at, endpoint, status, latency_ms, error}``
``downtime``     ``{label: {windows: [[start, end], ...], total_seconds}}`` for every
                 endpoint label seen; a window runs from a failed request to the
                 next successful request on that label; a window still open at
                 the end is closed at ``duration``
``stacks``       ``{created, create_failed, final_states: {"CREATE_COMPLETE": n, ...},
                 stuck: [names still *_IN_PROGRESS], by_name: {name: state},
                 kinds: {name: plain|long|chained}, found_after_failed_create: [names],
                 deleted, delete_failed}``; a state is ``UNKNOWN`` when it could never
                 be read. ``created`` counts 2xx answers to ``POST /stacks``;
                 ``by_name`` also holds stacks that exist although their create
                 request failed (``found_after_failed_create``).
``ok``           true iff ``requests.failed == 0`` and every stack in ``by_name`` is
                 complete (``*_COMPLETE`` other than ``DELETE_`` / ``ROLLBACK_``)
"""

import argparse
import datetime
import json
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, namedtuple

DEFAULT_URL = 'http://127.0.0.1:8004/v1/admin'
MAX_FAILURES = 50
SETTLE_POLL_SECONDS = 1.0
TEMPLATE_VERSION = '2016-10-14'

READS = {
    'stacks': 'GET /stacks',
    'stack': 'GET /stacks/{name}',
    'build_info': 'GET /build_info',
    'services': 'GET /services',
}
CREATE_LABEL = 'POST /stacks'
TOKEN_LABEL = 'keystone POST /auth/tokens'

# One request as the probe saw it. offset: seconds from the start, when sent.
Request = namedtuple('Request', 'offset endpoint status ok latency_ms error')
# What HeatClient.call returns.
Response = namedtuple('Response', 'status ok latency_ms data error headers', defaults=(None,))


# --------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------

def percentile(values, pct):
    """Nearest-rank percentile of ``values`` (0 < pct <= 100); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(latencies):
    """{p50, p90, p99, max} of a list of latencies (ms), rounded to 0.1 ms."""
    def rnd(value):
        return None if value is None else round(value, 1)
    return {
        'p50': rnd(percentile(latencies, 50)),
        'p90': rnd(percentile(latencies, 90)),
        'p99': rnd(percentile(latencies, 99)),
        'max': rnd(max(latencies) if latencies else None),
    }


def downtime_windows(events, end_offset):
    """Downtime windows of one endpoint.

    ``events`` is an iterable of ``(offset, ok)``. A window opens at the first
    failed request and closes at the next successful one (by send time); a
    window still open at the end is closed at ``end_offset``.
    Returns ``[[start, end], ...]``.
    """
    windows = []
    opened = None
    for offset, ok in sorted(events, key=lambda event: event[0]):
        if not ok and opened is None:
            opened = offset
        elif ok and opened is not None:
            windows.append([opened, offset])
            opened = None
    if opened is not None:
        windows.append([opened, max(opened, end_offset)])
    return [[round(start, 3), round(end, 3)] for start, end in windows]


def windows_total(windows):
    """Total seconds covered by non-overlapping windows."""
    return round(sum(end - start for start, end in windows), 3)


def downtime_by_endpoint(records, end_offset):
    """{label: {windows, total_seconds}} for every endpoint label in ``records``."""
    events = {}
    for rec in records:
        events.setdefault(rec.endpoint, []).append((rec.offset, rec.ok))
    result = {}
    for label in sorted(events):
        windows = downtime_windows(events[label], end_offset)
        result[label] = {'windows': windows, 'total_seconds': windows_total(windows)}
    return result


def stack_kinds(chain):
    """The rotation of stack kinds; chained stacks only if chain > 0."""
    return ['plain', 'long', 'chained'] if chain > 0 else ['plain', 'long']


def stack_kind(index, chain):
    """Kind of the index-th stack created (0-based)."""
    kinds = stack_kinds(chain)
    return kinds[index % len(kinds)]


def _test_resource(value, wait_secs):
    props = {'value': value}
    if wait_secs:
        # Wait on create and update only, so that deleting the probe's stacks is quick.
        props['wait_secs'] = wait_secs
        props['action_wait_secs'] = {'create': wait_secs, 'update': wait_secs, 'delete': 0}
    return {'type': 'OS::Heat::TestResource', 'properties': props}


def build_template(kind, wait_secs=0, chain=3):
    """HOT template (a dict) for a ``plain``, ``long`` or ``chained`` stack."""
    if kind == 'plain':
        resources = {'r0': _test_resource('plain', 0)}
    elif kind == 'long':
        resources = {'r0': _test_resource('long', wait_secs)}
    elif kind == 'chained':
        resources = {}
        for i in range(max(1, chain)):
            resources['r%d' % i] = _test_resource('chained-%d' % i, wait_secs)
            if i:
                resources['r%d' % i]['depends_on'] = 'r%d' % (i - 1)
    else:
        raise ValueError('unknown stack kind: %s' % kind)
    return {'heat_template_version': TEMPLATE_VERSION,
            'description': 'traffic_probe %s stack' % kind,
            'resources': resources}


def is_terminal(state):
    return bool(state) and (state.endswith('_COMPLETE') or state.endswith('_FAILED'))


def is_in_progress(state):
    return bool(state) and state.endswith('_IN_PROGRESS')


def is_good(state):
    """A stack state that counts as done well (e.g. CREATE_COMPLETE, UPDATE_COMPLETE)."""
    return (bool(state) and state.endswith('_COMPLETE')
            and not state.startswith(('DELETE_', 'ROLLBACK_')))


def iso_time(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec='milliseconds')


def summarize_requests(records):
    """The ``requests`` section of the result."""
    by_endpoint = {}
    for label in sorted({rec.endpoint for rec in records}):
        mine = [rec for rec in records if rec.endpoint == label]
        by_endpoint[label] = {
            'sent': len(mine),
            'failed': sum(1 for rec in mine if not rec.ok),
            'latency_ms': latency_summary([rec.latency_ms for rec in mine]),
        }
    return {
        'sent': len(records),
        'failed': sum(1 for rec in records if not rec.ok),
        'by_status': dict(sorted(Counter(rec.status for rec in records).items())),
        'by_endpoint': by_endpoint,
    }


def summarize_failures(records, started_epoch, limit=MAX_FAILURES):
    """The first ``limit`` failed requests, by send time."""
    failed = sorted((rec for rec in records if not rec.ok), key=lambda rec: rec.offset)
    return [{'time': round(rec.offset, 3), 'at': iso_time(started_epoch + rec.offset),
             'endpoint': rec.endpoint, 'status': rec.status,
             'latency_ms': round(rec.latency_ms, 1), 'error': rec.error}
            for rec in failed[:limit]]


def summarize_stacks(records, stacks, deleted=None):
    """The ``stacks`` section. ``stacks``: {name: {state, kind, confirmed}}."""
    creates = [rec for rec in records if rec.endpoint == CREATE_LABEL]
    by_name = {name: info.get('state') or 'UNKNOWN' for name, info in sorted(stacks.items())}
    deleted = deleted or {}
    return {
        'created': sum(1 for rec in creates if rec.ok),
        'create_failed': sum(1 for rec in creates if not rec.ok),
        'final_states': dict(sorted(Counter(by_name.values()).items())),
        'stuck': [name for name, state in by_name.items() if is_in_progress(state)],
        'by_name': by_name,
        'kinds': {name: info.get('kind') for name, info in sorted(stacks.items())},
        'found_after_failed_create': [name for name, info in sorted(stacks.items())
                                      if not info.get('confirmed', True)],
        'deleted': deleted.get('deleted', 0),
        'delete_failed': deleted.get('delete_failed', 0),
    }


def summarize(records, stacks, started_epoch, end_offset, running=False, phase='done',
              settle_seconds=0.0, deleted=None, now_epoch=None, extra=None):
    """Build the whole result document from plain data (no I/O)."""
    records = list(records)
    requests = summarize_requests(records)
    stack_section = summarize_stacks(records, stacks, deleted)
    result = {
        'running': running,
        'phase': phase,
        'started': iso_time(started_epoch),
        'started_epoch': round(started_epoch, 3),
        'ended': iso_time(now_epoch if now_epoch is not None else started_epoch + end_offset),
        'duration': round(end_offset, 3),
        'settle_seconds': round(settle_seconds, 3),
        'requests': requests,
        'latency_ms': latency_summary([rec.latency_ms for rec in records]),
        'failures': summarize_failures(records, started_epoch),
        'downtime': downtime_by_endpoint(records, end_offset),
        'stacks': stack_section,
        'ok': requests['failed'] == 0 and all(is_good(s) for s in stack_section['by_name'].values()),
    }
    result.update(extra or {})
    return result


def write_json_atomic(path, data):
    """Write ``data`` as JSON to ``path`` through a temporary file and rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write('\n')
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_api(text):
    """'LABEL=URL' -> (label, url)."""
    label, sep, url = text.partition('=')
    if not sep or not label.strip() or not url.strip().startswith(('http://', 'https://')):
        raise argparse.ArgumentTypeError('api must look like LABEL=http://..., got %r' % text)
    return label.strip(), url.strip()


def parse_header(text):
    """'Name: value' or 'Name:value' -> (name, value)."""
    name, sep, value = text.partition(':')
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError('header must look like NAME:VALUE, got %r' % text)
    return name.strip(), value.strip()


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

def error_label(exc):
    """('error:<ExceptionClass>', message) for an exception from urllib."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    return 'error:%s' % type(exc).__name__, str(exc)[:300]


class HeatClient:
    """Minimal JSON client for the Heat API; redirects are followed, proxies ignored."""

    def __init__(self, base_url, headers=None, timeout=90.0):
        self.base_url = base_url.rstrip('/')
        self.headers = {'Accept': 'application/json'}
        self.headers.update(headers or {})
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method, path, body=None, extra_headers=None):
        """Send one request; never raises for HTTP or connection errors."""
        headers = dict(self.headers)
        headers.update(extra_headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        start = time.monotonic()
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
                # Header names in lower case: servers differ in how they spell them.
                got_headers = {name.lower(): value for name, value in resp.headers.items()}
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read(300).decode('utf-8', 'replace')
            except Exception:  # pylint: disable=broad-except
                text = ''
            latency = (time.monotonic() - start) * 1000.0
            return Response(str(exc.code), False, latency, None, ('%s %s' % (exc.reason, text)).strip()[:300])
        except Exception as exc:  # pylint: disable=broad-except
            latency = (time.monotonic() - start) * 1000.0
            label, text = error_label(exc)
            return Response(label, False, latency, None, text)
        latency = (time.monotonic() - start) * 1000.0
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return Response(str(status), status < 400, latency, payload, None, got_headers)


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

class Recorder:
    """Thread-safe list of Request records."""

    def __init__(self, started):
        self.started = started
        self._lock = threading.Lock()
        self._records = []

    def offset(self):
        return time.monotonic() - self.started

    def add(self, offset, endpoint, response):
        rec = Request(offset, endpoint, response.status, response.ok, response.latency_ms, response.error)
        with self._lock:
            self._records.append(rec)
        return rec

    def snapshot(self):
        with self._lock:
            return list(self._records)


class StackTracker:
    """The probe's stacks: {name: {id, kind, state, confirmed}}, thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stacks = {}
        self._failed_creates = {}

    def add(self, name, stack_id, kind, confirmed=True, state=None):
        with self._lock:
            self._stacks[name] = {'id': stack_id, 'kind': kind, 'state': state, 'confirmed': confirmed}
            self._failed_creates.pop(name, None)

    def create_failed(self, name, kind):
        with self._lock:
            self._failed_creates[name] = kind

    def failed_creates(self):
        with self._lock:
            return dict(self._failed_creates)

    def forget_failed_create(self, name):
        with self._lock:
            self._failed_creates.pop(name, None)

    def set_state(self, name, state, stack_id=None):
        with self._lock:
            if name in self._stacks and state:
                self._stacks[name]['state'] = state
                if stack_id and not self._stacks[name]['id']:
                    self._stacks[name]['id'] = stack_id

    def names(self):
        with self._lock:
            return list(self._stacks)

    def pending(self):
        with self._lock:
            return [(name, info['id']) for name, info in self._stacks.items() if not is_terminal(info['state'])]

    def snapshot(self):
        with self._lock:
            return {name: dict(info) for name, info in self._stacks.items()}


# --------------------------------------------------------------------------
# The probe
# --------------------------------------------------------------------------

class Probe:
    """Runs readers, the creator, settling, deletion, and writes the result."""

    def __init__(self, args, client=None, keystone_client=None):
        self.args = args
        self.client = client or HeatClient(args.url, dict(args.header), args.request_timeout)
        self.keystone_client = keystone_client
        self.started = time.monotonic()
        self.started_epoch = time.time()
        self.recorder = Recorder(self.started)
        self.stacks = StackTracker()
        self.stop = threading.Event()        # stop sending traffic
        self.abort = threading.Event()       # cut settling short (second signal)
        self.finished = threading.Event()    # stop the heartbeat
        self.run_id = os.urandom(3).hex()
        self.phase = 'traffic'
        self.traffic_end = None
        self.settle_seconds = 0.0
        self.deleted = None
        self._write_lock = threading.Lock()
        self._create_threads = []
        self._token_lock = threading.Lock()
        self.api_token = None          # (token, obtained at monotonic time)
        self.api_token_stale = False

    # -- signals ----------------------------------------------------------
    def request_stop(self, signum=None, frame=None):  # pylint: disable=unused-argument
        if self.stop.is_set():
            self.abort.set()
        self.stop.set()

    # -- result -----------------------------------------------------------
    def result(self, running):
        now = time.monotonic()
        end = self.traffic_end if self.traffic_end is not None else now - self.started
        config = {key: value for key, value in vars(self.args).items() if key not in ('header', 'url')}
        config['header_names'] = [header[0] for header in self.args.header]
        return summarize(self.recorder.snapshot(), self.stacks.snapshot(), self.started_epoch, end,
                         running=running, phase=self.phase, settle_seconds=self.settle_seconds,
                         deleted=self.deleted, now_epoch=self.started_epoch + (now - self.started),
                         extra={'url': self.args.url, 'config': config, 'run_id': self.run_id})

    def write(self, running):
        if not self.args.output:
            return None
        with self._write_lock:
            data = self.result(running)
            write_json_atomic(self.args.output, data)
            return data

    def heartbeat(self):
        while not self.finished.wait(self.args.progress_interval):
            try:
                self.write(running=True)
            except OSError as exc:
                log('cannot write progress: %s' % exc)

    # -- traffic ----------------------------------------------------------
    def read_once(self, what):
        label = READS[what]
        path = {'stacks': '/stacks', 'build_info': '/build_info', 'services': '/services'}.get(what)
        name = None
        if what == 'stack':
            names = self.stacks.names()
            if not names:
                label, path = READS['stacks'], '/stacks'
            else:
                name = random.choice(names)
                path = '/stacks/%s' % name
        offset = self.recorder.offset()
        response = self.client.call('GET', path)
        self.recorder.add(offset, label, response)
        self.note_states(response, name)

    def note_states(self, response, name):
        """Keep stack states fresh from what the reads return anyway."""
        data = response.data if isinstance(response.data, dict) else {}
        if name and isinstance(data.get('stack'), dict):
            self.stacks.set_state(name, data['stack'].get('stack_status'), data['stack'].get('id'))
        for stack in data.get('stacks') or []:
            if isinstance(stack, dict):
                self.stacks.set_state(stack.get('stack_name'), stack.get('stack_status'), stack.get('id'))

    def reader(self, index):
        reads = self.args.reads
        # Stagger the readers over one interval.
        if self.stop.wait(self.args.read_interval * index / max(1, self.args.readers)):
            return
        turn = index
        while not self.stop.is_set():
            self.read_once(reads[turn % len(reads)])
            turn += 1
            self.stop.wait(self.args.read_interval)

    def create_once(self, index):
        kind = stack_kind(index, self.args.chain)
        name = '%s%s-%04d-%s' % (self.args.stack_prefix, self.run_id, index, kind)
        body = {'stack_name': name, 'template': build_template(kind, self.args.wait_secs, self.args.chain),
                'parameters': {}, 'disable_rollback': True}
        offset = self.recorder.offset()
        response = self.client.call('POST', '/stacks', body)
        self.recorder.add(offset, CREATE_LABEL, response)
        if response.ok:
            data = response.data if isinstance(response.data, dict) else {}
            stack_id = (data.get('stack') or {}).get('id')
            self.stacks.add(name, stack_id, kind)
        else:
            # The stack may exist anyway (e.g. the answer was lost): looked up when settling.
            self.stacks.create_failed(name, kind)

    def token_body(self):
        # Scoped to a project: the services' policies refuse an unscoped
        # token (403 from glance, placement and cinder; nova's flavor list
        # alone lets it through).
        return {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': self.args.keystone_user, 'domain': {'id': 'default'},
                'password': os.environ.get(self.args.keystone_password_env, '')}}},
            'scope': {'project': {'name': self.args.keystone_project, 'domain': {'id': 'default'}}}}}

    def token_reader(self):
        client = self.keystone_client or HeatClient(self.args.keystone_url, None, self.args.request_timeout)
        while not self.stop.is_set():
            offset = self.recorder.offset()
            response = client.call('POST', '/auth/tokens', self.token_body())
            self.recorder.add(offset, TOKEN_LABEL, response)
            token = (response.headers or {}).get('x-subject-token') if response.ok else None
            if token:
                self.keep_token(token)
            self.stop.wait(self.args.read_interval)

    def keep_token(self, token):
        """Keep a fresh token for the API readers when the kept one is old or refused."""
        with self._token_lock:
            now = time.monotonic()
            if (self.api_token is None or self.api_token_stale
                    or now - self.api_token[1] >= self.args.api_token_age):
                self.api_token = (token, now)
                self.api_token_stale = False

    def api_reader(self, index, label, url):
        client = HeatClient(url, None, self.args.request_timeout)
        if self.stop.wait(self.args.read_interval * index / max(1, len(self.args.api))):
            return
        while not self.stop.is_set():
            with self._token_lock:
                token = self.api_token[0] if self.api_token else None
            if token is None:
                # Nothing to measure with until keystone gave a token once.
                self.stop.wait(0.2)
                continue
            offset = self.recorder.offset()
            response = client.call('GET', '', extra_headers={'X-Auth-Token': token})
            self.recorder.add(offset, label, response)
            if response.status == '401':
                with self._token_lock:
                    self.api_token_stale = True
            self.stop.wait(self.args.read_interval)

    def creator(self):
        index = 0
        while not self.stop.is_set():
            thread = threading.Thread(target=self.create_once, args=(index,), name='create-%d' % index)
            thread.start()
            self._create_threads.append(thread)
            index += 1
            self.stop.wait(self.args.create_interval)

    def wait_for_stop(self):
        deadline = self.started + self.args.duration if self.args.duration > 0 else None
        while not self.stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if self.args.stop_file and os.path.exists(self.args.stop_file):
                log('stop file %s found' % self.args.stop_file)
                break
            self.stop.wait(0.2)
        self.stop.set()

    def run_traffic(self):
        threads = [threading.Thread(target=self.reader, args=(i,), name='reader-%d' % i)
                   for i in range(self.args.readers)]
        if self.args.create_interval > 0:
            threads.append(threading.Thread(target=self.creator, name='creator'))
        if self.args.keystone_url:
            threads.append(threading.Thread(target=self.token_reader, name='keystone'))
            for index, (label, url) in enumerate(self.args.api):
                threads.append(threading.Thread(target=self.api_reader, args=(index, label, url), name=label))
        for thread in threads:
            thread.start()
        try:
            self.wait_for_stop()
        finally:
            # Whatever happened, the traffic threads must end, or the process
            # would never exit.
            self.stop.set()
        for thread in threads + self._create_threads:
            thread.join()
        self.traffic_end = time.monotonic() - self.started

    # -- after the traffic -----------------------------------------------
    def poll_stack(self, name, stack_id):
        path = '/stacks/%s/%s' % (name, stack_id) if stack_id else '/stacks/%s' % name
        response = self.client.call('GET', path)
        self.note_states(response, name)
        return response

    def look_up_failed_creates(self):
        for name, kind in self.stacks.failed_creates().items():
            response = self.client.call('GET', '/stacks/%s' % name)
            if response.status == '404':
                self.stacks.forget_failed_create(name)
            elif response.ok and isinstance(response.data, dict) and isinstance(response.data.get('stack'), dict):
                stack = response.data['stack']
                self.stacks.add(name, stack.get('id'), kind, confirmed=False, state=stack.get('stack_status'))

    def settle(self):
        self.phase = 'settling'
        start = time.monotonic()
        deadline = start + self.args.settle_timeout
        while True:
            self.look_up_failed_creates()
            for name, stack_id in self.stacks.pending():
                if self.abort.is_set():
                    break
                self.poll_stack(name, stack_id)
            self.settle_seconds = time.monotonic() - start
            if not self.stacks.pending() and not self.stacks.failed_creates():
                break
            if time.monotonic() >= deadline or self.abort.wait(SETTLE_POLL_SECONDS):
                break
        self.settle_seconds = time.monotonic() - start

    def delete_stacks(self):
        self.phase = 'deleting'
        counts = {'deleted': 0, 'delete_failed': 0}
        for name, info in sorted(self.stacks.snapshot().items()):
            path = '/stacks/%s/%s' % (name, info['id']) if info['id'] else '/stacks/%s' % name
            response = self.client.call('DELETE', path)
            counts['deleted' if response.ok else 'delete_failed'] += 1
        self.deleted = counts

    def run(self):
        heartbeat = threading.Thread(target=self.heartbeat, name='heartbeat', daemon=True)
        self.write(running=True)
        heartbeat.start()
        try:
            self.run_traffic()
            self.settle()
            if self.args.delete_stacks:
                self.delete_stacks()
            self.phase = 'done'
        finally:
            self.finished.set()
            heartbeat.join()
        data = self.write(running=False)
        return data if data is not None else self.result(running=False)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def log(message):
    """One line on stderr; a closed or broken stderr never stops the probe."""
    try:
        sys.stderr.write('%s traffic_probe: %s\n' % (iso_time(time.time()), message))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def csv_reads(text):
    reads = [item.strip() for item in text.split(',') if item.strip()]
    unknown = [item for item in reads if item not in READS]
    if unknown or not reads:
        raise argparse.ArgumentTypeError('reads must be a comma list of %s' % ', '.join(READS))
    return reads


def non_negative(kind):
    def parse(text):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError('must be >= 0: %s' % text)
        return value
    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        description='Send a steady mix of Heat API reads and stack creates and write a JSON result.')
    parser.add_argument('--url', default=DEFAULT_URL, help='Heat API base URL with tenant (default %(default)s)')
    parser.add_argument('--duration', type=non_negative(float), default=60.0,
                        help='seconds of traffic; 0 = until SIGTERM/SIGINT or --stop-file (default %(default)s)')
    parser.add_argument('--stop-file', help='stop the traffic when this file appears (one left from before is removed at start)')
    parser.add_argument('--output', help='JSON result file (replaced atomically)')
    parser.add_argument('--pidfile', help='write the process id here; removed at exit')
    parser.add_argument('--progress-interval', type=float, default=5.0,
                        help='seconds between progress snapshots in --output (default %(default)s)')
    parser.add_argument('--readers', type=non_negative(int), default=2, help='reader threads (default %(default)s)')
    parser.add_argument('--read-interval', type=non_negative(float), default=0.5,
                        help='seconds between reads of one reader (default %(default)s)')
    parser.add_argument('--reads', type=csv_reads, default=list(READS),
                        help='comma list of reads to rotate over: %s (default all)' % ', '.join(READS))
    parser.add_argument('--create-interval', type=non_negative(float), default=5.0,
                        help='seconds between stack creates; 0 = no creates (default %(default)s)')
    parser.add_argument('--wait-secs', type=non_negative(float), default=20.0,
                        help='TestResource wait_secs of long and chained stacks (default %(default)s)')
    parser.add_argument('--chain', type=non_negative(int), default=3,
                        help='resources in a chained stack; 0 = no chained stacks (default %(default)s)')
    parser.add_argument('--settle-timeout', type=non_negative(float), default=180.0,
                        help='seconds to wait for created stacks to finish after the traffic (default %(default)s)')
    parser.add_argument('--request-timeout', type=float, default=90.0,
                        help='per-request timeout in seconds (default %(default)s)')
    parser.add_argument('--stack-prefix', default='probe-', help='stack name prefix (default %(default)s)')
    parser.add_argument('--delete-stacks', action='store_true', help='delete the probe\'s stacks after settling')
    parser.add_argument('--header', action='append', type=parse_header, default=[], metavar='NAME:VALUE',
                        help='extra request header (repeatable), e.g. X-Auth-Token:...')
    parser.add_argument('--keystone-url', help='also ask this Keystone v3 URL for a token every --read-interval')
    parser.add_argument('--keystone-user', default='admin', help='Keystone user, Default domain (default %(default)s)')
    parser.add_argument('--keystone-project', default='admin',
                        help='project the token is scoped to, Default domain (default %(default)s)')
    parser.add_argument('--keystone-password-env', default='PROBE_KEYSTONE_PASSWORD',
                        help='environment variable holding the Keystone password (default %(default)s)')
    parser.add_argument('--api', action='append', type=parse_api, default=[], metavar='LABEL=URL',
                        help='with --keystone-url, also GET this URL with a kept token every --read-interval '
                             '(repeatable), e.g. "glance GET /v2/images=http://127.0.0.1:9292/v2/images"')
    parser.add_argument('--api-token-age', type=non_negative(float), default=600.0,
                        help='seconds a token is kept for the --api reads (default %(default)s)')
    parser.add_argument('--daemonize', action='store_true', help='detach into the background first')
    parser.add_argument('--log', help='with --daemonize, where the messages go (default OUTPUT.log, or nowhere)')
    return parser


def daemonize(log_path=None):
    """Classic double fork; stdin/stdout go to /dev/null, stderr to ``log_path`` (or /dev/null).

    stderr must not stay the starter's pipe: the starter (an Ansible task)
    exits, and a later write to the closed pipe would fail.
    """
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    if log_path:
        err = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(err, 2)
        os.close(err)
    else:
        os.dup2(devnull, 2)
    os.close(devnull)


def write_pidfile(path):
    with open(path, 'w') as handle:
        handle.write('%d\n' % os.getpid())


def remove_pidfile(path):
    try:
        with open(path) as handle:
            if handle.read().strip() == str(os.getpid()):
                os.unlink(path)
    except OSError:
        pass


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.api and not args.keystone_url:
        parser.error('--api needs --keystone-url (its reads are sent with a keystone token)')
    if args.daemonize:
        daemonize(args.log or (args.output + '.log' if args.output else None))
    if args.pidfile:
        write_pidfile(args.pidfile)
    if args.stop_file and os.path.exists(args.stop_file):
        log('removing stale stop file %s' % args.stop_file)
        os.unlink(args.stop_file)
    probe = Probe(args)
    signal.signal(signal.SIGTERM, probe.request_stop)
    signal.signal(signal.SIGINT, probe.request_stop)
    log('started against %s (run %s, duration %s)' % (args.url, probe.run_id, args.duration or 'until stopped'))
    try:
        data = probe.run()
    finally:
        if args.pidfile:
            remove_pidfile(args.pidfile)
    req, stacks = data['requests'], data['stacks']
    log('done: ok=%s requests=%d failed=%d stacks created=%d stuck=%d states=%s' % (
        data['ok'], req['sent'], req['failed'], stacks['created'], len(stacks['stuck']),
        json.dumps(stacks['final_states'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
