#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
module: upgrade_check
short_description: Run an OpenStack service's upgrade readiness checks (C(<service>-status upgrade check))
version_added: 0.1.0
description:
  - Runs C(<service>-status upgrade check) (oslo.upgradecheck) and reads its exit code as the worst result,
    0 success, 1 warning, 2 failure (255 when a check itself crashed).
  - Asks for C(--json) where the service really prints JSON (heat, keystone, glance, cinder, neutron); nova
    has no C(--json), and placement accepts it but still prints the table, so their table is parsed.
  - Fails on a failure, listing the failing checks with their details; reports warnings and fails on them
    only with I(allow_warnings=false).
  - heat, keystone, glance and cinder (with C(--json)), nova and placement (their tables) have been exercised
    against real code; neutron has not.
options:
  allow_warnings:
    description:
      - Succeed when the worst result is a warning (the warnings are returned and shown).
    type: bool
    default: true
  bin_dir:
    description:
      - Directory holding C(<service>-status). Mutually exclusive with I(venv).
    type: path
  command_prefix:
    description:
      - Words put before the command, for example C([podman, exec, nova_api]).
    type: list
    elements: str
  config_file:
    description:
      - Configuration files passed as C(--config-file), in order.
    type: list
    elements: path
  json:
    description:
      - Ask for C(--json). By default it is asked where the service supports it.
    type: bool
  timeout:
    description:
      - Seconds the check may take before it is stopped.
    type: int
    default: 300
  venv:
    description:
      - Virtualenv of the service; its C(bin/) holds C(<service>-status). Without I(venv), I(bin_dir) and
        I(command_prefix) the command is looked up in PATH.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.service
attributes:
  check_mode:
    support: full
    details:
      - The checks only read, so they run in check mode too.
  diff_mode:
    support: none
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: full
    details:
      - Never changes anything.
  platform:
    platforms: posix
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Heat is ready for the upgrade (with the new release's code)
  openstack_ops.upgrade.upgrade_check:
    service: heat
    venv: /opt/openstack/heat-2026.1
    config_file: [/etc/heat/heat.conf]

- name: Nova, where a libvirt-only machine-type warning is expected on fake computes
  openstack_ops.upgrade.upgrade_check:
    service: nova
    bin_dir: /usr/bin
  register: nova_ready

- name: No surprise warnings
  ansible.builtin.assert:
    that: nova_ready.warning_checks | map(attribute='check') | difference(['hw_machine_type unset']) | length == 0
'''

RETURN = r'''
changed:
  description: Always false.
  returned: always
  type: bool
commands:
  description: The command that was run, with rc and seconds.
  returned: always
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: always
  type: list
  elements: dict
  sample: [{check: Policy File JSON to YAML Migration, result: 2, status: failure,
            details: Your policy file is JSON-formatted which is deprecated. ...}]
rc:
  description: Exit code of the command (0 success, 1 warning, 2 failure, 255 a check crashed).
  returned: always
  type: int
  sample: 0
results:
  description: Every check with its result code, status word and details.
  returned: always
  type: list
  elements: dict
  sample: [{check: Policy File JSON to YAML Migration, result: 0, status: success, details: null}]
status:
  description: The worst result, C(success), C(warning) or C(failure).
  returned: always
  type: str
  sample: success
warning_checks:
  description:
    - The checks that returned a warning (each is also shown as an Ansible warning).
    - Not called C(warnings), a key Ansible reserves for its own messages.
  returned: always
  type: list
  elements: dict
  sample: [{check: hw_machine_type unset, result: 1, status: warning, details: Machine type for instances ...}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.jmes import query
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.manage import (
    LOCATION_ARGUMENT_SPEC,
    LOCATION_MUTUALLY_EXCLUSIVE,
    ServiceCommands,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.services import (
    SERVICES,
    UPGRADE_CHECK_CODES,
    ServiceError,
    parse_upgrade_check,
)


def _listing(checks):
    return '; '.join('%s: %s' % (c['check'], c.get('details') or 'no details') for c in checks)


def main():
    argument_spec = dict(
        allow_warnings=dict(type='bool', default=True),
        json=dict(type='bool'),
        service=dict(type='str', required=True, choices=sorted(SERVICES)),
        timeout=dict(type='int', default=300),
    )
    argument_spec.update(LOCATION_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec,
                           mutually_exclusive=LOCATION_MUTUALLY_EXCLUSIVE,
                           supports_check_mode=True)
    params = module.params
    runner = CommandRunner(module, timeout=params['timeout'])
    service = params['service']
    # "warnings" is a key Ansible reserves for its own messages, hence warning_checks.
    result = dict(changed=False, commands=runner.commands, rc=None, status=None, results=[],
                  warning_checks=[], failed_checks=[])
    try:
        commands = ServiceCommands(runner, service, venv=params['venv'], bin_dir=params['bin_dir'],
                                   command_prefix=params['command_prefix'],
                                   config_files=params['config_file'])
        ran = commands.upgrade_check(use_json=params['json'])
        result['rc'] = ran.rc
        output = runner.mask(ran.stdout)
        try:
            checks = parse_upgrade_check(output)
        except ServiceError:
            raise OpsError('%s-status upgrade check exited %s without a result table%s: %s'
                           % (service, ran.rc, ' (a check raised an exception)' if ran.rc == 255 else '',
                              runner.mask((ran.stdout + ran.stderr).strip()[-2000:])),
                           stdout=output, stderr=runner.mask(ran.stderr))
        result['results'] = checks
        result['warning_checks'] = query('[?result == `1`]', checks)
        result['failed_checks'] = query('[?result == `2`]', checks)
        worst = max([c['result'] for c in checks if c['result'] is not None] + [0])
        result['status'] = UPGRADE_CHECK_CODES.get(worst, 'unknown')
        if ran.rc not in UPGRADE_CHECK_CODES:
            raise OpsError('%s-status upgrade check exited %s (a check raised an exception): %s'
                           % (service, ran.rc, runner.mask(ran.stdout.strip()[-2000:])))
        if ran.rc == 2 or result['failed_checks']:
            raise OpsError('%s is not ready for the upgrade; failed checks: %s'
                           % (service, _listing(result['failed_checks']) or 'see the output (rc 2)'))
        for check in result['warning_checks']:
            module.warn('%s upgrade check "%s": %s' % (service, check['check'], check.get('details')))
        if result['warning_checks'] and not params['allow_warnings']:
            raise OpsError('%s upgrade check has warnings and allow_warnings is false: %s'
                           % (service, _listing(result['warning_checks'])))
    except OpsError as exc:
        fail_from(module, exc, **result)
    # Explicit: Ansible marks a result that carries a non-zero rc and no
    # "failed" key as failed, and rc 1 here is a warning, not a failure.
    module.exit_json(failed=False, **result)


if __name__ == '__main__':
    main()
