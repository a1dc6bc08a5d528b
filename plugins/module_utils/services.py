# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What each OpenStack service's management commands are, per release.

Playbooks name a service and a phase (sync, expand, migrate, contract,
online_data_migrations, check); this file knows the argv, the exit codes and
the output formats behind them, and holds the pure ``parse_*`` functions for
those outputs.

Every fact below was read from the upstream source (mirrors of
github.com/openstack/<service>, default branch of 2026-07/08) and is cited
next to it. **heat** (25.0.2, 26.0.2, 27.0.1; outputs captured under
tests/unit/fixtures/db_sync/) and **keystone** (28.1.0 -> 29.1.0 -> 30.0.0:
db_sync, --expand/--migrate/--contract, --check read as states, db_version,
in the lab's service_by_service and cold_upgrade scenarios) have been
exercised against real code, and so have **glance** 31.1.0 -> 32.0.0 (db
expand/migrate/contract, db check read as states, db version),
**placement** 14.0.0 -> 15.0.0, **nova** 32.2.1 -> 33.0.2 (api_db sync + db
sync, online_data_migrations, nova-status without --json) and **cinder**
27.0.0 -> 28.0.0 (db sync, online_data_migrations, cinder-status --json) in
the lab's service_by_service and cold_upgrade scenarios. The neutron entry
is marked ``exercised: False``: it is what the source says, not yet tested
against a real installation.
"""

from __future__ import annotations

import json
import re

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError

PHASES = ('sync', 'expand', 'migrate', 'contract', 'upgrade', 'online_data_migrations', 'check')


class ServiceError(OpsError):
    """A service/phase combination that does not exist, or output that cannot be read."""


# Each service:
#   manage            the management command
#   status            the <service>-status command (oslo.upgradecheck)
#   status_json       whether `upgrade check --json` really prints JSON
#   phases            phase -> list of argv tails (run in order, after the
#                     --config-file options)
#   versions          database -> argv tail that prints its current revision
#   main_database     the database whose revision is `version_before/after`
#   version_format    'single' (one revision or None), 'lines' (one head a
#                     line), 'alembic' (alembic `current` lines)
#   heads             database -> (python package, directory) of the alembic
#                     script directory, to read the code's head revisions
#                     without touching the database
#   check             how `phase: check` decides whether work is pending
#                     ('heads': compare versions with heads; 'rc': a command
#                     whose exit code is a state; 'neutron': current vs heads)
#   online            argv tail and batch flag of online data migrations
#   offline_args      phase -> arguments added when every process of the
#                     service is stopped (db_sync's ``offline`` option)
#   exercised         whether these commands were run against real code
SERVICES = {
    # heat/cmd/manage.py: `db_sync [version]` and `db_version` (prints
    # heat.db.migration.db_version(), i.e. alembic's current revision, or
    # "None" for an empty database). heat/db/alembic.ini:
    # script_location = %(here)s/migrations -> heat/db/migrations.
    # heat/cmd/status.py: upgradecheck.main(), so --json works.
    'heat': dict(
        version_format='single',
        manage='heat-manage',
        status='heat-status',
        status_json=True,
        phases={'sync': [['db_sync']]},
        versions={'main': ['db_version']},
        main_database='main',
        heads={'main': ('heat.db', 'migrations')},
        check='heads',
        online=None,
        exercised=True,
    ),
    # keystone/cmd/cli.py DbSync: `db_sync [--expand|--migrate|--contract|
    # --check]`; DbVersion prints upgrades.get_db_version() (expand branch).
    # keystone/common/sql/upgrades.py: migrate_data() is a no-op since the
    # alembic switch (commit f174b4fa7, keystone 22.0.0 = 2022.2).
    'keystone': dict(
        version_format='single',
        manage='keystone-manage',
        status='keystone-status',
        status_json=True,
        phases={
            'sync': [['db_sync']],
            'expand': [['db_sync', '--expand']],
            'migrate': [['db_sync', '--migrate']],
            'contract': [['db_sync', '--contract']],
        },
        versions={'main': ['db_version']},
        main_database='main',
        heads=None,
        check='rc',
        check_argv=['db_sync', '--check'],
        online=None,
        exercised=True,
    ),
    # glance/cmd/manage.py DbCommands: `db sync|expand|migrate|contract|
    # check|version`; `db version` prints every current alembic head, one a
    # line (revision ids are names such as 2024_1_contract01, not hex).
    'glance': dict(
        version_format='lines',
        manage='glance-manage',
        status='glance-status',
        status_json=True,
        phases={
            'sync': [['db', 'sync']],
            'expand': [['db', 'expand']],
            'migrate': [['db', 'migrate']],
            'contract': [['db', 'contract']],
            # The legacy one-step command of glance before expand/migrate/
            # contract (DbCommands.upgrade -> _sync: alembic to the heads
            # without sync's offline switch), which 31.1.0 still has, beside
            # the legacy top-level aliases db_upgrade, db_sync, ...; for
            # tooling that used it: `sync` is the offline command.
            'upgrade': [['db', 'upgrade']],
        },
        versions={'main': ['db', 'version']},
        main_database='main',
        heads=None,
        check='rc',
        check_argv=['db', 'check'],
        online=None,
        exercised=True,
    ),
    # cinder/cmd/manage.py DbCommands: `db sync [version] [--bump-versions]`
    # (--bump-versions since 13.0.0/Rocky: also sets every service's RPC and
    # object versions to this code's, for offline upgrades only: pass it
    # through the module's extra_args), `db version` (alembic revision),
    # `db online_data_migrations [--max_count N]` (underscore; tabulate
    # "psql" table; exit 0 done, 1 more to do (only with --max_count), 2
    # errors, 127 bad input). cinder/db/alembic.ini -> cinder/db/migrations.
    'cinder': dict(
        version_format='single',
        manage='cinder-manage',
        status='cinder-status',
        status_json=True,
        phases={'sync': [['db', 'sync']]},
        # Only when every cinder service is stopped (a cold upgrade, or a
        # service-by-service turn): the services' rows get this code's RPC
        # and object versions, so the new services do not pin themselves to
        # the old ones until a second restart (exit 2 if that step fails).
        offline_args={'sync': ['--bump-versions']},
        versions={'main': ['db', 'version']},
        main_database='main',
        heads={'main': ('cinder.db', 'migrations')},
        check='heads',
        online=dict(argv=['db', 'online_data_migrations'], batch_flag='--max_count'),
        exercised=True,
    ),
    # nova/cmd/manage.py: `api_db sync`, `db sync [--local_cell]` (without
    # --local_cell it syncs cell0 and then the [database] cell of the config:
    # "Multiple cells not yet implemented. Currently fanout only looks for
    # cell0" -- other cells need a run with their own config), `api_db
    # version`, `db version` (alembic revisions), `db online_data_migrations
    # [--max-count N]` (hyphen; prettytable; exit 0/1/2/127 as cinder).
    # nova/db/{main,api}/alembic.ini -> nova/db/{main,api}/migrations.
    # nova/cmd/status.py parses its own categories: no --json.
    'nova': dict(
        version_format='single',
        manage='nova-manage',
        status='nova-status',
        status_json=False,
        phases={'sync': [['api_db', 'sync'], ['db', 'sync']]},
        versions={'api': ['api_db', 'version'], 'main': ['db', 'version']},
        main_database='main',
        heads={'api': ('nova.db.api', 'migrations'), 'main': ('nova.db.main', 'migrations')},
        check='heads',
        online=dict(argv=['db', 'online_data_migrations'], batch_flag='--max-count'),
        exercised=True,
    ),
    # placement/cmd/manage.py: `db sync`, `db version`, `db stamp`,
    # `db online_data_migrations [--max-count N]` (prettytable with a
    # "Total Found" column; exit 0/1/2/127). placement/db/sqlalchemy/
    # alembic.ini -> placement/db/sqlalchemy/alembic. placement/cmd/status.py
    # registers --json but runs upgradecheck.run() without upgradecheck.main(),
    # so upgradecheck.CONF stays None and the table is printed anyway.
    'placement': dict(
        version_format='single',
        manage='placement-manage',
        status='placement-status',
        status_json=False,
        phases={'sync': [['db', 'sync']]},
        versions={'main': ['db', 'version']},
        main_database='main',
        heads={'main': ('placement.db.sqlalchemy', 'alembic')},
        check='heads',
        online=dict(argv=['db', 'online_data_migrations'], batch_flag='--max-count'),
        exercised=True,
    ),
    # neutron/db/migration/cli.py: `upgrade heads`, `upgrade --expand`,
    # `upgrade --contract`, `current` and `heads` (alembic's own commands,
    # one "<rev> (head)" line per branch and sub-project), and
    # `has_offline_migrations` (exit 1 when contract migrations are pending).
    'neutron': dict(
        version_format='alembic',
        manage='neutron-db-manage',
        status='neutron-status',
        status_json=True,
        phases={
            'sync': [['upgrade', 'heads']],
            'expand': [['upgrade', '--expand']],
            'contract': [['upgrade', '--contract']],
        },
        versions={'main': ['current']},
        main_database='main',
        heads=None,
        check='neutron',
        heads_argv=['heads'],
        online=None,
        exercised=False,
    ),
}

# keystone/cmd/cli.py DbSync.check_db_sync_status(). Since the alembic switch
# (keystone 22.0.0, 2022.2): 0 up to date, 2 expand needed, 4 contract needed
# (there is no migrate step any more). Before it (sqlalchemy-migrate): 1 out
# of sync, 2 expand, 3 migrate, 4 contract needed.
_KEYSTONE_CHECK = {0: 'up_to_date', 2: 'expand_needed', 4: 'contract_needed'}
_KEYSTONE_CHECK_LEGACY = {0: 'up_to_date', 1: 'out_of_sync', 2: 'expand_needed',
                          3: 'migrate_needed', 4: 'contract_needed'}
# glance/cmd/manage.py DbCommands.check(): 0 up to date, 3 expand, 4 migrate,
# 5 contract needed.
_GLANCE_CHECK = {0: 'up_to_date', 3: 'expand_needed', 4: 'migrate_needed', 5: 'contract_needed'}

# nova/cinder/placement online_data_migrations: 0 nothing (more) to do,
# 1 some rows migrated and more may remain (only with a batch size),
# 2 some migrations failed, 127 invalid input.
ONLINE_RC = {0: 'complete', 1: 'more', 2: 'errors', 127: 'invalid'}


def _release_key(release):
    match = re.match(r'^(20\d\d)\.([12])$', str(release or '').strip())
    if not match:
        return None
    return int(match.group(1)) * 2 + int(match.group(2)) - 1


def get_service(name):
    """The spec of service ``name``; raises ServiceError for an unknown one."""
    if name not in SERVICES:
        raise ServiceError('Unknown service %r; known services: %s.'
                           % (name, ', '.join(sorted(SERVICES))))
    return SERVICES[name]


def offline_args(service, phase):
    """The arguments ``phase`` of ``service`` takes only when no process of the service runs."""
    return list(get_service(service).get('offline_args', {}).get(phase, []))


def phase_commands(service, phase, config_args=(), extra_args=(), offline=False):
    """argv tails (without the manage command) to run ``phase`` of ``service``.

    ``config_args`` (--config-file ...) go before the subcommand, as
    oslo.config's SubCommandOpt wants; ``extra_args`` after the last command,
    preceded, when ``offline`` (no process of the service runs), by the
    service's offline-only arguments (cinder: ``--bump-versions``).
    """
    spec = get_service(service)
    if phase not in spec['phases']:
        raise ServiceError(
            '%s has no "%s" phase; its phases are: %s.'
            % (service, phase, ', '.join(sorted(spec['phases']) + (
                ['online_data_migrations'] if spec.get('online') else []) + ['check'])))
    commands = [list(config_args) + list(tail) for tail in spec['phases'][phase]]
    if offline:
        extra_args = [arg for arg in offline_args(service, phase) if arg not in extra_args] + list(extra_args)
    if extra_args:
        commands[-1] = commands[-1] + list(extra_args)
    return commands


def check_states(service, release=None):
    """rc -> state map of the service's own pending-work check command."""
    if service == 'keystone':
        key = _release_key(release)
        if key is not None and key < _release_key('2022.2'):
            return dict(_KEYSTONE_CHECK_LEGACY)
        return dict(_KEYSTONE_CHECK)
    if service == 'glance':
        return dict(_GLANCE_CHECK)
    raise ServiceError('%s has no database check command.' % service)


# oslo.log's default format: "2026-11-22 13:53:17.021 13965 INFO module [-] text"
_LOG_LINE = re.compile(r'^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)? +\d+ +[A-Z]+ ')
_REVISION = re.compile(r'^[A-Za-z0-9_]+$')
# alembic `current` / `heads` lines: "97b2a986f922 (head)", "abc (expand) (head)"
_ALEMBIC_LINE = re.compile(r'^(?P<rev>[A-Za-z0-9_]+)(?P<labels>(?: \([^)]*\))*)\s*$')


def _payload_lines(text):
    """Lines of a command's output that are neither log lines nor blank."""
    return [line.strip() for line in (text or '').splitlines()
            if line.strip() and not _LOG_LINE.match(line)]


def version_kind(revision):
    """'none' for no revision, 'legacy' for a sqlalchemy-migrate number, else 'alembic'."""
    if revision is None:
        return 'none'
    if str(revision).isdigit():
        return 'legacy'
    return 'alembic'


def parse_db_version(stdout):
    """Revision printed by ``<service>-manage db version`` (or heat's ``db_version``).

    Log lines (oslo.log writes to stdout when no log file is set) are skipped;
    the last remaining line is the revision. ``None`` (an empty database, what
    heat prints then) gives None. A sqlalchemy-migrate number stays a string.
    Raises ServiceError when no revision can be found.
    """
    lines = _payload_lines(stdout)
    if not lines:
        raise ServiceError('The version command printed no revision.', stdout=stdout)
    last = lines[-1]
    if last == 'None':
        return None
    if not _REVISION.match(last):
        raise ServiceError('Cannot read a database revision from %r.' % last, stdout=stdout)
    return last


def parse_db_heads(stdout):
    """Revisions printed one a line (glance ``db version`` prints every head)."""
    revisions = []
    for line in _payload_lines(stdout):
        if line == 'None':
            continue
        if _REVISION.match(line):
            revisions.append(line)
    return revisions


def parse_alembic_lines(stdout):
    """Revisions of alembic ``current``/``heads`` output ("<rev> (head)" lines).

    neutron-db-manage wraps them in "Running current for neutron ..." and
    "OK" lines, which are skipped.
    """
    revisions = []
    for line in _payload_lines(stdout):
        if line in ('OK',) or line.startswith('Running ') or line.startswith('INFO '):
            continue
        match = _ALEMBIC_LINE.match(line)
        if match and match.group('rev') != 'None':
            revisions.append(match.group('rev'))
    return revisions


# Run with the service's own Python: prints the head revisions and every
# known revision of an alembic script directory as JSON. Reads the migration
# scripts only, never the database, so it is safe in check mode.
# find_spec() imports the parent package only (e.g. "heat"), not the
# database layer.
HEADS_SCRIPT = (
    'import importlib.util, json, os, sys\n'
    'from alembic.script import ScriptDirectory\n'
    'spec = importlib.util.find_spec(sys.argv[1])\n'
    'path = os.path.join(list(spec.submodule_search_locations)[0], sys.argv[2])\n'
    'script = ScriptDirectory(path)\n'
    'print(json.dumps({"heads": sorted(script.get_heads()),\n'
    '                  "revisions": sorted(r.revision for r in script.walk_revisions())}))\n'
)


def heads_argv(python, service, database):
    """argv that prints the code's alembic heads of ``database`` of ``service``."""
    spec = get_service(service)
    package, directory = spec['heads'][database]
    return [python, '-c', HEADS_SCRIPT, package, directory]


def parse_heads(stdout):
    """``{'heads': [...], 'revisions': [...]}`` printed by HEADS_SCRIPT (its last JSON line)."""
    for line in reversed(_payload_lines(stdout)):
        if not line.startswith('{'):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            break
        if isinstance(data, dict) and isinstance(data.get('heads'), list):
            return {'heads': [str(h) for h in data['heads']],
                    'revisions': [str(r) for r in data.get('revisions') or []]}
    raise ServiceError('Cannot read the alembic heads from the output.', stdout=stdout)


def parse_shebang(text):
    """Interpreter path of a script's ``#!`` line (first word), or None."""
    first = (text or '').split('\n', 1)[0]
    if not first.startswith('#!'):
        return None
    parts = first[2:].strip().split()
    if not parts:
        return None
    if parts[0].endswith('/env') and len(parts) > 1:
        return parts[1]
    return parts[0]


def compare_revision(current, heads, revisions=None):
    """Where the database stands against the installed code.

    ``up_to_date`` (at a head), ``behind`` (empty, or at an older revision the
    code knows: a sync is pending), ``ahead`` (a revision the code does not
    know: the schema was migrated by newer code, which an older release
    cannot sync from -- "Can't locate revision").
    """
    if current is None:
        return 'behind'
    if current in heads:
        return 'up_to_date'
    if revisions is not None and current not in revisions:
        return 'ahead'
    return 'behind'


def is_pending(current, heads, revisions=None):
    """True if a sync of the installed code would move the database."""
    return compare_revision(current, heads, revisions) == 'behind'


# nova (prettytable):           | name | 0 | 0 |  between +----+ lines
# placement (prettytable):      same, header "Total Found"
# cinder (tabulate "psql"):     | name |   5 |   5 |  with |---+---| under the header
_TABLE_ROW = re.compile(r'^\|(?P<cells>.*)\|\s*$')


def parse_online_migrations(stdout):
    """Rows of the online_data_migrations summary table.

    Returns a list of ``{'migration', 'total', 'completed'}`` dicts (ints).
    The header row (its second cell is not a number) is skipped. Works for
    the prettytable of nova and placement and the tabulate "psql" table of
    cinder.
    """
    rows = []
    for line in (stdout or '').splitlines():
        match = _TABLE_ROW.match(line.strip())
        if not match:
            continue
        cells = [c.strip() for c in match.group('cells').split('|')]
        if len(cells) != 3 or not cells[1].lstrip('-').isdigit() or not cells[2].lstrip('-').isdigit():
            continue
        rows.append({'migration': cells[0], 'total': int(cells[1]), 'completed': int(cells[2])})
    return rows


def online_migrated_rows(rows):
    """How many rows the runs migrated in total."""
    return sum(row['completed'] for row in rows)


def merge_online_runs(runs):
    """Sum the per-migration rows of several runs (one per batch)."""
    merged = {}
    for rows in runs:
        for row in rows:
            entry = merged.setdefault(row['migration'], {'migration': row['migration'],
                                                         'total': 0, 'completed': 0})
            entry['total'] = max(entry['total'], row['total'])
            entry['completed'] += row['completed']
    return [merged[name] for name in sorted(merged)]


def parse_version(service, stdout):
    """The database version printed by ``service``'s version command.

    One revision (or None) for most services; for services that print
    several heads (glance, neutron) the sorted heads joined by a comma.
    """
    fmt = get_service(service)['version_format']
    if fmt == 'single':
        return parse_db_version(stdout)
    revisions = parse_db_heads(stdout) if fmt == 'lines' else parse_alembic_lines(stdout)
    return ','.join(sorted(revisions)) or None


_GLANCE_MIGRATED = re.compile(r'^Migrated (\d+) rows', re.MULTILINE)


def parse_glance_migrated(stdout):
    """Rows moved by ``glance-manage db migrate`` ("Migrated N rows"), 0 if none."""
    return sum(int(n) for n in _GLANCE_MIGRATED.findall(stdout or ''))


# oslo_upgradecheck/upgradecheck.py: Code SUCCESS 0, WARNING 1, FAILURE 2;
# run() returns 255 when a check raised. The exit code is the worst result.
UPGRADE_CHECK_CODES = {0: 'success', 1: 'warning', 2: 'failure'}
_UPGRADE_CHECK_NAMES = {'Success': 0, 'Warning': 1, 'Failure': 2}


def parse_upgrade_check_json(stdout):
    """Checks of ``<service>-status upgrade check --json``.

    oslo.upgradecheck prints one JSON object ``{"name": ..., "checks":
    [{"check", "result" (0/1/2), "details"}]}``. Returns the list of checks
    with ``status`` (success/warning/failure) added; raises ServiceError if
    no such object is found.
    """
    for line in reversed(_payload_lines(stdout)):
        if not line.startswith('{'):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get('checks'), list):
            return [dict(check=c.get('check'), result=int(c.get('result')),
                         status=UPGRADE_CHECK_CODES.get(int(c.get('result')), 'unknown'),
                         details=c.get('details')) for c in data['checks']]
    raise ServiceError('No JSON upgrade check result in the output.', stdout=stdout)


def parse_upgrade_check_table(stdout):
    """Checks of the prettytable that ``upgrade check`` prints without ``--json``.

    Each cell reads "Check: <name>", "Result: Success|Warning|Failure",
    "Details: <text>" with the details wrapped at 60 characters
    (continuation lines indented by two spaces). Wrapped details are joined
    with spaces, so they may differ from the JSON text where a word was cut.
    """
    checks = []
    current = None
    for raw in (stdout or '').splitlines():
        line = raw.strip()
        if line.startswith('+') and line.endswith('+'):
            current = None
            continue
        match = _TABLE_ROW.match(line)
        if not match:
            continue
        text = match.group('cells')
        content = text.strip()
        if content.startswith('Check: '):
            current = dict(check=content[len('Check: '):], result=None, status=None, details=None)
            checks.append(current)
        elif current is None:
            continue
        elif content.startswith('Result: '):
            word = content[len('Result: '):]
            current['result'] = _UPGRADE_CHECK_NAMES.get(word)
            current['status'] = word.lower()
        elif content.startswith('Details: '):
            details = content[len('Details: '):]
            current['details'] = None if details == 'None' else details
        elif content and current.get('details') is not None:
            current['details'] += ' ' + content
    if not checks:
        raise ServiceError('No upgrade check result in the output.', stdout=stdout)
    return checks


def parse_upgrade_check(stdout):
    """JSON if the output has it, else the table (nova, placement print only the table)."""
    try:
        return parse_upgrade_check_json(stdout)
    except ServiceError:
        return parse_upgrade_check_table(stdout)
