# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The HAProxy admin socket: one client and pure parse functions.

:class:`AdminSocket` sends one command per connection (HAProxy's
non-interactive CLI mode: it answers, then closes) over a UNIX socket or TCP,
records every command as the ``commands`` audit trail and skips mutating
commands in check mode. The ``parse_*`` functions are pure and unit-tested
against answers captured from Debian's HAProxy 2.6.12
(tests/unit/fixtures/haproxy/).

A server's state is read from two answers, because neither tells it all:

- ``show stat`` (CSV) gives the sessions (``scur``, ``qcur``) and the
  ``status`` shown to an operator: ``UP``, ``DOWN``, ``DRAIN``, ``MAINT``,
  ``no check``, or ``UP 1/2``/``DOWN 1/2`` while checks move it. A drained
  server that is down reads ``DOWN``, not ``DRAIN``.
- ``show servers state <backend>`` gives the administrative state as a bit
  mask (``srv_admin_state``) and the operational state (``srv_op_state``).
"""

from __future__ import annotations

import csv
import os
import re
import socket

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError

# srv_admin_state bits (HAProxy management guide, "show servers state").
ADMIN_FLAGS = (
    (0x01, 'FMAINT'),   # forced into maintenance (set server ... state maint)
    (0x02, 'IMAINT'),   # maintenance inherited from a tracked server
    (0x04, 'CMAINT'),   # "disabled" in the configuration (kept after ready)
    (0x08, 'FDRAIN'),   # forced into drain (set server ... state drain)
    (0x10, 'IDRAIN'),   # drain inherited from a tracked server
    (0x20, 'RMAINT'),   # maintenance because the address did not resolve
    (0x40, 'HMAINT'),   # FQDN set from the socket
)
FMAINT = 0x01
FDRAIN = 0x08
# Flags that mean maintenance / drain (HAProxy's SRV_ADMF_MAINT and
# SRV_ADMF_DRAIN masks); CMAINT alone does not keep a server out once it was
# set ready, as measured: a "disabled" server set ready reads 0x04 and is checked.
MAINT_MASK = 0x23
DRAIN_MASK = 0x18
# The only flags "set server ... state" changes: ready clears both, drain sets
# FDRAIN and clears FMAINT, maint sets FMAINT and clears FDRAIN.
FORCED_MASK = FMAINT | FDRAIN
FORCED_BITS = {'ready': 0, 'drain': FDRAIN, 'maint': FMAINT}

# srv_op_state values.
OPERATIONAL_STATES = {0: 'stopped', 1: 'starting', 2: 'running', 3: 'stopping'}

ADMIN_STATES = ('ready', 'drain', 'maint')

_TCP_ADDRESS = re.compile(r'^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\[\]]+)):(?P<port>[0-9]{1,5})$')


class HAProxyError(OpsError):
    """The admin socket could not be reached, or HAProxy refused a command."""


class HAProxyNotFound(HAProxyError):
    """The backend or server is not known to HAProxy; ``backends`` lists what is."""

    def __init__(self, msg, backends, **context):
        super().__init__(msg, backends=backends, **context)
        self.backends = backends


# ---------------------------------------------------------------- parsing

def _lines(text):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    return text.splitlines()


def _answer_excerpt(text):
    lines = [line for line in _lines(text) if line.strip()]
    return ' '.join(lines[:2])[:200] or '(empty answer)'


def parse_show_stat(text):
    """``show stat`` as a list of dicts keyed by the CSV header's field names.

    The header line starts with ``# ``; values stay strings (empty when the
    field does not apply). Raises HAProxyError if ``text`` is not that CSV
    (HAProxy answers errors as one line of text).
    """
    lines = [line for line in _lines(text) if line.strip()]
    if not lines or not lines[0].startswith('# '):
        raise HAProxyError('HAProxy did not answer "show stat" with statistics: %s' % _answer_excerpt(text))
    header = lines[0][2:].rstrip(',').split(',')
    rows = []
    for values in csv.reader(lines[1:]):
        rows.append(dict(zip(header, values)))
    return rows


def parse_servers_state(text):
    """``show servers state [<backend>]`` as a list of dicts keyed by field name.

    The first line is the format version (1), the second the header prefixed
    with ``#``; fields are separated by spaces. Raises HAProxyError on an
    error answer (``Can't find backend.``) or an unknown format version.
    """
    lines = [line for line in _lines(text) if line.strip()]
    if len(lines) < 2 or lines[0].strip() != '1' or not lines[1].startswith('#'):
        raise HAProxyError('HAProxy did not answer "show servers state" in format 1: %s' % _answer_excerpt(text))
    header = lines[1].lstrip('#').split()
    return [dict(zip(header, line.split())) for line in lines[2:] if not line.startswith('#')]


def inventory(stat_rows):
    """{backend: [server, ...]} from ``show stat`` rows, in HAProxy's order.

    Backends are the proxies with a BACKEND row (``listen`` sections
    included); servers are rows of type 2.
    """
    backends = {}
    for row in stat_rows:
        if row.get('svname') == 'BACKEND':
            backends.setdefault(row['pxname'], [])
    for row in stat_rows:
        if row.get('type') == '2' and row.get('pxname') in backends:
            backends[row['pxname']].append(row['svname'])
    return backends


def describe_inventory(backends):
    if not backends:
        return 'none'
    return '; '.join('%s (%s)' % (name, ', '.join(servers) or 'no server') for name, servers in backends.items())


def admin_flags(bits):
    """The names of the srv_admin_state bits set in ``bits``."""
    return [name for bit, name in ADMIN_FLAGS if bits & bit]


def admin_state(bits):
    """ready, drain or maint, as HAProxy itself reduces the flags."""
    if bits & MAINT_MASK:
        return 'maint'
    if bits & DRAIN_MASK:
        return 'drain'
    return 'ready'


def predict_admin_bits(bits, state):
    """srv_admin_state after ``set server ... state <state>``."""
    return (bits & ~FORCED_MASK) | FORCED_BITS[state]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def server_view(stat_row, state_row):
    """What a module reports of one server, from its ``show stat`` row and
    its ``show servers state`` row."""
    bits = _int(state_row.get('srv_admin_state')) or 0
    op_state = _int(state_row.get('srv_op_state'))
    return {
        'admin_state': admin_state(bits),
        'admin_flags': admin_flags(bits),
        'admin_bits': bits,
        'operational_state': OPERATIONAL_STATES.get(op_state, 'unknown (%s)' % op_state),
        'status': stat_row.get('status', ''),
        'check_status': stat_row.get('check_status') or None,
        'scur': _int(stat_row.get('scur')) or 0,
        'qcur': _int(stat_row.get('qcur')) or 0,
        'weight': _int(stat_row.get('weight')),
    }


def predict_view(view, state):
    """``view`` as it would be after ``set server ... state <state>``, for
    check mode: only the administrative state is predicted."""
    bits = predict_admin_bits(view['admin_bits'], state)
    predicted = dict(view, admin_bits=bits, admin_state=admin_state(bits), admin_flags=admin_flags(bits))
    return predicted


def needs_change(view, state):
    """Whether ``set server ... state <state>`` would change the flags."""
    return predict_admin_bits(view['admin_bits'], state) != view['admin_bits']


def sessions_gone(view):
    """No session on the server and none queued for it."""
    return view['scur'] == 0 and view['qcur'] == 0


def healthy(view):
    """Checked and fully up: ``UP`` (not ``UP 1/2``, one failed check away
    from going down, as a server also reads just after leaving maintenance),
    or ``no check`` (HAProxy takes a server without health check as up)."""
    return view['status'] == 'UP' or (view['status'] == 'no check' and view['operational_state'] == 'running')


def describe_view(view):
    flags = '|'.join(view['admin_flags']) or 'none'
    return ('status %s, admin state %s (flags %s), operational state %s, check %s, %d session(s), %d queued'
            % (view['status'], view['admin_state'], flags, view['operational_state'],
               view['check_status'] or 'none', view['scur'], view['qcur']))


# ---------------------------------------------------------------- socket

def parse_address(address):
    """(family, sockaddr, shown) of a socket option: a UNIX socket path, or
    ``host:port`` / ``[ipv6]:port`` for a TCP ``stats socket``."""
    match = _TCP_ADDRESS.match(address)
    if match and not address.startswith(('/', '.', '~')):
        port = int(match.group('port'))
        if not 0 < port < 65536:
            raise HAProxyError('Invalid TCP port in socket %s.' % address)
        if match.group('v6'):
            return socket.AF_INET6, (match.group('v6'), port), address
        return socket.AF_INET, (match.group('host'), port), address
    path = os.path.expanduser(address)
    return socket.AF_UNIX, path, path


class AdminSocket(object):
    """HAProxy's admin socket, one command per connection.

    ``commands`` is the audit trail: one dict per command with ``command``,
    ``count`` (identical read-only commands, such as the checks of a wait,
    are listed once and counted) and ``skipped`` (a mutating command that
    check mode did not send).
    """

    def __init__(self, address, timeout=10, check_mode=False, connect=None):
        self.family, self.sockaddr, self.shown = parse_address(address)
        self.timeout = timeout
        self.check_mode = check_mode
        self.commands = []
        self._reads = {}
        self._connect = connect or socket.socket

    def _record(self, command, mutating, skipped):
        if not mutating:
            entry = self._reads.get(command)
            if entry is not None:
                entry['count'] += 1
                return
        entry = {'command': command, 'count': 1, 'skipped': skipped}
        if not mutating:
            self._reads[command] = entry
        self.commands.append(entry)

    def _error(self, command, reason):
        return HAProxyError('HAProxy admin socket %s, command "%s": %s' % (self.shown, command, reason),
                            socket=self.shown)

    def send(self, command, mutating=False):
        """The answer of HAProxy to ``command`` (a str), or None when check
        mode skips a mutating command. Raises HAProxyError."""
        if mutating and self.check_mode:
            self._record(command, mutating, True)
            return None
        self._record(command, mutating, False)
        sock = self._connect(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.sockaddr)
            except FileNotFoundError:
                raise self._error(command, 'no such socket. Is HAProxy running, with "stats socket %s level admin" '
                                           'in its global section?' % self.shown)
            except ConnectionRefusedError:
                raise self._error(command, 'connection refused. Is HAProxy running, with this address in a '
                                           '"stats socket" line?')
            except PermissionError:
                raise self._error(command, 'permission denied. Run the task as a user that may open the '
                                           'socket (become: true).')
            sock.sendall(command.encode('utf-8') + b'\n')
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except socket.timeout:
            raise self._error(command, 'no complete answer within %s seconds (socket_timeout).' % self.timeout)
        except OSError as exc:
            raise self._error(command, '%s.' % (exc.strerror or exc))
        finally:
            sock.close()
        return b''.join(chunks).decode('utf-8', 'replace')

    def show_stat(self):
        return parse_show_stat(self.send('show stat'))

    def servers_state(self, backend):
        return parse_servers_state(self.send('show servers state %s' % backend))

    def set_state(self, backend, server, state):
        """``set server <backend>/<server> state <state>``; HAProxy answers
        nothing on success, one line of text on refusal."""
        if state not in ADMIN_STATES:
            raise HAProxyError('Unknown server state %s; expected one of %s.' % (state, ', '.join(ADMIN_STATES)))
        command = 'set server %s/%s state %s' % (backend, server, state)
        answer = self.send(command, mutating=True)
        if answer is not None and answer.strip():
            hint = ''
            if answer.strip() == 'Permission denied':
                hint = '; the socket must be declared with "level admin"'
            raise HAProxyError('HAProxy refused "%s": %s%s.' % (command, answer.strip().rstrip('.'), hint),
                               socket=self.shown, answer=answer.strip())


def observe(client, backend, server):
    """The view (see server_view) of ``backend``/``server``.

    Raises HAProxyNotFound, listing the backends and servers that exist, if
    HAProxy does not know them.
    """
    rows = client.show_stat()
    backends = inventory(rows)
    if backend not in backends:
        raise HAProxyNotFound('HAProxy (socket %s) has no backend %s. Backends and their servers: %s.'
                              % (client.shown, backend, describe_inventory(backends)), backends)
    if server not in backends[backend]:
        raise HAProxyNotFound('HAProxy (socket %s) has no server %s in backend %s; its servers: %s. '
                              'Backends and their servers: %s.'
                              % (client.shown, server, backend, ', '.join(backends[backend]) or 'none',
                                 describe_inventory(backends)), backends)
    stat_row = next(r for r in rows if r.get('pxname') == backend and r.get('svname') == server
                    and r.get('type') == '2')
    state_rows = [r for r in client.servers_state(backend) if r.get('srv_name') == server]
    if not state_rows:
        # removed between the two commands (e.g. "del server")
        raise HAProxyNotFound('HAProxy (socket %s) no longer lists server %s in backend %s.'
                              % (client.shown, server, backend), backends)
    return server_view(stat_row, state_rows[0])
