"""nova_server_recreate against a fake of one Keystone in front of two nova deployments."""

import json
import os
import re
import sys

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import openstack_api
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova_recreate import name_filter, parse_flavor
from ansible_collections.openstack_ops.upgrade.plugins.modules import nova_server_recreate

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'module_utils'))
from openstack_fake import (  # noqa: E402 pylint: disable=wrong-import-position
    ADMIN_PASS, IMAGE, KEYSTONE, PASSWORD, REGION_NEW, REGION_OLD, TwoRegionCloud)

AUTH = {'auth_url': KEYSTONE + '/v3', 'username': 'admin', 'password': PASSWORD, 'project_name': 'admin',
        'user_domain_name': 'Default', 'project_domain_name': 'Default'}
MARKER = 'openstack_ops_recreated_from'
FAULT = 'No valid host was found. There are not enough hosts available.'


@pytest.fixture
def cloud(monkeypatch):
    fake = TwoRegionCloud()
    fake.old.add_flavor('m1.small', flavor_id='f-small', ram=2048, vcpus=1, disk=10, ephemeral=0, swap=0,
                        extra_specs={'hw:cpu_policy': 'shared'}, description='small')
    monkeypatch.setattr(openstack_api, 'open_url', fake)
    return fake


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: seen.append(text))
    return seen


def original(cloud, name='web1', **kwargs):
    kwargs.setdefault('metadata', {'role': 'web'})
    return cloud.old.add_server(name, **kwargs)


def twin(cloud, of, name='web1', status='ACTIVE', **kwargs):
    kwargs.setdefault('metadata', {'role': 'web', MARKER: of})
    kwargs.setdefault('host', 'compute-new1' if status == 'ACTIVE' else None)
    return cloud.new.add_server(name, status=status, **kwargs)


def run(monkeypatch, server, check=False, diff=False, **args):
    args = dict(dict(auth=AUTH, region_name=REGION_OLD, target_region_name=REGION_NEW, server=server, sleep=0),
                **args)
    return run_module(monkeypatch, nova_server_recreate, args, check_mode=check, diff=diff)


def assert_no_secret(out):
    text = str(out.result) + json.dumps(out.result, default=str)
    assert PASSWORD not in text
    assert 'gAAAAA' not in text            # no token
    assert ADMIN_PASS not in text          # nor the twin's admin password nova answered


def entries(out, method, path_start='/'):
    return [r for r in out.result['requests'] if r['method'] == method and r['path'].startswith(path_start)]


# ---------------------------------------------------------------- the whole move

def test_create_copies_the_flavor_boots_the_twin_then_deletes_the_original(cloud, monkeypatch):
    orig = original(cloud)
    out = run(monkeypatch, orig, diff=True)
    assert not out.failed, out.result['msg']
    result = out.result
    assert result['changed'] is True and result['action'] == 'created' and result['flavor_created'] is True

    # the flavor, with its id, sizes, description and extra specs
    copied = cloud.new.flavors['f-small']
    assert {k: copied[k] for k in ('name', 'ram', 'vcpus', 'disk', 'ephemeral', 'swap', 'is_public',
                                   'description', 'extra_specs')} == {
        'name': 'm1.small', 'ram': 2048, 'vcpus': 1, 'disk': 10, 'ephemeral': 0, 'swap': 0, 'is_public': True,
        'description': 'small', 'extra_specs': {'hw:cpu_policy': 'shared'}}

    # the twin: same name, image, flavor, metadata plus the marker, in the original's project
    [made] = cloud.new.servers.values()
    assert (made['name'], made['image'], made['flavor'], made['project'], made['status'], made['networks']) == (
        'web1', IMAGE, 'm1.small', 'p-demo', 'ACTIVE', 'none')
    assert made['metadata'] == {'role': 'web', MARKER: orig}
    assert cloud.scopes[-1] == {'id': 'p-demo'}

    # the original deleted only once the twin was ACTIVE
    assert cloud.old.servers == {} and cloud.old.deleted == [orig]
    assert cloud.mutations() == [
        (REGION_NEW, 'POST', '/flavors'), (REGION_NEW, 'POST', '/flavors/f-small/os-extra_specs'),
        (REGION_NEW, 'POST', '/servers'), (REGION_OLD, 'DELETE', '/servers/%s' % orig)]
    twin_checks = [i for i, (region, method, url) in enumerate(cloud.log)
                   if region == REGION_NEW and method == 'GET' and url.endswith('/servers/' + made['id'])]
    delete = cloud.log.index((REGION_OLD, 'DELETE', '%s/servers/%s' % (cloud.old.url, orig)))
    assert len(twin_checks) == 2 and twin_checks[-1] < delete
    assert set(cloud.microversions) == {'compute 2.74'}

    assert result['original'] == {'id': orig, 'name': 'web1', 'status': 'ACTIVE', 'host': 'compute1',
                                  'project_id': 'p-demo', 'flavor': 'm1.small', 'image': IMAGE}
    assert result['twin'] == {'id': made['id'], 'name': 'web1', 'status': 'ACTIVE', 'host': 'compute-new1',
                              'project_id': 'p-demo', 'flavor': 'm1.small', 'image': IMAGE}
    assert result['diff'] == {
        'before': {'original': {'id': orig, 'status': 'ACTIVE', 'host': 'compute1'}, 'twin': None},
        'after': {'original': None, 'twin': {'id': made['id'], 'status': 'ACTIVE', 'host': 'compute-new1'}}}
    assert isinstance(result['elapsed'], float)
    # one ordered trail of both regions (and of the token scoped to the original's project)
    assert [r['region'] for r in entries(out, 'POST', '/v3/auth/tokens')] == [REGION_OLD, REGION_NEW, REGION_NEW]
    assert [(r['region'], r['path'], r['status']) for r in entries(out, 'POST', '/servers')] == [
        (REGION_NEW, '/servers', 202)]
    assert [r['count'] for r in entries(out, 'GET', '/servers/' + made['id'])] == [2]
    listing = entries(out, 'GET', '/servers/detail')[0]
    assert (listing['region'], listing['path']) == (REGION_NEW, '/servers/detail?all_tenants=1&name=%5Eweb1%24')
    assert_no_secret(out)

    # a second run finds the original gone and its twin ACTIVE
    before = len(cloud.mutations())
    again = run(monkeypatch, orig, diff=True)
    assert not again.failed, again.result['msg']
    assert (again.result['changed'], again.result['action'], again.result['flavor_created']) == (False, 'none', False)
    assert again.result['original'] is None and again.result['twin']['id'] == made['id']
    assert again.result['diff']['before'] == again.result['diff']['after']
    assert len(cloud.mutations()) == before
    # without the original's name, every server of the new region is looked at
    assert [r['path'] for r in entries(again, 'GET', '/servers/detail')] == ['/servers/detail?all_tenants=1']


def test_same_project_reuses_the_session(cloud, monkeypatch):
    orig = original(cloud, project='p-admin')
    out = run(monkeypatch, orig)
    assert not out.failed, out.result['msg']
    assert [s.get('id') for s in cloud.scopes] == [None, None]        # no token scoped by id
    assert [r['region'] for r in entries(out, 'POST', '/v3/auth/tokens')] == [REGION_OLD, REGION_NEW]
    [made] = cloud.new.servers.values()
    assert made['project'] == 'p-admin'


@pytest.mark.parametrize('check', [True, False])
def test_a_project_where_the_user_has_no_role_is_refused_before_anything_changes(cloud, monkeypatch, check):
    orig = original(cloud, project='p-other')
    out = run(monkeypatch, orig, check=check)
    assert out.failed
    assert out.result['msg'] == (
        'Keystone refused to scope a token of user admin to project p-other, the project of the instance, in '
        'which its twin must be created (401: The request you have made requires authentication.). Give the '
        'user a role in that project (for example openstack role add --user admin --project p-other member), '
        'then run the task again.')
    assert cloud.mutations() == [] and cloud.new.flavors == {}
    assert out.result['changed'] is False and out.result['original']['id'] == orig
    assert_no_secret(out)


# ---------------------------------------------------------------- resuming

def test_resume_with_an_active_twin_deletes_the_original_only(cloud, monkeypatch, warnings):
    orig = original(cloud)
    made = twin(cloud, orig)
    out = run(monkeypatch, orig, diff=True)
    assert not out.failed, out.result['msg']
    assert (out.result['changed'], out.result['action'], out.result['flavor_created']) == (True, 'resumed', False)
    assert cloud.mutations() == [(REGION_OLD, 'DELETE', '/servers/%s' % orig)]
    assert out.result['twin']['id'] == made and cloud.old.servers == {}
    assert out.result['diff']['after'] == {'original': None,
                                           'twin': {'id': made, 'status': 'ACTIVE', 'host': 'compute-new1'}}
    assert warnings == []


def test_resume_with_a_twin_in_build_waits_for_it(cloud, monkeypatch):
    orig = original(cloud)
    made = twin(cloud, orig, status='BUILD', task_state='spawning')
    out = run(monkeypatch, orig, delete_original=False)
    assert not out.failed, out.result['msg']
    assert (out.result['changed'], out.result['action']) == (False, 'resumed')      # a pure wait
    assert out.result['twin']['status'] == 'ACTIVE' and cloud.new.servers[made]['status'] == 'ACTIVE'
    assert cloud.mutations() == [] and orig in cloud.old.servers

    # the original kept beside an ACTIVE twin: nothing to do, until it may go
    kept = run(monkeypatch, orig, delete_original=False)
    assert (kept.result['changed'], kept.result['action']) == (False, 'none')
    gone = run(monkeypatch, orig)
    assert (gone.result['changed'], gone.result['action']) == (True, 'resumed')
    assert cloud.mutations() == [(REGION_OLD, 'DELETE', '/servers/%s' % orig)]


def test_a_failed_twin_keeps_the_original_then_is_replaced(cloud, monkeypatch, warnings):
    orig = original(cloud)
    cloud.new.build_faults = [FAULT]
    out = run(monkeypatch, orig)
    assert out.failed
    [failed] = cloud.new.servers
    assert out.result['msg'] == (
        'The twin %s in region RegionTwo ended in status ERROR, fault: %s. The original is kept in region '
        'RegionOne; fix the cause, then run the task again: it deletes the failed twin and boots a new one.'
        % (failed, FAULT))
    assert out.result['changed'] is True and out.result['action'] == 'created'
    assert out.result['twin']['status'] == 'ERROR' and out.result['twin']['id'] == failed
    assert orig in cloud.old.servers and cloud.old.servers[orig]['task_state'] is None
    assert (REGION_OLD, 'DELETE', '/servers/%s' % orig) not in cloud.mutations()
    assert_no_secret(out)

    out = run(monkeypatch, orig)
    assert not out.failed, out.result['msg']
    assert (out.result['changed'], out.result['action']) == (True, 'replaced_failed_twin')
    assert warnings == ['The twin %s of instance web1 (%s) in region RegionTwo, left in ERROR by an earlier run '
                        '(%s), is deleted and booted again.' % (failed, orig, FAULT)]
    [replacement] = cloud.new.servers
    assert replacement != failed and cloud.new.deleted == [failed]
    assert cloud.mutations()[-3:] == [(REGION_NEW, 'DELETE', '/servers/%s' % failed),
                                      (REGION_NEW, 'POST', '/servers'), (REGION_OLD, 'DELETE', '/servers/%s' % orig)]
    assert cloud.old.servers == {}


def test_timeout_while_the_twin_builds_keeps_the_original(cloud, monkeypatch):
    orig = original(cloud)
    cloud.new.build_polls = 10 ** 6
    out = run(monkeypatch, orig, timeout=0)
    assert out.failed
    assert out.result['msg'].startswith('Timed out after')
    assert out.result['msg'].endswith('last observed state: status BUILD, task scheduling. The original is kept in '
                                      'region RegionOne; run the task again to go on waiting.')
    assert orig in cloud.old.servers and out.result['twin']['status'] == 'BUILD'


def test_several_twins_are_refused(cloud, monkeypatch):
    orig = original(cloud)
    first, second = twin(cloud, orig, sid='twin-1'), twin(cloud, orig, sid='twin-2')
    out = run(monkeypatch, orig)
    assert out.failed
    assert out.result['msg'] == (
        'Instance %s has 2 twins in region RegionTwo (servers with metadata %s=%s): web1 (%s): ACTIVE, '
        'web1 (%s): ACTIVE. Delete all but one, then run the task again.' % (orig, MARKER, orig, first, second))
    assert cloud.mutations() == []


def test_a_server_of_the_same_name_without_the_marker_is_not_a_twin(cloud, monkeypatch):
    orig = original(cloud)
    other = twin(cloud, orig, sid='someone-else', metadata={'role': 'web'})
    out = run(monkeypatch, orig)
    assert not out.failed and out.result['action'] == 'created'
    assert out.result['twin']['id'] != other and len(cloud.new.servers) == 2


# ---------------------------------------------------------------- the original gone

def test_original_gone_and_twin_active_is_unchanged(cloud, monkeypatch):
    made = twin(cloud, 'b3f1c7d2-0000-4000-8000-000000000001')
    out = run(monkeypatch, 'b3f1c7d2-0000-4000-8000-000000000001', diff=True)
    assert not out.failed, out.result['msg']
    assert (out.result['changed'], out.result['action'], out.result['original']) == (False, 'none', None)
    assert out.result['twin']['id'] == made
    assert out.result['diff']['before'] == out.result['diff']['after'] == {
        'original': None, 'twin': {'id': made, 'status': 'ACTIVE', 'host': 'compute-new1'}}
    assert cloud.mutations() == []


def test_original_gone_without_twin_fails_clearly(cloud, monkeypatch):
    out = run(monkeypatch, 'b3f1c7d2-0000-4000-8000-000000000001')
    assert out.failed
    assert out.result['msg'] == (
        'Instance b3f1c7d2-0000-4000-8000-000000000001 was not found in region RegionOne and has no twin in '
        'region RegionTwo (no server with metadata %s=b3f1c7d2-0000-4000-8000-000000000001). There is nothing '
        'left to re-create it from; check server (the UUID of the instance in the old deployment), region_name '
        'and target_region_name.' % MARKER)
    assert cloud.mutations() == []


def test_a_soft_deleted_original_is_gone_with_a_warning(cloud, monkeypatch, warnings):
    orig = original(cloud)
    cloud.old.soft_delete = True
    out = run(monkeypatch, orig, diff=True)
    assert not out.failed, out.result['msg']
    assert out.result['changed'] is True
    assert out.result['diff']['after']['original']['status'] == 'SOFT_DELETED'
    assert warnings == ['The original web1 (%s) was only soft-deleted in region RegionOne '
                        '(reclaim_instance_interval is set there); its disk stays on its host until nova reclaims '
                        'it or it is force-deleted.' % orig]
    again = run(monkeypatch, orig)
    assert (again.result['changed'], again.result['action']) == (False, 'none')
    assert len(warnings) == 2 and 'is SOFT_DELETED in region RegionOne' in warnings[1]


# ---------------------------------------------------------------- refusals before anything changes

@pytest.mark.parametrize('check', [True, False])
@pytest.mark.parametrize('state, reason', [
    ({'status': 'SHUTOFF'}, 'its status is SHUTOFF, not ACTIVE'),
    ({'status': 'ERROR', 'fault': 'disk gone'}, 'its status is ERROR (disk gone), not ACTIVE'),
    ({'task_state': 'migrating'}, 'a task is in progress on it (migrating)'),
    ({'image': None}, 'it was booted from a volume (it has no image to boot the twin from)'),
])
def test_what_cannot_be_recreated_is_refused(cloud, monkeypatch, check, state, reason):
    orig = original(cloud, **state)
    out = run(monkeypatch, orig, check=check)
    assert out.failed
    assert out.result['msg'] == (
        'Refusing to re-create instance web1 (%s) of region RegionOne in region RegionTwo: %s. This module '
        're-creates ACTIVE instances booted from an image only; move this workload with the hook or none method.'
        % (orig, reason))
    assert cloud.mutations() == [] and not entries(out, 'POST', '/servers')
    assert cloud.new.servers == {} and orig in cloud.old.servers
    assert out.result['changed'] is False


def test_same_region_is_refused_before_any_request(cloud, monkeypatch):
    out = run(monkeypatch, 'x', target_region_name=REGION_OLD)
    assert out.failed
    assert out.result['msg'] == ('target_region_name must name the region of the new deployment, not the one of '
                                 'the old (region_name); both are RegionOne.')
    assert cloud.log == [] and out.result['requests'] == []


def test_bad_networks_are_refused_before_any_request(cloud, monkeypatch):
    out = run(monkeypatch, original(cloud), networks='public')
    assert out.failed and out.result['msg'].startswith('networks must be none, auto or a list of dicts')
    assert cloud.log == []


def test_networks_are_passed_to_the_twin(cloud, monkeypatch):
    orig = original(cloud)
    assert not run(monkeypatch, orig, networks=[{'uuid': 'net-1'}]).failed
    [made] = cloud.new.servers.values()
    assert made['networks'] == [{'uuid': 'net-1'}]


# ---------------------------------------------------------------- flavors and key pairs

def test_copy_flavor_false_without_the_flavor_is_refused(cloud, monkeypatch):
    orig = original(cloud)
    out = run(monkeypatch, orig, copy_flavor=False)
    assert out.failed
    assert out.result['msg'] == (
        'Region RegionTwo has no flavor named m1.small, the flavor of instance web1 (%s), and copy_flavor is '
        'false. Create the flavor there (with the same id and sizes), or set copy_flavor=true.' % orig)
    assert cloud.mutations() == [] and cloud.new.flavors == {}


def test_a_flavor_of_that_name_in_the_new_region_is_used(cloud, monkeypatch, warnings):
    orig = original(cloud)
    cloud.new.add_flavor('m1.small', flavor_id='f-new', ram=4096, vcpus=1, disk=10)
    out = run(monkeypatch, orig, copy_flavor=False)
    assert not out.failed, out.result['msg']
    assert out.result['flavor_created'] is False
    [boot] = [json.loads(body) for (region, method, url), body in zip(cloud.log, cloud.bodies)
              if method == 'POST' and url == cloud.new.url + '/servers']
    assert boot['server']['flavorRef'] == 'f-new'
    [made] = cloud.new.servers.values()
    assert made['flavor'] == 'm1.small' and set(cloud.new.flavors) == {'f-new'}
    assert not [m for m in cloud.mutations() if '/flavors' in m[2]]
    assert warnings == ['Flavor m1.small differs between region RegionOne and region RegionTwo: ram 2048 != '
                        '4096; the twin gets the one of region RegionTwo.']


def test_a_flavor_id_taken_in_the_new_region_is_refused(cloud, monkeypatch):
    orig = original(cloud)
    cloud.new.add_flavor('m1.other', flavor_id='f-small')
    out = run(monkeypatch, orig)
    assert out.failed
    assert out.result['msg'] == ('Cannot copy flavor m1.small to region RegionTwo: its id f-small is taken there '
                                 'by flavor m1.other. Create the flavor there under another id, then run the task '
                                 'again.')
    assert cloud.mutations() == []


def test_a_private_flavor_is_copied_and_shared_with_the_project(cloud, monkeypatch):
    cloud.old.add_flavor('m1.private', flavor_id='f-private', ram=512, swap=256, is_public=False,
                         projects=['p-demo'])
    orig = original(cloud, flavor='m1.private')
    out = run(monkeypatch, orig)
    assert not out.failed, out.result['msg']
    copied = cloud.new.flavors['f-private']
    assert (copied['is_public'], copied['swap'], copied['projects'], copied['extra_specs']) == (
        False, 256, ['p-demo'], {})
    # the member-only token of project demo could boot the twin with it
    assert cloud.mutations()[:3] == [(REGION_NEW, 'POST', '/flavors'),
                                     (REGION_NEW, 'POST', '/flavors/f-private/action'),
                                     (REGION_NEW, 'POST', '/servers')]
    assert cloud.new.servers and cloud.old.servers == {}


def test_the_key_pair_must_exist_in_the_new_region(cloud, monkeypatch):
    orig = original(cloud, key_name='ops')
    out = run(monkeypatch, orig)
    assert out.failed
    assert out.result['msg'].startswith('User admin has no key pair ops in region RegionTwo; instance web1 (%s) '
                                        'was booted with it' % orig)
    assert cloud.mutations() == []
    cloud.new.keypairs.add(('u-admin', 'ops'))
    assert not run(monkeypatch, orig).failed
    [made] = cloud.new.servers.values()
    assert made['key_name'] == 'ops'


# ---------------------------------------------------------------- check mode

def test_check_mode_sends_no_change_and_predicts_the_real_run(cloud, monkeypatch):
    orig = original(cloud)
    predicted = run(monkeypatch, orig, check=True, diff=True)
    assert not predicted.failed, predicted.result['msg']
    result = predicted.result
    assert (result['changed'], result['action'], result['flavor_created']) == (True, 'created', True)
    assert result['twin'] == {'id': None, 'name': 'web1', 'status': 'planned', 'host': None,
                              'project_id': 'p-demo', 'flavor': 'm1.small', 'image': IMAGE}
    assert result['diff']['after'] == {'original': None,
                                       'twin': {'id': None, 'status': 'planned', 'host': None}}
    assert cloud.mutations() == [] and cloud.new.flavors == {} and cloud.new.servers == {}
    assert orig in cloud.old.servers
    skipped = [(r['region'], r['method'], r['path']) for r in result['requests'] if r['skipped']]
    assert skipped == [(REGION_NEW, 'POST', '/flavors'), (REGION_NEW, 'POST', '/flavors/f-small/os-extra_specs'),
                       (REGION_NEW, 'POST', '/servers'), (REGION_OLD, 'DELETE', '/servers/%s' % orig)]
    # the refusal to scope was checked too: the project's token was asked for
    assert cloud.scopes[-1] == {'id': 'p-demo'}

    real = run(monkeypatch, orig, diff=True)
    assert (real.result['changed'], real.result['action'], real.result['flavor_created']) == (True, 'created', True)
    assert real.result['diff']['after']['original'] is None


def test_check_mode_with_a_failed_twin(cloud, monkeypatch):
    orig = original(cloud)
    failed = twin(cloud, orig, status='ERROR', fault=FAULT)
    out = run(monkeypatch, orig, check=True)
    assert (out.result['changed'], out.result['action']) == (True, 'replaced_failed_twin')
    assert out.result['twin']['status'] == 'planned'
    assert cloud.mutations() == [] and cloud.new.servers[failed]['status'] == 'ERROR'
    assert [(r['method'], r['path']) for r in out.result['requests'] if r['skipped']][0] == (
        'DELETE', '/servers/%s' % failed)


# ---------------------------------------------------------------- secrets and pure helpers

def test_wrong_password_fails_without_showing_it(cloud, monkeypatch):
    orig = original(cloud)
    out = run(monkeypatch, orig, auth=dict(AUTH, password='An0ther-s3cret'))
    assert out.failed and 'refused the credentials of user admin' in out.result['msg']
    assert 'An0ther-s3cret' not in str(out.result) + json.dumps(out.result, default=str)
    assert orig in cloud.old.servers


def test_name_filter_matches_the_name_only():
    pattern = name_filter('web.1 (prod)+[a]')
    assert pattern == r'^web\.1 \(prod\)\+\[a\]$'
    assert re.search(pattern, 'web.1 (prod)+[a]')
    assert not re.search(pattern, 'webX1 (prod)+[a]') and not re.search(pattern, 'web.1 (prod)+[a]-2')


def test_parse_flavor_reads_the_swap_of_every_microversion():
    assert parse_flavor({'id': 'f', 'name': 'n', 'swap': ''})['swap'] == 0
    assert parse_flavor({'id': 'f', 'name': 'n', 'swap': 0})['swap'] == 0
    assert parse_flavor({'id': 'f', 'name': 'n', 'swap': 512})['swap'] == 512
    assert parse_flavor({'id': 'f', 'name': 'n'})['extra_specs'] is None


# ---------------------------------------------------------------- odd states left by others

def test_an_original_already_being_deleted_is_waited_for_not_deleted_again(cloud, monkeypatch):
    orig = original(cloud, task_state='deleting')
    twin(cloud, orig)
    out = run(monkeypatch, orig)
    assert not out.failed, out.result['msg']
    assert (out.result['changed'], out.result['action']) == (True, 'resumed')
    assert cloud.mutations() == [] and cloud.old.deleted == [orig]


def test_original_gone_and_twin_in_error_fails(cloud, monkeypatch):
    gone = 'b3f1c7d2-0000-4000-8000-000000000001'
    made = twin(cloud, gone, status='ERROR', fault=FAULT)
    out = run(monkeypatch, gone)
    assert out.failed
    assert out.result['msg'] == ('Instance %s is gone from region RegionOne and its twin %s in region RegionTwo is in '
                                 'ERROR (%s). Rebuild or repair the twin by hand.' % (gone, made, FAULT))
    assert cloud.mutations() == []


def test_a_stopped_twin_is_refused(cloud, monkeypatch):
    orig = original(cloud)
    made = twin(cloud, orig, status='SHUTOFF')
    out = run(monkeypatch, orig)
    assert out.failed
    assert out.result['msg'] == ('The twin %s of instance web1 (%s) in region RegionTwo is status SHUTOFF. Start it '
                                 '(or let its task end), or delete it, then run the task again.' % (made, orig))
    assert cloud.mutations() == [] and orig in cloud.old.servers
