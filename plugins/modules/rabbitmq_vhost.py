#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: rabbitmq_vhost
short_description: Create a RabbitMQ vhost with permissions, or delete one once its queues are empty
version_added: 0.1.0
description:
  - Makes a RabbitMQ virtual host present, with permissions for the users that need it, and
    optionally makes sure the user of a service exists with its password and tags, through the
    RabbitMQ management HTTP API.
  - A rolling upgrade of Heat creates one vhost per release (for example C(heat-2026.1)) for the
    existing C(heat) user, moves the services to it, and deletes the old vhost once it is empty.
  - With O(state=absent) the vhost is deleted only if none of its queues holds a message or an
    unacknowledged message, unless O(only_if_empty=false) or O(force=true). The queues that hold
    messages are listed in the failure.
  - Permissions are managed for the users listed in O(permissions) only; other users' permissions
    on the vhost are left as they are.
author:
  - openstack_ops maintainers (!UNKNOWN)
requirements:
  - jmespath
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.rabbitmq
attributes:
  check_mode:
    support: full
    details: Reads the current state and reports what would change; no PUT or DELETE is sent.
  diff_mode:
    support: full
    details: Before and after of the vhost's existence, its permissions and the managed user (tags,
      whether the password matches; never the password).
  idempotent:
    support: full
    description: A second run with the same options changes nothing; the user's password is compared
      with the stored salted hash, so an unchanged password is not set again.
  platform:
    platforms: posix
options:
  force:
    description:
      - With O(state=absent), delete the vhost even if its queues hold messages. Those messages
        are lost.
    type: bool
    default: false
  name:
    description:
      - Name of the vhost, for example C(heat-2026.1).
    type: str
    required: true
    aliases: [vhost]
  only_if_empty:
    description:
      - With O(state=absent), refuse to delete the vhost while any of its queues holds messages or
        unacknowledged messages (read in real time, not from the statistics database).
      - Queues of dead engines that are empty and have no consumer do not prevent the deletion.
    type: bool
    default: true
  permissions:
    description:
      - Permissions on the vhost, one entry per user. Users not listed keep whatever they have.
      - Every user listed must exist, or be O(user).
      - Ignored with O(state=absent).
    type: list
    elements: dict
    default: []
    suboptions:
      configure:
        description: Regular expression of the resources the user may configure.
        type: str
        default: .*
      read:
        description: Regular expression of the resources the user may read from.
        type: str
        default: .*
      user:
        description: Name of the user.
        type: str
        required: true
      write:
        description: Regular expression of the resources the user may write to.
        type: str
        default: .*
  state:
    description:
      - Whether the vhost should exist.
    type: str
    choices: [absent, present]
    default: present
  update_password:
    description:
      - C(always) sets O(user_password) when it differs from the stored one; C(on_create) sets it
        only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  user:
    description:
      - A user to make sure exists (with O(user_password) and O(user_tags)) before the permissions
        are set, for example the service user C(heat).
      - The user is never deleted, not even with O(state=absent) (it is usually shared with the
        vhost of the previous release). Ignored with O(state=absent).
    type: str
  user_password:
    description:
      - Password of O(user). Needed to create the user; when the user exists it is compared with the
        stored salted hash and set only if it differs (see O(update_password)).
    type: str
  user_tags:
    description:
      - Tags of O(user), for example C(monitoring). When not set, an existing user keeps its tags and
        a new one has none.
    type: list
    elements: str
notes:
  - A vhost created through the management API gives the API's O(login_user) full permissions on
    it (RabbitMQ behaviour); check mode predicts that.
  - O(state=absent) with O(only_if_empty=true) reads the queue depths with
    C(disable_stats=true&enable_queue_totals=true), which RabbitMQ answers from the queues
    themselves; the default listing lags behind by up to the statistics interval (5 s measured).
seealso:
  - module: openstack_ops.upgrade.rabbitmq_queues
'''

EXAMPLES = r'''
- name: Create the vhost of the new release for the existing heat user
  openstack_ops.upgrade.rabbitmq_vhost:
    name: heat-2026.1
    user: heat
    user_password: "{{ heat_rabbit_password }}"
    permissions:
      - user: heat

- name: Same, with read-only monitoring access for another user and a remote API
  openstack_ops.upgrade.rabbitmq_vhost:
    name: heat-2026.1
    api_url: https://rabbit1.example.org:15671
    login_user: admin
    login_password: "{{ rabbit_admin_password }}"
    ca_path: /etc/ssl/certs/internal-ca.pem
    permissions:
      - user: heat
      - user: monitoring
        configure: "^$"
        write: "^$"
        read: ".*"

- name: Delete the old release's vhost, refusing while its queues hold messages
  openstack_ops.upgrade.rabbitmq_vhost:
    name: heat-2025.2
    state: absent

- name: Delete it even though messages are left (they are lost)
  openstack_ops.upgrade.rabbitmq_vhost:
    name: heat-2025.2
    state: absent
    force: true
'''

RETURN = r'''
after:
  description: State after the task (predicted in check mode).
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the vhost exists.
      type: bool
    permissions:
      description: Permissions on the vhost, by user.
      type: dict
    user:
      description: The managed user (only when O(user) is set) - name, exists, tags and
        password_matches (true when the stored hash is that of O(user_password), null when unknown).
      type: dict
    vhost:
      description: Name of the vhost.
      type: str
  sample:
    exists: true
    permissions:
      guest: {configure: .*, read: .*, write: .*}
      heat: {configure: .*, read: .*, write: .*}
    user: {exists: true, name: heat, password_matches: true, tags: []}
    vhost: heat-2026.1
before:
  description: State before the task, in the same form as RV(after).
  returned: always
  type: dict
  sample:
    exists: false
    permissions: {}
    user: {exists: true, name: heat, password_matches: true, tags: []}
    vhost: heat-2026.1
changed:
  description: Whether RV(before) and RV(after) differ.
  returned: always
  type: bool
permissions:
  description: Permissions on the vhost after the task, one entry per user, sorted by user.
  returned: always
  type: list
  elements: dict
  sample:
    - {configure: .*, read: .*, user: heat, write: .*}
queues:
  description: With O(state=absent), the queues that hold messages or unacknowledged messages
    (name, messages, messages_ready, messages_unacknowledged, consumers, state, type); also in the
    failure when the deletion is refused.
  returned: when O(state=absent) and the vhost existed
  type: list
  elements: dict
  sample:
    - {consumers: 0, messages: 2, messages_ready: 2, messages_unacknowledged: 0,
       name: heat-engine-listener.3f1c0b7d-2c1e-4d6a-8f0e-6b5a4c3d2e10, state: running, type: classic}
requests:
  description: The HTTP requests made to the management API, in order (audit trail). Identical
    GETs are listed once with their C(count); C(skipped) is true for a change that check
    mode did not send. Bodies are never shown.
  returned: always
  type: list
  elements: dict
  sample:
    - {count: 1, method: GET, path: /api/vhosts/heat-2026.1, skipped: false, status: 404}
    - {count: 1, method: PUT, path: /api/vhosts/heat-2026.1, skipped: false, status: 201}
vhost:
  description: Name of the vhost.
  returned: always
  type: str
  sample: heat-2026.1
'''

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.rabbitmq import (
    RABBITMQ_ARGUMENT_SPEC,
    ManagementAPI,
    VhostRefused,
    busy_queues,
    describe_queues,
    desired_permissions,
    permissions_list,
    plan_vhost_absent,
    plan_vhost_present,
    read_vhost_state,
)


def argument_spec():
    spec = copy.deepcopy(RABBITMQ_ARGUMENT_SPEC)
    spec.update(
        force=dict(type='bool', default=False),
        name=dict(type='str', required=True, aliases=['vhost']),
        only_if_empty=dict(type='bool', default=True),
        permissions=dict(type='list', elements='dict', default=[], options=dict(
            configure=dict(type='str', default='.*'),
            read=dict(type='str', default='.*'),
            user=dict(type='str', required=True),
            write=dict(type='str', default='.*'),
        )),
        state=dict(type='str', choices=['absent', 'present'], default='present'),
        update_password=dict(type='str', choices=['always', 'on_create'], default='always', no_log=False),
        user=dict(type='str'),
        user_password=dict(type='str', no_log=True),
        user_tags=dict(type='list', elements='str'),
    )
    return spec


def check_users_exist(api, permissions, managed_user):
    """Refuse before changing anything when a permission names a missing user."""
    missing = [u for u in sorted(set(permissions)) if u != managed_user and api.get_user(u) is None]
    if missing:
        raise VhostRefused(
            'Cannot grant permissions to RabbitMQ user(s) %s: no such user. Create them first, '
            'or name one of them in user (with user_password).' % ', '.join(missing), missing_users=missing)


def apply(api, vhost, actions, raw_user):
    for action in actions:
        if action[0] == 'put_user':
            name, tags, password = action[1:]
            if password is not None:
                api.put_user(name, tags, password=password)
            else:
                # Only the tags change: PUT replaces the whole user, so send its hash back.
                api.put_user(name, tags, password_hash=raw_user['password_hash'],
                             hashing_algorithm=raw_user['hashing_algorithm'])
        elif action[0] == 'put_vhost':
            api.put_vhost(vhost)
        elif action[0] == 'put_permission':
            name, perm = action[1:]
            api.put_permission(vhost, name, perm['configure'], perm['write'], perm['read'])
        elif action[0] == 'delete_vhost':
            api.delete_vhost(vhost)


def run(module, api):
    p = module.params
    vhost = p['name']
    managed_user = p['user'] if p['state'] == 'present' else None
    password = p['user_password'] if managed_user else None
    before, raw_user = read_vhost_state(api, vhost, managed_user, password)
    result = {}

    if p['state'] == 'present':
        wanted = desired_permissions(p['permissions'])
        actions, predicted = plan_vhost_present(
            before, wanted, api.login_user, user=managed_user, password=password,
            tags=p['user_tags'], update_password=p['update_password'])
        if any(a[0] == 'put_permission' for a in actions):
            check_users_exist(api, [a[1] for a in actions if a[0] == 'put_permission'], managed_user)
    else:
        actions, predicted = plan_vhost_absent(before)
        if before['exists']:
            busy = busy_queues(api.queues(vhost)[0])
            result['queues'] = busy
            if busy and p['only_if_empty'] and not p['force']:
                raise VhostRefused(
                    'Refusing to delete vhost %s: %d queue(s) still hold messages: %s. Wait until '
                    'they are drained (openstack_ops.upgrade.rabbitmq_queues with wait=drained), or '
                    'set force=true to delete them with the vhost.'
                    % (vhost, len(busy), describe_queues(busy)), queues=busy)

    # In check mode the client records the changes as skipped requests.
    apply(api, vhost, actions, raw_user)
    if actions and not module.check_mode:
        after, dummy = read_vhost_state(api, vhost, managed_user, password)
    else:
        after = predicted
    result.update(vhost=vhost, before=before, after=after, changed=before != after,
                  permissions=permissions_list(after['permissions']))
    if module._diff:
        result['diff'] = {'before': before, 'after': after}
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    api = ManagementAPI.from_module(module)
    try:
        result = run(module, api)
    except OpsError as exc:
        fail_from(module, exc, vhost=module.params['name'], requests=api.requests)
    module.exit_json(requests=api.requests, **result)


if __name__ == '__main__':
    main()
