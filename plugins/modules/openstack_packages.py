#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
module: openstack_packages
short_description: Upgrade an OpenStack service's distribution packages to a release (RDO with dnf, Ubuntu with apt)
version_added: 0.2.0
description:
  - For package-based clouds, the counterpart of the per-release virtualenvs. Enables the release repository of
    O(release) (RDO's C(centos-release-openstack-<series>) package, or the Ubuntu Cloud Archive pocket
    C(cloud-archive:<series>)) and upgrades the packages of O(service) that are installed on the node, to what that
    repository offers.
  - Reads the installed versions before and after; C(changed) is whether a version moved or the repository was
    enabled. Before anything is installed, the versions the repositories offer must be those of O(release) (each
    service's major version names its release, keystone 28 being 2025.2 and 29 being 2026.1); otherwise the module fails and
    changes nothing. In check mode nothing is installed or enabled, and RV(packages) says what each package would become
    from the repositories enabled now (with a repository still to enable, that is not yet the target release, as
    RV(repo) says).
  - Not exercised against a real RDO or Ubuntu host (no such repository is reachable where the collection is
    tested); the commands and their output formats are covered by unit tests. The apt read path (dpkg-query,
    apt-get --simulate) has run in check mode on Debian 12 against installed packages.
options:
  manager:
    description:
      - The package manager. V(auto) takes C(dnf) where it exists, else C(apt-get).
    type: str
    choices: [auto, apt, dnf]
    default: auto
  packages:
    description:
      - The packages to upgrade, instead of those of O(service) that are installed.
    type: list
    elements: str
  release:
    description:
      - The OpenStack release to upgrade to, C(YYYY.1) or C(YYYY.2).
    type: str
    required: true
  state:
    description:
      - V(upgraded) upgrades the packages to O(release). V(read) only reads the installed versions and the release
        they carry (RV(release_before)); nothing is queried from the repositories and nothing changes.
    type: str
    choices: [read, upgraded]
    default: upgraded
  repo:
    description:
      - Enable the release repository of O(release) first. With V(false) the packages come from the repositories
        already configured (a local mirror, Debian's own backports).
    type: bool
    default: true
  timeout:
    description:
      - Seconds each package manager command may take.
    type: int
    default: 1800
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.service
attributes:
  check_mode:
    support: full
    details:
      - Reads the installed and available versions; installs and enables nothing.
  diff_mode:
    support: full
    details:
      - The versions of the packages before and after.
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: full
  platform:
    platforms: posix
notes:
  - Stop the service's units first in a cold or service-by-service upgrade, since the packages replace the code the
    running processes were started from.
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Upgrade keystone's packages to 2026.1 (RDO gazpacho)
  openstack_ops.upgrade.openstack_packages:
    service: keystone
    release: "2026.1"

- name: Which release nova's installed packages carry
  openstack_ops.upgrade.openstack_packages:
    service: nova
    release: "2026.1"
    state: read
  register: nova_installed

- name: What would nova's packages become, from the repositories configured now
  openstack_ops.upgrade.openstack_packages:
    service: nova
    release: "2026.1"
    repo: false
  check_mode: true
  register: nova_packages
'''

RETURN = r'''
changed:
  description: Whether a package version moved or the release repository was enabled.
  returned: always
  type: bool
commands:
  description: The commands that were run, with rc and seconds (mutating ones marked skipped in check mode).
  returned: always
  type: list
  elements: dict
manager:
  description: The package manager used.
  returned: always
  type: str
  sample: dnf
packages:
  description:
    - Per package of the service that is installed, its version before, after, and the version the repositories
      offer (null when it is current).
  returned: always
  type: dict
  sample: {openstack-keystone: {before: '1:28.0.0-1.el9s', after: '1:29.0.0-1.el9s', available: null}}
release_before:
  description:
    - The release the installed packages carry, from their major version; null when they carry different releases
      (a half-done upgrade) or a version of no known release.
  returned: always
  type: str
  sample: '2025.2'
release_after:
  description:
    - The release the packages carry after the run (in check mode, what they would carry); null as for
      RV(release_before). With O(state=read), the same as RV(release_before).
  returned: always
  type: str
  sample: '2026.1'
repo:
  description: The release repository, whether it was enabled before, and whether this run enabled it.
  returned: always
  type: dict
  sample: {name: centos-release-openstack-gazpacho, enabled_before: false, changed: true, skipped: false}
series:
  description: The series name of the release.
  returned: always
  type: str
  sample: gazpacho
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.packages import (
    MANAGERS,
    apt_simulate_argv,
    dnf_check_update_argv,
    dpkg_query_argv,
    parse_apt_simulate,
    parse_dnf_check_update,
    parse_dpkg_query,
    parse_os_release,
    parse_rpm_query,
    packages_release,
    release_repo,
    rpm_query_argv,
    series_of,
    service_packages,
    uca_list_paths,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.services import SERVICES

_APT_ENV = {'DEBIAN_FRONTEND': 'noninteractive'}


def _installed(runner, manager, packages):
    if manager == 'dnf':
        ran = runner.run(rpm_query_argv(packages), expected_rc=(0, 1))
        return parse_rpm_query(ran.stdout)
    ran = runner.run(dpkg_query_argv(packages), expected_rc=(0, 1))
    return parse_dpkg_query(ran.stdout)


def _available(runner, manager, packages):
    """{name: version the repositories offer}, for the packages that would change."""
    if manager == 'dnf':
        ran = runner.run(dnf_check_update_argv(packages), expected_rc=(0, 100))
        return parse_dnf_check_update(ran.stdout)
    ran = runner.run(apt_simulate_argv(packages), environ=_APT_ENV)
    return dict((name, new) for name, (old, new) in parse_apt_simulate(ran.stdout).items())


def _repo_enabled(runner, manager, repo, series):
    if manager == 'dnf':
        return bool(parse_rpm_query(runner.run(rpm_query_argv([repo]), expected_rc=(0, 1)).stdout))
    return any(os.path.exists(path) for path in uca_list_paths(series))


def _enable_repo(runner, manager, repo):
    if manager == 'dnf':
        runner.run(['dnf', '-y', 'install', repo], mutating=True)
    else:
        runner.run(['add-apt-repository', '-y', repo], mutating=True, environ=_APT_ENV)


def _refresh(runner, manager):
    # dnf check-update refreshes expired metadata itself; apt reads its lists
    # as they are, so they are updated first (not in check mode: that writes).
    if manager == 'apt':
        runner.run(['apt-get', 'update'], mutating=True, environ=_APT_ENV)


def _upgrade(runner, manager, packages):
    if manager == 'dnf':
        runner.run(['dnf', '-y', 'upgrade'] + packages, mutating=True)
    else:
        runner.run(['apt-get', '-y', '--only-upgrade', '-o', 'Dpkg::Options::=--force-confold', 'install']
                   + packages, mutating=True, environ=_APT_ENV)


def _choose_manager(module, wanted):
    if wanted != 'auto':
        return wanted
    if module.get_bin_path('dnf'):
        return 'dnf'
    if module.get_bin_path('apt-get'):
        return 'apt'
    raise OpsError('Neither dnf nor apt-get was found; set manager.')


def _check_uca_platform():
    try:
        with open('/etc/os-release') as handle:
            fields = parse_os_release(handle.read())
    except OSError:
        fields = {}
    if fields.get('ID') != 'ubuntu':
        raise OpsError('The Ubuntu Cloud Archive is for Ubuntu; this is %s. Configure the repository of the '
                       'release yourself (Debian: its OpenStack backports) and set repo=false.'
                       % (fields.get('PRETTY_NAME') or fields.get('ID') or 'an unknown system'))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manager=dict(type='str', default='auto', choices=['auto'] + list(MANAGERS)),
            packages=dict(type='list', elements='str'),
            release=dict(type='str', required=True),
            repo=dict(type='bool', default=True),
            service=dict(type='str', required=True, choices=sorted(SERVICES)),
            state=dict(type='str', default='upgraded', choices=['read', 'upgraded']),
            timeout=dict(type='int', default=1800),
        ),
        supports_check_mode=True,
    )
    params = module.params
    runner = CommandRunner(module, timeout=params['timeout'])
    result = dict(changed=False, commands=runner.commands, manager=None, packages={}, repo={}, series=None,
                  release_before=None, release_after=None)
    try:
        manager = _choose_manager(module, params['manager'])
        result['manager'] = manager
        series = series_of(params['release'])
        result['series'] = series
        candidates = params['packages'] or service_packages(manager, params['service'])
        before = _installed(runner, manager, candidates)
        if not before:
            raise OpsError('None of the packages of %s is installed here (%s): nothing to upgrade.'
                           % (params['service'], ', '.join(candidates)))
        names = sorted(before)
        result['release_before'] = packages_release(params['service'], before)
        if params['state'] == 'read':
            result['release_after'] = result['release_before']
            result['packages'] = dict((name, dict(before=before[name], after=before[name], available=None))
                                      for name in names)
            module.exit_json(**result)

        repo = release_repo(manager, params['release'])
        result['repo'] = dict(name=repo, enabled_before=None, changed=False, skipped=not params['repo'])
        if params['repo']:
            if manager == 'apt':
                _check_uca_platform()
            enabled = _repo_enabled(runner, manager, repo, series)
            result['repo']['enabled_before'] = enabled
            if not enabled:
                _enable_repo(runner, manager, repo)
                result['repo']['changed'] = True

        _refresh(runner, manager)
        available = _available(runner, manager, names)
        offered = dict(before, **available)
        offered_release = packages_release(params['service'], offered)
        # A repository still to enable (check mode) cannot be judged yet.
        if offered_release != params['release'] and not (module.check_mode and result['repo']['changed']):
            raise OpsError(
                'With what is installed and what the repositories offer, %s would have %s, which is %s, not %s: '
                'nothing was installed. Enable the repository of %s (repo=true) or fix the mirror.'
                % (params['service'], ', '.join('%s %s' % (n, offered[n]) for n in names),
                   offered_release or 'no single known release', params['release'], params['release']))
        if available and not module.check_mode:
            _upgrade(runner, manager, names)
        after = before if module.check_mode else _installed(runner, manager, names)
        result['release_after'] = packages_release(params['service'], offered if module.check_mode else after)
        result['packages'] = dict(
            (name, dict(before=before[name], after=after.get(name), available=available.get(name)))
            for name in names)
        result['changed'] = result['repo']['changed'] or (
            bool(available) if module.check_mode else after != before)
        if module._diff:
            result['diff'] = dict(
                before=''.join('%s %s\n' % (n, before[n]) for n in names),
                after=''.join('%s %s\n' % (n, available.get(n) if module.check_mode and n in available
                                           else after.get(n)) for n in names))
    except OpsError as exc:
        fail_from(module, exc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
