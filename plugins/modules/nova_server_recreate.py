#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: nova_server_recreate
short_description: Move one instance to another nova deployment of the same Keystone by re-creating it
version_added: 0.2.0
description:
  - For a parallel compute deployment upgrade, where two nova deployments share one Keystone, glance and
    placement (the old one behind the compute endpoint of region O(region_name), the new one behind that of
    region O(target_region_name)). Nova cannot move an instance between deployments; this module re-creates
    one instead.
  - It boots the I(twin) of instance O(server) in the new deployment, with the original's name, image,
    flavor (by name), metadata and key pair name, waits until the twin is C(ACTIVE), and only then deletes
    the original in the old deployment and waits until it is gone. When the twin goes to C(ERROR) the
    original is kept and the task fails with the twin's fault.
  - The twin carries the metadata key O(marker_key) with the original's UUID as its value. A second run finds
    it (among the servers of the new deployment with the original's name) and goes on from where the first
    stopped; a twin left in C(ERROR) by an earlier run is deleted and booted again (with a warning). Once the
    original is gone, a run finds the twin among every server of the new deployment and changes nothing.
  - Before anything changes the module refuses an original that is not C(ACTIVE) (C(SHUTOFF), C(ERROR),
    C(SHELVED)...), that has a task in progress, or that was booted from a volume; such workloads need the
    C(hook) or C(none) method of the parallel compute upgrade.
  - The twin is created in the original's project. When that is not the project of O(auth), a second token
    is asked of Keystone for the same user, scoped to the original's project; the user needs a role there.
  - The twin is a new instance, with a new UUID. Not moved are the content of the original's disks (the
    twin boots from the image; snapshot the original to glance first if its disks matter), its ports and
    addresses (the twin gets O(networks)), its volume attachments, server groups, tags, security groups,
    availability zone, description and user data, its instance action history and console log. The key
    pair is passed by name only.
author:
  - openstack_ops maintainers (!UNKNOWN)
requirements:
  - jmespath
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.openstack_api
  - openstack_ops.upgrade.wait
attributes:
  check_mode:
    support: full
    details: Reads both deployments as usual, and refuses as a real run would; reports the twin it would boot
      (with C(status) C(planned) and no C(id)), the flavor it would copy and the deletions it would make,
      without making them.
  diff_mode:
    support: full
    details: The C(id), C(status) and C(host) of the original and of the twin (null when there is none),
      before and after.
  idempotent:
    support: full
    description: A run after a successful one finds the original gone and its twin C(ACTIVE), and changes
      nothing. A run after a failed or interrupted one goes on from where that one stopped.
  platform:
    platforms: posix
options:
  copy_flavor:
    description:
      - When the new deployment has no flavor named as the original's, create it there with the id, name, RAM,
        vCPUs, disk, ephemeral disk, swap, visibility, description and extra specs of the flavor of that name
        in the old deployment.
      - When false and the flavor is missing, the task fails before anything changes.
      - A private flavor (created so or found) is shared with the original's project if it is not already.
    type: bool
    default: true
  delete_original:
    description:
      - Delete the original once its twin is C(ACTIVE). When false the original keeps running beside its
        twin, and the module only makes sure the twin is C(ACTIVE); a later run with O(delete_original=true)
        deletes the original.
    type: bool
    default: true
  marker_key:
    description:
      - The metadata key set on the twin, with the original's UUID as its value, by which later runs find
        the twin.
    type: str
    default: openstack_ops_recreated_from
  networks:
    description:
      - The C(networks) of the twin, as the compute API takes them. C(none) boots it without any port,
        C(auto) lets nova allocate a network for the project, a list of dicts (with the keys of the compute
        API, C(uuid) of a network, C(port), C(fixed_ip), C(tag)) names them.
      - The original's ports are not moved; its addresses are not kept unless a port or fixed IP given here
        carries them.
    type: raw
    default: none
  region_name:
    description:
      - Region of the compute endpoint of the OLD deployment, where the original is.
    type: str
    required: true
  server:
    description:
      - UUID of the original instance, in the old deployment.
    type: str
    required: true
  target_region_name:
    description:
      - Region of the compute endpoint of the NEW deployment, where the twin is booted. It must differ from
        O(region_name).
    type: str
    required: true
  timeout:
    description:
      - Seconds each wait lasts at most (the twin leaving C(BUILD), a failed twin going away, the original
        going away). O(delay) is waited before the first check of the twin only.
notes:
  - The compute API is called with microversion 2.74 (nova 20.0, Train, or later) in both deployments.
  - The twins are looked for with C(GET /servers/detail?all_tenants=1&name=^NAME$), and the module lists,
    deletes and waits for servers of every project, so O(auth) needs the admin role.
  - The key pair is looked up by name among those of the user of O(auth), as nova does when it boots the
    twin. Key pairs belong to users and live in each deployment's API database; import the key pair in the
    new deployment for that user first, or the task fails before anything changes.
  - A deployment that defers deletes (C(reclaim_instance_interval) set) only soft-deletes the original; the
    module warns, and its disk stays on the host until nova reclaims it or it is force-deleted.
  - A twin that was renamed is not found by its original's name; a run would then boot another one.
seealso:
  - module: openstack_ops.upgrade.nova_compute
  - module: openstack_ops.upgrade.nova_compute_info
'''

EXAMPLES = r'''
- name: Move web1 from the old deployment (RegionOne) to the new one (RegionTwo)
  openstack_ops.upgrade.nova_server_recreate:
    auth: "{{ openstack_admin_auth }}"
    interface: internal
    region_name: RegionOne
    target_region_name: RegionTwo
    server: 0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d
    timeout: 900
    sleep: 5
  register: moved

- name: Boot the twin on a network of the new deployment and keep the original for now
  openstack_ops.upgrade.nova_server_recreate:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: admin
      password: "{{ keystone_admin_password }}"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    target_region_name: RegionTwo
    server: "{{ item.id }}"
    networks:
      - uuid: 4a2f6c8e-3b1d-4e5f-9a7b-2c3d4e5f6a7b
    delete_original: false
  loop: "{{ movable_instances }}"

- name: What would move, without moving it
  openstack_ops.upgrade.nova_server_recreate:
    auth: "{{ openstack_admin_auth }}"
    region_name: RegionOne
    target_region_name: RegionTwo
    server: 0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d
  check_mode: true
  diff: true
'''

RETURN = r'''
action:
  description:
    - C(created) - a twin was booted (none existed).
    - C(resumed) - a twin from an earlier run existed; the task waited for it and, with
      O(delete_original=true), deleted the original.
    - C(replaced_failed_twin) - the twin from an earlier run was in C(ERROR); it was deleted and a new one
      booted.
    - C(none) - nothing to do (the original gone and its twin there, or the twin C(ACTIVE) beside a kept
      original).
    - In check mode, what a real run would do. Also in the failure of a task that got that far.
  returned: always
  type: str
  sample: created
changed:
  description: Whether a twin was booted or deleted, the original deleted, or a flavor created or shared.
  returned: always
  type: bool
elapsed:
  description: Seconds the task took, the waits included.
  returned: always
  type: float
  sample: 48.2
flavor_created:
  description: Whether the flavor was copied to the new deployment (in check mode, would be).
  returned: always
  type: bool
  sample: false
original:
  description: The original as found in the old deployment before anything changed; null when it was not
    found there (already deleted). Also in a failure.
  returned: always
  type: dict
  contains:
    flavor:
      description: Name of its flavor.
      type: str
    host:
      description: Its compute host.
      type: str
    id:
      description: Its UUID.
      type: str
    image:
      description: The id of its image (null when booted from a volume).
      type: str
    name:
      description: Its name.
      type: str
    project_id:
      description: The id of its project.
      type: str
    status:
      description: Its status, such as C(ACTIVE).
      type: str
  sample: {flavor: m1.small, host: compute1, id: 0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d,
           image: 7e3c1a9b-5d2f-4c6e-8a1b-3f4e5d6c7b8a, name: web1, project_id: 3c5e7a9b1d2f4e6a8c0b2d4f6a8c0e2b,
           status: ACTIVE}
requests:
  description: The HTTP requests made to both deployments, in order (audit trail), each with the C(region)
    of the session that made it and the C(service) type of the catalog. Identical GETs (the checks of a wait)
    are listed once with their C(count); C(skipped) is true for a change that check mode did not send.
    Bodies, tokens and passwords are never shown.
  returned: always
  type: list
  elements: dict
  sample:
    - {count: 1, method: POST, path: /v3/auth/tokens, region: RegionOne, service: identity, skipped: false,
       status: 201}
    - {count: 1, method: GET, path: /servers/0f1d4c57-86a4-4fb1-93a5-3a0a0c5e1b2d, region: RegionOne,
       service: compute, skipped: false, status: 200}
    - {count: 1, method: POST, path: /servers, region: RegionTwo, service: compute, skipped: false,
       status: 202}
twin:
  description: The twin in the new deployment after the task, in the form of RV(original) (its C(host) and
    C(status) as last seen); in check mode the twin a real run would boot has C(status) C(planned) and a null
    C(id). Null when there is none. Also in a failure, such as a twin that went to C(ERROR).
  returned: always
  type: dict
  sample: {flavor: m1.small, host: compute7, id: 9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d,
           image: 7e3c1a9b-5d2f-4c6e-8a1b-3f4e5d6c7b8a, name: web1, project_id: 3c5e7a9b1d2f4e6a8c0b2d4f6a8c0e2b,
           status: ACTIVE}
'''

import copy
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova_recreate import (
    GONE_STATUSES,
    RecreateClient,
    RecreateFailed,
    RecreateRefused,
    RegionSession,
    check_networks,
    describe_instance,
    describe_status,
    flavor_differences,
    identity,
    instance_view,
    planned_twin,
    refusal_reason,
    scoped_auth,
    state_view,
    twin_body,
    twins_of,
    wait_gone,
    wait_settled,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import (
    OPENSTACK_ARGUMENT_SPEC,
    AuthenticationError,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import WAIT_ARGUMENT_SPEC


def argument_spec():
    spec = copy.deepcopy(OPENSTACK_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(WAIT_ARGUMENT_SPEC))
    spec.update(
        copy_flavor=dict(type='bool', default=True),
        delete_original=dict(type='bool', default=True),
        marker_key=dict(type='str', default='openstack_ops_recreated_from', no_log=False),
        networks=dict(type='raw', default='none'),
        region_name=dict(type='str', required=True),
        server=dict(type='str', required=True),
        target_region_name=dict(type='str', required=True),
    )
    return spec


class Recreation(object):
    """One instance moved from region_name to target_region_name; ``result`` grows as it goes."""

    def __init__(self, module, trail):
        self.module = module
        self.p = p = module.params
        self.trail = trail
        self.old_region, self.new_region = p['region_name'], p['target_region_name']
        self.old = RecreateClient(self._session(p['auth'], self.old_region))
        self.new = RecreateClient(self._session(p['auth'], self.new_region))
        self.result = dict(changed=False, action='none', original=None, twin=None, flavor_created=False)
        self.shared = False

    def _session(self, auth, region):
        p = self.module.params
        return RegionSession(auth, trail=self.trail, interface=p['interface'], region_name=region,
                             validate_certs=p['validate_certs'], ca_path=p['ca_path'], timeout=p['api_timeout'],
                             check_mode=self.module.check_mode)

    def _changing(self):
        """Called before each change (made, or skipped by check mode): for ``changed`` in a failure."""
        self.result['changed'] = True

    # -- reading

    def find_twin(self, original):
        """The one twin of the original in the new deployment, or None."""
        server_id, key = self.p['server'], self.p['marker_key']
        # once the original is gone its name is unknown: every server of the region is looked at
        servers = self.new.instances(original['name'] if original else None)
        twins = twins_of(servers, key, server_id)
        if len(twins) > 1:
            raise RecreateRefused(
                'Instance %s has %d twins in region %s (servers with metadata %s=%s): %s. Delete all but one, '
                'then run the task again.' % (server_id, len(twins), self.new_region, key, server_id,
                                              ', '.join('%s: %s' % (describe_instance(t), t['status'])
                                                        for t in twins)),
                twins=[instance_view(t) for t in twins])
        return twins[0] if twins else None

    def creator(self, project_id):
        """The client that boots the twin: a token scoped to the original's project."""
        if self.new.project_id() == project_id:
            return self.new
        client = RecreateClient(self._session(scoped_auth(self.p['auth'], project_id), self.new_region))
        try:
            client.session.authenticate()
        except AuthenticationError as exc:
            raise RecreateRefused(
                'Keystone refused to scope a token of user %s to project %s, the project of the instance, in '
                'which its twin must be created (%s: %s). Give the user a role in that project (for example '
                'openstack role add --user %s --project %s member), then run the task again.'
                % (self.p['auth']['username'], project_id, exc.status, exc.api_message,
                   self.p['auth']['username'], project_id))
        return client

    def prepare(self, original):
        """Everything the twin needs, read and checked before anything changes."""
        creator = self.creator(original['project_id'])
        name = original['flavor']
        target = self.new.flavor_named(name)
        source = self.old.flavor_named(name)
        if target is None:
            if not self.p['copy_flavor']:
                raise RecreateRefused(
                    'Region %s has no flavor named %s, the flavor of instance %s, and copy_flavor is false. '
                    'Create the flavor there (with the same id and sizes), or set copy_flavor=true.'
                    % (self.new_region, name, describe_instance(original)))
            if source is None:
                raise RecreateRefused(
                    'Neither region has a flavor named %s, the flavor of instance %s (deleted in region %s?). '
                    'Create it in region %s, then run the task again.'
                    % (name, describe_instance(original), self.old_region, self.new_region))
            taken = self.new.flavor(source['id'])
            if taken is not None:
                raise RecreateRefused(
                    'Cannot copy flavor %s to region %s: its id %s is taken there by flavor %s. Create the '
                    'flavor there under another id, then run the task again.'
                    % (name, self.new_region, source['id'], taken['name']))
            if source['extra_specs'] is None:
                source['extra_specs'] = self.old.extra_specs(source['id'])
        elif source is not None and flavor_differences(source, target):
            self.module.warn('Flavor %s differs between region %s and region %s: %s; the twin gets the one of '
                             'region %s.' % (name, self.old_region, self.new_region,
                                             flavor_differences(source, target), self.new_region))
        flavor = target or source
        share = not flavor['is_public'] and (
            target is None or original['project_id'] not in self.new.flavor_projects(flavor['id']))
        key_name = original.get('key_name')
        if key_name and creator.keypair(key_name) is None:
            raise RecreateRefused(
                'User %s has no key pair %s in region %s; instance %s was booted with it, and nova boots the '
                'twin with the key pair of that name of the user who asks. Import its public key there '
                '(openstack --os-region-name %s keypair create --public-key FILE %s), then run the task again.'
                % (self.p['auth']['username'], key_name, self.new_region, describe_instance(original),
                   self.new_region, key_name))
        return {'creator': creator, 'flavor': flavor, 'copy': target is None, 'share': share}

    # -- changing

    def settle_twin(self, twin_id, delay=0, original_kept=True):
        """Wait until the twin leaves BUILD; fail (keeping the original) unless it is ACTIVE."""
        try:
            twin = wait_settled(self.new, twin_id, self.p['timeout'], self.p['sleep'], delay,
                                'the twin %s to leave BUILD in region %s' % (twin_id, self.new_region))
        except RecreateFailed as exc:
            kept = (' The original is kept in region %s; run the task again to go on waiting.' % self.old_region
                    if original_kept else '')
            raise RecreateFailed(exc.msg + kept, **exc.context)
        if twin is not None:
            self.result['twin'] = instance_view(twin)
        if twin is not None and twin['status'] == 'ACTIVE':
            return twin
        kept = ('The original is kept in region %s; fix the cause, then run the task again: it deletes the '
                'failed twin and boots a new one.' % self.old_region) if original_kept else ''
        raise RecreateFailed('The twin %s in region %s %s. %s' % (
            twin_id, self.new_region, 'went away while it was being built' if twin is None
            else 'ended in %s' % describe_status(twin), kept))

    def boot_twin(self, original, plan):
        p, flavor = self.p, plan['flavor']
        if plan['copy']:
            self._changing()
            self.new.create_flavor(flavor)
            self.result['flavor_created'] = True
            if flavor['extra_specs']:
                self.new.set_extra_specs(flavor['id'], flavor['extra_specs'])
        if plan['share']:
            self._changing()
            self.shared = True
            self.new.add_flavor_project(flavor['id'], original['project_id'])
        self._changing()
        twin_id = plan['creator'].create_server(twin_body(original, flavor['id'], p['marker_key'], p['networks']))
        if self.module.check_mode:
            return planned_twin(original)
        self.result['twin'] = dict(planned_twin(original), id=twin_id, status='BUILD')
        return self.settle_twin(twin_id, p['delay'])

    def delete(self, client, server, what):
        """Delete ``server`` (unless a delete is already under way) and wait until it is gone."""
        if server['task_state'] != 'deleting':
            self._changing()
            client.delete_server(server['id'])
        if self.module.check_mode:
            return None
        last = wait_gone(client, server['id'], self.p['timeout'], self.p['sleep'],
                         '%s %s to be deleted in region %s' % (what, server['id'], client.region))
        # An admin still sees a deleted server (status DELETED) for a while;
        # only SOFT_DELETED means that the delete was deferred.
        if last is not None and last['status'] == 'SOFT_DELETED':
            self.module.warn('%s %s was only soft-deleted in region %s (reclaim_instance_interval is set there); '
                             'its disk stays on its host until nova reclaims it or it is force-deleted.'
                             % (what, describe_instance(server), client.region))
        return last

    # -- deciding

    def without_original(self, original, twin):
        """The original is gone (or soft-deleted): there is nothing to do but wait for its twin."""
        if twin is None:
            where = 'was not found' if original is None else 'is %s' % original['status']
            raise RecreateRefused(
                'Instance %s %s in region %s and has no twin in region %s (no server with metadata %s=%s). '
                'There is nothing left to re-create it from; check server (the UUID of the instance in the old '
                'deployment), region_name and target_region_name.'
                % (self.p['server'], where, self.old_region, self.new_region, self.p['marker_key'],
                   self.p['server']))
        if twin['status'] == 'ERROR':
            fault = ' (%s)' % twin['fault'] if twin['fault'] else ''
            raise RecreateFailed(
                'Instance %s is gone from region %s and its twin %s in region %s is in ERROR%s. Rebuild or '
                'repair the twin by hand.' % (self.p['server'], self.old_region, twin['id'], self.new_region, fault))
        if original is not None:
            self.module.warn('Instance %s is %s in region %s: its disk stays on its host until nova reclaims it '
                             'or it is force-deleted.' % (describe_instance(original), original['status'],
                                                          self.old_region))
        if twin['status'] == 'BUILD':
            self.result['action'] = 'resumed'
            if not self.module.check_mode:
                twin = self.settle_twin(twin['id'], self.p['delay'], original_kept=False)
        elif twin['status'] != 'ACTIVE':
            self.module.warn('The twin %s in region %s is %s.' % (twin['id'], self.new_region, twin['status']))
        return original, twin

    def with_original(self, original, twin):
        p = self.p
        deleting = original['task_state'] == 'deleting'
        reason = None if deleting and twin is not None else refusal_reason(original)
        if reason:
            raise RecreateRefused(
                'Refusing to re-create instance %s of region %s in region %s: %s. This module re-creates ACTIVE '
                'instances booted from an image only; move this workload with the hook or none method.'
                % (describe_instance(original), self.old_region, self.new_region, reason))
        status = twin['status'] if twin else None
        if status not in (None, 'ERROR', 'BUILD', 'ACTIVE') or (twin and twin['task_state'] == 'deleting'):
            raise RecreateRefused(
                'The twin %s of instance %s in region %s is %s. Start it (or let its task end), or delete it, '
                'then run the task again.' % (twin['id'], describe_instance(original), self.new_region,
                                              describe_status(twin)))
        plan = None
        if status in (None, 'ERROR'):
            plan = self.prepare(original)
            self.result['action'] = 'created' if twin is None else 'replaced_failed_twin'
        else:
            self.result['action'] = 'resumed' if status == 'BUILD' or p['delete_original'] else 'none'

        if status == 'ERROR':
            self.module.warn('The twin %s of instance %s in region %s, left in ERROR by an earlier run%s, is '
                             'deleted and booted again.' % (twin['id'], describe_instance(original),
                                                            self.new_region,
                                                            ' (%s)' % twin['fault'] if twin['fault'] else ''))
            self.delete(self.new, twin, 'The failed twin')
            self.result['twin'] = None
        if plan:
            twin = self.boot_twin(original, plan)
        elif status == 'BUILD' and not self.module.check_mode:
            twin = self.settle_twin(twin['id'], p['delay'])
        if not p['delete_original']:
            return original, twin
        self.result['twin'] = instance_view(twin)
        try:
            return self.delete(self.old, original, 'The original'), twin
        except RecreateFailed as exc:
            raise RecreateFailed(exc.msg + ' The twin %s is ACTIVE in region %s; run the task again to go on '
                                 'waiting.' % (twin['id'], self.new_region), **exc.context)

    def run(self):
        p, result = self.p, self.result
        original = self.old.instance(p['server'])
        gone = original is None or original['status'] in GONE_STATUSES
        twin = self.find_twin(original)
        result.update(original=instance_view(original), twin=instance_view(twin))
        before = {'original': state_view(original), 'twin': state_view(twin)}
        if gone:
            original_after, twin_after = self.without_original(original, twin)
        else:
            original_after, twin_after = self.with_original(original, twin)
        after = {'original': state_view(original_after), 'twin': state_view(twin_after)}
        result.update(twin=instance_view(twin_after),
                      changed=identity(before) != identity(after) or result['flavor_created'] or self.shared)
        if self.module._diff:
            result['diff'] = {'before': before, 'after': after}
        return result


def main():
    started = time.monotonic()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p, trail, recreation = module.params, [], None
    try:
        if p['target_region_name'] == p['region_name']:
            raise RecreateRefused('target_region_name must name the region of the new deployment, not the one of '
                                  'the old (region_name); both are %s.' % p['region_name'])
        check_networks(p['networks'])
        recreation = Recreation(module, trail)
        result = recreation.run()
    except OpsError as exc:
        context = dict(recreation.result) if recreation else {}
        fail_from(module, exc, requests=trail, elapsed=round(time.monotonic() - started, 3), **context)
    module.exit_json(requests=trail, elapsed=round(time.monotonic() - started, 3), **result)


if __name__ == '__main__':
    main()
