"""Whole-module tests of openstack_packages with faked rpm/dnf/dpkg/apt answers."""

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.modules import openstack_packages

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order


class FakeDnf:
    """A node with openstack-keystone 28 installed, an RDO repository per release package."""

    def __init__(self, installed, repos=(), offered=None):
        self.installed = dict(installed)
        self.repos = set(repos)
        self.offered = offered or {}
        self.calls = []

    def __call__(self, module, argv, **kwargs):
        argv = argv[3:] if argv[0].endswith('timeout') else argv
        cmd = [a.rsplit('/', 1)[-1] if i == 0 else a for i, a in enumerate(argv)]
        self.calls.append(cmd)
        if cmd[0] == 'rpm':
            lines, missing = [], False
            for name in cmd[4:]:
                if name in self.installed:
                    lines.append('%s %s\n' % (name, self.installed[name]))
                elif name in self.repos:
                    lines.append('%s 0:1-1\n' % name)
                else:
                    lines.append('package %s is not installed\n' % name)
                    missing = True
            return (1 if missing else 0), ''.join(lines), ''
        if cmd[:3] == ['dnf', '--quiet', 'check-update']:
            ups = {n: v for n, v in self.offered.items() if n in cmd[3:] and self.installed.get(n) != v}
            out = ''.join('%s.noarch  %s  centos-openstack-gazpacho\n' % (n, v) for n, v in ups.items())
            return (100 if ups else 0), out, ''
        if cmd[:3] == ['dnf', '-y', 'install']:
            self.repos.add(cmd[3])
            return 0, '', ''
        if cmd[:3] == ['dnf', '-y', 'upgrade']:
            for name in cmd[3:]:
                if name in self.offered:
                    self.installed[name] = self.offered[name]
            return 0, '', ''
        raise AssertionError('unexpected command %s' % cmd)


@pytest.fixture
def dnf(monkeypatch):
    fake = FakeDnf({'openstack-keystone': '1:28.0.0-1.el9s'},
                   offered={'openstack-keystone': '1:29.0.0-1.el9s'})

    def run_command(module, argv, **kwargs):
        return fake(module, argv, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    return fake


def run(monkeypatch, args, check_mode=False, diff=False):
    return run_module(monkeypatch, openstack_packages, args, check_mode=check_mode, diff=diff)


def test_upgrade_enables_the_release_repo_and_moves_the_version(dnf, monkeypatch):
    out = run(monkeypatch, dict(service='keystone', release='2026.1'), diff=True)
    assert not out.failed, out.result
    assert out.result['changed'] is True
    assert out.result['manager'] == 'dnf' and out.result['series'] == 'gazpacho'
    assert out.result['repo'] == dict(name='centos-release-openstack-gazpacho', enabled_before=False,
                                      changed=True, skipped=False)
    assert out.result['packages'] == {'openstack-keystone': dict(
        before='1:28.0.0-1.el9s', after='1:29.0.0-1.el9s', available='1:29.0.0-1.el9s')}
    assert ['dnf', '-y', 'upgrade', 'openstack-keystone'] in dnf.calls
    assert out.result['diff'] == {'before': 'openstack-keystone 1:28.0.0-1.el9s\n',
                                  'after': 'openstack-keystone 1:29.0.0-1.el9s\n'}


def test_check_mode_reports_and_changes_nothing(dnf, monkeypatch):
    out = run(monkeypatch, dict(service='keystone', release='2026.1'), check_mode=True)
    assert not out.failed, out.result
    assert out.result['changed'] is True
    assert out.result['packages']['openstack-keystone']['available'] == '1:29.0.0-1.el9s'
    assert out.result['packages']['openstack-keystone']['after'] == '1:28.0.0-1.el9s'
    assert dnf.installed['openstack-keystone'] == '1:28.0.0-1.el9s'
    assert 'centos-release-openstack-gazpacho' not in dnf.repos
    assert [c['cmd'][-2:] for c in out.result['commands'] if c['skipped']] == [
        ['install', 'centos-release-openstack-gazpacho']]


def test_second_run_changes_nothing(dnf, monkeypatch):
    run(monkeypatch, dict(service='keystone', release='2026.1'))
    out = run(monkeypatch, dict(service='keystone', release='2026.1'))
    assert not out.failed, out.result
    assert out.result['changed'] is False
    assert out.result['repo']['enabled_before'] is True
    assert not any(c[:3] == ['dnf', '-y', 'upgrade'] for c in dnf.calls[-3:])


def test_nothing_installed_is_a_clear_error(dnf, monkeypatch):
    out = run(monkeypatch, dict(service='nova', release='2026.1'))
    assert out.failed
    assert 'None of the packages of nova is installed here' in out.result['msg']


def test_unknown_release_is_refused_before_any_change(dnf, monkeypatch):
    out = run(monkeypatch, dict(service='keystone', release='2027.3'))
    assert out.failed and "Unknown release '2027.3'" in out.result['msg']
    assert dnf.calls == []


def test_cloud_archive_refused_off_ubuntu(monkeypatch, tmp_path):
    calls = []

    def run_command(module, argv, **kwargs):
        argv = argv[3:] if argv[0].endswith('timeout') else argv
        calls.append(argv)
        return 0, 'keystone 2:22.0.0-1 ii \n', ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    monkeypatch.setattr(openstack_packages, 'parse_os_release',
                        lambda text: {'ID': 'debian', 'PRETTY_NAME': 'Debian 12'})
    out = run(monkeypatch, dict(service='keystone', release='2026.1', manager='apt'))
    assert out.failed
    assert 'The Ubuntu Cloud Archive is for Ubuntu; this is Debian 12' in out.result['msg']
    assert not any('install' in a for argv in calls for a in argv)


def test_the_releases_before_and_after_are_read_from_the_versions(dnf, monkeypatch):
    out = run(monkeypatch, dict(service='keystone', release='2026.1'))
    assert not out.failed, out.result
    assert (out.result['release_before'], out.result['release_after']) == ('2025.2', '2026.1')


def test_a_repository_offering_another_release_is_refused_before_the_upgrade(monkeypatch, dnf):
    # The mirror offers 2026.2's keystone (30) for an upgrade to 2026.1.
    dnf.offered['openstack-keystone'] = '1:30.0.0-1.el9s'
    dnf.repos.add('centos-release-openstack-gazpacho')
    out = run(monkeypatch, dict(service='keystone', release='2026.1'))
    assert out.failed
    assert 'keystone would have openstack-keystone 1:30.0.0-1.el9s, which is 2026.2, not 2026.1: nothing was installed' \
        in out.result['msg']
    assert not any(c[:3] == ['dnf', '-y', 'upgrade'] for c in dnf.calls)
    assert dnf.installed['openstack-keystone'] == '1:28.0.0-1.el9s'


def test_read_only_reads_the_installed_versions(dnf, monkeypatch):
    out = run(monkeypatch, dict(service='keystone', release='2026.1', state='read'))
    assert not out.failed, out.result
    assert out.result['changed'] is False
    assert out.result['release_before'] == out.result['release_after'] == '2025.2'
    assert out.result['repo'] == {}
    assert [c[0] for c in dnf.calls] == ['rpm']
