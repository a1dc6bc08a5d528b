# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""OpenStack from distribution packages: release series, repositories, package
names, and pure parsers for what rpm, dnf, dpkg-query and apt-get print.

Package names are RDO's (openstack-<service>...) and Debian/Ubuntu's; the
release repository is RDO's ``centos-release-openstack-<series>`` package on
CentOS Stream, and the Ubuntu Cloud Archive pocket ``cloud-archive:<series>``
on Ubuntu. None of this has been run against a real RDO or Ubuntu host here
(no such repository is reachable): the output formats are those the tools
document (rpm --queryformat, dnf check-update, dpkg-query --showformat,
apt-get --simulate).
"""

from __future__ import annotations

import re

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError


class PackageError(OpsError):
    """An unknown release, service or package manager, or output that cannot be read."""


# https://releases.openstack.org/ (series names by YYYY.N release).
SERIES = {
    '2023.1': 'antelope',
    '2023.2': 'bobcat',
    '2024.1': 'caracal',
    '2024.2': 'dalmatian',
    '2025.1': 'epoxy',
    '2025.2': 'flamingo',
    '2026.1': 'gazpacho',
    '2026.2': 'hibiscus',
}

# The packages that carry each service's code, per package manager. Only the
# ones installed on a node are upgraded there (a controller has no
# nova-compute, a compute node no nova-api).
PACKAGES = {
    'dnf': {
        'cinder': ['openstack-cinder'],
        'glance': ['openstack-glance'],
        'heat': ['openstack-heat-api', 'openstack-heat-api-cfn', 'openstack-heat-engine', 'openstack-heat-common'],
        'keystone': ['openstack-keystone'],
        'neutron': ['openstack-neutron', 'openstack-neutron-ml2', 'openstack-neutron-openvswitch',
                    'openstack-neutron-ovn-metadata-agent'],
        'nova': ['openstack-nova-api', 'openstack-nova-conductor', 'openstack-nova-scheduler',
                 'openstack-nova-novncproxy', 'openstack-nova-compute', 'openstack-nova-common'],
        'placement': ['openstack-placement-api', 'openstack-placement-common'],
    },
    'apt': {
        'cinder': ['cinder-api', 'cinder-scheduler', 'cinder-volume', 'cinder-common'],
        'glance': ['glance', 'glance-api', 'glance-common'],
        'heat': ['heat-api', 'heat-api-cfn', 'heat-engine', 'heat-common'],
        'keystone': ['keystone'],
        'neutron': ['neutron-server', 'neutron-common', 'neutron-plugin-ml2', 'neutron-ovn-metadata-agent'],
        'nova': ['nova-api', 'nova-conductor', 'nova-scheduler', 'nova-novncproxy', 'nova-compute', 'nova-common'],
        'placement': ['placement-api', 'placement-common'],
    },
}

MANAGERS = tuple(sorted(PACKAGES))


def series_of(release):
    """The series name of a YYYY.N release ('2026.1' -> 'gazpacho')."""
    release = str(release or '').strip()
    if release not in SERIES:
        raise PackageError('Unknown release %r; known releases: %s.' % (release, ', '.join(sorted(SERIES))))
    return SERIES[release]


def service_packages(manager, service):
    """The packages that may carry ``service`` under ``manager``."""
    if manager not in PACKAGES:
        raise PackageError('Unknown package manager %r; known: %s.' % (manager, ', '.join(MANAGERS)))
    if service not in PACKAGES[manager]:
        raise PackageError('Unknown service %r; known services: %s.'
                           % (service, ', '.join(sorted(PACKAGES[manager]))))
    return list(PACKAGES[manager][service])


def release_repo(manager, release):
    """The release repository of ``release``: RDO's release package, or the Ubuntu Cloud Archive pocket."""
    series = series_of(release)
    if manager == 'dnf':
        return 'centos-release-openstack-%s' % series
    if manager == 'apt':
        return 'cloud-archive:%s' % series
    raise PackageError('Unknown package manager %r; known: %s.' % (manager, ', '.join(MANAGERS)))


# The major version of each service's code at 2025.2 (flamingo). Each of
# these services has moved its major version by exactly one per release since
# 2023.1 (keystone 23 -> 28, nova 27 -> 32, placement 9 -> 14...; 2026.2 is
# keystone 30, glance 33, nova 34, cinder 29, placement 16, neutron 29, heat
# 27 on PyPI), so a package's version names its release.
MAJOR_AT_2025_2 = {
    'cinder': 27,
    'glance': 31,
    'heat': 25,
    'keystone': 28,
    'neutron': 27,
    'nova': 32,
    'placement': 14,
}


def _release_index(release):
    order = sorted(SERIES)
    return order.index(release)


def major_of(service, release):
    """The major version of ``service``'s code at ``release`` ('nova', '2026.1' -> 33)."""
    series_of(release)
    if service not in MAJOR_AT_2025_2:
        raise PackageError('Unknown service %r; known services: %s.' % (service, ', '.join(sorted(MAJOR_AT_2025_2))))
    return MAJOR_AT_2025_2[service] + _release_index(release) - _release_index('2025.2')


def release_of(service, version):
    """The release whose code a package version of ``service`` carries, or None.

    ``version`` as rpm or dpkg print it: an optional epoch, the upstream
    version, a packaging release ('1:29.1.0-1.el9s', '2:28.0.0-0ubuntu1~cloud0').
    None for a version no known release has (a development snapshot of a
    release not in SERIES, or a package that is not the service's code).
    """
    match = re.match(r'^(?:\d+:)?(\d+)\.', str(version or '').strip())
    if not match or service not in MAJOR_AT_2025_2:
        return None
    major = int(match.group(1))
    for release in SERIES:
        if major_of(service, release) == major:
            return release
    return None


def packages_release(service, versions):
    """One release for the installed packages of a service ({name: version}), or None.

    None when no package is installed, when a version names no known release,
    or when the packages carry different releases (a half-done upgrade).
    """
    releases = set(release_of(service, version) for version in versions.values())
    if len(releases) != 1:
        return None
    return releases.pop()


def rpm_query_argv(packages):
    """rpm query of installed versions; one "<name> <epoch>:<version>-<release>" line each."""
    return ['rpm', '-q', '--queryformat', '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'] + list(packages)


def parse_rpm_query(text):
    """Installed versions from rpm -q with rpm_query_argv's format; absent packages are left out.

    rpm prints "package NAME is not installed" for those (and exits 1).
    """
    versions = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('package ') and line.endswith(' is not installed'):
            continue
        parts = line.split()
        if len(parts) != 2 or ':' not in parts[1]:
            raise PackageError('Cannot read this rpm query line: %r' % line)
        versions[parts[0]] = parts[1]
    return versions


def dpkg_query_argv(packages):
    """dpkg-query of installed versions; one "<name> <version> <status abbrev>" line each."""
    return ['dpkg-query', '--show', '--showformat', '${Package} ${Version} ${db:Status-Abbrev}\\n'] + list(packages)


def parse_dpkg_query(text):
    """Installed versions from dpkg-query with dpkg_query_argv's format.

    Only packages whose status is installed ("ii") count; packages removed
    but not purged ("rc") and unknown ones ("dpkg-query: no packages found
    matching X" on stderr, exit 1) are left out.
    """
    versions = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            continue
        name, version, status = parts[0], parts[1], (parts[2] if len(parts) > 2 else '')
        if status.startswith('ii'):
            versions[name] = version
    return versions


def dnf_check_update_argv(packages):
    return ['dnf', '--quiet', 'check-update'] + list(packages)


_DNF_UPDATE = re.compile(r'^(?P<name>\S+?)\.(?P<arch>[A-Za-z0-9_]+)\s+(?P<version>\S+)\s+(?P<repo>\S+)\s*$')


def parse_dnf_check_update(text):
    """{name: available version} from `dnf check-update` (exit 100 when updates are available, 0 when none).

    Lines are "<name>.<arch>  <[epoch:]version-release>  <repo>"; a wrapped
    line (long name) continues on the next; "Obsoleting Packages" starts a
    section that is not about updates.
    """
    updates = {}
    pending = ''
    for raw in text.splitlines():
        if raw.strip().startswith('Obsoleting Packages'):
            break
        line = (pending + ' ' + raw.strip()).strip() if pending else raw.strip()
        if not line or line.startswith(('Last metadata expiration', 'Security:')):
            pending = ''
            continue
        match = _DNF_UPDATE.match(line)
        if match:
            updates[match.group('name')] = match.group('version')
            pending = ''
        elif len(line.split()) < 3:
            pending = line
        else:
            raise PackageError('Cannot read this dnf check-update line: %r' % raw)
    return updates


def apt_simulate_argv(packages):
    return ['apt-get', '--simulate', '--only-upgrade', 'install'] + list(packages)


_APT_INST = re.compile(r'^Inst (?P<name>\S+)(?: \[(?P<old>[^\]]+)\])? \((?P<new>\S+)')


def parse_apt_simulate(text):
    """{name: (installed version or None, version it would become)} from `apt-get --simulate`.

    Lines look like "Inst keystone [2:27.0.0-0ubuntu1] (2:28.0.0-0ubuntu1~cloud0
    Ubuntu:24.04/noble-updates [all])"; Conf and Remv lines are ignored.
    """
    updates = {}
    for line in text.splitlines():
        match = _APT_INST.match(line.strip())
        if match:
            updates[match.group('name')] = (match.group('old'), match.group('new'))
    return updates


def parse_os_release(text):
    """The fields of /etc/os-release as a dict (quotes removed)."""
    fields = {}
    for line in text.splitlines():
        if '=' in line and not line.lstrip().startswith('#'):
            key, value = line.split('=', 1)
            fields[key.strip()] = value.strip().strip('"').strip("'")
    return fields


def uca_list_paths(series):
    """Files add-apt-repository writes for a Cloud Archive pocket (one of them exists once it is enabled)."""
    return ['/etc/apt/sources.list.d/cloudarchive-%s.list' % series,
            '/etc/apt/sources.list.d/cloudarchive-%s.sources' % series]
