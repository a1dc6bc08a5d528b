"""The instance probe's bookkeeping: lost instances and re-created twins."""

import argparse
import importlib.util
import os

import pytest

_PATH = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'instance_probe.py')
_SPEC = importlib.util.spec_from_file_location('instance_probe', _PATH)
ip = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ip)

MARK = 'openstack_ops_recreated_from'


def server(sid, status='ACTIVE', host='cmp1', twin_of=None, deployment=0):
    return {'id': sid, 'name': 'vm-' + sid, 'status': status, 'OS-EXT-STS:vm_state': 'active',
            'OS-EXT-STS:power_state': 1, 'OS-EXT-SRV-ATTR:host': host, '_deployment': deployment,
            'metadata': {MARK: twin_of} if twin_of else {}}


@pytest.fixture
def probe():
    args = argparse.Namespace(interval=2, nova_url=['http://old', 'http://new'], marker_key=MARK)
    p = ip.Probe(args)
    clock = iter(range(0, 1000, 2))
    p.now = lambda: next(clock)
    return p


def test_twin_active_before_the_original_went(probe):
    probe.record([server('a')])
    probe.record([server('a'), server('b', 'BUILD', twin_of='a', deployment=1)])
    probe.record([server('a'), server('b', twin_of='a', deployment=1)])
    probe.record([server('b', twin_of='a', deployment=1)])
    r = probe.result()
    assert r['lost'] == []
    assert r['deleted_before_twin_active'] == []
    assert r['recreated'][0]['original'] == 'a' and r['recreated'][0]['twin'] == 'b'
    assert r['recreated'][0]['twin_first_active'] == 4 and r['recreated'][0]['original_last_seen'] == 4


def test_original_gone_before_its_twin_was_active(probe):
    probe.record([server('a')])
    probe.record([server('b', 'BUILD', twin_of='a', deployment=1)])
    probe.record([server('b', twin_of='a', deployment=1)])
    r = probe.result()
    assert [e['original'] for e in r['deleted_before_twin_active']] == ['a']
    assert r['lost'] == []  # it has an ACTIVE twin at the end, but the gap is reported


def test_original_gone_without_twin_is_lost(probe):
    probe.record([server('a'), server('c')])
    probe.record([server('c')])
    r = probe.result()
    assert [e['id'] for e in r['lost']] == ['a']


def test_twin_in_error_does_not_save_the_original(probe):
    probe.record([server('a')])
    probe.record([server('b', 'ERROR', twin_of='a', deployment=1)])
    r = probe.result()
    assert [e['id'] for e in r['lost']] == ['a']


def test_original_never_seen_is_not_judged(probe):
    probe.record([server('b', twin_of='a', deployment=1)])
    probe.record([server('b', twin_of='a', deployment=1)])
    r = probe.result()
    assert r['deleted_before_twin_active'] == [] and r['lost'] == []
    assert r['recreated'][0]['original_seen'] is False


def test_a_deleted_status_is_when_the_original_went_not_a_time_it_was_down(probe):
    probe.record([server('a'), server('b', twin_of='a', deployment=1)])
    probe.record([server('a', 'DELETED'), server('b', twin_of='a', deployment=1)])
    probe.record([server('b', twin_of='a', deployment=1)])
    r = probe.result()
    assert r['not_running_samples'] == 0
    assert r['recreated'][0]['original_last_alive'] == 0 and r['recreated'][0]['original_last_seen'] == 2
    assert r['deleted_before_twin_active'] == []


def test_twin_active_only_after_the_original_showed_deleted_is_too_late(probe):
    probe.record([server('a'), server('b', 'BUILD', twin_of='a', deployment=1)])
    probe.record([server('a', 'DELETED'), server('b', twin_of='a', deployment=1)])
    r = probe.result()
    assert [e['original'] for e in r['deleted_before_twin_active']] == ['a']
