"""nova_compute_info against the fake Keystone and compute API."""

import json
import os
import sys

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import openstack_api
from ansible_collections.openstack_ops.upgrade.plugins.modules import nova_compute_info

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'module_utils'))
from openstack_fake import KEYSTONE, PASSWORD, FakeCloud  # noqa: E402 pylint: disable=wrong-import-position

AUTH = {'auth_url': KEYSTONE, 'username': 'admin', 'password': PASSWORD, 'project_name': 'admin'}


@pytest.fixture
def fake(monkeypatch):
    cloud = FakeCloud()
    cloud.add_compute('compute1')
    cloud.add_compute('compute2', status='disabled', reason='upgrade')
    cloud.add_compute('compute3', state='down')
    monkeypatch.setattr(openstack_api, 'open_url', cloud)
    return cloud


def run(monkeypatch, **args):
    return run_module(monkeypatch, nova_compute_info, dict(dict(auth=AUTH), **args), check_mode=True)


def test_lists_every_compute_service(fake, monkeypatch):
    out = run(monkeypatch)
    assert not out.failed and out.result['changed'] is False
    assert [(s['host'], s['status'], s['state'], s['disabled_reason']) for s in out.result['services']] == [
        ('compute1', 'enabled', 'up', None), ('compute2', 'disabled', 'up', 'upgrade'),
        ('compute3', 'enabled', 'down', None)]
    assert 'instances' not in out.result
    assert [(r['method'], r['path']) for r in out.result['requests']] == [
        ('POST', '/v3/auth/tokens'), ('GET', '/os-services?binary=nova-compute')]


def test_reports_a_host_its_instances_and_whether_they_fit(fake, monkeypatch):
    fake.add_compute('compute4', vcpus=4)
    fake.add_server('web1', 'compute1', vcpus=2, ram=2048)
    fake.add_server('db1', 'compute1', status='SHUTOFF', vcpus=4, ram=8192)
    out = run(monkeypatch, host='compute1')
    result = out.result
    assert result['service']['host'] == 'compute1'
    assert [i['name'] for i in result['instances']] == ['db1', 'web1']
    assert [(i['name'], i['reason']) for i in result['refused_instances']] == [
        ('db1', 'status SHUTOFF: only ACTIVE and PAUSED instances can be live-migrated')]
    capacity = result['capacity']
    assert capacity['needed'] == {'instances': 2, 'vcpus': 6, 'memory_mb': 10240}
    assert capacity['available'] == {'hosts': 1, 'vcpus': 4, 'memory_mb': 15872}
    assert [(h['host'], h['reason']) for h in capacity['excluded']] == [('compute2', 'disabled'), ('compute3', 'down')]
    assert capacity['fits'] is False
    assert PASSWORD not in json.dumps(result)


def test_unknown_host_fails(fake, monkeypatch):
    out = run(monkeypatch, host='nowhere')
    assert out.failed
    assert out.result['msg'].startswith('There is no nova-compute service on host nowhere')


def test_unknown_host_with_missing_ok_is_reported_as_absent(fake, monkeypatch):
    out = run(monkeypatch, host='nowhere', missing_ok=True)
    assert not out.failed
    assert out.result['service'] is None and out.result['instances'] == [] and out.result['capacity'] is None
    # Its instances are still asked for: a host without a service record may still hold some.
    assert any('host=nowhere' in r['path'] for r in out.result['requests'])
