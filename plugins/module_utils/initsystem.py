# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Init-system mechanics: SysV (``service`` and ``/etc/init.d``) and systemd.

Pure ``parse_*`` functions turn command output, init scripts, pid files and
``/proc`` into data; two small backends (:class:`SysVInit`, :class:`Systemd`)
run the commands; :class:`ServiceManager` knows which processes belong to a
service and stops it for real: it waits until those processes are gone, and
past the graceful timeout either fails or, when told to, kills what is left
with SIGKILL.

A service's processes are the roots its init system names (the pid file of a
SysV script, ``MainPID`` and the control group of a systemd unit, or command
lines matching an operator's pattern), their descendants, and the members of
their session or process group when that group was made by daemonizing (its
leader is the root itself or has already exited). Each process is tracked by
pid and start time, so a reused pid is never mistaken for the service.
"""

from __future__ import annotations

import collections
import fnmatch
import os
import re
import signal
import time

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandTimeout
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import (
    WaitTimeout,
    wait_for,
)

RUNNING = 'running'
STOPPED = 'stopped'
FAILED = 'failed'
STARTING = 'starting'
STOPPING = 'stopping'
UNKNOWN = 'unknown'
ABSENT = 'absent'

# States in which nothing of the service runs (given that no process is left).
DOWN_STATES = (STOPPED, FAILED)

# Bound for read-only commands (status, show, list): a status that hangs is
# an error, not a reason to hang the play.
QUERY_TIMEOUT = 60
# After SIGKILL processes go at once unless stuck in the kernel (state D).
KILL_WAIT = 10

SYSTEMD_PROPERTIES = 'Id,LoadState,ActiveState,SubState,MainPID,UnitFileState,ControlGroup'
_UNIT_SUFFIXES = ('.service', '.socket', '.target', '.timer', '.mount', '.path', '.scope', '.slice')

# /etc/init.d entries that are not services.
_SYSV_NOT_SERVICES = ('README', 'skeleton', 'rc', 'rcS', 'functions', '.depend.boot',
                      '.depend.start', '.depend.stop', '.legacy-bootordering')
_SYSV_BACKUP_SUFFIXES = ('.dpkg-old', '.dpkg-dist', '.dpkg-new', '.dpkg-tmp', '.dpkg-bak',
                         '.rpmsave', '.rpmnew', '.rpmorig', '.orig', '.bak', '~')

# What systemctl says when systemd is not PID 1 or its bus is unreachable.
_NO_SYSTEMD = re.compile(r'not been booted with systemd|Failed to connect to bus', re.IGNORECASE)
_GLOB_CHARS = re.compile(r'[*?\[]')
_ASSIGNMENT = re.compile(r'^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$')
_PIDFILE_HEADER = re.compile(r'^#\s*pidfile:\s*(?P<path>\S+)\s*$', re.IGNORECASE)
_PIDFILE_VARIABLES = re.compile(r'^(?:PIDFILE|PID_FILE|[A-Za-z0-9]+_PID_?FILE)$', re.IGNORECASE)
_VARIABLE = re.compile(r'\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}'
                       r'|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))')


class InitSystemError(OpsError):
    """A service could not be found, queried, started or stopped."""


class StopTimeout(InitSystemError):
    """Processes of a service were still there after the graceful timeout."""


ProcInfo = collections.namedtuple('ProcInfo', 'pid comm state ppid pgid sid starttime')


class Observation(object):
    """One look at a service: its state, a status text, and its live processes."""

    __slots__ = ('state', 'detail', 'pids')

    def __init__(self, state, detail='', pids=()):
        self.state = state
        self.detail = detail
        self.pids = sorted(pids)

    def as_dict(self):
        return {'state': self.state, 'detail': self.detail, 'pids': list(self.pids)}

    def __repr__(self):
        return 'Observation(%r, %r, %r)' % (self.state, self.detail, self.pids)


# --------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------

def is_glob(name):
    return bool(_GLOB_CHARS.search(name))


def unit_name(name):
    """``heat-engine`` -> ``heat-engine.service``; names with a unit suffix are kept."""
    return name if name.endswith(_UNIT_SUFFIXES) else name + '.service'


def match_names(pattern, names, strip_suffix=None):
    """Sorted names matching glob ``pattern``; with ``strip_suffix`` also the bare name.

    ``openstack-nova-*`` and ``*-api`` both select ``x-api.service`` when
    ``strip_suffix`` is ``.service``.
    """
    found = set()
    for name in names:
        bare = name[:-len(strip_suffix)] if strip_suffix and name.endswith(strip_suffix) else name
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(bare, pattern):
            found.add(name)
    return sorted(found)


def expand_names(requested, available, strip_suffix=None, normalize=None):
    """Expand exact names and globs in order; globs expand sorted; duplicates dropped.

    Returns ``(names, unmatched)``: ``unmatched`` lists the globs that matched
    nothing. Exact names are returned as given (normalized), existing or not.
    """
    names, unmatched, seen = [], [], set()
    for item in requested:
        if is_glob(item):
            matched = match_names(item, available, strip_suffix)
            if not matched:
                unmatched.append(item)
        else:
            matched = [normalize(item) if normalize else item]
        for name in matched:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names, unmatched


def lsb_status_state(rc):
    """Map an LSB ``status`` exit code to a state.

    0 running; 1 dead with a pid file left and 2 dead with a lock file left
    are ``failed``; 3 not running; 4 (or anything else) unknown.
    """
    if rc == 0:
        return RUNNING
    if rc in (1, 2):
        return FAILED
    if rc == 3:
        return STOPPED
    return UNKNOWN


def describe_status(rc, output):
    """``rc 3: haproxy not running.``: the exit code and the last non-empty line."""
    lines = [line.strip() for line in (output or '').splitlines() if line.strip()]
    return 'rc %s: %s' % (rc, lines[-1] if lines else '(no output)')


def sysv_service_names(entries):
    """Service names among ``(name, is_executable_file)`` entries of /etc/init.d, sorted."""
    names = []
    for name, executable in entries:
        if not executable or name in _SYSV_NOT_SERVICES or name.startswith('.'):
            continue
        if name.endswith(_SYSV_BACKUP_SUFFIXES) or '.ucf-' in name:
            continue
        names.append(name)
    return sorted(names)


def _unquote(value):
    """``(text, literal)`` of a shell assignment's right-hand side, comment dropped.

    ``literal`` is true for single quotes (no expansion). Returns ``(None,
    False)`` for what is not one plain word or one quoted string.
    """
    value = value.strip()
    if value[:1] in ('"', "'"):
        end = value.find(value[0], 1)
        rest = value[end + 1:].strip() if end > 0 else None
        if rest is None or (rest and not rest.startswith('#')):
            return None, False
        return value[1:end], value[0] == "'"
    word = re.split(r'\s+#', value, maxsplit=1)[0].strip()
    if re.search(r'\s', word):
        return None, False
    return word, False


def expand_shell_variables(value, variables):
    """Expand ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` from ``variables``.

    Returns None when a variable is unknown or the value needs a command
    substitution: a pid file path that cannot be known is better unknown.
    """
    if '`' in value or '$(' in value:
        return None
    missing = []

    def replace(match):
        name = match.group('braced') or match.group('bare')
        if name in variables and variables[name] != '':
            return variables[name]
        if match.group('default') is not None:
            return match.group('default')
        if name in variables:
            return ''
        missing.append(name)
        return ''

    expanded = _VARIABLE.sub(replace, value)
    return None if missing else expanded


def parse_pidfile_location(script):
    """Pid file path an init script declares, or None.

    Looks for a ``# pidfile:`` header (chkconfig style), then top-level
    ``PIDFILE=``, ``PID_FILE=``, ``<NAME>_PID_FILE=`` (any case) assignments,
    expanding variables assigned earlier at top level. Only absolute paths
    are returned (``PIDFILE=none`` is none).
    """
    variables = {}
    candidates = []
    for line in script.splitlines():
        header = _PIDFILE_HEADER.match(line)
        if header:
            path = expand_shell_variables(header.group('path'), variables)
            if path and path.startswith('/'):
                return path
            continue
        # Top level only: indented assignments sit in functions or branches.
        match = _ASSIGNMENT.match(line.rstrip())
        if not match:
            continue
        raw, literal = _unquote(match.group('value'))
        value = raw if literal or raw is None else expand_shell_variables(raw, variables)
        if value is None:
            variables.pop(match.group('name'), None)
            continue
        variables[match.group('name')] = value
        if _PIDFILE_VARIABLES.match(match.group('name')):
            candidates.append((match.group('name'), value))

    def rank(item):
        upper = item[0].upper()
        return 0 if upper == 'PIDFILE' else 1 if upper == 'PID_FILE' else 2

    for _name, value in sorted(candidates, key=rank):
        if value.startswith('/'):
            return value
    return None


def parse_pidfile(text):
    """Pids in a pid file (HAProxy with nbproc writes one per line)."""
    pids = []
    for token in (text or '').split():
        if token.isdigit() and int(token) > 1:
            pids.append(int(token))
    return pids


def parse_proc_stat(text):
    """Parse one ``/proc/PID/stat`` line into a :class:`ProcInfo`.

    The command name sits in parentheses and may itself contain spaces and
    parentheses, so the fields are split after the last ``)``.
    """
    lpar = text.index('(')
    rpar = text.rindex(')')
    rest = text[rpar + 2:].split()
    return ProcInfo(
        pid=int(text[:lpar]), comm=text[lpar + 1:rpar], state=rest[0], ppid=int(rest[1]),
        pgid=int(rest[2]), sid=int(rest[3]), starttime=int(rest[19]))


def parse_cmdline(raw):
    """``/proc/PID/cmdline`` (NUL separated) as one line."""
    return raw.replace('\0', ' ').strip()


def parse_systemctl_show(text):
    """``systemctl show`` output as a list of property dicts, one per unit.

    Units are separated by an empty line; a value may contain ``=``.
    """
    units, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
                current = {}
            continue
        key, sep, value = line.partition('=')
        if sep:
            current[key] = value
    if current:
        units.append(current)
    return units


def systemd_state(props):
    """State of a unit from its ``systemctl show`` properties."""
    if props.get('LoadState') == 'not-found':
        return ABSENT
    return {
        'active': RUNNING,
        'reloading': RUNNING,
        'refreshing': RUNNING,
        'inactive': STOPPED,
        'failed': FAILED,
        'activating': STARTING,
        'deactivating': STOPPING,
    }.get(props.get('ActiveState'), UNKNOWN)


def describe_systemd(props):
    return 'LoadState=%s ActiveState=%s SubState=%s' % (
        props.get('LoadState', '?'), props.get('ActiveState', '?'), props.get('SubState', '?'))


def parse_list_units(text):
    """``systemctl list-units --all --plain --no-legend`` rows as dicts."""
    rows = []
    for line in text.splitlines():
        fields = line.split(None, 4)
        if fields and fields[0] in ('\u25cf', '*'):
            fields = line.split(None, 5)[1:]
        if len(fields) < 4:
            continue
        rows.append({'unit': fields[0], 'load': fields[1], 'active': fields[2], 'sub': fields[3],
                     'description': fields[4].strip() if len(fields) > 4 else ''})
    return rows


def parse_list_unit_files(text):
    """``systemctl list-unit-files --no-legend`` rows as dicts (the preset column is optional)."""
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        rows.append({'unit': fields[0], 'state': fields[1],
                     'preset': fields[2] if len(fields) > 2 else None})
    return rows


def systemd_service_names(units, unit_files):
    """Service units a glob may select: loaded or installed, no templates, no aliases.

    An alias (``mysql.service`` for ``mariadb.service``) would make one
    service act twice; a template (``x@.service``) cannot run by itself.
    """
    names = set()
    for row in units:
        if row['load'] != 'not-found' and row['unit'].endswith('.service'):
            names.add(row['unit'])
    for row in unit_files:
        if row['state'] != 'alias' and row['unit'].endswith('.service'):
            names.add(row['unit'])
    return sorted(name for name in names if not name.endswith('@.service'))


def ancestors(table, pid):
    """Pids of ``pid`` and all its ancestors present in ``table``."""
    seen = set()
    while pid in table and pid not in seen:
        seen.add(pid)
        pid = table[pid].ppid
    return seen


def is_live(info):
    # A zombie has exited; only its parent's wait() is missing.
    return info.state not in ('Z', 'X', 'x')


def collect_service_pids(table, roots, own_pid=None, cmdlines=None, pattern=None):
    """Pids of a service: ``roots``, pattern matches, their groups and descendants.

    ``table`` maps pid -> :class:`ProcInfo`; ``cmdlines`` pid -> command line
    (needed with ``pattern``, a compiled regex). The caller's own process, its
    ancestors, their sessions and process groups, PID 1 and kernel threads are
    never part of a service.
    """
    exclude = ancestors(table, own_pid) if own_pid else set()
    own_groups = set()
    for pid in exclude:
        own_groups.update((table[pid].sid, table[pid].pgid))

    def eligible(pid):
        info = table.get(pid)
        return (info is not None and pid > 1 and pid not in exclude and is_live(info)
                and info.ppid != 2 and pid != 2)

    selected = set(pid for pid in roots if eligible(pid))
    if pattern is not None:
        selected.update(pid for pid, cmd in (cmdlines or {}).items() if eligible(pid) and cmd and pattern.search(cmd))

    # Daemonizing (setsid) gives the service its own session and process
    # group; when their leader is the root or has exited, every member is ours.
    sids, pgids = set(), set()
    for pid in selected:
        info = table[pid]
        for group, bucket in ((info.sid, sids), (info.pgid, pgids)):
            if group > 1 and group not in own_groups and (group == pid or group not in table):
                bucket.add(group)
    if sids or pgids:
        selected.update(pid for pid, info in table.items()
                        if eligible(pid) and (info.sid in sids or info.pgid in pgids))

    children = collections.defaultdict(list)
    for pid, info in table.items():
        children[info.ppid].append(pid)
    todo = list(selected)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in selected and eligible(child):
                selected.add(child)
                todo.append(child)
    return selected


def still_alive(table, tracked):
    """Tracked pids (pid -> start time) that still run as the same process."""
    return sorted(pid for pid, start in tracked.items()
                  if pid in table and table[pid].starttime == start and is_live(table[pid]))


def describe_pids(table, pids, cmdlines=None, limit=10):
    """``1234 (heat-engine), 1240 (heat-engine)`` for messages."""
    shown = []
    for pid in pids[:limit]:
        name = (cmdlines or {}).get(pid) or (table[pid].comm if pid in table else '?')
        shown.append('%s (%s)' % (pid, name[:80]))
    more = len(pids) - limit
    return ', '.join(shown) + (' and %d more' % more if more > 0 else '')


# --------------------------------------------------------------------------
# Reading the machine
# --------------------------------------------------------------------------

def detect_init_system(marker='/run/systemd/system'):
    """``systemd`` when systemd runs as init (the test sd_booted() does), else ``sysv``."""
    return 'systemd' if os.path.isdir(marker) else 'sysv'


def _read(path, binary=False):
    try:
        with open(path, 'rb' if binary else 'r') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def read_process_table(proc='/proc', with_cmdlines=False):
    """``(table, cmdlines)`` for every process under ``proc``; vanished ones are skipped."""
    table, cmdlines = {}, {}
    try:
        entries = os.listdir(proc)
    except OSError as exc:
        raise InitSystemError('Cannot list processes in %s: %s' % (proc, exc))
    for entry in entries:
        if not entry.isdigit():
            continue
        stat = _read(os.path.join(proc, entry, 'stat'))
        if not stat:
            continue
        try:
            info = parse_proc_stat(stat)
        except (ValueError, IndexError):
            continue
        table[info.pid] = info
        if with_cmdlines:
            raw = _read(os.path.join(proc, entry, 'cmdline'), binary=True)
            if raw:
                cmdlines[info.pid] = parse_cmdline(raw.decode('utf-8', 'replace'))
    return table, cmdlines


def read_cmdlines(pids, proc='/proc'):
    """Command lines of ``pids`` (for messages); vanished ones are left out."""
    found = {}
    for pid in pids:
        raw = _read(os.path.join(proc, str(pid), 'cmdline'), binary=True)
        if raw:
            found[pid] = parse_cmdline(raw.decode('utf-8', 'replace'))
    return found


def read_cgroup_pids(control_group, root='/sys/fs/cgroup'):
    """Pids in a systemd control group and its children (cgroup v2, hybrid or v1)."""
    if not control_group:
        return []
    relative = control_group.lstrip('/')
    for base in (root, os.path.join(root, 'unified'), os.path.join(root, 'systemd')):
        top = os.path.join(base, relative)
        if not os.path.isfile(os.path.join(top, 'cgroup.procs')):
            continue
        pids = []
        for directory, _dirs, files in os.walk(top):
            if 'cgroup.procs' in files:
                pids.extend(parse_pidfile(_read(os.path.join(directory, 'cgroup.procs')) or ''))
        return sorted(set(pids))
    return []


def kill_pids(pids, sig=signal.SIGKILL):
    """Send ``sig`` to each pid; returns the pids signalled (gone ones are skipped)."""
    done = []
    for pid in pids:
        if pid <= 1:
            continue
        try:
            os.kill(pid, sig)
            done.append(pid)
        except ProcessLookupError:
            pass
        except OSError as exc:
            raise InitSystemError('Cannot send signal %s to pid %s: %s' % (sig, pid, exc), pid=pid)
    return done


# --------------------------------------------------------------------------
# Backends: how one init system is asked and told
# --------------------------------------------------------------------------

class SysVInit(object):
    """SysV init scripts in /etc/init.d, run through Debian's ``service`` wrapper.

    Without ``service`` the script is run directly. ``invoke-rc.d`` is not
    used: a policy-rc.d can make it exit 0 having done nothing.
    """

    name = 'sysv'

    def __init__(self, runner, initd='/etc/init.d'):
        self.runner = runner
        self.initd = initd
        self._service = 'service' if runner.module.get_bin_path('service', required=False) else None

    def normalize(self, name):
        return name

    def _argv(self, name, action):
        if self._service:
            return [self._service, name, action]
        return [os.path.join(self.initd, name), action]

    def script(self, name):
        return os.path.join(self.initd, name)

    def list_services(self):
        try:
            entries = os.listdir(self.initd)
        except OSError:
            return []
        listed = []
        for entry in entries:
            path = os.path.join(self.initd, entry)
            listed.append((entry, os.path.isfile(path) and os.access(path, os.X_OK)))
        return sysv_service_names(listed)

    def exists(self, name):
        path = self.script(name)
        return '/' not in name and os.path.isfile(path) and os.access(path, os.X_OK)

    def observe(self, name):
        """``(state, detail, root pids)``; the roots come from the script's pid file."""
        result = self.runner.run(self._argv(name, 'status'), check_rc=False, timeout=QUERY_TIMEOUT)
        roots = []
        location = parse_pidfile_location(_read(self.script(name)) or '')
        if location:
            roots = parse_pidfile(_read(location) or '')
        return lsb_status_state(result.rc), describe_status(result.rc, result.stdout + result.stderr), roots

    def start(self, name, timeout):
        return self.runner.run(self._argv(name, 'start'), mutating=True, timeout=timeout)

    def stop(self, name, timeout):
        return self.runner.run(self._argv(name, 'stop'), mutating=True, timeout=timeout, check_rc=False)

    def kill(self, name, pids):
        return kill_pids(pids)

    def after_kill(self, name):
        # A second stop lets the script remove the pid file of the killed daemon.
        try:
            self.runner.run(self._argv(name, 'stop'), mutating=True, timeout=QUERY_TIMEOUT, check_rc=False)
        except CommandTimeout:
            pass


class Systemd(object):
    """systemd units through ``systemctl`` (jobs queued with ``--no-block``; this module waits)."""

    name = 'systemd'

    def __init__(self, runner, cgroup_root='/sys/fs/cgroup'):
        self.runner = runner
        self.cgroup_root = cgroup_root

    def normalize(self, name):
        return unit_name(name)

    def _systemctl(self, *args, **kwargs):
        try:
            return self.runner.run(['systemctl'] + list(args), **kwargs)
        except CommandTimeout:
            raise
        except OpsError as exc:
            if _NO_SYSTEMD.search(exc.msg):
                raise InitSystemError(
                    '%s. systemd is not the init system here: set init_system=sysv (or auto).'
                    % exc.msg.rstrip('.'), **exc.context)
            raise

    def list_services(self):
        units = self._systemctl('list-units', '--all', '--type=service', '--plain', '--no-legend',
                                '--no-pager', timeout=QUERY_TIMEOUT)
        files = self._systemctl('list-unit-files', '--type=service', '--plain', '--no-legend',
                                '--no-pager', timeout=QUERY_TIMEOUT)
        return systemd_service_names(parse_list_units(units.stdout), parse_list_unit_files(files.stdout))

    def show(self, name):
        result = self._systemctl('show', '-p', SYSTEMD_PROPERTIES, name, timeout=QUERY_TIMEOUT)
        units = parse_systemctl_show(result.stdout)
        return units[0] if units else {}

    def exists(self, name):
        return self.show(name).get('LoadState') not in (None, 'not-found')

    def observe(self, name):
        props = self.show(name)
        roots = read_cgroup_pids(props.get('ControlGroup'), self.cgroup_root)
        main = props.get('MainPID', '0')
        if main.isdigit() and int(main) > 1:
            roots.append(int(main))
        return systemd_state(props), describe_systemd(props), roots

    def start(self, name, timeout):
        return self._systemctl('start', '--no-block', name, mutating=True, timeout=timeout)

    def stop(self, name, timeout):
        return self._systemctl('stop', '--no-block', name, mutating=True, timeout=timeout, check_rc=False)

    def kill(self, name, pids):
        self._systemctl('kill', '--kill-who=all', '--signal=SIGKILL', name, mutating=True,
                        timeout=QUERY_TIMEOUT, check_rc=False)
        # Pattern matches may live outside the unit's control group.
        return kill_pids(pids)

    def after_kill(self, name):
        pass


def _describe_observation(observation):
    return '%s (%s)' % (observation.state, observation.detail)


# --------------------------------------------------------------------------
# The controller: observe, start, stop for real
# --------------------------------------------------------------------------

class ServiceManager(object):
    """Starts and stops services through a backend and watches their processes."""

    def __init__(self, backend, pattern=None, sleep=2, delay=0, proc='/proc', own_pid=None,
                 clock=time.monotonic, sleeper=time.sleep):
        self.backend = backend
        self.pattern = re.compile(pattern) if pattern else None
        self.sleep = sleep
        self.delay = delay
        self.proc = proc
        self.own_pid = own_pid if own_pid is not None else os.getpid()
        self.clock = clock
        self.sleeper = sleeper

    # -- names --------------------------------------------------------------
    def resolve(self, requested, missing='error'):
        """Expand names and globs; returns ``(names, absent)`` or raises for missing ones."""
        available = None
        if any(is_glob(item) for item in requested):
            available = self.backend.list_services()
        names, unmatched = expand_names(requested, available or [], '.service', self.backend.normalize)
        absent = [name for name in names if not self.backend.exists(name)]
        if missing == 'error' and (unmatched or absent):
            problems = []
            if unmatched:
                problems.append('no %s service matches %s' % (self.backend.name, ', '.join(unmatched)))
            if absent:
                problems.append('no %s service named %s' % (self.backend.name, ', '.join(absent)))
            raise InitSystemError(
                '%s. Check the names (the %s init system is used), or set missing=ignore to skip them.'
                % ('; '.join(problems).capitalize(), self.backend.name),
                unmatched=unmatched, absent=absent)
        return names, absent

    # -- looking ------------------------------------------------------------
    def _table(self):
        return read_process_table(self.proc, with_cmdlines=self.pattern is not None)

    def observe(self, name, tracked=None):
        """Current state and live processes of ``name``; ``tracked`` (pid -> start) is updated."""
        tracked = {} if tracked is None else tracked
        state, detail, roots = self.backend.observe(name)
        table, cmdlines = self._table()
        pids = collect_service_pids(table, set(roots) | set(still_alive(table, tracked)),
                                    self.own_pid, cmdlines, self.pattern)
        for pid in pids:
            tracked.setdefault(pid, table[pid].starttime)
        return Observation(state, detail, pids)

    def _stop_probe(self, name, tracked):
        def probe():
            table, cmdlines = self._table()
            alive = still_alive(table, tracked)
            if alive:
                # Children forked meanwhile belong to the service as well.
                for pid in collect_service_pids(table, alive, self.own_pid):
                    tracked.setdefault(pid, table[pid].starttime)
                alive = still_alive(table, tracked)
                if not cmdlines:
                    cmdlines = read_cmdlines(alive, self.proc)
                return Observation(STOPPING, 'processes still running: %s'
                                   % describe_pids(table, alive, cmdlines), alive)
            return self.observe(name, tracked)
        return probe

    @staticmethod
    def _is_down(observation):
        return observation.state in DOWN_STATES and not observation.pids

    # -- acting -------------------------------------------------------------
    def start(self, name, timeout):
        """Start ``name`` and wait until its status says running; returns the Observation."""
        self.backend.start(name, timeout=max(int(timeout), 1))
        try:
            result = wait_for(lambda: self.observe(name), lambda o: o.state in (RUNNING, FAILED),
                              timeout, self.sleep, self.delay, what='%s to be running' % name,
                              describe=_describe_observation,
                              clock=self.clock, sleeper=self.sleeper)
        except WaitTimeout as exc:
            raise InitSystemError(
                '%s was started but its status did not say running within %s seconds: %s (%s). '
                'Check its log; raise timeout if it needs longer to come up.'
                % (name, timeout, exc.state.state, exc.state.detail),
                service=name, last_state=exc.state.as_dict(), elapsed=exc.context.get('elapsed'))
        if result.state.state == FAILED:
            raise InitSystemError(
                '%s was started but died: %s. Check its log.' % (name, result.state.detail),
                service=name, last_state=result.state.as_dict())
        return result.state

    def stop(self, name, graceful_timeout, escalate, tracked):
        """Stop ``name`` until its processes (``tracked`` and found later) are gone.

        Returns ``(observation, killed_pids)``. Past ``graceful_timeout`` raises
        :class:`StopTimeout`, unless ``escalate``: then the remaining processes
        get SIGKILL and are waited for up to :data:`KILL_WAIT` seconds.
        """
        started = self.clock()
        stop_note = ''
        try:
            result = self.backend.stop(name, timeout=max(int(graceful_timeout), 1))
            if result.rc != 0:
                stop_note = ' The stop command returned %s.' % describe_status(result.rc, result.stdout + result.stderr)
        except CommandTimeout:
            stop_note = ' The stop command itself did not return within %s seconds.' % graceful_timeout
        remaining = max(0, graceful_timeout - (self.clock() - started))
        try:
            return wait_for(self._stop_probe(name, tracked), self._is_down, remaining, self.sleep, self.delay,
                            what='%s to stop' % name, describe=_describe_observation,
                            clock=self.clock, sleeper=self.sleeper).state, []
        except WaitTimeout as exc:
            last = exc.state
        if not escalate:
            raise StopTimeout(
                '%s did not stop within graceful_timeout=%s seconds: %s (%s).%s Raise graceful_timeout, '
                'or set escalate=true to SIGKILL the remaining processes.'
                % (name, graceful_timeout, last.state, last.detail, stop_note),
                service=name, last_state=last.as_dict())
        killed = self.backend.kill(name, last.pids)
        try:
            wait_for(lambda: still_alive(self._table()[0], tracked), lambda alive: not alive, KILL_WAIT, 0.2, 0,
                     what='%s to be gone after SIGKILL' % name, clock=self.clock, sleeper=self.sleeper)
        except WaitTimeout as exc:
            raise StopTimeout(
                '%s: processes %s survived SIGKILL for %s seconds. They may be stuck in the kernel '
                '(state D); look at them with ps -o pid,stat,wchan -p PID.'
                % (name, ', '.join(str(p) for p in exc.state), KILL_WAIT),
                service=name, killed=killed)
        self.backend.after_kill(name)
        final = self.observe(name, tracked)
        if not self._is_down(final):
            raise StopTimeout(
                '%s: after SIGKILL of %s its status is %s (%s), not stopped. Something restarted it.'
                % (name, ', '.join(str(p) for p in killed), final.state, final.detail),
                service=name, last_state=final.as_dict(), killed=killed)
        return final, killed
