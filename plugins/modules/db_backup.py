#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
module: db_backup
short_description: Dump, verify and restore a MariaDB/MySQL database before an upgrade
version_added: 0.1.0
description:
  - Dumps one database with C(mariadb-dump) (or C(mysqldump)) using C(--single-transaction --routines
    --triggers --events --hex-blob), and writes beside the dump a C(sha256sum) checksum file and a JSON
    manifest (database, time, size, checksum, tables with their row counts, server version).
  - The row counts are counted from the INSERT statements of the dump itself, so they describe what the
    backup holds even if the live database kept changing while it was dumped.
  - I(state=verified) proves a backup is restorable, not just present. It checks the checksum,
    restores the dump into a scratch database C(<name>_verify_<pid>), compares its tables and row
    counts with the manifest and drops it. With I(max_age) it also proves the backup is fresh.
  - I(state=restored) replaces the database with the dump, after checking the checksum. The database
    is dropped and created again, so tables that the dump does not have (for example tables added by
    a schema migration) are gone afterwards. This is how a failed schema upgrade is undone.
  - The password is never put on a command line; it goes into a private option file that is removed
    afterwards.
options:
  compress:
    description:
      - Compress the dump with gzip (C(.sql.gz)). The checksum is of the compressed file.
    type: bool
    default: false
  config_file:
    description:
      - A service configuration file (for example C(/etc/heat/heat.conf)) whose C([database] connection)
        gives the connection. Mutually exclusive with I(database_url).
    type: path
  database_url:
    description:
      - SQLAlchemy URL of the database, for example C(mysql+pymysql://heat:secret@127.0.0.1/heat).
        Mutually exclusive with I(config_file).
    type: str
  dest:
    description:
      - Directory of the backups. A dump is named C(<name>-<UTC time>.sql[.gz]). For I(state=verified)
        and I(state=restored) the newest backup of I(name) there is used.
      - Created (mode 0700) if missing. It must be writable before anything is dumped.
      - One of I(dest) and I(path) is required.
    type: path
  force:
    description:
      - With I(state=dumped) and an explicit I(path) that already holds a backup whose checksum
        matches, dump again anyway. Without it such a backup is kept and nothing changes.
    type: bool
    default: false
  max_age:
    description:
      - With I(state=verified), fail if the backup is older than this. Seconds, or a number with a unit
        C(s), C(m), C(h), C(d) or C(w) (C(6h)).
      - The age is taken from the manifest, or the time in the file name.
    type: str
  name:
    description:
      - The database. Defaults to the database of I(database_url) or I(config_file).
    type: str
  path:
    description:
      - The backup file itself, instead of a generated name in I(dest). A name ending in C(.gz) is
        a compressed dump.
    type: path
  state:
    description:
      - C(dumped) makes a new backup; C(verified) checks the newest (or the given) backup and proves it
        restorable; C(restored) replaces the database with it.
    type: str
    choices: [dumped, restored, verified]
    default: dumped
  timeout:
    description:
      - Seconds each dump or restore command may take before it is stopped.
    type: int
    default: 3600
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - openstack_ops.upgrade.database
attributes:
  check_mode:
    support: full
    details:
      - Dumps nothing, restores nothing and creates no scratch database. It checks the connection, that
        the database exists and that I(dest) is writable; for C(verified) it checks checksum and age only.
  diff_mode:
    support: full
    details:
      - With I(state=restored), the tables and row counts before and after (or as the backup holds them).
  idempotent:
    description: Whether a second run with the same options changes nothing.
    support: partial
    details:
      - C(dumped) with I(dest) makes a new backup on every run (changed). With an explicit I(path) that
        already holds a valid backup it changes nothing unless I(force=true).
      - C(verified) never changes anything (the scratch database is dropped again).
      - C(restored) always restores; it reports changed only if tables, row counts or table checksums
        differ from before.
  platform:
    platforms: posix
author:
  - openstack_ops.upgrade contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Back up the heat database before the schema migration
  openstack_ops.upgrade.db_backup:
    name: heat
    dest: /var/backups/openstack
    compress: true
    login_unix_socket: /run/mysqld/mysqld.sock
  register: heat_backup

- name: Back up with the credentials of the service's own configuration
  openstack_ops.upgrade.db_backup:
    config_file: /etc/heat/heat.conf
    dest: /var/backups/openstack

- name: Refuse to upgrade without a restorable backup of less than 6 hours
  openstack_ops.upgrade.db_backup:
    state: verified
    name: heat
    dest: /var/backups/openstack
    max_age: 6h

- name: Undo a failed schema migration (services stopped)
  openstack_ops.upgrade.db_backup:
    state: restored
    name: heat
    path: "{{ heat_backup.path }}"
'''

RETURN = r'''
age:
  description: Age of the backup in seconds (C(verified), C(restored)).
  returned: when state is verified or restored
  type: float
  sample: 812.0
changed:
  description: Whether a backup was written (C(dumped)) or the database content changed (C(restored)).
  returned: always
  type: bool
checksum:
  description: SHA-256 of the backup file.
  returned: success
  type: str
  sample: 5f0c2b0e0d6f4c8a9c3f1e2d7b6a5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b
commands:
  description: The commands that were run (passwords never appear), with rc, seconds, and whether check mode skipped them.
  returned: always
  type: list
  elements: dict
  sample: [{cmd: [/usr/bin/mariadb-dump, --defaults-extra-file=/tmp/osl-mysql-x/client.cnf, --single-transaction,
            --routines, --triggers, --events, --hex-blob, --result-file=/var/backups/heat.sql.partial, heat],
            rc: 0, elapsed: 0.41, skipped: false}]
database:
  description: The database.
  returned: always
  type: str
  sample: heat
elapsed:
  description: Seconds the whole task took.
  returned: always
  type: float
  sample: 1.52
manifest:
  description: The manifest of the backup (what C(<path>.json) holds).
  returned: success
  type: dict
  sample: {database: heat, created: '2026-11-22T13:57:04+00:00', file: heat-20261122T135704Z.sql.gz,
           size: 10250, sha256: 5f0c..., compressed: true, server_version: 10.11.19-MariaDB-0+deb12u1,
           tables: {alembic_version: 1, stack: 3}}
path:
  description:
    - The backup file (the one that would be written, in check mode).
    - As for any module returning C(path), Ansible adds the file's C(owner), C(group), C(mode), C(uid), C(gid)
      and C(state) (C(file)) to the result when it exists.
  returned: always
  type: str
  sample: /var/backups/openstack/heat-20261122T135704Z.sql.gz
size:
  description: Size of the backup file in bytes.
  returned: success
  type: int
  sample: 10250
tables:
  description: Tables of the backup with their row counts.
  returned: success
  type: dict
  sample: {alembic_version: 1, stack: 3}
verification:
  description: What C(verified) checked. C(restore_tested) is false in check mode.
  returned: when state is verified
  type: dict
  sample: {checksum_ok: true, restore_tested: true, scratch_database: heat_verify_4242, problems: []}
'''

import datetime
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.backup import (
    BackupError,
    backup_filename,
    checksum_line,
    compare_contents,
    dump_contents,
    find_backups,
    finish_dump,
    open_dump,
    parse_age,
    parse_backup_filename,
    probe_writable,
    read_manifest,
    utcnow,
    verify_checksum,
    write_text_atomic,
)
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError, fail_from
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import (
    CONNECTION_ARGUMENT_SPEC,
    CONNECTION_MUTUALLY_EXCLUSIVE,
    MySQLClient,
    quote_identifier,
    resolve_connection,
)


def _locate(name, dest, path):
    """The backup to verify or restore: the given path or the newest in dest."""
    if path:
        return path
    backups = find_backups(dest, name)
    if not backups:
        raise BackupError('No backup of %s in %s.' % (name, dest))
    return backups[0]


def _backup_time(path, manifest):
    if manifest and manifest.get('created'):
        return datetime.datetime.fromisoformat(manifest['created'])
    info = parse_backup_filename(path)
    if info:
        return info['time']
    return datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)


def _expected_tables(path, manifest):
    if manifest and isinstance(manifest.get('tables'), dict):
        return manifest['tables']
    return dump_contents(path)['rows']


def _sql_file(client, path):
    """A path the client's `source` can read: the dump, or a decompressed copy in the private dir."""
    if not path.endswith('.gz') and ' ' not in path and ';' not in path:
        return path
    target = os.path.join(client.tmpdir, 'restore.sql')
    with open_dump(path) as src, open(target, 'wb') as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    return target


def _restore_into(client, database, path, timeout):
    client.execute('CREATE DATABASE %s' % quote_identifier(database))
    client.source(database, _sql_file(client, path), timeout=timeout)


def do_dump(module, client, database, result):
    params = module.params
    now = utcnow()
    if params['path']:
        path = params['path']
        directory = os.path.dirname(path) or '.'
        if params['compress'] and not path.endswith('.gz'):
            raise BackupError('compress=true needs a path ending in .gz (got %s).' % path)
    else:
        directory = params['dest']
        path = os.path.join(directory, backup_filename(database, now, params['compress']))
    result['path'] = path

    if not os.path.isdir(directory):
        if module.check_mode:
            raise BackupError('Backup directory %s does not exist (it would be created, but its '
                              'writability cannot be proven in check mode).' % directory)
        try:
            os.makedirs(directory, 0o700)
        except OSError as exc:
            raise BackupError('Cannot create backup directory %s: %s; nothing was dumped.'
                              % (directory, exc.strerror))
    if module.check_mode:
        if not os.access(directory, os.W_OK | os.X_OK):
            raise BackupError('Backup directory %s is not writable; nothing would be dumped.' % directory)
    else:
        probe_writable(directory)

    if not client.database_exists(database):
        raise BackupError('Database %s does not exist on the server.' % database)
    server_version = client.server_version()
    estimate = client.database_size(database)
    free = shutil.disk_usage(directory).free
    if estimate > free:
        module.warn('Database %s holds about %d bytes of data and indexes; %s has %d bytes free.'
                    % (database, estimate, directory, free))

    if params['path'] and os.path.exists(path) and not params['force']:
        try:
            digest, size = verify_checksum(path)
        except BackupError:
            digest = None
        if digest:
            manifest = read_manifest(path) or {}
            result.update(changed=False, checksum=digest, size=size, manifest=manifest,
                          tables=manifest.get('tables', {}))
            return

    result['changed'] = True
    if module.check_mode:
        return

    partial = '%s.partial-%d' % (path[:-3] if path.endswith('.gz') else path, os.getpid())
    # The dump holds every row (password hashes, credentials): 0600 from the start.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        client.dump(database, partial, timeout=params['timeout'])
        digest, size, contents = finish_dump(partial, path, path.endswith('.gz'), now)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    os.chmod(path, 0o600)
    manifest = dict(
        database=database,
        created=now.isoformat(),
        file=os.path.basename(path),
        size=size,
        sha256=digest,
        compressed=path.endswith('.gz'),
        server_version=server_version,
        tables=contents['rows'],
        table_count=len(contents['tables']),
        row_count=sum(contents['rows'].values()),
    )
    write_text_atomic(path + '.sha256', checksum_line(digest, path))
    write_text_atomic(path + '.json', json.dumps(manifest, indent=2, sort_keys=True) + '\n')
    result.update(checksum=digest, size=size, manifest=manifest, tables=contents['rows'])


def _check_backup(module, database, result):
    params = module.params
    path = _locate(database, params['dest'], params['path'])
    result['path'] = path
    digest, size = verify_checksum(path)
    manifest = read_manifest(path) or {}
    if manifest.get('sha256') and manifest['sha256'] != digest:
        raise BackupError('Backup %s matches its .sha256 file but not its manifest (%s); the '
                          'files do not belong together.' % (path, manifest['sha256']), path=path)
    expected = _expected_tables(path, manifest)
    age = (utcnow() - _backup_time(path, manifest)).total_seconds()
    result.update(checksum=digest, size=size, manifest=manifest, tables=expected, age=round(age, 1))
    return path, expected, age


def do_verify(module, client, database, result):
    params = module.params
    path, expected, age = _check_backup(module, database, result)
    verification = dict(checksum_ok=True, restore_tested=False, scratch_database=None, problems=[])
    result['verification'] = verification
    if params['max_age'] is not None:
        limit = parse_age(params['max_age'])
        if age > limit:
            raise BackupError('The newest backup of %s (%s) is %d seconds old, more than max_age %s; '
                              'make a new one first.' % (database, path, age, params['max_age']),
                              path=path, age=round(age, 1))
    if module.check_mode:
        return
    scratch = '%s_verify_%d' % (database, os.getpid())
    verification['scratch_database'] = scratch
    if client.database_exists(scratch):
        raise BackupError('Scratch database %s already exists; drop it or retry.' % scratch)
    try:
        _restore_into(client, scratch, path, params['timeout'])
        found = client.table_counts(scratch)
    finally:
        client.execute('DROP DATABASE IF EXISTS %s' % quote_identifier(scratch))
    verification['restore_tested'] = True
    verification['problems'] = compare_contents(expected, found)
    if verification['problems']:
        raise BackupError('Backup %s did not restore as its manifest says: %s.'
                          % (path, '; '.join(verification['problems'])),
                          path=path, verification=verification)


def _fingerprint(client, database):
    if not client.database_exists(database):
        return None
    counts = client.table_counts(database)
    return {'tables': counts, 'checksums': client.table_checksums(database, counts)}


def do_restore(module, client, database, result):
    params = module.params
    path, expected, _age = _check_backup(module, database, result)
    before = _fingerprint(client, database)
    before_tables = before['tables'] if before else {}
    if module._diff:
        result['diff'] = dict(before={'tables': before_tables}, after={'tables': expected},
                              before_header=database, after_header=path)
    if module.check_mode:
        result['changed'] = bool(compare_contents(expected, before_tables)) or before is None
        return
    charset, collation = client.database_charset(database) if before else (None, None)
    client.execute('DROP DATABASE IF EXISTS %s' % quote_identifier(database))
    create = 'CREATE DATABASE %s' % quote_identifier(database)
    if charset:
        create += ' CHARACTER SET %s COLLATE %s' % (charset, collation)
    client.execute(create)
    client.source(database, _sql_file(client, path), timeout=params['timeout'])
    after = _fingerprint(client, database)
    problems = compare_contents(expected, after['tables'])
    result['changed'] = before != after
    if module._diff:
        result['diff']['after'] = {'tables': after['tables']}
    if problems:
        raise BackupError('Database %s was restored from %s but does not match the backup: %s.'
                          % (database, path, '; '.join(problems)), path=path)


def main():
    argument_spec = dict(
        compress=dict(type='bool', default=False),
        dest=dict(type='path'),
        force=dict(type='bool', default=False),
        max_age=dict(type='str'),
        name=dict(type='str'),
        path=dict(type='path'),
        state=dict(type='str', default='dumped', choices=['dumped', 'restored', 'verified']),
        timeout=dict(type='int', default=3600),
    )
    argument_spec.update(CONNECTION_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE + [('dest', 'path')],
        required_one_of=[('dest', 'path')],
        supports_check_mode=True,
    )
    start = time.monotonic()
    runner = CommandRunner(module)
    result = dict(changed=False, commands=runner.commands, database=None, path=None)
    try:
        conn = resolve_connection(module.params)
        database = module.params['name'] or conn.get('database')
        if not database:
            raise BackupError('No database given: set name, or a database in database_url/config_file.')
        result['database'] = database
        with MySQLClient(module, runner, conn) as client:
            if module.params['state'] == 'dumped':
                do_dump(module, client, database, result)
            elif module.params['state'] == 'verified':
                do_verify(module, client, database, result)
            else:
                do_restore(module, client, database, result)
    except OpsError as exc:
        result['elapsed'] = round(time.monotonic() - start, 3)
        fail_from(module, exc, **result)
    result['elapsed'] = round(time.monotonic() - start, 3)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
