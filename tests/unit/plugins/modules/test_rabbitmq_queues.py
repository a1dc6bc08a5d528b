"""rabbitmq_queues as a whole, against a stateful fake of the management API
loaded with the queues captured from RabbitMQ 3.10.8."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import rabbitmq
from ansible_collections.openstack_ops.upgrade.plugins.module_utils import waiter
from ansible_collections.openstack_ops.upgrade.plugins.modules import rabbitmq_queues

from rabbitmq_fake import FakeRabbit, fixture

LIVE = '9a7e51c2-5a4e-4b8e-9a4c-0d7b1f2c3e41'
DEAD = '3f1c0b7d-2c1e-4d6a-8f0e-6b5a4c3d2e10'
VHOST = 'heat-2025.2'


@pytest.fixture
def fake(monkeypatch):
    server = FakeRabbit()
    server.add_vhost(VHOST, fixture('queues_realtime_columns.json'),
                     rabbitmq.parse_consumer_counts(fixture('consumers.json')))
    monkeypatch.setattr(rabbitmq, 'open_url', server)
    return server


class Clock(object):
    """Replaces the waiter's clock and sleep; runs ``ticks[n]`` before probe n+1."""

    def __init__(self, ticks=()):
        self.now = 0.0
        self.ticks = list(ticks)
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.ticks:
            self.ticks.pop(0)()


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    original = waiter.wait_for

    def fast_wait_for(*args, **kwargs):
        kwargs.update(clock=c.clock, sleeper=c.sleep)
        return original(*args, **kwargs)
    monkeypatch.setattr(rabbitmq_queues, 'wait_for', fast_wait_for)
    return c


def run(args, capsys, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            rabbitmq_queues.main()
    return json.loads(capsys.readouterr().out)


def test_report(fake, capsys):
    result = run({'vhost': VHOST}, capsys)
    assert result['changed'] is False and result['counters'] == 'realtime'
    assert len(result['queues']) == 7
    assert (result['total_messages'], result['total_unacknowledged'], result['total_consumers']) == (5, 2, 4)
    assert result['queues'][0] == {'name': 'engine', 'messages': 3, 'messages_ready': 1,
                                   'messages_unacknowledged': 2, 'consumers': 1,
                                   'state': 'running', 'type': 'classic'}
    assert result['deleted'] == [] and result['elapsed'] >= 0


def test_patterns_and_query(fake, capsys):
    result = run({'vhost': VHOST, 'pattern': ['engine_worker.*', 'heat-engine-listener.*'],
                  'exclude_pattern': ['*.' + LIVE], 'query': '[?messages > `0`]'}, capsys)
    assert [q['name'] for q in result['queues']] == ['heat-engine-listener.' + DEAD]
    assert result['total_messages'] == 2


def test_bad_query_fails_clearly(fake, capsys):
    result = run({'vhost': VHOST, 'query': '[].name'}, capsys)
    assert result['failed'] is True and 'must return a list of queues' in result['msg']


def test_missing_vhost_fails_clearly(fake, capsys):
    result = run({'vhost': 'heat-2024.2'}, capsys)
    assert result['failed'] is True
    assert result['msg'] == ('RabbitMQ vhost heat-2024.2 does not exist (management API at '
                             'http://127.0.0.1:15672); check vhost.')


def drain(fake, name):
    def tick():
        fake.queues[VHOST][name].update(messages=0, messages_ready=0, messages_unacknowledged=0)
    return tick


def test_wait_drained_needs_consecutive_confirmations(fake, clock, capsys):
    clock.ticks = [drain(fake, 'engine'), lambda: None, drain(fake, 'heat-engine-listener.' + DEAD)]
    result = run({'vhost': VHOST, 'wait': 'drained', 'sleep': 5, 'timeout': 60}, capsys)
    assert result['total_messages'] == 0 and result['total_unacknowledged'] == 0
    # probes at 0 (busy), 5 (listener busy), 10 (busy), 15 (empty), 20 (empty again): done
    assert clock.sleeps == [5, 5, 5, 5]
    counts = [e['count'] for e in result['requests']]
    assert counts == [5, 5]


def test_wait_drained_with_one_confirmation(fake, clock, capsys):
    clock.ticks = [drain(fake, 'engine')]
    result = run({'vhost': VHOST, 'wait': 'drained', 'pattern': ['engine'], 'confirmations': 1}, capsys)
    assert result['queues'][0]['messages'] == 0
    assert clock.sleeps == [2]


def test_wait_drained_times_out_with_the_last_state(fake, clock, capsys):
    result = run({'vhost': VHOST, 'wait': 'drained', 'timeout': 10, 'sleep': 5}, capsys)
    assert result['failed'] is True
    assert result['msg'].startswith('Timed out after 10.0 seconds (timeout 10) waiting for every selected '
                                    'queue to hold 0 messages and 0 unacknowledged in vhost heat-2025.2 on 2 '
                                    'consecutive checks; last observed state: engine (3 messages, 2 unacknowledged')
    assert [q['name'] for q in result['blocking']] == ['engine', 'heat-engine-listener.' + DEAD]
    assert result['total_messages'] == 5 and result['attempts'] == 3


def test_wait_no_consumers(fake, clock, capsys):
    def stop_engines():
        fake.consumers[VHOST] = {}
    clock.ticks = [stop_engines]
    result = run({'vhost': VHOST, 'wait': 'no_consumers', 'pattern': ['engine_worker*']}, capsys)
    assert result['total_consumers'] == 0
    assert clock.sleeps == [2, 2]


def test_wait_no_consumers_also_waits_for_unacknowledged_messages(fake, clock, capsys):
    # engine: its consumer is gone from /api/consumers but 2 messages are still unacknowledged
    fake.consumers[VHOST] = {}

    def channel_closed():
        fake.queues[VHOST]['engine'].update(messages_ready=3, messages_unacknowledged=0)
    clock.ticks = [lambda: None, channel_closed]
    result = run({'vhost': VHOST, 'wait': 'no_consumers', 'pattern': ['engine']}, capsys)
    assert result['queues'][0]['messages_ready'] == 3
    assert clock.sleeps == [2, 2, 2]


def test_delete_unused_check_mode_then_real(fake, capsys):
    args = {'vhost': VHOST, 'pattern': ['engine_worker.*', 'heat-engine-listener.*'], 'delete_unused': True}
    predicted = run(args, capsys, check=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['deleted'] == ['engine_worker.' + DEAD]
    assert 'engine_worker.' + DEAD in fake.queues[VHOST]
    assert predicted['diff']['before']['queues'] == sorted(predicted['diff']['after']['queues']
                                                           + ['engine_worker.' + DEAD])
    assert [e['skipped'] for e in predicted['requests']] == [False, False, True]

    result = run(args, capsys)
    assert result['deleted'] == predicted['deleted'] and result['changed'] is True
    assert [q['name'] for q in result['queues']] == [q['name'] for q in predicted['queues']]
    assert 'engine_worker.' + DEAD not in fake.queues[VHOST]
    # the dead engine's listener queue still holds 2 messages: kept
    assert 'heat-engine-listener.' + DEAD in fake.queues[VHOST]
    assert run(args, capsys)['changed'] is False


def test_delete_unused_keeps_a_queue_that_gained_a_consumer(fake, capsys, monkeypatch):
    # /api/consumers lags behind a new consumer; the server's if-unused guard does not
    original = fake._get_consumers

    def stale(segs, params, body):
        status, answer = original(segs, params, body)
        fake.consumers[VHOST]['engine_worker.' + DEAD] = 1
        return status, answer
    monkeypatch.setattr(fake, '_get_consumers', stale)
    # where AnsibleModule.warn sends a warning depends on what else the test run loaded
    warnings = []
    monkeypatch.setattr(rabbitmq_queues.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    result = run({'vhost': VHOST, 'pattern': ['engine_worker.*'], 'delete_unused': True}, capsys)
    assert result['changed'] is False and result['deleted'] == []
    assert 'engine_worker.' + DEAD in fake.queues[VHOST]
    assert warnings == ["Kept queue engine_worker.%s of vhost heat-2025.2: queue 'engine_worker.%s' "
                        "in vhost 'heat-2025.2' in use" % (DEAD, DEAD)]


def test_unreachable_api(capsys):
    result = run({'vhost': VHOST, 'api_url': 'http://127.0.0.1:1', 'api_timeout': 2}, capsys)
    assert result['failed'] is True
    assert result['msg'].startswith('RabbitMQ management API at http://127.0.0.1:1 is not reachable: '
                                    'connection refused; is the rabbitmq_management plugin enabled')
