"""Pure functions of module_utils/packages.py over the formats rpm, dnf, dpkg-query and apt-get print."""

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import packages as pk


def test_series_and_repositories():
    assert pk.series_of('2026.1') == 'gazpacho'
    assert pk.series_of('2026.2') == 'hibiscus'
    assert pk.release_repo('dnf', '2025.2') == 'centos-release-openstack-flamingo'
    assert pk.release_repo('apt', '2026.1') == 'cloud-archive:gazpacho'
    with pytest.raises(pk.PackageError, match="Unknown release '2027.3'"):
        pk.series_of('2027.3')
    with pytest.raises(pk.PackageError, match='Unknown package manager'):
        pk.release_repo('zypper', '2026.1')


def test_service_packages():
    assert pk.service_packages('dnf', 'keystone') == ['openstack-keystone']
    assert 'nova-compute' in pk.service_packages('apt', 'nova')
    with pytest.raises(pk.PackageError, match='Unknown service'):
        pk.service_packages('apt', 'swift')


def test_parse_rpm_query_leaves_out_what_is_not_installed():
    text = ('openstack-heat-api 1:25.0.0-1.el9s\n'
            'package openstack-heat-api-cfn is not installed\n'
            'openstack-heat-engine 1:25.0.0-1.el9s\n')
    assert pk.parse_rpm_query(text) == {'openstack-heat-api': '1:25.0.0-1.el9s',
                                        'openstack-heat-engine': '1:25.0.0-1.el9s'}
    with pytest.raises(pk.PackageError, match='Cannot read'):
        pk.parse_rpm_query('garbage line here\n')


def test_parse_dpkg_query_counts_installed_only():
    text = ('keystone 2:27.0.0-0ubuntu1~cloud0 ii \n'
            'nova-compute 3:31.0.0-0ubuntu1 rc \n')
    assert pk.parse_dpkg_query(text) == {'keystone': '2:27.0.0-0ubuntu1~cloud0'}


def test_parse_dnf_check_update_with_a_wrapped_line_and_obsoletes():
    text = ('\n'
            'openstack-keystone.noarch            1:29.0.0-1.el9s          centos-openstack-gazpacho\n'
            'openstack-placement-common-with-a-very-long-name.noarch\n'
            '                                     1:15.0.0-1.el9s          centos-openstack-gazpacho\n'
            'Obsoleting Packages\n'
            'python3-foo.noarch                   1.0-1.el9s               centos-openstack-gazpacho\n')
    assert pk.parse_dnf_check_update(text) == {
        'openstack-keystone': '1:29.0.0-1.el9s',
        'openstack-placement-common-with-a-very-long-name': '1:15.0.0-1.el9s'}
    assert pk.parse_dnf_check_update('') == {}


def test_parse_apt_simulate():
    text = ('NOTE: This is only a simulation!\n'
            'Inst keystone [2:27.0.0-0ubuntu1~cloud0] (2:28.0.0-0ubuntu1~cloud0 Ubuntu:24.04/noble-updates [all])\n'
            'Conf keystone (2:28.0.0-0ubuntu1~cloud0 Ubuntu:24.04/noble-updates [all])\n')
    assert pk.parse_apt_simulate(text) == {'keystone': ('2:27.0.0-0ubuntu1~cloud0', '2:28.0.0-0ubuntu1~cloud0')}


def test_parse_os_release():
    assert pk.parse_os_release('ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n# x\n') == {
        'ID': 'ubuntu', 'PRETTY_NAME': 'Ubuntu 24.04 LTS'}


@pytest.mark.parametrize('service, version, release', [
    ('keystone', '1:28.1.0-1.el9s', '2025.2'),
    ('keystone', '2:29.1.0-0ubuntu1~cloud0', '2026.1'),
    ('keystone', '30.0.0', '2026.2'),
    ('nova', '1:33.0.2-1.el9s', '2026.1'),
    ('nova', '1:27.0.0-1.el9s', '2023.1'),
    ('placement', '14.0.0-1.el9s', '2025.2'),
    ('glance', '2:32.0.0-1', '2026.1'),
    ('cinder', '1:28.0.0-1.el9s', '2026.1'),
    ('heat', '1:26.0.2-1.el9s', '2026.1'),
    ('neutron', '1:29.0.0-1.el9s', '2026.2'),
    ('nova', '1:40.0.0-1.el9s', None),
    ('nova', 'garbage', None),
    ('nova', '', None),
])
def test_release_of_a_package_version(service, version, release):
    assert pk.release_of(service, version) == release


def test_packages_release_is_none_when_the_packages_disagree():
    assert pk.packages_release('nova', {'openstack-nova-api': '1:33.0.2-1', 'openstack-nova-common': '1:33.0.2-1'}) \
        == '2026.1'
    assert pk.packages_release('nova', {'openstack-nova-api': '1:33.0.2-1', 'openstack-nova-common': '1:32.2.1-1'}) \
        is None
    assert pk.packages_release('nova', {}) is None


def test_major_of_refuses_unknown_input():
    assert pk.major_of('keystone', '2026.1') == 29
    with pytest.raises(pk.PackageError):
        pk.major_of('keystone', '2031.1')
    with pytest.raises(pk.PackageError):
        pk.major_of('swift', '2026.1')
