#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: openstack_config
short_description: Set and unset options in OpenStack (oslo.config) INI files, keeping everything else byte for byte
version_added: 0.1.0
description:
  - Sets, replaces or removes options of an OpenStack configuration file such as C(heat.conf), C(nova.conf) or an
    C(api-paste.ini), one option (O(option)) or many at once (O(settings)) with one read and one atomic write.
  - The file is read with the rules of oslo.config's parser, so what this module compares is what the service reads.
    Lines starting with a space or a tab continue the previous value; C(#) and C(;) start comment lines (there are no
    inline comments); C(key = value) and its colon form (C(key) then C(:)) are both assignments, and a pair of matching quotes around a
    value is not part of it (C(x) and C("x") are the same value, so changing only the quoting is not a change).
  - Section names are matched as oslo.config matches groups, in lower case (C([Database]) is the C(database) group),
    except C(DEFAULT), which must be upper case; a group may have several C([section]) blocks in one file. Option
    names are case-sensitive.
  - A key may be repeated (oslo.config C(MultiStrOpt), e.g. nova's C([pci] alias)); O(values) makes the occurrences
    exactly the given list, in order.
  - Every line not set or removed stays byte-identical (comments, blank lines, order, spacing, line endings, other
    keys). A rewritten line keeps its own spacing around the separator. A new option goes right after its
    commented-out default (C(#option = ...)) when the section has one, else after the last line of the section (not
    after the blank lines and the comment block that lead into the next section); a new section is appended at the
    end of the file.
  - A file oslo.config could not read (an assignment before any section, a continuation line after a blank or a
    comment, a header without C(])) is refused untouched, with the line number.
  - The values of options whose names mark them as secrets (C(password), C(secret), C(token), C(key), ...) and the
    passwords in URLs (C(transport_url), C(connection)) are masked in the diff, in RV(changes) and in messages, and
    are registered with Ansible's C(no_log) mechanism at run time so that the returned C(invocation) hides them too.
    O(value), O(values) and O(settings) are not declared C(no_log), because that would make Ansible mask every occurrence of
    harmless values such as C(true) or C(1) in the whole result.
options:
  backup:
    description:
      - Copy the file to a timestamped backup next to it before changing its content; the name is returned in
        RV(backup_file). Nothing is copied when the content does not change.
    type: bool
    default: false
  create:
    description:
      - Create the file (and the section) when it does not exist. With V(false) a missing file fails the task and
        nothing is created.
      - The directory must exist. A new file gets O(mode) when given, else C(0666) less the umask; give O(mode) for
        files that hold credentials.
    type: bool
    default: false
  option:
    description:
      - Name of the option to set or unset in O(section), exactly as oslo.config reads it (case-sensitive, no
        whitespace, no C(=) or C(:)).
      - Mutually exclusive with O(settings); one of the two is required.
    type: str
  path:
    description:
      - The INI file. A symbolic link is followed; the file it points to is edited and the link stays.
    type: path
    required: true
  section:
    description:
      - Section (oslo.config group) of O(option). C(DEFAULT) must be written in upper case.
      - Must not contain C([), C(]), line breaks or leading or trailing whitespace.
    type: str
    default: DEFAULT
  settings:
    description:
      - Many options at once, a dictionary of sections, each a dictionary of options and their values, applied in
        order with one read and one write.
      - A value is a string (or a number or boolean, written as C(true)/C(false) and digits), a list of them (like
        O(values)) or V(null).
      - With O(state=present), V(null) removes the option; with O(state=absent), V(null) removes all its occurrences
        and a value or list removes only the occurrences that read one of them.
      - Mutually exclusive with O(option), O(value) and O(values).
    type: dict
  state:
    description:
      - V(present) sets O(option) to O(value) or to the occurrences O(values) (or applies O(settings)).
      - V(absent) removes every occurrence of O(option) or, when O(value) or O(values) is given, only the occurrences
        that read one of them. The section header stays, even when it becomes empty.
    type: str
    choices: [present, absent]
    default: present
  value:
    description:
      - The value of O(option). It replaces every occurrence, so the option ends up set exactly once (where its first
        occurrence was).
      - Written after C(option = ) on one line; it must not contain a line break. An empty string sets the option to
        the empty value. Numbers and booleans are written as digits and C(true)/C(false).
      - With O(state=absent), only occurrences reading this value are removed.
      - Mutually exclusive with O(values) and O(settings).
    type: raw
  values:
    description:
      - All the occurrences of a repeated option (oslo.config C(MultiStrOpt)), in order. Occurrences that already
        read the right value stay as they are, others are rewritten in place, surplus ones are removed and missing
        ones are added after the last one. An empty list removes the option.
      - With O(state=absent), the occurrences reading one of these values are removed.
      - Mutually exclusive with O(value) and O(settings).
    type: list
    elements: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Reads the file and reports the changes and the diff it would make; the file is not written and no
      backup is made.
  diff_mode:
    support: full
    details: Shows the whole file before and after, secrets masked, and the file attributes that change.
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: full
    details: Values are compared as oslo.config reads them, so a second run finds nothing to do.
  platform:
    support: full
    platforms: posix
notes:
  - The file is written to a temporary file in the same directory and renamed over the original, which keeps its
    mode, owner, group and SELinux context unless O(mode), O(owner) or O(group) say otherwise.
  - When the module starts, Ansible logs its arguments to the target's syslog before the module can tell which are
    secret. Set C(no_log) on the task if a secret must not reach that log; the task result then hides the diff too.
  - Use P(ansible.builtin.template#module) instead when the deployment owns the whole file.
seealso:
  - module: community.general.ini_file
    description: General INI editing, with Python configparser rules rather than oslo.config's.
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Point heat at the RabbitMQ vhost of the new release
  openstack_ops.upgrade.openstack_config:
    path: /etc/heat/heat.conf
    option: transport_url
    value: "rabbit://heat:{{ heat_rabbit_password }}@10.0.0.11:5672/heat-2026.1"
    backup: true
  register: heat_transport

- name: Apply several heat.conf settings at once, removing a deprecated one
  openstack_ops.upgrade.openstack_config:
    path: /etc/heat/heat.conf
    settings:
      DEFAULT:
        num_engine_workers: 4
        deferred_auth_method: null
      database:
        max_retries: -1
      oslo_policy:
        enforce_new_defaults: false
        enforce_scope: false

- name: Set every PCI alias of nova-compute (repeated key), in this order
  openstack_ops.upgrade.openstack_config:
    path: /etc/nova/nova.conf
    section: pci
    option: alias
    values:
      - '{"vendor_id": "8086", "product_id": "154d", "device_type": "type-PF", "name": "a1"}'
      - '{"vendor_id": "8086", "product_id": "10ed", "device_type": "type-VF", "name": "a2"}'

- name: Remove one PCI alias and leave the others
  openstack_ops.upgrade.openstack_config:
    path: /etc/nova/nova.conf
    section: pci
    option: alias
    value: '{"vendor_id": "8086", "product_id": "10ed", "device_type": "type-VF", "name": "a2"}'
    state: absent

- name: Pin compute RPC during a rolling upgrade, creating the file with safe permissions if needed
  openstack_ops.upgrade.openstack_config:
    path: /etc/nova/nova.conf.d/50-upgrade-levels.conf
    section: upgrade_levels
    option: compute
    value: auto
    create: true
    mode: "0640"
    owner: root
    group: nova

- name: Show what would change in heat.conf, without writing it
  openstack_ops.upgrade.openstack_config:
    path: /etc/heat/heat.conf
    section: database
    option: connection
    value: "mysql+pymysql://heat:{{ heat_db_password }}@10.0.0.10/heat"
  check_mode: true
  diff: true
'''

RETURN = r'''
backup_file:
  description: The backup copy of the file, made before it was changed.
  returned: when O(backup=true) and the content changed
  type: str
  sample: /etc/heat/heat.conf.24313.2026-03-01@10:12:55~
changed:
  description: Whether the content or the attributes of the file changed (or would change in check mode).
  returned: always
  type: bool
  sample: true
changes:
  description:
    - One entry per line set, added or removed, in the order they were made; values as oslo.config reads them,
      secrets masked.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: V(set) (an existing occurrence rewritten), V(add) (a new occurrence) or V(unset) (one removed).
      type: str
      sample: set
    new:
      description: Value after the change; V(null) for V(unset).
      type: str
      sample: rabbit://heat:********@10.0.0.11:5672/heat-2026.1
    old:
      description: Value before the change; V(null) for V(add).
      type: str
      sample: rabbit://heat:********@10.0.0.11:5672/heat-2025.2
    option:
      description: Option name.
      type: str
      sample: transport_url
    section:
      description: Section, as given to the module.
      type: str
      sample: DEFAULT
  sample: [{"section": "DEFAULT", "option": "num_engine_workers", "action": "set", "old": "1", "new": "4"}]
diff:
  description:
    - In diff mode, the whole file before and after (secret values and URL passwords masked), then, when they change,
      the file attributes (mode, owner, group).
  returned: when diff mode is on
  type: list
  elements: dict
  sample: [{"before": "[DEFAULT]\nnum_engine_workers = 1\n", "after": "[DEFAULT]\nnum_engine_workers = 4\n",
            "before_header": "/etc/heat/heat.conf", "after_header": "/etc/heat/heat.conf"}]
path:
  description: The file edited (the target of O(path) when that is a symbolic link).
  returned: always
  type: str
  sample: /etc/heat/heat.conf
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import mask_text
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.inifile import (
    IniError,
    IniFile,
    literal_secret,
    mask_value,
    url_passwords,
)


def argument_spec():
    return dict(
        path=dict(type='path', required=True),
        section=dict(type='str', default='DEFAULT'),
        option=dict(type='str'),
        value=dict(type='raw'),
        values=dict(type='list', elements='raw'),
        settings=dict(type='dict'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        create=dict(type='bool', default=False),
        backup=dict(type='bool', default=False),
    )


def as_text(section, option, value):
    """A value of the module's arguments as the text to write."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise IniError('the value of [%s] %s must be a string, a number or a boolean, got %s.'
                   % (section, option, type(value).__name__))


def operations(params):
    """``(section, option, values)`` triples; ``values`` None means every occurrence."""
    if params['settings'] is None:
        section, option, state = params['section'], params['option'], params['state']
        if params['values'] is not None:
            values = [as_text(section, option, v) for v in params['values']]
        elif params['value'] is not None:
            values = [as_text(section, option, params['value'])]
        elif state == 'present':
            raise IniError('state=present needs value or values for [%s] %s (use state=absent to remove it).'
                           % (section, option))
        else:
            values = None
        return [(section, option, values)]
    ops = []
    for section, options in params['settings'].items():
        if not isinstance(options, dict):
            raise IniError('settings.%s must be a dictionary of option: value, got %s.'
                           % (section, type(options).__name__))
        for option, value in options.items():
            if value is None:
                ops.append((section, option, None))
            elif isinstance(value, list):
                ops.append((section, option, [as_text(section, option, v) for v in value]))
            else:
                ops.append((section, option, [as_text(section, option, value)]))
    return ops


def apply(ini, ops, state):
    changes = []
    for section, option, values in ops:
        if state == 'absent' or values is None:
            changes.extend(ini.unset(section, option, values))
        else:
            changes.extend(ini.set(section, option, values))
    return changes


def argument_secrets(params):
    """Secret values given to the module (those of secret-named options and URL passwords), found
    before anything is validated so that even a failure hides them."""
    pairs = []
    if isinstance(params['settings'], dict):
        for options in params['settings'].values():
            if isinstance(options, dict):
                pairs.extend(options.items())
    else:
        pairs.append((params['option'], params['value']))
        pairs.extend((params['option'], value) for value in params['values'] or ())
    found = set()
    for option, value in pairs:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                if literal_secret(option, item.strip()):
                    found.add(item.strip())
                found.update(p for p in url_passwords(item) if len(p) >= 3)
    return found


def resolve(path, create):
    """The file to edit and whether it exists; raises IniError when it cannot be edited."""
    if os.path.islink(path):
        path = os.path.realpath(path)
    if os.path.isdir(path):
        raise IniError('%s is a directory, not an INI file.' % path)
    if os.path.exists(path):
        return path, True
    if not create:
        raise IniError('%s does not exist. Check the path, or set create=true to create it.' % path)
    if not os.path.isdir(os.path.dirname(path) or '.'):
        raise IniError('cannot create %s: the directory %s does not exist.' % (path, os.path.dirname(path)))
    return path, False


def write(module, path, data):
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path) or '.')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        module.atomic_move(tmp, path, unsafe_writes=module.params['unsafe_writes'])
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        add_file_common_args=True,
        supports_check_mode=True,
        mutually_exclusive=[('option', 'settings'), ('value', 'values'), ('settings', 'value'),
                            ('settings', 'values')],
        required_one_of=[('option', 'settings')],
    )
    params = module.params
    result = dict(changed=False, changes=[], path=params['path'])
    try:
        secrets = argument_secrets(params)
        module.no_log_values.update(secrets)
        ops = operations(params)
        path, exists = resolve(params['path'], params['create'])
        result['path'] = path
        text = ''
        if exists:
            with open(path, 'rb') as handle:
                text = handle.read().decode('utf-8', 'surrogateescape')
        try:
            before = IniFile(text)
        except IniError as exc:
            raise IniError('%s %s' % (path, exc.msg), **exc.context)
        ini = IniFile(text)
        changes = apply(ini, ops, params['state'])
    except OpsError as exc:
        module.fail_json(msg=mask_text(exc.msg, sorted(module.no_log_values, key=len, reverse=True)),
                         **dict(result, **exc.context))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read %s: %s' % (params['path'], to_native(exc)), **result)

    after = ini.render()
    # An absent option in a missing file needs no file.
    content_changed = after != text or (not exists and bool(changes))
    secrets = sorted(secrets | set(before.secret_values()) | set(ini.secret_values()), key=lambda s: (-len(s), s))
    module.no_log_values.update(secrets)
    result['changes'] = [dict(change, old=mask_value(change['option'], change['old'], secrets),
                              new=mask_value(change['option'], change['new'], secrets)) for change in changes]
    result['changed'] = content_changed

    if content_changed and not module.check_mode:
        try:
            if params['backup'] and exists:
                result['backup_file'] = module.backup_local(path)
            write(module, path, after.encode('utf-8', 'surrogateescape'))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            module.fail_json(msg='cannot write %s: %s' % (path, to_native(exc)), **result)

    attr_diff = dict(before={}, after={})
    if os.path.exists(path):
        file_args = module.load_file_common_arguments(params, path=path)
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'], diff=attr_diff)

    if module._diff:
        result['diff'] = [dict(before=before.masked(secrets), after=ini.masked(secrets),
                               before_header=path if exists else '%s (absent)' % path, after_header=path)]
        if attr_diff['before'] or attr_diff['after']:
            attr_diff.update(before_header='%s (attributes)' % path, after_header='%s (attributes)' % path)
            result['diff'].append(attr_diff)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
