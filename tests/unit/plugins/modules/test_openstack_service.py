"""Whole-module tests of openstack_service against a simulated host.

The host answers ``service NAME status|start|stop`` (and ``systemctl``) through
``AnsibleModule.run_command`` and keeps its processes as files in a fake /proc;
a fake clock drives the waits, so a 60 second graceful timeout takes no time.
"""

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import initsystem
from ansible_collections.openstack_ops.upgrade.plugins.modules import openstack_service

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'initsystem')
FIRST_PID = 3900000  # above any pid of this machine; kill is simulated anyway


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


class Clock(object):
    def __init__(self):
        self.now = 1000.0
        self.events = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        for event in [e for e in self.events if e[0] <= self.now]:
            self.events.remove(event)
            event[1]()


class FakeHost(object):
    def __init__(self, tmp_path):
        self.initd = tmp_path / 'init.d'
        self.proc = tmp_path / 'proc'
        self.run = tmp_path / 'run'
        for path in (self.initd, self.proc, self.run):
            path.mkdir()
        self.clock = Clock()
        self.behaviour = {}
        self.calls = []
        self.killed = []
        self.next_pid = FIRST_PID
        self.systemctl = {}

    # -- processes ---------------------------------------------------------
    def spawn(self, name, ppid, sid):
        pid = self.next_pid
        self.next_pid += 1
        (self.proc / str(pid)).mkdir()
        (self.proc / str(pid) / 'stat').write_text(
            '%d (python3) S %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n' % (pid, ppid, sid, sid, pid))
        (self.proc / str(pid) / 'cmdline').write_bytes(('/usr/bin/%s\0--config-file\0x.conf\0' % name).encode())
        return pid

    def exit(self, pid):
        path = self.proc / str(pid)
        if path.exists():
            for child in path.iterdir():
                child.unlink()
            path.rmdir()

    def pids(self):
        return sorted(int(p.name) for p in self.proc.iterdir())

    def pidfile(self, name):
        return self.run / ('%s.pid' % name)

    # -- services ------------------------------------------------------------
    def add(self, name, running=False, workers=1, linger=0, stubborn=False):
        script = self.initd / name
        script.write_text('#!/bin/sh\n### BEGIN INIT INFO\n# Provides: %s\n### END INIT INFO\nPIDFILE=%s\n'
                          % (name, self.pidfile(name)))
        script.chmod(0o755)
        self.behaviour[name] = dict(workers=workers, linger=linger, stubborn=stubborn, tree=[])
        if running:
            self.start(name)

    def start(self, name):
        if self.pidfile(name).exists():
            return 0
        sid = self.next_pid - 1  # the setsid leader of start-stop-daemon, gone at once
        self.next_pid += 1
        root = self.spawn(name, 1, sid + 1)
        tree = [root] + [self.spawn(name, root, sid + 1) for dummy in range(self.behaviour[name]['workers'])]
        self.behaviour[name]['tree'] = tree
        self.pidfile(name).write_text('%d\n' % root)
        return 0

    def stop(self, name):
        # TERM and remove the pid file at once, like a script without --retry.
        behaviour = self.behaviour[name]
        if self.pidfile(name).exists():
            self.pidfile(name).unlink()
        if not behaviour['stubborn']:
            tree = list(behaviour['tree'])
            self.clock.events.append((self.clock.now + behaviour['linger'],
                                      lambda: [self.exit(pid) for pid in tree]))
        return 0

    def status(self, name):
        if not self.pidfile(name).exists():
            return 3, '%s is not running ... failed!\n' % name
        root = int(self.pidfile(name).read_text())
        if (self.proc / str(root)).exists():
            return 0, '%s is running.\n' % name
        return 1, '%s is not running ... failed!\n' % name

    # -- what AnsibleModule sees ----------------------------------------------
    def run_command(self, module, argv, **kwargs):
        if argv[0] == '/usr/bin/timeout':
            argv = argv[3:]
        self.calls.append(list(argv))
        if argv[0] == '/usr/bin/systemctl':
            return self.systemctl.get(tuple(argv[1:]), (0, '', ''))
        _service, name, action = argv
        if action == 'status':
            rc, out = self.status(name)
            return rc, out, ''
        if action == 'start':
            self.start(name)
        elif action == 'stop':
            self.stop(name)
        return 0, '', ''

    def kill_pids(self, pids, sig=None):
        self.killed.extend(pids)
        for pid in pids:
            self.exit(pid)
        return list(pids)


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = FakeHost(tmp_path)

    def run_command(module, argv, **kwargs):
        return fake.run_command(module, argv, **kwargs)

    def get_bin_path(module, name, required=False, opt_dirs=None):
        return {'service': '/usr/sbin/service', 'systemctl': '/usr/bin/systemctl',
                'timeout': '/usr/bin/timeout'}.get(name)

    def manager(backend, **kwargs):
        kwargs.update(proc=str(fake.proc), own_pid=os.getpid(), clock=fake.clock, sleeper=fake.clock.sleep)
        return initsystem.ServiceManager(backend, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)
    monkeypatch.setattr(openstack_service, 'SysVInit', lambda runner: initsystem.SysVInit(runner, str(fake.initd)))
    monkeypatch.setattr(openstack_service, 'ServiceManager', manager)
    monkeypatch.setattr(openstack_service, 'detect_init_system', lambda: 'sysv')
    monkeypatch.setattr(initsystem, 'kill_pids', fake.kill_pids)
    return fake


def run(monkeypatch, args, check_mode=False, diff=False):
    return run_module(monkeypatch, openstack_service, args, check_mode=check_mode, diff=diff)


def actions(host):
    return [call[1:] for call in host.calls if call[-1] != 'status']


def test_status_only_reports(host, monkeypatch):
    host.add('osl-node1-heat-api', running=True)
    host.add('osl-node1-heat-engine')
    out = run(monkeypatch, dict(name=['osl-node1-*']))
    assert not out.failed and out.result['changed'] is False
    services = out.result['services']
    assert [(s['name'], s['before'], s['after'], s['action']) for s in services] == [
        ('osl-node1-heat-api', 'running', 'running', 'none'),
        ('osl-node1-heat-engine', 'stopped', 'stopped', 'none')]
    assert services[0]['pids_before'] == host.pids()
    assert actions(host) == []
    assert out.result['init_system'] == 'sysv'


def test_started_starts_what_is_stopped_and_is_idempotent(host, monkeypatch):
    host.add('osl-haproxy', running=True)
    host.add('osl-node1-heat-engine')
    out = run(monkeypatch, dict(name=['osl-haproxy', 'osl-node1-heat-engine'], state='started'), diff=True)
    assert out.result['changed'] is True
    assert actions(host) == [['osl-node1-heat-engine', 'start']]
    assert out.result['diff'] == {
        'before': {'osl-haproxy': 'running', 'osl-node1-heat-engine': 'stopped'},
        'after': {'osl-haproxy': 'running', 'osl-node1-heat-engine': 'running'}}
    assert out.result['services'][1]['pids_after']

    host.calls = []
    again = run(monkeypatch, dict(name=['osl-haproxy', 'osl-node1-heat-engine'], state='started'))
    assert again.result['changed'] is False
    assert actions(host) == []


def test_check_mode_changes_nothing_and_shows_what_would_run(host, monkeypatch):
    host.add('osl-node1-heat-api', running=True)
    host.add('osl-node1-heat-engine', running=True)
    pids = host.pids()
    out = run(monkeypatch, dict(name=['osl-node1-*'], state='stopped', order='reverse'), check_mode=True)
    assert out.result['changed'] is True
    assert [s['after'] for s in out.result['services']] == ['stopped', 'stopped']
    assert [s['name'] for s in out.result['services']] == ['osl-node1-heat-engine', 'osl-node1-heat-api']
    assert host.pids() == pids
    assert actions(host) == []
    skipped = [c['cmd'][1:] for c in out.result['commands'] if c['skipped']]
    assert skipped == [['osl-node1-heat-engine', 'stop'], ['osl-node1-heat-api', 'stop']]


def test_stop_waits_for_the_processes_not_for_the_status(host, monkeypatch):
    host.add('osl-node1-heat-engine', running=True, workers=2, linger=25)
    out = run(monkeypatch, dict(name=['osl-node1-heat-engine'], state='stopped', graceful_timeout=60))
    service = out.result['services'][0]
    assert not out.failed
    assert (service['before'], service['after'], service['escalated']) == ('running', 'stopped', False)
    assert len(service['pids_before']) == 3 and service['pids_after'] == []
    assert host.pids() == []
    assert 25 <= host.clock.now - 1000 <= 28


def test_stop_past_graceful_timeout_fails_clearly(host, monkeypatch):
    host.add('osl-node1-heat-engine', running=True, stubborn=True)
    out = run(monkeypatch, dict(name=['osl-node1-heat-engine'], state='stopped', graceful_timeout=30))
    assert out.failed
    assert out.result['msg'].startswith('osl-node1-heat-engine did not stop within graceful_timeout=30 seconds')
    assert '/usr/bin/osl-node1-heat-engine --config-file x.conf' in out.result['msg']
    assert 'escalate=true' in out.result['msg']
    service = out.result['services'][0]
    assert service['after'] == 'stopping' and service['pids_after'] == host.pids()
    assert host.killed == []


def test_escalate_kills_the_leftovers(host, monkeypatch):
    host.add('osl-node1-heat-engine', running=True, stubborn=True, workers=2)
    pids = host.pids()
    out = run(monkeypatch, dict(name=['osl-node1-heat-engine'], state='stopped', graceful_timeout=30,
                                escalate=True))
    assert not out.failed
    service = out.result['services'][0]
    assert service['escalated'] is True and service['killed'] == pids
    assert host.killed == pids and host.pids() == []
    # The stop action runs again after SIGKILL so the script can clean its pid file.
    assert actions(host) == [['osl-node1-heat-engine', 'stop'], ['osl-node1-heat-engine', 'stop']]


def test_stopped_service_with_leftover_workers_is_stopped_for_real(host, monkeypatch):
    host.add('osl-node1-heat-engine', running=True, stubborn=True)
    host.pidfile('osl-node1-heat-engine').unlink()  # status says stopped, workers remain
    args = dict(name=['osl-node1-heat-engine'], state='stopped', graceful_timeout=5, escalate=True)
    quiet = run(monkeypatch, args)
    assert quiet.result['changed'] is False  # without a pattern the leftovers are invisible
    out = run(monkeypatch, dict(args, pattern='osl-node1-heat-engine --config-file'))
    service = out.result['services'][0]
    assert out.result['changed'] is True
    assert (service['before'], service['after'], service['action']) == ('stopped', 'stopped', 'stop')
    assert host.pids() == []


def test_stop_without_known_processes_warns(host, monkeypatch):
    host.add('osl-node1-heat-engine', running=True)
    host.pidfile('osl-node1-heat-engine').write_text('')  # a script whose pid file says nothing
    host.status = lambda name: (0, 'running\n')
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: warnings.append(text))
    out = run(monkeypatch, dict(name=['osl-node1-heat-engine'], state='stopped', graceful_timeout=4), check_mode=True)
    assert out.result['services'][0]['pids_before'] == []
    assert warnings and 'confirmed by its status only' in warnings[0]


def test_restarted_always_changes_and_gets_new_pids(host, monkeypatch):
    host.add('osl-node1-heat-api', running=True)
    host.add('osl-node1-heat-engine')
    out = run(monkeypatch, dict(name=['osl-node1-heat-api', 'osl-node1-heat-engine'], state='restarted'))
    assert out.result['changed'] is True
    api, engine = out.result['services']
    assert api['action'] == 'restart' and engine['action'] == 'start'
    assert not set(api['pids_before']) & set(api['pids_after'])
    assert actions(host) == [['osl-node1-heat-api', 'stop'], ['osl-node1-heat-api', 'start'],
                             ['osl-node1-heat-engine', 'start']]


def test_missing_names_fail_before_anything_changes(host, monkeypatch):
    host.add('osl-node1-heat-engine', running=True)
    out = run(monkeypatch, dict(name=['osl-node1-heat-engine', 'openstack-nova-*', 'heat-api'], state='stopped'))
    assert out.failed
    assert 'No sysv service matches openstack-nova-*' in out.result['msg']
    assert 'no sysv service named heat-api' in out.result['msg']
    assert actions(host) == []

    ignored = run(monkeypatch, dict(name=['heat-api', 'osl-node1-heat-engine'], state='stopped', missing='ignore'))
    assert [(s['name'], s['after']) for s in ignored.result['services']] == [
        ('heat-api', 'absent'), ('osl-node1-heat-engine', 'stopped')]


def test_failure_of_a_later_service_keeps_the_report_of_earlier_ones(host, monkeypatch):
    host.add('osl-node1-heat-api', running=True)
    host.add('osl-node1-heat-engine', running=True, stubborn=True)
    out = run(monkeypatch, dict(name=['osl-node1-heat-api', 'osl-node1-heat-engine'], state='stopped',
                                graceful_timeout=10))
    assert out.failed and out.result['changed'] is True
    assert [(s['name'], s['after']) for s in out.result['services']] == [
        ('osl-node1-heat-api', 'stopped'), ('osl-node1-heat-engine', 'stopping')]


@pytest.mark.parametrize('args,message', [
    (dict(graceful_timeout=-1), 'graceful_timeout must be 0 or more'),
    (dict(pattern='heat-(engine'), 'is not a valid regular expression'),
])
def test_bad_arguments(host, monkeypatch, args, message):
    host.add('osl-haproxy')
    out = run(monkeypatch, dict(args, name=['osl-haproxy']))
    assert out.failed and message in out.result['msg']


SHOW = ('show', '-p', initsystem.SYSTEMD_PROPERTIES)


def test_systemd_status_from_captured_show_output(host, monkeypatch):
    host.systemctl = {
        SHOW + ('openstack-heat-engine.service',):
            (0, fixture('systemd', 'show.openstack-heat-engine.running.txt'), ''),
        SHOW + ('openstack-nova-scheduler.service',):
            (0, fixture('systemd', 'show.openstack-nova-scheduler.failed.txt'), ''),
    }
    out = run(monkeypatch, dict(name=['openstack-heat-engine', 'openstack-nova-scheduler.service'],
                                init_system='systemd'))
    assert out.result['init_system'] == 'systemd'
    assert [(s['name'], s['before']) for s in out.result['services']] == [
        ('openstack-heat-engine.service', 'running'), ('openstack-nova-scheduler.service', 'failed')]


def test_systemd_start_is_queued_then_waited_for(host, monkeypatch):
    answers = [fixture('systemd', 'show.openstack-nova-novncproxy.inactive.txt')] * 2 + [
        fixture('systemd', 'show.openstack-nova-novncproxy.inactive.txt').replace(
            'ActiveState=inactive', 'ActiveState=active').replace('SubState=dead', 'SubState=running')]

    class Answers(dict):
        def get(self, key, default=None):
            if key[0] == 'show':
                return 0, answers.pop(0) if len(answers) > 1 else answers[0], ''
            return 0, '', ''

    host.systemctl = Answers()
    out = run(monkeypatch, dict(name=['openstack-nova-novncproxy'], state='started', init_system='systemd'))
    assert not out.failed
    assert (out.result['services'][0]['before'], out.result['services'][0]['after']) == ('stopped', 'running')
    assert ['/usr/bin/systemctl', 'start', '--no-block', 'openstack-nova-novncproxy.service'] in host.calls


def test_systemd_chosen_where_it_does_not_run(host, monkeypatch):
    host.systemctl = {SHOW + ('haproxy.service',): (1, '', fixture('systemd', 'show.no-systemd-captured.stderr'))}
    out = run(monkeypatch, dict(name=['haproxy'], init_system='systemd'))
    assert out.failed
    assert 'System has not been booted with systemd' in out.result['msg']
    assert 'set init_system=sysv' in out.result['msg']
