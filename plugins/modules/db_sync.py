#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
module: db_sync
short_description: Run or check an OpenStack service's database schema migrations
version_added: 0.1.0
description:
  - Runs one phase of a service's database migration with the service's own management command
    (C(heat-manage db_sync), C(nova-manage api_db sync) then C(db sync), C(keystone-manage db_sync
    --expand), ...). Playbooks name the service and the phase; the commands, exit codes and output
    formats per service are kept in the collection's C(services) module_utils.
  - Reports the database version before and after; C(changed) is true only if it moved (for online data
    migrations, whether rows were migrated).
  - I(phase=check) and check mode tell whether a migration is pending without changing the database. For
    heat, cinder, nova and placement the current revision (C(db version)) is compared with the head
    revisions of the installed code, read from its alembic scripts with the service's own Python. Keystone
    and glance answer through their own check command (C(db_sync --check), C(db check)); neutron compares
    C(current) with C(heads).
  - C(heat) (25.0.2 to 27.0.1), C(keystone) (28.1.0 to 30.0.0, including C(--expand), C(--migrate),
    C(--contract) and C(--check)), C(glance) (31.1.0 to 32.0.0, C(db expand), C(migrate), C(contract), C(check)),
    C(placement) (14.0.0 to 15.0.0), C(nova) (32.2.1 to 33.0.2, C(api_db sync), C(db sync),
    C(online_data_migrations)) and C(cinder) (27.0.0 to 28.0.0) have been exercised against real code. C(neutron)
    follows its upstream source and is not yet tested against a real installation.
  - A schema cannot go back. After heat 26's C(db_sync), heat 25's C(db_sync) fails with "Can't locate
    revision", so take a backup first (M(openstack_ops.upgrade.db_backup)).
options:
  bin_dir:
    description:
      - Directory holding the management command (for example C(/usr/bin)). Mutually exclusive with I(venv).
    type: path
  command_prefix:
    description:
      - Words put before the command, for example C([podman, exec, heat_api]) or C([sudo, -u, heat]).
        The management command is then called by name, and the code's heads are read with C(python3).
    type: list
    elements: str
  config_file:
    description:
      - Configuration files passed as C(--config-file), in order.
    type: list
    elements: path
  extra_args:
    description:
      - Arguments appended to the (last) command of the phase, for example C([--local_cell]) for nova (for
        cinder's C(--bump-versions) set I(offline) instead).
    type: list
    elements: str
    default: []
  max_runs:
    description:
      - With I(online_batch_size), run the online data migrations at most this many times while they
        report that more rows remain.
    type: int
    default: 50
  offline:
    description:
      - Every process of the service is stopped on every node (a cold upgrade, or the service's turn in a
        service-by-service upgrade); add the arguments the service wants only then. cinder's C(sync) becomes
        C(cinder-manage db sync --bump-versions), which also gives the services' rows this code's RPC and object
        versions, so that the new services do not pin themselves to the old versions until a second restart.
        That sync runs even when the schema is already at the code's head (cinder 2025.2 -> 2026.1 has no
        schema change); C(changed) still reports the schema only. The other services have no such arguments.
      - Never set it while a process of the service still runs (a rolling upgrade).
    type: bool
    default: false
  online_batch_size:
    description:
      - Rows per run of the online data migrations (C(--max-count)/C(--max_count)). Without it one run
        migrates everything in batches of 50 by itself.
    type: int
  phase:
    description:
      - C(sync) migrates the schema fully (offline); C(expand), C(migrate), C(contract) are the rolling-upgrade
        steps of keystone, glance (and neutron, without C(migrate)); C(online_data_migrations) runs nova's,
        cinder's or placement's data migrations; C(check) only reports whether work is pending.
      - C(upgrade) is glance's legacy one-step C(glance-manage db upgrade), the command of glance before its
        expand/migrate/contract (glance 31 still has it), for runbooks that used it; prefer C(sync).
    type: str
    choices: [sync, expand, migrate, contract, upgrade, online_data_migrations, check]
    default: sync
  release:
    description:
      - The OpenStack release of the installed code (for example C(2026.1)), to pick release-specific
        behaviour (keystone before 2022.2 had other C(db_sync --check) exit codes).
    type: str
  timeout:
    description:
      - Seconds each command may take before it is stopped.
    type: int
    default: 3600
  venv:
    description:
      - Virtualenv of the service; its C(bin/) holds the management command. Mutually exclusive with I(bin_dir).
      - Without I(venv), I(bin_dir) and I(command_prefix) the command is looked up in PATH.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.service
attributes:
  check_mode:
    support: full
    details:
      - Runs only the read-only version and head commands and predicts C(changed) from C(pending). Online
        data migrations cannot be predicted (C(pending) is null).
  diff_mode:
    support: full
    details:
      - The database versions before and after.
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: full
    details:
      - A second run finds the schema at the code's head and runs no migration command.
  platform:
    platforms: posix
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Is a heat schema migration pending for the new release's code?
  openstack_ops.upgrade.db_sync:
    service: heat
    phase: check
    venv: /opt/openstack/heat-2026.1
    config_file: [/etc/heat/heat.conf]
  register: heat_schema

- name: Migrate heat's schema with the new code (old engines keep working on the additive schema)
  openstack_ops.upgrade.db_sync:
    service: heat
    venv: /opt/openstack/heat-2026.1
    config_file: [/etc/heat/heat.conf]
  when: heat_schema.pending

- name: Keystone rolling upgrade, first step
  openstack_ops.upgrade.db_sync:
    service: keystone
    phase: expand
    bin_dir: /usr/bin

- name: Nova online data migrations in batches of 1000
  openstack_ops.upgrade.db_sync:
    service: nova
    phase: online_data_migrations
    online_batch_size: 1000
    max_runs: 100
'''

RETURN = r'''
changed:
  description: Whether the version moved (online data migrations, glance C(migrate) - whether rows were migrated).
  returned: always
  type: bool
commands:
  description: The commands that were run, with rc, seconds and whether check mode skipped them.
  returned: always
  type: list
  elements: dict
  sample: [{cmd: [/opt/heat/bin/heat-manage, --config-file, /etc/heat/heat.conf, db_version], rc: 0,
            elapsed: 1.5, skipped: false}]
exercised:
  description: Whether this service's commands have been tested against real code (all but neutron).
  returned: always
  type: bool
heads:
  description: Head revisions of the installed code per database (null where the service's check command is used).
  returned: when known
  type: dict
  sample: {main: [97b2a986f922]}
offline_args:
  description: The offline-only arguments added to the phase (with O(offline); empty for most services).
  returned: for a schema phase
  type: list
  elements: str
  sample: [--bump-versions]
online:
  description: Result of online data migrations (rows per migration, rows migrated, runs, complete).
  returned: when phase is online_data_migrations
  type: dict
  sample: {rows: [{migration: populate_instance_compute_id, total: 4, completed: 4}], migrated: 4, runs: 1,
           complete: true}
pending:
  description:
    - Before the run, whether schema work was pending (null when it cannot be known, e.g. online migrations).
    - For I(phase=check), the answer.
  returned: always
  type: bool
pending_after:
  description: Whether schema work is still pending after the run (not in check mode).
  returned: when a phase ran
  type: bool
phase:
  description: The phase.
  returned: always
  type: str
service:
  description: The service.
  returned: always
  type: str
state:
  description:
    - The pending state in words, C(up_to_date), C(sync_needed (main)), C(expand_needed), C(contract_needed), ...
    - C(database_ahead (main)) when the database is at a revision the installed code does not know (migrated by a
      newer release); every phase but C(check) then fails before running anything.
  returned: always
  type: str
  sample: sync_needed (main)
stdout:
  description: Output of the last phase command (secrets masked).
  returned: when a phase ran
  type: str
version_after:
  description: Version of the main database after the run (in check mode, the same as before).
  returned: always
  type: str
  sample: 97b2a986f922
version_before:
  description: Version of the main database before the run (null for an empty database).
  returned: always
  type: str
  sample: c6214ca60943
versions_after:
  description: Versions of every database of the service after the run (nova has C(api) and C(main)).
  returned: always
  type: dict
  sample: {main: 97b2a986f922}
versions_before:
  description: Versions of every database of the service before the run.
  returned: always
  type: dict
  sample: {main: c6214ca60943}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.manage import (
    LOCATION_ARGUMENT_SPEC,
    LOCATION_MUTUALLY_EXCLUSIVE,
    ServiceCommands,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.services import (
    PHASES,
    offline_args,
    SERVICES,
    parse_glance_migrated,
    phase_commands,
)

# For services with a check command: which states each phase would act on.
_PHASE_ACTS_ON = {
    'sync': None,
    'expand': ('expand_needed',),
    'migrate': ('migrate_needed',),
    'contract': ('contract_needed',),
}


def _show(per_database):
    return ', '.join('%s %s' % (db, ' '.join(v) if isinstance(v, list) else v)
                     for db, v in sorted(per_database.items()))


def _would_change(phase, pending):
    acts_on = _PHASE_ACTS_ON.get(phase)
    if acts_on is None or pending['heads'] is not None:
        return pending['pending']
    return pending['state'] in acts_on


def _schema_phase(module, runner, commands, before, result):
    """Check, predict or run a schema phase; fills ``result``."""
    service, phase = result['service'], result['phase']
    main_db = SERVICES[service]['main_database']
    pending = commands.pending(before)
    result.update(pending=pending['pending'], state=pending['state'], heads=pending['heads'])
    if pending['ahead'] and phase != 'check':
        raise OpsError(
            'The %s database is at %s, a revision the installed %s code does not know (its heads: '
            '%s): the schema was migrated by a newer release. A schema cannot go back; run this '
            'with the newer release\'s code, or restore a backup taken before the migration.'
            % (service, _show(before), service, _show(pending['heads'])),
            versions_before=before, heads=pending['heads'])
    if phase == 'check':
        return
    offline_only = module.params['offline'] and offline_args(service, phase)
    result['offline_args'] = offline_args(service, phase) if module.params['offline'] else []
    if pending['state'] == 'up_to_date' and not offline_only:
        # Nothing to migrate: the state says so, the command need not run.
        result['pending_after'] = False
        return
    if module.check_mode:
        result['changed'] = _would_change(phase, pending)
        return
    ran = commands.run_phase(phase, module.params['extra_args'], offline=module.params['offline'])
    result['stdout'] = runner.mask(ran[-1].stdout)
    after = commands.versions()
    result.update(versions_after=after, version_after=after.get(main_db))
    # A sync run only for its offline arguments (cinder's version bump on a
    # schema already at head) reports the schema, which did not move.
    result['changed'] = after != before or (
        service == 'glance' and parse_glance_migrated(ran[-1].stdout) > 0)
    result['pending_after'] = commands.pending(after)['pending']


def main():
    argument_spec = dict(
        extra_args=dict(type='list', elements='str', default=[]),
        max_runs=dict(type='int', default=50),
        offline=dict(type='bool', default=False),
        online_batch_size=dict(type='int'),
        phase=dict(type='str', default='sync', choices=list(PHASES)),
        release=dict(type='str'),
        service=dict(type='str', required=True, choices=sorted(SERVICES)),
        timeout=dict(type='int', default=3600),
    )
    argument_spec.update(LOCATION_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec,
                           mutually_exclusive=LOCATION_MUTUALLY_EXCLUSIVE,
                           supports_check_mode=True)
    params = module.params
    runner = CommandRunner(module, timeout=params['timeout'])
    service, phase = params['service'], params['phase']
    result = dict(changed=False, commands=runner.commands, service=service, phase=phase,
                  exercised=SERVICES[service]['exercised'], pending=None, state=None)
    main_db = SERVICES[service]['main_database']
    try:
        commands = ServiceCommands(runner, service, venv=params['venv'], bin_dir=params['bin_dir'],
                                   command_prefix=params['command_prefix'],
                                   config_files=params['config_file'], release=params['release'])
        if phase not in ('check', 'online_data_migrations'):
            # Refuse an unknown phase before running anything.
            phase_commands(service, phase)

        before = commands.versions()
        result.update(versions_before=before, version_before=before.get(main_db),
                      versions_after=before, version_after=before.get(main_db))

        if phase == 'online_data_migrations':
            online = commands.online_data_migrations(params['online_batch_size'], params['max_runs'])
            result['online'] = online
            result['changed'] = online['migrated'] > 0 if online['complete'] is not None else False
            result['state'] = {True: 'complete', False: 'incomplete', None: 'unknown'}[online['complete']]
            if online['complete'] is False:
                module.warn('Online data migrations of %s are not complete after %d runs of %s rows; '
                            'run again or raise max_runs.' % (service, online['runs'],
                                                              params['online_batch_size']))
        else:
            _schema_phase(module, runner, commands, before, result)
        if module._diff:
            result['diff'] = dict(before=dict(versions=result['versions_before']),
                                  after=dict(versions=result['versions_after']))
    except OpsError as exc:
        fail_from(module, exc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
