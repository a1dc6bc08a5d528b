import json
import os
import re

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import initsystem
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandResult, CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.initsystem import (
    ABSENT,
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    UNKNOWN,
    InitSystemError,
    ServiceManager,
    StopTimeout,
    Systemd,
    SysVInit,
    collect_service_pids,
    describe_status,
    detect_init_system,
    expand_names,
    expand_shell_variables,
    lsb_status_state,
    match_names,
    parse_list_unit_files,
    parse_list_units,
    parse_pidfile,
    parse_pidfile_location,
    parse_proc_stat,
    parse_systemctl_show,
    read_cgroup_pids,
    read_process_table,
    still_alive,
    systemd_service_names,
    systemd_state,
    sysv_service_names,
    unit_name,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'initsystem')


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def fixture_names(folder, prefix):
    return sorted(n for n in os.listdir(os.path.join(FIXTURES, folder)) if n.startswith(prefix))


def snapshot():
    data = json.loads(fixture('proc', 'snapshot.json'))
    table = dict((int(pid), parse_proc_stat(entry['stat'])) for pid, entry in data.items())
    cmdlines = dict((int(pid), entry['cmdline'].replace('\0', ' ').strip()) for pid, entry in data.items())
    return table, cmdlines


# -- SysV status -----------------------------------------------------------

@pytest.mark.parametrize('name', fixture_names('sysv', 'status-'))
def test_lsb_status_of_captured_outputs(name):
    rc = int(re.search(r'\.rc(\d+)\.txt$', name).group(1))
    expected = {0: RUNNING, 1: FAILED, 3: STOPPED}[rc]
    # The file name says what the service really was doing when captured.
    if 'running' in name:
        assert expected == RUNNING
    if 'stopped' in name or 'stale' in name:
        assert expected == STOPPED
    if 'dead-pidfile' in name:
        assert expected == FAILED
    assert lsb_status_state(rc) == expected
    assert describe_status(rc, fixture('sysv', name)).startswith('rc %d: ' % rc)


@pytest.mark.parametrize('rc,state', [(0, RUNNING), (1, FAILED), (2, FAILED), (3, STOPPED), (4, UNKNOWN),
                                      (127, UNKNOWN), (150, UNKNOWN)])
def test_lsb_status_codes(rc, state):
    assert lsb_status_state(rc) == state


def test_describe_status_keeps_last_line_only():
    assert describe_status(0, 'Status of node rabbit@localhost ...\nRuntime\n\nOS PID: 2932\n') == 'rc 0: OS PID: 2932'
    assert describe_status(3, '') == 'rc 3: (no output)'


# -- pid files ---------------------------------------------------------------

@pytest.mark.parametrize('script,expected', [
    ('haproxy.excerpt', '/var/run/haproxy.pid'),                    # PIDFILE=/var/run/${BASENAME}.pid
    ('dbus.excerpt', '/var/run/dbus/pid'),                          # PIDFILE=$PIDDIR/pid
    ('mosquitto.excerpt', '/run/mosquitto/mosquitto.pid'),
    ('redis-server.excerpt', '/run/redis/redis-server.pid'),
    ('rsync.excerpt', '/var/run/rsync.pid'),                        # RSYNC_PID_FILE=
    ('rabbitmq-server.excerpt', '/var/run/rabbitmq/pid'),           # PID_FILE=
    ('procps.excerpt', None),                                       # PIDFILE=none
    ('mariadb.excerpt', None),                                      # only a command substitution
    ('osl-test-quick.script', '/run/osl-test/osl-test-quick.pid'),
    ('openstack-heat-engine.el6-chkconfig.excerpt', '/var/run/heat/openstack-heat-engine.pid'),
    ('lab-style.excerpt', '/srv/openstack-lab/nodes/node1/run/heat-engine.pid'),
])
def test_pidfile_location_of_real_scripts(script, expected):
    assert parse_pidfile_location(fixture('sysv', 'scripts', script)) == expected


def test_pidfile_assignment_without_header_expands_nested_variables():
    text = fixture('sysv', 'scripts', 'openstack-heat-engine.el6-chkconfig.excerpt')
    text = '\n'.join(line for line in text.splitlines() if not line.startswith('# pidfile:'))
    assert parse_pidfile_location(text) == '/var/run/heat/openstack-heat-engine.pid'


def test_indented_pidfile_assignment_is_ignored():
    assert parse_pidfile_location('start() {\n    PIDFILE=/run/x.pid\n}\n') is None


def test_pidfile_with_unknown_variable_is_unknown():
    assert parse_pidfile_location('PIDFILE=$RUNDIR/x.pid\n') is None


def test_shell_variable_expansion():
    variables = {'A': '/run', 'EMPTY': ''}
    assert expand_shell_variables('$A/x', variables) == '/run/x'
    assert expand_shell_variables('${A}/x', variables) == '/run/x'
    assert expand_shell_variables('${EMPTY:-/var/run}/x', variables) == '/var/run/x'
    assert expand_shell_variables('${NOPE:-/srv}/x', variables) == '/srv/x'
    assert expand_shell_variables('$NOPE/x', variables) is None
    assert expand_shell_variables('$(cat /etc/x)', variables) is None


@pytest.mark.parametrize('text,pids', [('14241\n', [14241]), ('2203', [2203]), ('812\n813\n', [812, 813]),
                                       ('', []), ('garbage\n', []), ('1\n', [])])
def test_parse_pidfile(text, pids):
    assert parse_pidfile(text) == pids


def test_sysv_service_names_skips_non_services():
    entries = [('haproxy', True), ('README', False), ('skeleton', True), ('rc', True), ('rcS', True),
               ('osl-node1-heat-api', True), ('osl-node1-heat-api.dpkg-old', True), ('hwclock.sh', True),
               ('notes.txt', False), ('.depend.start', False), ('x~', True)]
    assert sysv_service_names(entries) == ['haproxy', 'hwclock.sh', 'osl-node1-heat-api']


# -- /proc ---------------------------------------------------------------------

def test_parse_proc_stat_of_every_captured_process():
    table, _cmdlines = snapshot()
    assert len(table) == 52
    assert table[14243] == initsystem.ProcInfo(14243, 'python3.11', 'S', 14233, 14232, 14232, 396575)
    assert table[14156].state == 'Z'


def test_parse_proc_stat_with_parentheses_in_the_command_name():
    table, _cmdlines = snapshot()
    weird = table[14250]
    assert weird.comm == 'we) ird (x'
    assert (weird.ppid, weird.pgid, weird.sid, weird.starttime) == (1, 14223, 9027, 396625)


def test_tree_of_a_daemon_from_its_pidfile_root():
    table, _cmdlines = snapshot()
    assert collect_service_pids(table, [14241], own_pid=14254) == {14241, 14244, 14245}
    assert collect_service_pids(table, [14233], own_pid=14254) == {14233, 14243}


def test_orphaned_worker_is_found_through_the_daemon_session():
    # 14243 is a child of 14233; as if the parent had exited, start from the
    # orphan's session only: start-stop-daemon's setsid leader 14232 is gone.
    table, _cmdlines = snapshot()
    table.pop(14233)
    assert collect_service_pids(table, [14243], own_pid=14254) == {14243}
    orphan = table[14243]._replace(ppid=1)
    table[14243] = orphan
    assert collect_service_pids(table, [14243], own_pid=14254) == {14243}


def test_session_of_a_living_leader_is_not_taken():
    # 14250 runs in the capturing shell's session (9027, leader alive): only it.
    table, _cmdlines = snapshot()
    assert collect_service_pids(table, [14250]) == {14250}


def test_zombies_and_pid1_and_kernel_threads_never_belong_to_a_service():
    table, _cmdlines = snapshot()
    assert collect_service_pids(table, [14156, 14157, 1, 25]) == set()


def test_pattern_matches_command_lines_but_never_the_caller_or_its_ancestors():
    table, cmdlines = snapshot()
    pattern = re.compile(r'osl-test/daemon\.py 0 2 0')
    assert collect_service_pids(table, [], own_pid=14254, cmdlines=cmdlines, pattern=pattern) == {14241, 14244, 14245}
    bash = re.compile(r'^bash /dev/fd/3$')
    found = collect_service_pids(table, [], own_pid=14254, cmdlines=cmdlines, pattern=bash)
    assert not found & {14223, 14222, 9027}
    assert 7861 in found


def test_still_alive_checks_start_time_and_zombies():
    table, _cmdlines = snapshot()
    tracked = {14241: 396574, 14244: 1, 14156: table[14156].starttime, 99999: 5}
    assert still_alive(table, tracked) == [14241]


def test_read_process_table_from_a_proc_tree(tmp_path):
    data = json.loads(fixture('proc', 'snapshot.json'))
    for pid in ('14241', '14244', '14250'):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / 'stat').write_text(data[pid]['stat'])
        (tmp_path / pid / 'cmdline').write_bytes(data[pid]['cmdline'].encode())
    (tmp_path / '777').mkdir()  # vanished between listdir and open
    (tmp_path / 'self').mkdir()
    table, cmdlines = read_process_table(str(tmp_path), with_cmdlines=True)
    assert sorted(table) == [14241, 14244, 14250]
    assert cmdlines[14241] == '/usr/bin/python3.11 /tmp/osl-test/daemon.py 0 2 0'
    assert cmdlines[14250] == '/tmp/osl-test/we) ird (x 30'


@pytest.mark.parametrize('layout', ['', 'unified', 'systemd'])
def test_cgroup_pids_include_child_groups(tmp_path, layout):
    group = tmp_path / layout / 'system.slice' / 'openstack-heat-engine.service'
    (group / 'worker').mkdir(parents=True)
    (group / 'cgroup.procs').write_text('2817\n2830\n')
    (group / 'worker' / 'cgroup.procs').write_text('2901\n')
    assert read_cgroup_pids('/system.slice/openstack-heat-engine.service', str(tmp_path)) == [2817, 2830, 2901]
    assert read_cgroup_pids('', str(tmp_path)) == []
    assert read_cgroup_pids('/system.slice/other.service', str(tmp_path)) == []


def test_detect_init_system(tmp_path):
    assert detect_init_system(str(tmp_path / 'nothing')) == 'sysv'
    (tmp_path / 'system').mkdir()
    assert detect_init_system(str(tmp_path / 'system')) == 'systemd'


# -- systemd -------------------------------------------------------------------

SHOW_EXPECTED = {
    'show.openstack-heat-engine.running.txt': (RUNNING, 2817),
    'show.openstack-nova-novncproxy.inactive.txt': (STOPPED, 0),
    'show.openstack-nova-scheduler.failed.txt': (FAILED, 0),
    'show.openstack-nova-compute.deactivating.txt': (STOPPING, 40211),
    'show.openstack-nova-api.activating.txt': (STARTING, 51877),
    'show.openstack-nova-cert.not-found.txt': (ABSENT, 0),
    'show.heat-engine.masked.txt': (STOPPED, 0),
    'show.heat-api.reloading.txt': (RUNNING, 3310),
}


def test_every_show_fixture_has_an_expectation():
    assert set(SHOW_EXPECTED) == set(n for n in fixture_names('systemd', 'show.') if n.endswith('.txt'))


@pytest.mark.parametrize('name', sorted(SHOW_EXPECTED))
def test_systemctl_show_state(name):
    units = parse_systemctl_show(fixture('systemd', name))
    assert len(units) == 1
    props = units[0]
    state, main_pid = SHOW_EXPECTED[name]
    assert systemd_state(props) == state
    assert int(props['MainPID']) == main_pid
    assert props['Id'] == name.split('.')[1] + '.service'


def test_systemctl_show_of_several_units_and_values_with_equals():
    text = (fixture('systemd', 'show.openstack-heat-engine.running.txt') + '\n'
            + fixture('systemd', 'show.openstack-nova-scheduler.failed.txt') + 'Environment=A=b C=d\n')
    units = parse_systemctl_show(text)
    assert [u['Id'] for u in units] == ['openstack-heat-engine.service', 'openstack-nova-scheduler.service']
    assert units[1]['Environment'] == 'A=b C=d'


def test_list_units_rows():
    rows = parse_list_units(fixture('systemd', 'list-units.openstack.txt'))
    assert len(rows) == 9
    cert = [r for r in rows if r['unit'] == 'openstack-nova-cert.service'][0]
    assert (cert['load'], cert['active'], cert['sub']) == ('not-found', 'inactive', 'dead')
    assert rows[1]['description'] == 'OpenStack Heat API Service'


def test_list_units_with_the_failed_bullet_of_older_systemd():
    rows = parse_list_units('\u25cf openstack-nova-scheduler.service loaded failed failed OpenStack Nova Scheduler\n')
    assert rows[0]['unit'] == 'openstack-nova-scheduler.service'
    assert rows[0]['active'] == 'failed'


def test_list_unit_files_captured_here_skips_aliases_and_templates():
    files = parse_list_unit_files(fixture('systemd', 'list-unit-files.debian12-captured.txt'))
    assert len(files) == 121
    names = systemd_service_names([], files)
    assert 'mariadb.service' in names
    assert 'mysql.service' not in names            # alias of mariadb.service
    assert 'mariadb@.service' not in names          # template
    assert match_names('maria*', names, '.service') == ['mariadb.service']


def test_glob_expansion_over_rdo_units():
    names = systemd_service_names(parse_list_units(fixture('systemd', 'list-units.openstack.txt')),
                                  parse_list_unit_files(fixture('systemd', 'list-unit-files.openstack.txt')))
    assert match_names('openstack-nova-*', names, '.service') == [
        'openstack-nova-api.service', 'openstack-nova-compute.service', 'openstack-nova-conductor.service',
        'openstack-nova-metadata-api.service', 'openstack-nova-novncproxy.service',
        'openstack-nova-os-compute-api.service', 'openstack-nova-scheduler.service',
        'openstack-nova-serialproxy.service', 'openstack-nova-spicehtml5proxy.service']
    assert 'openstack-nova-cert.service' not in names  # not-found in list-units only
    assert match_names('*-api', names, '.service') == [
        'openstack-heat-api.service', 'openstack-nova-api.service', 'openstack-nova-metadata-api.service',
        'openstack-nova-os-compute-api.service']


def test_ubuntu_instances_are_kept():
    names = systemd_service_names(parse_list_units(fixture('systemd', 'list-units.ubuntu-heat.txt')), [])
    assert match_names('heat-engine*', names, '.service') == ['heat-engine.service', 'heat-engine@2.service']


def test_expand_names_keeps_order_sorts_globs_and_drops_duplicates():
    available = ['osl-haproxy', 'osl-node2-heat-engine', 'osl-node1-heat-engine', 'osl-node1-heat-api']
    names, unmatched = expand_names(['osl-haproxy', 'osl-node*-heat-engine', 'osl-node1-heat-engine', 'nova-*'],
                                    available)
    assert names == ['osl-haproxy', 'osl-node1-heat-engine', 'osl-node2-heat-engine']
    assert unmatched == ['nova-*']


def test_unit_names():
    assert unit_name('heat-engine') == 'heat-engine.service'
    assert unit_name('heat-engine.service') == 'heat-engine.service'
    assert unit_name('heat-engine@2') == 'heat-engine@2.service'


# -- backends through the command runner -------------------------------------

class FakeModule(object):
    def __init__(self, answers=None, check_mode=False, bins=('service', 'systemctl', 'timeout')):
        self.answers = answers or {}
        self.check_mode = check_mode
        self.calls = []
        self.bins = bins

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/bin/' + name if name in self.bins else None

    def run_command(self, argv, environ_update=None, cwd=None, data=None, binary_data=False, check_rc=False):
        if argv[0] == '/usr/bin/timeout':
            argv = argv[3:]
        self.calls.append(argv)
        return self.answers.get(tuple(argv), (0, '', ''))


def test_sysv_observe_reads_status_and_pidfile(tmp_path):
    initd = tmp_path / 'init.d'
    initd.mkdir()
    script = initd / 'osl-test-quick'
    pidfile = tmp_path / 'quick.pid'
    script.write_text('#!/bin/sh\nPIDFILE=%s\n' % pidfile)
    script.chmod(0o755)
    pidfile.write_text('14241\n')
    module = FakeModule({('/usr/bin/service', 'osl-test-quick', 'status'):
                         (0, fixture('sysv', 'status-osl-test-running.rc0.txt'), '')})
    backend = SysVInit(CommandRunner(module), initd=str(initd))
    assert backend.observe('osl-test-quick') == (RUNNING, 'rc 0: osl-test-quick is running.', [14241])
    assert backend.exists('osl-test-quick')
    assert not backend.exists('nope')
    assert not backend.exists('../init.d/osl-test-quick')
    assert backend.list_services() == ['osl-test-quick']


def test_sysv_runs_the_script_when_service_is_missing(tmp_path):
    script = tmp_path / 'osl-haproxy'
    script.write_text('#!/bin/sh\n')
    script.chmod(0o755)
    module = FakeModule({(str(script), 'status'): (3, 'osl-haproxy is not running\n', '')}, bins=('timeout',))
    backend = SysVInit(CommandRunner(module), initd=str(tmp_path))
    assert backend.observe('osl-haproxy')[0] == STOPPED
    assert module.calls == [[str(script), 'status']]


def test_sysv_start_and_stop_are_skipped_in_check_mode(tmp_path):
    module = FakeModule(check_mode=True)
    runner = CommandRunner(module)
    backend = SysVInit(runner, initd=str(tmp_path))
    assert backend.start('osl-test-quick', 30).skipped
    assert backend.stop('osl-test-quick', 30).skipped
    assert module.calls == []
    assert [c['skipped'] for c in runner.commands] == [True, True]


def test_systemd_observe_uses_show_and_cgroup(tmp_path):
    group = tmp_path / 'system.slice' / 'openstack-heat-engine.service'
    group.mkdir(parents=True)
    (group / 'cgroup.procs').write_text('2817\n2830\n')
    argv = ('/usr/bin/systemctl', 'show', '-p', initsystem.SYSTEMD_PROPERTIES, 'openstack-heat-engine.service')
    module = FakeModule({argv: (0, fixture('systemd', 'show.openstack-heat-engine.running.txt'), '')})
    backend = Systemd(CommandRunner(module), cgroup_root=str(tmp_path))
    state, detail, roots = backend.observe('openstack-heat-engine.service')
    assert state == RUNNING
    assert detail == 'LoadState=loaded ActiveState=active SubState=running'
    assert sorted(set(roots)) == [2817, 2830]
    assert backend.exists('openstack-heat-engine.service')


def test_systemd_without_systemd_says_what_to_do():
    argv = ('/usr/bin/systemctl', 'show', '-p', initsystem.SYSTEMD_PROPERTIES, 'haproxy.service')
    module = FakeModule({argv: (1, fixture('systemd', 'show.no-systemd-captured.stdout'),
                                fixture('systemd', 'show.no-systemd-captured.stderr'))})
    with pytest.raises(InitSystemError, match='set init_system=sysv'):
        Systemd(CommandRunner(module)).observe('haproxy.service')


def test_systemd_list_services_and_queued_jobs():
    module = FakeModule({
        ('/usr/bin/systemctl', 'list-units', '--all', '--type=service', '--plain', '--no-legend', '--no-pager'):
            (0, fixture('systemd', 'list-units.openstack.txt'), ''),
        ('/usr/bin/systemctl', 'list-unit-files', '--type=service', '--plain', '--no-legend', '--no-pager'):
            (0, fixture('systemd', 'list-unit-files.openstack.txt'), ''),
    })
    backend = Systemd(CommandRunner(module))
    assert 'openstack-heat-engine.service' in backend.list_services()
    backend.stop('openstack-heat-engine.service', 90)
    backend.start('openstack-heat-engine.service', 90)
    backend.kill('openstack-heat-engine.service', [])
    assert module.calls[-3:] == [
        ['/usr/bin/systemctl', 'stop', '--no-block', 'openstack-heat-engine.service'],
        ['/usr/bin/systemctl', 'start', '--no-block', 'openstack-heat-engine.service'],
        ['/usr/bin/systemctl', 'kill', '--kill-who=all', '--signal=SIGKILL', 'openstack-heat-engine.service']]


# -- ServiceManager: stop for real, against a simulated machine ----------------

class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.events = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        for when, action in list(self.events):
            if when <= self.now:
                self.events.remove((when, action))
                action()


class FakeMachine(object):
    """A backend over a fake /proc directory: processes are files, status follows them."""

    name = 'sysv'

    def __init__(self, proc, clock):
        self.proc = proc
        self.clock = clock
        self.running = {}   # name -> root pid while the init system thinks it runs
        self.calls = []
        self.next_pid = 5000

    def spawn(self, ppid=1, sid=None):
        pid = max([self.next_pid] + [int(p.name) + 1 for p in self.proc.iterdir()])
        sid = sid or pid
        (self.proc / str(pid)).mkdir()
        (self.proc / str(pid) / 'stat').write_text(
            '%d (heat-engine) S %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n' % (pid, ppid, sid, sid, pid))
        (self.proc / str(pid) / 'cmdline').write_bytes(b'heat-engine\0--config-file\0/etc/heat/heat.conf\0')
        return pid

    def exit(self, pid):
        path = self.proc / str(pid)
        for child in path.iterdir():
            child.unlink()
        path.rmdir()

    def normalize(self, name):
        return name

    def list_services(self):
        return sorted(self.running)

    def exists(self, name):
        return True

    def observe(self, name):
        pid = self.running.get(name)
        if pid:
            return RUNNING, 'rc 0: %s is running.' % name, [pid]
        return STOPPED, 'rc 3: %s is not running.' % name, []

    def start(self, name, timeout):
        self.calls.append(('start', name))
        self.running[name] = self.spawn()

    def stop(self, name, timeout):
        # Like a script without --retry: TERM sent, pid file removed, return at once.
        self.calls.append(('stop', name))
        self.running.pop(name, None)
        return CommandResult(['service', name, 'stop'], 0, '', '')

    def kill(self, name, pids):
        self.calls.append(('kill', tuple(pids)))
        for pid in pids:
            self.exit(pid)
        return list(pids)

    def after_kill(self, name):
        self.calls.append(('after_kill', name))


@pytest.fixture
def machine(tmp_path):
    clock = Clock()
    return FakeMachine(tmp_path, clock)


def manager_for(machine, **kwargs):
    return ServiceManager(machine, proc=str(machine.proc), own_pid=1, clock=machine.clock,
                          sleeper=machine.clock.sleep, **kwargs)


def start_engine(machine, workers=2):
    machine.start('heat-engine', 30)
    root = machine.running['heat-engine']
    return [root] + [machine.spawn(ppid=root, sid=root) for dummy in range(workers)]


def test_stop_waits_until_the_processes_are_gone(machine):
    pids = start_engine(machine)
    manager = manager_for(machine)
    tracked = {}
    before = manager.observe('heat-engine', tracked)
    assert before.state == RUNNING and before.pids == pids
    # Status says stopped at once; the processes need 7 more seconds.
    machine.clock.events.append((7, lambda: [machine.exit(p) for p in pids]))
    after, killed = manager.stop('heat-engine', 30, False, tracked)
    assert after.state == STOPPED and after.pids == []
    assert killed == []
    assert 7 <= machine.clock.now < 10


def test_stop_past_the_graceful_timeout_fails_and_names_the_processes(machine):
    pids = start_engine(machine, workers=1)
    manager = manager_for(machine)
    tracked = {}
    manager.observe('heat-engine', tracked)
    with pytest.raises(StopTimeout) as err:
        manager.stop('heat-engine', 10, False, tracked)
    assert 'did not stop within graceful_timeout=10 seconds' in err.value.msg
    assert '%d (heat-engine --config-file /etc/heat/heat.conf)' % pids[0] in err.value.msg
    assert 'escalate=true' in err.value.msg
    assert err.value.context['last_state']['pids'] == pids
    assert ('kill', tuple(pids)) not in machine.calls
    assert machine.clock.now == 10


def test_stop_escalates_with_sigkill_only_when_told(machine):
    pids = start_engine(machine, workers=2)
    manager = manager_for(machine)
    tracked = {}
    manager.observe('heat-engine', tracked)
    after, killed = manager.stop('heat-engine', 10, True, tracked)
    assert killed == pids
    assert machine.calls[-2:] == [('kill', tuple(pids)), ('after_kill', 'heat-engine')]
    assert after.state == STOPPED and after.pids == []


def test_worker_forked_during_the_stop_is_killed_too(machine):
    pids = start_engine(machine, workers=1)
    manager = manager_for(machine)
    tracked = {}
    manager.observe('heat-engine', tracked)
    late = []
    machine.clock.events.append((1, lambda: late.append(machine.spawn(ppid=pids[0], sid=pids[0]))))
    after, killed = manager.stop('heat-engine', 5, True, tracked)
    assert killed == pids + late
    assert after.pids == []


def test_leftover_processes_without_status_are_found_by_pattern(machine):
    leftover = machine.spawn()
    manager = manager_for(machine, pattern=r'heat-engine .*heat\.conf')
    before = manager.observe('heat-engine', {})
    assert before.state == STOPPED and before.pids == [leftover]


def test_start_waits_for_running_and_fails_on_death(machine):
    manager = manager_for(machine)
    assert manager.start('heat-engine', 30).state == RUNNING

    class Dying(FakeMachine):
        def observe(self, name):
            return FAILED, 'rc 1: heat-engine is not running ... failed!', []

    dying = Dying(machine.proc, machine.clock)
    with pytest.raises(InitSystemError, match='was started but died'):
        manager_for(dying).start('heat-engine', 30)


def test_start_that_never_says_running_times_out(machine):
    class Slow(FakeMachine):
        def observe(self, name):
            return STOPPED, 'rc 3: heat-engine is not running', []

    slow = Slow(machine.proc, machine.clock)
    with pytest.raises(InitSystemError, match='did not say running within 20 seconds'):
        manager_for(slow).start('heat-engine', 20)


def test_resolve_fails_before_acting_on_missing_names(machine):
    machine.running = {'osl-node1-heat-api': None, 'osl-node1-heat-engine': None}

    class Partial(FakeMachine):
        def exists(self, name):
            return name.startswith('osl-')

    partial = Partial(machine.proc, machine.clock)
    partial.running = machine.running
    manager = manager_for(partial)
    with pytest.raises(InitSystemError) as err:
        manager.resolve(['osl-node1-*', 'nova-*', 'heat-api'])
    assert 'No sysv service matches nova-*' in err.value.msg
    assert 'no sysv service named heat-api' in err.value.msg
    names, absent = manager.resolve(['osl-node1-*', 'nova-*', 'heat-api'], missing='ignore')
    assert names == ['osl-node1-heat-api', 'osl-node1-heat-engine', 'heat-api']
    assert absent == ['heat-api']
    assert partial.calls == []


def test_stop_is_not_done_while_the_init_system_still_names_processes(machine):
    # systemd with KillMode=process: the unit says inactive at once, but its
    # control group keeps a worker that was not there before the stop.
    worker = []

    class KeepsWorker(FakeMachine):
        def observe(self, name):
            return STOPPED, 'LoadState=loaded ActiveState=inactive SubState=dead', list(worker)

        def stop(self, name, timeout):
            worker.append(self.spawn())
            self.clock.events.append((12, lambda: self.exit(worker.pop())))
            return CommandResult(['systemctl', 'stop', name], 0, '', '')

    keeps = KeepsWorker(machine.proc, machine.clock)
    manager = manager_for(keeps)
    after, killed = manager.stop('heat-engine.service', 30, False, {})
    assert after.pids == [] and killed == []
    assert machine.clock.now >= 12


@pytest.mark.parametrize('line,expected', [
    ('PIDFILE="/run/a.pid"   # comment', '/run/a.pid'),
    ("PIDFILE='/run/$x.pid'", '/run/$x.pid'),
    ('PIDFILE=/run/a.pid # comment', '/run/a.pid'),
    ('PIDFILE=/run/a b.pid', None),
    ('PIDFILE="/run/a.pid" extra', None),
])
def test_pidfile_assignment_forms(line, expected):
    assert parse_pidfile_location(line + '\n') == expected
