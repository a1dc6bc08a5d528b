"""rabbitmq_vhost and rabbitmq_queues against this machine's real RabbitMQ.

Skipped unless the management API answers at 127.0.0.1:15672 with guest/guest
(``rabbitmq-plugins enable rabbitmq_management``). Everything happens in a
scratch vhost ``osl-test-<random>`` and a scratch user, both deleted at the end.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.openstack_ops.upgrade.plugins.modules import rabbitmq_queues, rabbitmq_vhost

API = os.environ.get('OSL_RABBITMQ_API', 'http://127.0.0.1:15672')
AUTH = 'Basic ' + base64.b64encode(b'guest:guest').decode()


def call(method, path, body=None):
    req = Request(API + path, method=method, headers={'Authorization': AUTH, 'Content-Type': 'application/json'},
                  data=json.dumps(body).encode() if body is not None else None)
    with urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def api_up():
    try:
        call('GET', '/api/overview')
        return True
    except (URLError, HTTPError, OSError):
        return False


# scripts/test runs this after the lab is built, with OSL_REQUIRE_LIVE=1: there
# a missing API is a failure, not a skip.
if os.environ.get('OSL_REQUIRE_LIVE') and not api_up():
    raise RuntimeError('OSL_REQUIRE_LIVE is set but no RabbitMQ management API answers at %s' % API)
pytestmark = pytest.mark.skipif(not api_up(), reason='no RabbitMQ management API at %s' % API)


@pytest.fixture
def scratch():
    tag = uuid.uuid4().hex[:8]
    names = {'vhost': 'osl-test-%s' % tag, 'user': 'osl-test-%s-heat' % tag}
    yield names
    for path in ('/api/vhosts/%s' % names['vhost'], '/api/users/%s' % names['user']):
        try:
            call('DELETE', path)
        except HTTPError:
            pass


def run(module, args, capsys, check=False, diff=False):
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def publish(vhost, queue, count=1):
    for dummy in range(count):
        assert call('POST', '/api/exchanges/%s/amq.default/publish' % vhost,
                    {'properties': {}, 'routing_key': queue, 'payload': 'x', 'payload_encoding': 'string'}) \
            == {'routed': True}


def declare(vhost, *queues):
    for queue in queues:
        call('PUT', '/api/queues/%s/%s' % (vhost, queue), {'durable': False, 'auto_delete': False})


def test_vhost_lifecycle(scratch, capsys):
    vhost, user = scratch['vhost'], scratch['user']
    args = {'name': vhost, 'user': user, 'user_password': 'pw-' + vhost, 'permissions': [{'user': user}]}
    predicted = run(rabbitmq_vhost, args, capsys, check=True)
    assert predicted['changed'] is True
    with pytest.raises(HTTPError):
        call('GET', '/api/vhosts/%s' % vhost)

    created = run(rabbitmq_vhost, args, capsys, diff=True)
    assert created['changed'] is True
    assert created['after'] == predicted['after']
    assert call('GET', '/api/vhosts/%s/permissions' % vhost)
    assert run(rabbitmq_vhost, args, capsys)['changed'] is False

    declare(vhost, 'engine')
    publish(vhost, 'engine', 2)
    refused = run(rabbitmq_vhost, {'name': vhost, 'state': 'absent'}, capsys)
    assert refused['failed'] is True and refused['queues'][0]['messages'] == 2
    call('DELETE', '/api/queues/%s/engine/contents' % vhost)
    deleted = run(rabbitmq_vhost, {'name': vhost, 'state': 'absent'}, capsys)
    assert deleted['changed'] is True
    with pytest.raises(HTTPError):
        call('GET', '/api/vhosts/%s' % vhost)


def test_depths_are_real_time(scratch, capsys):
    vhost = scratch['vhost']
    call('PUT', '/api/vhosts/%s' % vhost, {})
    declare(vhost, 'engine')
    time.sleep(0.5)
    publish(vhost, 'engine', 5)
    # the statistics database would say 0 for up to 5 s here
    result = run(rabbitmq_queues, {'vhost': vhost}, capsys)
    assert result['total_messages'] == 5 and result['counters'] == 'realtime'
    call('DELETE', '/api/queues/%s/engine/contents' % vhost)
    assert run(rabbitmq_queues, {'vhost': vhost}, capsys)['total_messages'] == 0


def test_wait_drained_and_delete_unused(scratch, capsys):
    vhost = scratch['vhost']
    call('PUT', '/api/vhosts/%s' % vhost, {})
    declare(vhost, 'engine', 'engine_worker.dead', 'heat-engine-listener.dead')
    publish(vhost, 'engine', 3)
    purge = threading.Timer(1.5, call, ('DELETE', '/api/queues/%s/engine/contents' % vhost))
    purge.start()
    started = time.monotonic()
    result = run(rabbitmq_queues, {'vhost': vhost, 'wait': 'drained', 'sleep': 1, 'timeout': 20}, capsys)
    purge.join()
    assert result['total_messages'] == 0
    assert 1.5 <= time.monotonic() - started < 10

    args = {'vhost': vhost, 'pattern': ['engine_worker.*', 'heat-engine-listener.*'], 'delete_unused': True}
    predicted = run(rabbitmq_queues, args, capsys, check=True)
    assert predicted['deleted'] == ['engine_worker.dead', 'heat-engine-listener.dead']
    assert len(run(rabbitmq_queues, {'vhost': vhost}, capsys)['queues']) == 3
    assert run(rabbitmq_queues, args, capsys)['changed'] is True
    assert [q['name'] for q in run(rabbitmq_queues, {'vhost': vhost}, capsys)['queues']] == ['engine']
    assert run(rabbitmq_queues, args, capsys)['changed'] is False


@pytest.mark.skipif(not shutil.which('amqp-consume') and not os.environ.get('OSL_REQUIRE_LIVE'),
                    reason='amqp-consume (amqp-tools) not installed')
def test_unacknowledged_and_consumers(scratch, capsys):
    vhost = scratch['vhost']
    call('PUT', '/api/vhosts/%s' % vhost, {})
    declare(vhost, 'engine_worker')
    publish(vhost, 'engine_worker', 3)
    # a consumer that never acknowledges: prefetch 2 -> 2 unacknowledged
    consumer = subprocess.Popen(
        ['amqp-consume', '-u', 'amqp://guest:guest@127.0.0.1:5672/%s' % vhost, '-q', 'engine_worker',
         '-p', '2', 'sleep', '300'], start_new_session=True)
    try:
        time.sleep(1)
        result = run(rabbitmq_queues, {'vhost': vhost}, capsys)
        queue = result['queues'][0]
        assert (queue['messages'], queue['messages_ready'], queue['messages_unacknowledged']) == (3, 1, 2)
        refused = run(rabbitmq_vhost, {'name': vhost, 'state': 'absent'}, capsys)
        assert refused['failed'] is True
        stop = threading.Timer(1.5, os.killpg, (consumer.pid, signal.SIGTERM))
        stop.start()
        waited = run(rabbitmq_queues, {'vhost': vhost, 'wait': 'no_consumers', 'sleep': 1, 'timeout': 20}, capsys)
        stop.join()
        assert waited['total_consumers'] == 0
        # the unacknowledged messages went back to ready
        assert waited['queues'][0]['messages_ready'] == 3
    finally:
        try:
            os.killpg(consumer.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        consumer.wait()
