"""module_utils.haproxy against answers captured from HAProxy 2.6.12
(tests/unit/fixtures/haproxy/, see its README), and its socket client
against a fake admin socket served from a thread."""

import socket

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import haproxy
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.haproxy import (
    AdminSocket,
    HAProxyError,
    HAProxyNotFound,
)

from haproxy_fake import FakeHAProxy, closed_port, fixture, servers_state_of


def text(name):
    return fixture(name).decode()


def stat_row(name, backend, server):
    rows = haproxy.parse_show_stat(text(name))
    return next(r for r in rows if r['pxname'] == backend and r['svname'] == server)


def state_row(name, backend, server):
    rows = haproxy.parse_servers_state(text(name))
    return next(r for r in rows if r['be_name'] == backend and r['srv_name'] == server)


@pytest.fixture
def fake():
    server = FakeHAProxy()
    yield server
    server.close()


# ------------------------------------------------------------ show stat

@pytest.mark.parametrize('name, web1, web2', [
    ('show_stat.up.txt', ('UP', '0', 'L7OK'), ('UP', '0', 'L7OK')),
    ('show_stat.inflight.txt', ('UP', '1', 'L7OK'), ('UP', '1', 'L7OK')),
    ('show_stat.web1_drain_inflight.txt', ('DRAIN', '1', 'L7OK'), ('UP', '1', 'L7OK')),
    ('show_stat.web1_drain.txt', ('DRAIN', '0', 'L7OK'), ('UP', '0', 'L7OK')),
    ('show_stat.web1_maint.txt', ('MAINT', '0', ''), ('UP', '0', 'L7OK')),
    ('show_stat.web1_maint_then_drain.txt', ('DRAIN 1/2', '0', 'L7OK'), ('UP', '0', 'L7OK')),
    ('show_stat.web1_ready.txt', ('UP 1/2', '0', 'L7OK'), ('UP', '0', 'L7OK')),
    ('show_stat.web2_going_down.txt', ('UP 1/2', '0', 'L7OK'), ('UP 1/2', '0', 'L4CON')),
    ('show_stat.web2_down.txt', ('UP', '0', 'L7OK'), ('DOWN', '0', 'L4CON')),
    ('show_stat.web2_down_drain.txt', ('UP', '0', 'L7OK'), ('DOWN', '0', 'L4CON')),
    ('show_stat.web2_down_maint.txt', ('UP', '0', 'L7OK'), ('MAINT', '0', '')),
    ('show_stat.web2_going_up.txt', ('UP', '0', 'L7OK'), ('DOWN 1/2', '0', 'L7OK')),
    ('show_stat.web2_up.txt', ('UP', '0', 'L7OK'), ('UP', '0', 'L7OK')),
])
def test_parse_show_stat(name, web1, web2):
    rows = haproxy.parse_show_stat(text(name))
    assert [(r['pxname'], r['svname']) for r in rows] == [
        ('fe_app', 'FRONTEND'), ('be_app', 'web1'), ('be_app', 'web2'), ('be_app', 'BACKEND'),
        ('be_other', 'spare'), ('be_other', 'nocheck'), ('be_other', 'BACKEND'),
        ('be_track', 'mirror'), ('be_track', 'BACKEND')]
    for server, expected in (('web1', web1), ('web2', web2)):
        row = stat_row(name, 'be_app', server)
        assert (row['status'], row['scur'], row['check_status']) == expected
        assert row['type'] == '2' and row['qcur'] == '0'


def test_parse_show_stat_keeps_fields_after_the_static_ones():
    row = stat_row('show_stat.up.txt', 'be_app', 'web1')
    assert row['addr'] == '127.0.0.1:18991'
    assert row['check_desc'] == 'Layer7 check passed'
    assert row['uweight'] == '1'
    assert stat_row('show_stat.up.txt', 'be_other', 'nocheck')['status'] == 'no check'
    assert stat_row('show_stat.web1_maint.txt', 'be_track', 'mirror')['status'] == 'MAINT (via be_app/web1)'


@pytest.mark.parametrize('name', ['answer.unknown_command.txt', 'answer.permission_denied.txt',
                                  'answer.set_state_ok.txt', 'show_servers_state.up.txt'])
def test_parse_show_stat_refuses_what_is_not_statistics(name):
    with pytest.raises(HAProxyError) as err:
        haproxy.parse_show_stat(text(name))
    assert err.value.msg.startswith('HAProxy did not answer "show stat" with statistics: ')


def test_parse_show_stat_error_shows_the_answer():
    with pytest.raises(HAProxyError) as err:
        haproxy.parse_show_stat(text('answer.permission_denied.txt'))
    assert err.value.msg == 'HAProxy did not answer "show stat" with statistics: Permission denied'


def test_inventory():
    rows = haproxy.parse_show_stat(text('show_stat.up.txt'))
    backends = haproxy.inventory(rows)
    assert backends == {'be_app': ['web1', 'web2'], 'be_other': ['spare', 'nocheck'], 'be_track': ['mirror']}
    assert haproxy.describe_inventory(backends) == 'be_app (web1, web2); be_other (spare, nocheck); be_track (mirror)'
    assert haproxy.describe_inventory({}) == 'none'


# ------------------------------------------------------------ show servers state

@pytest.mark.parametrize('name, expected', [
    ('show_servers_state.up.txt', {'web1': ('2', '0'), 'web2': ('2', '0'), 'spare': ('0', '5'),
                                   'nocheck': ('2', '0'), 'mirror': ('2', '0')}),
    ('show_servers_state.be_app.up.txt', {'web1': ('2', '0'), 'web2': ('2', '0')}),
    ('show_servers_state.web1_drain_inflight.txt', {'web1': ('2', '8'), 'web2': ('2', '0')}),
    ('show_servers_state.web1_drain.txt', {'web1': ('2', '8'), 'web2': ('2', '0')}),
    ('show_servers_state.web1_maint.txt', {'web1': ('0', '1'), 'web2': ('2', '0')}),
    ('show_servers_state.web1_maint_then_drain.txt', {'web1': ('2', '8'), 'web2': ('2', '0')}),
    ('show_servers_state.web1_ready.txt', {'web1': ('2', '0'), 'web2': ('2', '0')}),
    ('show_servers_state.web2_down.txt', {'web1': ('2', '0'), 'web2': ('0', '0')}),
    ('show_servers_state.web2_down_drain.txt', {'web1': ('2', '0'), 'web2': ('0', '8')}),
    ('show_servers_state.web2_down_maint.txt', {'web1': ('2', '0'), 'web2': ('0', '1')}),
    ('show_servers_state.web2_going_up.txt', {'web1': ('2', '0'), 'web2': ('0', '0')}),
    ('show_servers_state.be_other.spare_ready.txt', {'spare': ('0', '4'), 'nocheck': ('2', '0')}),
    ('show_servers_state.be_track.web1_maint.txt', {'mirror': ('0', '2')}),
    ('show_servers_state.be_track.mirror_ready_web1_maint.txt', {'mirror': ('0', '2')}),
    ('show_servers_state.be_track.web1_drain.txt', {'mirror': ('2', '16')}),
])
def test_parse_servers_state(name, expected):
    rows = haproxy.parse_servers_state(text(name))
    assert dict((r['srv_name'], (r['srv_op_state'], r['srv_admin_state'])) for r in rows) == expected
    assert all(len(r) == 25 for r in rows)


def test_parse_servers_state_fields():
    row = state_row('show_servers_state.up.txt', 'be_app', 'web2')
    assert row['be_id'] == '3' and row['srv_id'] == '2' and row['srv_port'] == '18992'
    assert row['srv_addr'] == '127.0.0.1' and row['srv_fqdn'] == '-'


@pytest.mark.parametrize('name, shown', [
    ('answer.servers_state_no_such_backend.txt', "Can't find backend."),
    ('answer.unknown_command.txt', 'Unknown command, but maybe one of the following ones is a better match:'),
    ('show_stat.up.txt', '# pxname,svname'),
])
def test_parse_servers_state_refuses_other_answers(name, shown):
    with pytest.raises(HAProxyError) as err:
        haproxy.parse_servers_state(text(name))
    assert err.value.msg.startswith('HAProxy did not answer "show servers state" in format 1: ' + shown)


# ------------------------------------------------------------ admin state

@pytest.mark.parametrize('bits, state, flags', [
    (0, 'ready', []),
    (0x01, 'maint', ['FMAINT']),
    (0x02, 'maint', ['IMAINT']),
    (0x04, 'ready', ['CMAINT']),      # "disabled" server set ready, as captured
    (0x05, 'maint', ['FMAINT', 'CMAINT']),  # "disabled" in the configuration, as captured
    (0x08, 'drain', ['FDRAIN']),
    (0x10, 'drain', ['IDRAIN']),
    (0x09, 'maint', ['FMAINT', 'FDRAIN']),
    (0x20, 'maint', ['RMAINT']),
    (0x48, 'drain', ['FDRAIN', 'HMAINT']),
])
def test_admin_state(bits, state, flags):
    assert haproxy.admin_state(bits) == state
    assert haproxy.admin_flags(bits) == flags


# each transition as HAProxy made it: (before file, server, command's state, after file)
TRANSITIONS = [
    ('show_servers_state.be_app.up.txt', 'web1', 'drain', 'show_servers_state.web1_drain.txt'),
    ('show_servers_state.web1_drain.txt', 'web1', 'maint', 'show_servers_state.web1_maint.txt'),
    ('show_servers_state.web1_maint.txt', 'web1', 'drain', 'show_servers_state.web1_maint_then_drain.txt'),
    ('show_servers_state.web1_maint_then_drain.txt', 'web1', 'ready', 'show_servers_state.web1_ready.txt'),
    ('show_servers_state.web2_down.txt', 'web2', 'drain', 'show_servers_state.web2_down_drain.txt'),
    ('show_servers_state.web2_down_drain.txt', 'web2', 'maint', 'show_servers_state.web2_down_maint.txt'),
    ('show_servers_state.up.txt', 'spare', 'ready', 'show_servers_state.be_other.spare_ready.txt'),
    ('show_servers_state.be_track.web1_maint.txt', 'mirror', 'ready',
     'show_servers_state.be_track.mirror_ready_web1_maint.txt'),
]


@pytest.mark.parametrize('before, server, state, after', TRANSITIONS)
def test_predicted_admin_bits_match_haproxy(before, server, state, after):
    bits_before = int(next(r for r in haproxy.parse_servers_state(text(before))
                           if r['srv_name'] == server)['srv_admin_state'])
    bits_after = int(next(r for r in haproxy.parse_servers_state(text(after))
                          if r['srv_name'] == server)['srv_admin_state'])
    assert haproxy.predict_admin_bits(bits_before, state) == bits_after


def test_a_tracked_server_stays_in_maintenance_when_set_ready():
    view = haproxy.server_view(stat_row('show_stat.mirror_ready_web1_maint.txt', 'be_track', 'mirror'),
                               state_row('show_servers_state.be_track.mirror_ready_web1_maint.txt',
                                         'be_track', 'mirror'))
    assert not haproxy.needs_change(view, 'ready')
    assert view['admin_state'] == 'maint' and view['admin_flags'] == ['IMAINT']
    assert view['status'] == 'MAINT (via be_app/web1)'


def test_server_view_of_a_drained_server_in_flight():
    view = haproxy.server_view(stat_row('show_stat.web1_drain_inflight.txt', 'be_app', 'web1'),
                               state_row('show_servers_state.web1_drain_inflight.txt', 'be_app', 'web1'))
    assert view == {'admin_state': 'drain', 'admin_flags': ['FDRAIN'], 'admin_bits': 8,
                    'operational_state': 'running', 'status': 'DRAIN', 'check_status': 'L7OK',
                    'scur': 1, 'qcur': 0, 'weight': 1}
    assert not haproxy.sessions_gone(view)
    assert haproxy.describe_view(view) == ('status DRAIN, admin state drain (flags FDRAIN), operational state '
                                           'running, check L7OK, 1 session(s), 0 queued')


def test_a_drained_server_that_is_down_reads_down_in_show_stat():
    view = haproxy.server_view(stat_row('show_stat.web2_down_drain.txt', 'be_app', 'web2'),
                               state_row('show_servers_state.web2_down_drain.txt', 'be_app', 'web2'))
    assert (view['status'], view['admin_state'], view['operational_state']) == ('DOWN', 'drain', 'stopped')


@pytest.mark.parametrize('stat, state, backend, server, is_healthy', [
    ('show_stat.up.txt', 'show_servers_state.up.txt', 'be_app', 'web1', True),
    ('show_stat.web1_ready.txt', 'show_servers_state.web1_ready.txt', 'be_app', 'web1', False),  # UP 1/2
    ('show_stat.web2_going_up.txt', 'show_servers_state.web2_going_up.txt', 'be_app', 'web2', False),
    ('show_stat.web2_down.txt', 'show_servers_state.web2_down.txt', 'be_app', 'web2', False),
    ('show_stat.web1_drain.txt', 'show_servers_state.web1_drain.txt', 'be_app', 'web1', False),
    ('show_stat.web1_maint.txt', 'show_servers_state.web1_maint.txt', 'be_app', 'web1', False),
    ('show_stat.up.txt', 'show_servers_state.up.txt', 'be_other', 'nocheck', True),
    ('show_stat.up.txt', 'show_servers_state.up.txt', 'be_other', 'spare', False),
    ('show_stat.spare_ready.txt', 'show_servers_state.be_other.spare_ready.txt', 'be_other', 'spare', False),
])
def test_healthy(stat, state, backend, server, is_healthy):
    view = haproxy.server_view(stat_row(stat, backend, server), state_row(state, backend, server))
    assert haproxy.healthy(view) is is_healthy


@pytest.mark.parametrize('stat, gone', [
    ('show_stat.inflight.txt', False),
    ('show_stat.web1_drain_inflight.txt', False),
    ('show_stat.web1_drain.txt', True),
])
def test_sessions_gone(stat, gone):
    view = haproxy.server_view(stat_row(stat, 'be_app', 'web1'),
                               state_row('show_servers_state.web1_drain.txt', 'be_app', 'web1'))
    assert haproxy.sessions_gone(view) is gone


def test_queued_requests_keep_a_drain_going():
    view = haproxy.server_view(dict(stat_row('show_stat.web1_drain.txt', 'be_app', 'web1'), qcur='2'),
                               state_row('show_servers_state.web1_drain.txt', 'be_app', 'web1'))
    assert view['scur'] == 0 and not haproxy.sessions_gone(view)


def test_predict_view_changes_only_the_admin_state():
    view = haproxy.server_view(stat_row('show_stat.up.txt', 'be_app', 'web1'),
                               state_row('show_servers_state.up.txt', 'be_app', 'web1'))
    assert haproxy.needs_change(view, 'drain') and not haproxy.needs_change(view, 'ready')
    predicted = haproxy.predict_view(view, 'drain')
    assert predicted == dict(view, admin_state='drain', admin_flags=['FDRAIN'], admin_bits=8)


# ------------------------------------------------------------ addresses

@pytest.mark.parametrize('address, family, sockaddr', [
    ('/srv/openstack-lab/haproxy/admin.sock', socket.AF_UNIX, '/srv/openstack-lab/haproxy/admin.sock'),
    ('admin.sock', socket.AF_UNIX, 'admin.sock'),
    ('./run/admin:1.sock', socket.AF_UNIX, './run/admin:1.sock'),
    ('127.0.0.1:9999', socket.AF_INET, ('127.0.0.1', 9999)),
    ('lb.example.org:9999', socket.AF_INET, ('lb.example.org', 9999)),
    ('[::1]:9999', socket.AF_INET6, ('::1', 9999)),
])
def test_parse_address(address, family, sockaddr):
    assert haproxy.parse_address(address)[:2] == (family, sockaddr)


def test_parse_address_expands_the_home_directory(monkeypatch):
    monkeypatch.setenv('HOME', '/home/op')
    assert haproxy.parse_address('~/admin.sock') == (socket.AF_UNIX, '/home/op/admin.sock', '/home/op/admin.sock')


def test_parse_address_refuses_a_bad_port():
    with pytest.raises(HAProxyError):
        haproxy.parse_address('127.0.0.1:70000')


# ------------------------------------------------------------ socket client

def test_client_sends_one_command_per_connection(fake):
    client = AdminSocket(fake.address)
    assert client.send('show stat') == text('show_stat.up.txt')
    assert client.send('get weight be_app/web1') == '1 (initial 1)\n\n'
    assert fake.received == ['show stat', 'get weight be_app/web1']


def test_client_over_tcp():
    fake = FakeHAProxy(tcp=True)
    try:
        client = AdminSocket(fake.address)
        assert client.family == socket.AF_INET
        assert [r['srv_name'] for r in client.servers_state('be_app')] == ['web1', 'web2']
    finally:
        fake.close()


def test_client_audit_trail_counts_identical_reads(fake):
    client = AdminSocket(fake.address)
    for dummy in range(3):
        client.show_stat()
        client.servers_state('be_app')
    client.set_state('be_app', 'web1', 'drain')
    client.set_state('be_app', 'web1', 'drain')
    assert client.commands == [
        {'command': 'show stat', 'count': 3, 'skipped': False},
        {'command': 'show servers state be_app', 'count': 3, 'skipped': False},
        {'command': 'set server be_app/web1 state drain', 'count': 1, 'skipped': False},
        {'command': 'set server be_app/web1 state drain', 'count': 1, 'skipped': False},
    ]


def test_check_mode_skips_set_but_reads(fake):
    client = AdminSocket(fake.address, check_mode=True)
    client.show_stat()
    client.set_state('be_app', 'web1', 'maint')
    assert fake.received == ['show stat']
    assert client.commands[-1] == {'command': 'set server be_app/web1 state maint', 'count': 1, 'skipped': True}


@pytest.mark.parametrize('server, answer', [
    ('nosuch', 'No such server'),
])
def test_set_state_refused(fake, server, answer):
    with pytest.raises(HAProxyError) as err:
        AdminSocket(fake.address).set_state('be_app', server, 'drain')
    assert err.value.msg == 'HAProxy refused "set server be_app/%s state drain": %s.' % (server, answer)


def test_set_state_on_a_socket_below_level_admin(fake):
    fake.answers['set server be_app/web1 state drain'] = fixture('answer.permission_denied.txt')
    with pytest.raises(HAProxyError) as err:
        AdminSocket(fake.address).set_state('be_app', 'web1', 'drain')
    assert err.value.msg == ('HAProxy refused "set server be_app/web1 state drain": Permission denied; '
                             'the socket must be declared with "level admin".')
    assert err.value.context['answer'] == 'Permission denied'


def test_set_state_refuses_an_unknown_state(fake):
    with pytest.raises(HAProxyError):
        AdminSocket(fake.address).set_state('be_app', 'web1', 'present')
    assert fake.received == []


def test_missing_socket():
    with pytest.raises(HAProxyError) as err:
        AdminSocket('/nonexistent/admin.sock').send('show stat')
    assert err.value.msg == ('HAProxy admin socket /nonexistent/admin.sock, command "show stat": no such socket. '
                             'Is HAProxy running, with "stats socket /nonexistent/admin.sock level admin" in its '
                             'global section?')


def test_refused_tcp_connection():
    port = closed_port()
    with pytest.raises(HAProxyError) as err:
        AdminSocket('127.0.0.1:%d' % port).send('show stat')
    assert 'connection refused' in err.value.msg


def test_no_answer_within_the_timeout(fake):
    fake.mute = True
    with pytest.raises(HAProxyError) as err:
        AdminSocket(fake.address, timeout=0.3).send('show stat')
    assert err.value.msg.endswith('no complete answer within 0.3 seconds (socket_timeout).')


# ------------------------------------------------------------ observe

def test_observe(fake):
    view = haproxy.observe(AdminSocket(fake.address), 'be_app', 'web2')
    assert (view['status'], view['admin_state'], view['scur']) == ('UP', 'ready', 0)
    assert fake.received == ['show stat', 'show servers state be_app']


def test_observe_unknown_backend_lists_what_exists(fake):
    with pytest.raises(HAProxyNotFound) as err:
        haproxy.observe(AdminSocket(fake.address), 'heat_api', 'node1')
    assert err.value.msg == ('HAProxy (socket %s) has no backend heat_api. Backends and their servers: '
                             'be_app (web1, web2); be_other (spare, nocheck); be_track (mirror).' % fake.address)
    assert err.value.backends['be_app'] == ['web1', 'web2']
    assert fake.received == ['show stat']


def test_observe_unknown_server_lists_what_exists(fake):
    with pytest.raises(HAProxyNotFound) as err:
        haproxy.observe(AdminSocket(fake.address), 'be_app', 'node1')
    assert err.value.msg.startswith('HAProxy (socket %s) has no server node1 in backend be_app; its servers: '
                                    'web1, web2. Backends and their servers: be_app' % fake.address)


def test_observe_a_frontend_is_not_a_backend(fake):
    with pytest.raises(HAProxyNotFound):
        haproxy.observe(AdminSocket(fake.address), 'fe_app', 'FRONTEND')


def test_observe_server_gone_between_the_two_commands(fake):
    fake.answers['show servers state be_app'] = servers_state_of(fixture('show_servers_state.up.txt'), 'be_app') \
        .replace(b'3 be_app 2 web2', b'3 be_app 3 web3')
    with pytest.raises(HAProxyNotFound) as err:
        haproxy.observe(AdminSocket(fake.address), 'be_app', 'web2')
    assert 'no longer lists server web2' in err.value.msg
