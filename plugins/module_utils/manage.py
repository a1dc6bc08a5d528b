# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Runs a service's ``-manage`` and ``-status`` commands as services.py describes them.

Where the commands are: a virtualenv's ``bin/`` (``venv``), any directory
(``bin_dir``), a command prefix (``['podman', 'exec', 'heat_api']``,
``['sudo', '-u', 'heat']``), or PATH. Reading versions, heads and pending
state never changes the database, so it runs in check mode; phases and online
data migrations are mutating and are skipped there.
"""

from __future__ import annotations

import os

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.services import (
    ONLINE_RC,
    ServiceError,
    check_states,
    compare_revision,
    get_service,
    heads_argv,
    merge_online_runs,
    online_migrated_rows,
    parse_alembic_lines,
    parse_heads,
    parse_online_migrations,
    parse_shebang,
    parse_version,
    phase_commands,
)

LOCATION_ARGUMENT_SPEC = dict(
    bin_dir=dict(type='path'),
    command_prefix=dict(type='list', elements='str'),
    config_file=dict(type='list', elements='path'),
    venv=dict(type='path'),
)
LOCATION_MUTUALLY_EXCLUSIVE = [('venv', 'bin_dir')]


class ServiceCommands(object):
    """The management commands of one service on this host."""

    def __init__(self, runner, service, venv=None, bin_dir=None, command_prefix=None,
                 config_files=None, release=None, timeout=None):
        self.runner = runner
        self.service = service
        self.spec = get_service(service)
        self.bin_dir = os.path.join(venv, 'bin') if venv else bin_dir
        self.prefix = list(command_prefix or [])
        self.config_files = list(config_files or [])
        self.release = release
        self.timeout = timeout
        for path in self.config_files:
            if not self.prefix and not os.path.isfile(path):
                raise ServiceError('Configuration file %s does not exist.' % path)

    def config_args(self):
        args = []
        for path in self.config_files:
            args += ['--config-file', path]
        return args

    def executable(self, name):
        """How to call ``name``: inside the prefix as is, else from bin_dir, else by name
        (CommandRunner resolves it in PATH)."""
        if self.bin_dir and not self.prefix:
            return os.path.join(self.bin_dir, name)
        return name

    def argv(self, name, tail):
        return self.prefix + [self.executable(name)] + list(tail)

    def manage(self, tail, mutating=False, expected_rc=(0,), timeout=None, check_rc=True):
        return self.runner.run(self.argv(self.spec['manage'], self.config_args() + list(tail)),
                               mutating=mutating, expected_rc=expected_rc,
                               timeout=timeout or self.timeout, check_rc=check_rc)

    def python(self):
        """The service's interpreter: the #! of its manage command (its venv's python)."""
        if self.prefix:
            return 'python3'
        path = self.runner.resolve(self.executable(self.spec['manage']))
        try:
            with open(path, 'r', errors='replace') as handle:
                interpreter = parse_shebang(handle.read(512))
        except OSError:
            interpreter = None
        if not interpreter:
            raise ServiceError('Cannot tell which Python runs %s (no #! line); the code\'s head '
                               'revision cannot be read.' % path)
        return interpreter

    # -- state ------------------------------------------------------------

    def versions(self):
        """``{database: revision}`` as the service's version commands print them."""
        return {database: parse_version(self.service, self.manage(tail).stdout)
                for database, tail in sorted(self.spec['versions'].items())}

    def heads(self):
        """``{database: {'heads': [...], 'revisions': [...]}}`` of the installed code (alembic
        services), ``{'main': [heads]}`` for neutron, or None where the service's check decides."""
        if self.spec['check'] == 'heads':
            python = self.python()
            result = {}
            for database in sorted(self.spec['heads']):
                argv = self.prefix + heads_argv(python, self.service, database)
                result[database] = parse_heads(self.runner.run(argv, timeout=self.timeout or 120).stdout)
            return result
        if self.spec['check'] == 'neutron':
            return {'main': sorted(parse_alembic_lines(self.manage(self.spec['heads_argv']).stdout))}
        return None

    def pending(self, versions=None):
        """``{'pending': bool, 'state': str, 'heads': ...}``: is schema work left to do?"""
        strategy = self.spec['check']
        if strategy == 'rc':
            states = check_states(self.service, self.release)
            result = self.manage(self.spec['check_argv'], expected_rc=tuple(states))
            state = states[result.rc]
            return dict(pending=state != 'up_to_date', state=state, ahead=False, heads=None)
        versions = versions if versions is not None else self.versions()
        heads = self.heads()
        if strategy == 'neutron':
            current = set((versions.get('main') or '').split(',')) - {''}
            missing = sorted(set(heads['main']) - current)
            return dict(pending=bool(missing), state='upgrade_needed' if missing else 'up_to_date',
                        ahead=False, heads=heads)
        positions = {db: compare_revision(versions.get(db), heads[db]['heads'], heads[db]['revisions'])
                     for db in heads}
        ahead = sorted(db for db, where in positions.items() if where == 'ahead')
        behind = sorted(db for db, where in positions.items() if where == 'behind')
        if ahead:
            state = 'database_ahead (%s)' % ', '.join(ahead)
        elif behind:
            state = 'sync_needed (%s)' % ', '.join(behind)
        else:
            state = 'up_to_date'
        return dict(pending=bool(behind), state=state, ahead=bool(ahead),
                    heads={db: heads[db]['heads'] for db in heads})

    # -- actions ----------------------------------------------------------

    def run_phase(self, phase, extra_args=(), offline=False):
        """Run the commands of a schema phase; returns their CommandResults."""
        results = []
        for tail in phase_commands(self.service, phase, extra_args=extra_args, offline=offline):
            results.append(self.manage(tail, mutating=True))
        return results

    def online_data_migrations(self, batch_size=None, max_runs=50):
        """Run online data migrations until done (rc 0), at most ``max_runs`` times.

        Without ``batch_size`` the command loops by itself until complete.
        With it, each run migrates at most that many rows and exits 1 while
        more remain (nova/cinder/placement manage.py). Returns a dict with
        the merged table rows, the rows migrated, the runs and whether it
        completed (None in check mode).
        """
        online = self.spec.get('online')
        if not online:
            raise ServiceError('%s has no online data migrations.' % self.service)
        tail = list(online['argv'])
        if batch_size:
            tail += [online['batch_flag'], str(batch_size)]
        runs = []
        complete = None
        for _attempt in range(max(1, max_runs)):
            result = self.manage(tail, mutating=True, expected_rc=tuple(ONLINE_RC))
            if result.skipped:
                break
            runs.append(parse_online_migrations(result.stdout))
            outcome = ONLINE_RC[result.rc]
            if outcome == 'errors':
                raise OpsError('Online data migrations of %s reported failures (rc 2); see the service '
                               'log for the failing migration.' % self.service,
                               rows=merge_online_runs(runs), stdout=self.runner.mask(result.stdout))
            if outcome == 'invalid':
                raise OpsError('Online data migrations of %s refused the batch size %s (rc 127).'
                               % (self.service, batch_size))
            if outcome == 'complete':
                complete = True
                break
            complete = False
        rows = merge_online_runs(runs)
        return dict(rows=rows, migrated=online_migrated_rows(rows), runs=len(runs), complete=complete)

    def upgrade_check(self, use_json=None, timeout=None):
        """Run ``<service>-status upgrade check``; returns the CommandResult (rc 0/1/2/255 accepted)."""
        use_json = self.spec['status_json'] if use_json is None else use_json
        tail = self.config_args() + ['upgrade', 'check'] + (['--json'] if use_json else [])
        return self.runner.run(self.argv(self.spec['status'], tail), expected_rc=(0, 1, 2, 255),
                               timeout=timeout or self.timeout, check_rc=False)
