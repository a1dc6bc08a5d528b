"""haproxy_server as a whole, against a fake admin socket (a real UNIX socket
served from a thread) that answers with what HAProxy 2.6.12 answered in the
same situations (tests/unit/fixtures/haproxy/)."""

import json
import os
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import waiter
from ansible_collections.openstack_ops.upgrade.plugins.modules import haproxy_server

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'module_utils'))
from haproxy_fake import FakeHAProxy  # noqa: E402 pylint: disable=wrong-import-position

DRAIN = 'set server be_app/web1 state drain'
MAINT = 'set server be_app/web1 state maint'
READY = 'set server be_app/web1 state ready'


@pytest.fixture
def fake():
    server = FakeHAProxy()
    yield server
    server.close()


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    c = Clock()

    def fast_wait_for(*args, **kwargs):
        kwargs.update(clock=c.clock, sleeper=c.sleep)
        return waiter.wait_for(*args, **kwargs)
    monkeypatch.setattr(haproxy_server, 'wait_for', fast_wait_for)
    return c


@pytest.fixture
def warnings(monkeypatch):
    # where AnsibleModule.warn sends a warning depends on what else the test run loaded
    seen = []
    monkeypatch.setattr(haproxy_server.AnsibleModule, 'warn', lambda self, msg: seen.append(msg))
    return seen


def run(fake, args, capsys, check=False, diff=False):
    args = dict({'socket': fake.address, 'backend': 'be_app', 'server': 'web1'}, **args)
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            haproxy_server.main()
    return json.loads(capsys.readouterr().out)


def test_present_reports_and_changes_nothing(fake, capsys):
    result = run(fake, {}, capsys)
    assert result['changed'] is False and result['found'] is True
    assert result['before'] == result['after'] == {
        'admin_state': 'ready', 'admin_flags': [], 'admin_bits': 0, 'operational_state': 'running',
        'status': 'UP', 'check_status': 'L7OK', 'scur': 0, 'qcur': 0, 'weight': 1}
    assert result['commands'] == [{'command': 'show stat', 'count': 1, 'skipped': False},
                                  {'command': 'show servers state be_app', 'count': 1, 'skipped': False}]
    assert result['waited'] == [] and fake.sent() == []


def test_drain_waits_until_the_request_in_flight_ends(fake, clock, capsys):
    fake.scene = 'inflight'
    # right after the command, and at the first check, one session; then none
    fake.transitions[DRAIN] = ['web1_drain_inflight', 'web1_drain_inflight', 'web1_drain']
    result = run(fake, {'state': 'drain', 'wait_sessions': True, 'sleep': 3}, capsys, diff=True)
    assert result['changed'] is True and result['waited'] == ['sessions']
    assert result['before']['scur'] == 1 and result['before']['status'] == 'UP'
    assert (result['after']['status'], result['after']['scur'], result['after']['admin_flags']) == ('DRAIN', 0, ['FDRAIN'])
    assert clock.sleeps == [3]
    assert fake.sent() == [DRAIN]
    assert result['commands'] == [{'command': 'show stat', 'count': 4, 'skipped': False},
                                  {'command': 'show servers state be_app', 'count': 4, 'skipped': False},
                                  {'command': DRAIN, 'count': 1, 'skipped': False}]
    assert result['diff'] == {'before_header': 'be_app/web1', 'after_header': 'be_app/web1',
                              'before': {'admin_state': 'ready', 'admin_flags': []},
                              'after': {'admin_state': 'drain', 'admin_flags': ['FDRAIN']}}


def test_drain_is_idempotent(fake, clock, capsys):
    fake.transitions[DRAIN] = ['web1_drain']
    assert run(fake, {'state': 'drain', 'wait_sessions': True}, capsys)['changed'] is True
    again = run(fake, {'state': 'drain', 'wait_sessions': True}, capsys)
    assert again['changed'] is False and again['waited'] == ['sessions']
    assert fake.sent() == [DRAIN]
    assert clock.sleeps == []


def test_drain_times_out_with_the_last_state_and_still_reports_the_change(fake, clock, capsys):
    fake.scene = 'inflight'
    fake.transitions[DRAIN] = ['web1_drain_inflight']
    result = run(fake, {'state': 'drain', 'wait_sessions': True, 'timeout': 10, 'sleep': 4}, capsys)
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'] == ('Timed out after 10.0 seconds (timeout 10) waiting for no session and no queued request '
                             'on HAProxy server be_app/web1; last observed state: status DRAIN, admin state drain '
                             '(flags FDRAIN), operational state running, check L7OK, 1 session(s), 0 queued')
    assert result['after']['scur'] == 1 and result['attempts'] == 4
    assert result['waiting_for'] == 'sessions' and result['waited'] == []
    assert clock.sleeps == [4, 4, 2]


def test_check_mode_predicts_and_changes_nothing(fake, clock, capsys):
    fake.scene = 'inflight'
    fake.transitions[DRAIN] = ['web1_drain']
    result = run(fake, {'state': 'drain', 'wait_sessions': True}, capsys, check=True, diff=True)
    assert result['changed'] is True
    assert result['after'] == dict(result['before'], admin_state='drain', admin_flags=['FDRAIN'], admin_bits=8)
    assert result['commands'][-1] == {'command': DRAIN, 'count': 1, 'skipped': True}
    assert result['waited'] == [] and clock.sleeps == []
    assert fake.sent() == [] and fake.scene == 'inflight'
    assert result['diff']['after'] == {'admin_state': 'drain', 'admin_flags': ['FDRAIN']}


def test_check_mode_waits_when_nothing_would_change(fake, clock, capsys):
    fake.scene = 'web1_drain'
    result = run(fake, {'state': 'drain', 'wait_sessions': True}, capsys, check=True)
    assert result['changed'] is False and result['waited'] == ['sessions']


def test_maint_after_drain(fake, capsys):
    fake.scene = 'web1_drain'
    fake.transitions[MAINT] = ['web1_maint']
    result = run(fake, {'state': 'maint', 'wait_sessions': True}, capsys)
    assert result['changed'] is True
    assert (result['before']['admin_flags'], result['after']['admin_flags']) == (['FDRAIN'], ['FMAINT'])
    assert (result['after']['status'], result['after']['operational_state']) == ('MAINT', 'stopped')


def test_ready_waits_for_a_passed_check(fake, clock, capsys):
    fake.scene = 'web1_maint'
    # leaving maintenance the server reads UP 1/2 until its next check passes
    fake.transitions[READY] = ['web1_ready', 'web1_ready', 'up']
    result = run(fake, {'state': 'ready', 'wait_healthy': True, 'sleep': 1}, capsys)
    assert result['changed'] is True and result['waited'] == ['healthy']
    assert result['before']['status'] == 'MAINT' and result['after']['status'] == 'UP'
    assert clock.sleeps == [1]


def test_ready_of_a_server_that_stays_down_times_out(fake, clock, capsys):
    fake.scene = 'web2_down_maint'
    fake.transitions['set server be_app/web2 state ready'] = ['web2_down_ready']
    result = run(fake, {'server': 'web2', 'state': 'ready', 'wait_healthy': True, 'timeout': 4}, capsys)
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'].startswith('Timed out after 4.0 seconds (timeout 4) waiting for status UP on HAProxy '
                                    'server be_app/web2; last observed state: status DOWN, admin state ready')
    assert result['after']['check_status'] == 'L4CON'


def test_server_coming_back_up(fake, clock, capsys):
    fake.scene = 'web2_down'
    fake.transitions['set server be_app/web2 state drain'] = ['web2_down_drain']
    assert run(fake, {'server': 'web2', 'state': 'drain'}, capsys)['after']['admin_state'] == 'drain'
    fake.transitions['set server be_app/web2 state ready'] = ['web2_down_ready', 'web2_going_up', 'web2_up']
    result = run(fake, {'server': 'web2', 'state': 'ready', 'wait_healthy': True}, capsys)
    assert result['before']['status'] == 'DOWN' and result['before']['admin_state'] == 'drain'
    assert result['after']['status'] == 'UP' and result['changed'] is True
    assert clock.sleeps == [2]  # DOWN right after the command, DOWN 1/2 at the first check, then UP


def test_a_disabled_server_set_ready_keeps_cmaint(fake, warnings, capsys):
    fake.transitions['set server be_other/spare state ready'] = ['spare_ready']
    result = run(fake, {'backend': 'be_other', 'server': 'spare', 'state': 'ready'}, capsys)
    assert result['changed'] is True
    assert result['before']['admin_flags'] == ['FMAINT', 'CMAINT']
    assert result['after']['admin_flags'] == ['CMAINT'] and result['after']['admin_state'] == 'ready'
    assert warnings == []


def test_inherited_maintenance_warns(fake, warnings, capsys):
    fake.scene = 'mirror_ready_web1_maint'
    result = run(fake, {'backend': 'be_track', 'server': 'mirror', 'state': 'ready'}, capsys)
    assert result['changed'] is False and fake.sent() == []
    assert warnings == ['HAProxy server be_track/mirror is maint, not ready, because of flags this module does '
                        'not set: IMAINT.']


@pytest.mark.parametrize('backend, server, message', [
    ('heat_api', 'node1', 'HAProxy (socket {sock}) has no backend heat_api. Backends and their servers: '
                          'be_app (web1, web2); be_other (spare, nocheck); be_track (mirror).'),
    ('be_app', 'node1', 'HAProxy (socket {sock}) has no server node1 in backend be_app; its servers: web1, web2. '
                        'Backends and their servers: be_app (web1, web2); be_other (spare, nocheck); '
                        'be_track (mirror).'),
])
def test_unknown_backend_or_server_fails_before_any_change(fake, capsys, backend, server, message):
    result = run(fake, {'backend': backend, 'server': server, 'state': 'drain', 'wait_sessions': True}, capsys)
    assert result['failed'] is True and result['changed'] is False and result['found'] is False
    assert result['msg'] == message.format(sock=fake.address)
    assert result['backends'] == {'be_app': ['web1', 'web2'], 'be_other': ['spare', 'nocheck'],
                                  'be_track': ['mirror']}
    assert fake.received == ['show stat']


def test_unknown_server_without_fail_on_not_found(fake, capsys):
    result = run(fake, {'server': 'node1', 'state': 'drain', 'fail_on_not_found': False}, capsys)
    assert 'failed' not in result
    assert result['found'] is False and result['changed'] is False
    assert result['before'] is None and result['after'] is None
    assert fake.sent() == []


def test_refused_command_fails_with_haproxy_answer(fake, capsys):
    from haproxy_fake import fixture
    fake.answers[DRAIN] = fixture('answer.permission_denied.txt')
    result = run(fake, {'state': 'drain'}, capsys)
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'] == ('HAProxy refused "set server be_app/web1 state drain": Permission denied; '
                             'the socket must be declared with "level admin".')


def test_missing_socket(capsys, tmp_path):
    class NoHAProxy(object):
        address = str(tmp_path / 'admin.sock')
    result = run(NoHAProxy, {}, capsys)
    assert result['failed'] is True and result['commands'] == [
        {'command': 'show stat', 'count': 1, 'skipped': False}]
    assert 'no such socket. Is HAProxy running' in result['msg']


@pytest.mark.parametrize('args, message', [
    ({'state': 'ready', 'wait_sessions': True},
     'wait_sessions=true goes with state drain, maint, present, not ready: a server in the load balancer keeps '
     'getting new sessions.'),
    ({'state': 'drain', 'wait_healthy': True},
     'wait_healthy=true goes with state ready, present, not drain: a drained server reads DRAIN and one in '
     'maintenance MAINT, never UP.'),
])
def test_waits_that_cannot_end_are_refused(fake, capsys, args, message):
    result = run(fake, args, capsys)
    assert result['failed'] is True and result['msg'] == message
    assert fake.received == []


def test_present_with_wait_healthy_over_tcp(capsys):
    fake = FakeHAProxy(tcp=True)
    try:
        result = run(fake, {'backend': 'be_other', 'server': 'nocheck', 'wait_healthy': True}, capsys)
    finally:
        fake.close()
    assert result['after']['status'] == 'no check' and result['waited'] == ['healthy']
