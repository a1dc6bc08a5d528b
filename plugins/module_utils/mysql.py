# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The MariaDB/MySQL command-line client and dump tool, run through CommandRunner.

The password never reaches an argv: it goes into a 0600
``--defaults-extra-file`` inside a private temporary directory that is
removed when the client is closed. The connection comes from explicit
``login_*`` options, a SQLAlchemy URL, or the ``[database] connection`` of a
service's configuration file. Query output (``--batch --raw``) and dump files
are read by the pure ``parse_*`` functions below.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import tempfile

from urllib.parse import parse_qs, unquote, urlsplit

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import mask_url

# Connection options shared by every module that talks to the database;
# merge into argument_spec. database_url and config_file are alternatives;
# login_* options given beside them override the matching part.
CONNECTION_ARGUMENT_SPEC = dict(
    config_file=dict(type='path'),
    database_url=dict(type='str', no_log=True),
    login_host=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    login_port=dict(type='int'),
    login_unix_socket=dict(type='path'),
    login_user=dict(type='str'),
)
CONNECTION_MUTUALLY_EXCLUSIVE = [('database_url', 'config_file')]

CLIENTS = ('mariadb', 'mysql')
DUMPERS = ('mariadb-dump', 'mysqldump')

# Options of every dump: a consistent snapshot of InnoDB tables without
# locking them, with stored code, and binary columns as hex so the dump is
# plain text.
DUMP_OPTIONS = ('--single-transaction', '--routines', '--triggers', '--events', '--hex-blob')


class DatabaseError(OpsError):
    """The database could not be reached, or a statement failed."""


def parse_database_url(url):
    """Connection fields of a SQLAlchemy MySQL URL.

    ``mysql+pymysql://user:pass@host:3306/db?charset=utf8&unix_socket=/p``
    gives ``{host, port, user, password, database, unix_socket}`` (absent
    parts are None; user and password are percent-decoded). Raises
    DatabaseError for a URL that is not MySQL/MariaDB.
    """
    parts = urlsplit(url or '')
    scheme = parts.scheme.split('+', 1)[0].lower()
    if scheme not in ('mysql', 'mariadb'):
        raise DatabaseError('Database URL %s is not a MySQL/MariaDB URL (mysql+pymysql://...).'
                            % mask_url(url or ''))
    query = parse_qs(parts.query)
    try:
        port = parts.port
    except ValueError:
        raise DatabaseError('Database URL %s has an invalid port.' % mask_url(url))
    return dict(
        host=parts.hostname or None,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        database=unquote(parts.path.lstrip('/')) or None,
        unix_socket=(query.get('unix_socket') or [None])[0],
    )


def read_ini_option(path, section, option):
    """Value of ``[section] option`` in an INI file, or None; read-only.

    Interpolation off (values such as passwords may contain %) and strict off
    (OpenStack files sometimes repeat sections).
    """
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as exc:
        raise DatabaseError('Cannot read %s: %s' % (path, exc))
    if not parser.has_option(section, option):
        return None
    return parser.get(section, option).strip() or None


def resolve_connection(params):
    """Connection dict from module params: URL or config file, then login_* overrides."""
    conn = dict(host=None, port=None, user=None, password=None, database=None, unix_socket=None)
    url = params.get('database_url')
    if params.get('config_file'):
        url = read_ini_option(params['config_file'], 'database', 'connection')
        if not url:
            raise DatabaseError('%s has no [database] connection option.' % params['config_file'])
    if url:
        conn.update(parse_database_url(url))
    overrides = dict(host='login_host', port='login_port', user='login_user',
                     password='login_password', unix_socket='login_unix_socket')
    for key, option in overrides.items():
        if params.get(option) is not None:
            conn[key] = params[option]
    return conn


def _option_value(value):
    # MySQL option files: a double-quoted value may hold '#', spaces and
    # quotes with backslash escapes.
    escaped = str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
    return '"%s"' % escaped


def defaults_file_content(conn):
    """Text of the ``[client]`` option file for ``conn`` (holds the password)."""
    lines = ['[client]']
    for key, name in (('user', 'user'), ('password', 'password'), ('host', 'host'),
                      ('port', 'port'), ('unix_socket', 'socket')):
        if conn.get(key) is not None and conn.get(key) != '':
            lines.append('%s=%s' % (name, _option_value(conn[key])))
    return '\n'.join(lines) + '\n'


def quote_identifier(name):
    """Backtick-quote a database or table name."""
    return '`%s`' % str(name).replace('`', '``')


def quote_string(value):
    """Single-quote a string literal for SQL."""
    return "'%s'" % str(value).replace('\\', '\\\\').replace("'", "\\'")


def parse_batch(stdout):
    """Rows of ``mysql --batch --raw`` output (a header line, then tab-separated rows).

    Returns a list of dicts keyed by column name; the literal ``NULL`` is
    None. ``--raw`` does not escape tabs or newlines inside values, so only
    query columns that cannot hold them (identifiers, numbers, statuses).
    """
    lines = (stdout or '').split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    if not lines:
        return []
    header = lines[0].split('\t')
    rows = []
    for line in lines[1:]:
        values = line.split('\t')
        if len(values) != len(header):
            raise DatabaseError('Unexpected row in the client output (%d fields, %d columns): %r'
                                % (len(values), len(header), line[:200]))
        rows.append(dict(zip(header, [None if v == 'NULL' else v for v in values])))
    return rows


_CREATE_TABLE = re.compile(r'^CREATE TABLE `(?P<name>(?:[^`]|``)+)` \(')
_INSERT = re.compile(r'^INSERT INTO `(?P<name>(?:[^`]|``)+)`(?: \((?:[^`)]|`(?:[^`]|``)*`)*\))? VALUES ?')
# A quoted string (backslash escapes; mysqldump escapes newlines as \n, so a
# string never spans lines), or one of the characters that matter.
_TOKENS = re.compile(r"'(?:[^'\\]|\\.)*'|[();]")


def parse_dump(lines):
    """Tables and row counts of a mysqldump/mariadb-dump file, read line by line.

    Returns ``{'tables': [names in dump order], 'rows': {name: count}}``.
    Rows are counted from the INSERT statements themselves (one tuple at
    depth 0 is one row), so the counts describe the dump's content, not the
    live database, which may have changed since. Works with one INSERT per
    table on one line (mysqldump) and one row a line (mariadb-dump 10.11).
    """
    tables = []
    rows = {}
    current = None
    depth = 0
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode('utf-8', 'surrogateescape')
        if current is None:
            match = _CREATE_TABLE.match(line)
            if match:
                name = match.group('name').replace('``', '`')
                if name not in rows:
                    tables.append(name)
                    rows[name] = 0
                continue
            match = _INSERT.match(line)
            if not match:
                continue
            current = match.group('name').replace('``', '`')
            if current not in rows:
                tables.append(current)
                rows[current] = 0
            line = line[match.end():]
            depth = 0
        for token in _TOKENS.finditer(line):
            char = token.group(0)
            if char == '(':
                if depth == 0:
                    rows[current] += 1
                depth += 1
            elif char == ')':
                depth -= 1
            elif char == ';' and depth == 0:
                current = None
                break
    return {'tables': tables, 'rows': rows}


def find_executable(module, names, opt_dirs=None):
    """First of ``names`` found in PATH (mariadb before mysql); raises DatabaseError."""
    for name in names:
        path = module.get_bin_path(name, required=False, opt_dirs=opt_dirs or [])
        if path:
            return path
    raise DatabaseError('None of %s was found in PATH; install the MariaDB or MySQL client.'
                        % ', '.join(names))


class MySQLClient(object):
    """Runs the client and the dump tool for one connection.

    Use as a context manager: the option file with the password lives only
    inside the ``with`` block. Every command goes through ``runner`` (so it
    is in the audit trail, masked, and skipped in check mode if mutating).
    """

    def __init__(self, module, runner, conn):
        self.module = module
        self.runner = runner
        self.conn = conn
        self.tmpdir = None
        self.defaults_file = None
        if conn.get('password'):
            runner.add_secret(conn['password'])

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix='osl-mysql-')
        os.chmod(self.tmpdir, 0o700)
        self.defaults_file = os.path.join(self.tmpdir, 'client.cnf')
        fd = os.open(self.defaults_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(defaults_file_content(self.conn))
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.tmpdir and os.path.isdir(self.tmpdir):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.tmpdir = None

    def _base(self, names):
        # --defaults-extra-file must be the first option.
        return [find_executable(self.module, names), '--defaults-extra-file=%s' % self.defaults_file]

    def _run(self, argv, mutating, what, timeout=None):
        try:
            return self.runner.run(argv, mutating=mutating, timeout=timeout)
        except OpsError as exc:
            raise DatabaseError('%s failed: %s' % (what, exc.msg), **exc.context)

    def query(self, sql, database=None, timeout=None):
        """Rows (dicts) of a read-only statement; runs in check mode too."""
        argv = self._base(CLIENTS) + ['--batch', '--raw', '-e', sql]
        if database:
            argv.append(database)
        return parse_batch(self._run(argv, False, 'Query', timeout).stdout)

    def execute(self, sql, database=None, timeout=None):
        """Run a statement that changes something; skipped in check mode."""
        argv = self._base(CLIENTS) + ['--batch', '-e', sql]
        if database:
            argv.append(database)
        return self._run(argv, True, 'Statement', timeout)

    def dump(self, database, result_file, timeout=None):
        """Dump ``database`` into ``result_file`` (no CREATE DATABASE/USE in it)."""
        argv = self._base(DUMPERS) + list(DUMP_OPTIONS) + [
            '--result-file=%s' % result_file, database]
        return self._run(argv, True, 'Dump of %s' % database, timeout)

    def source(self, database, sql_file, timeout=None):
        """Load a dump file into ``database`` with the client's ``source`` command."""
        argv = self._base(CLIENTS) + ['--batch', '-e', 'source %s' % sql_file, database]
        return self._run(argv, True, 'Restore into %s' % database, timeout)

    def server_version(self):
        rows = self.query('SELECT VERSION() AS version')
        return rows[0]['version'] if rows else None

    def database_exists(self, database):
        rows = self.query('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA '
                          'WHERE SCHEMA_NAME = %s' % quote_string(database))
        return bool(rows)

    def table_counts(self, database):
        """``{table: exact row count}`` of the base tables of ``database``."""
        tables = [row['name'] for row in self.query(
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME" % quote_string(database))]
        if not tables:
            return {}
        counts = {}
        # One statement per 50 tables keeps the command line short.
        for start in range(0, len(tables), 50):
            chunk = tables[start:start + 50]
            sql = ' UNION ALL '.join(
                'SELECT %s AS name, COUNT(*) AS n FROM %s.%s'
                % (quote_string(t), quote_identifier(database), quote_identifier(t)) for t in chunk)
            for row in self.query(sql):
                counts[row['name']] = int(row['n'])
        return counts

    def table_checksums(self, database, tables):
        """``{table: CHECKSUM TABLE value}``: a fingerprint of the rows, to tell whether data changed."""
        checksums = {}
        tables = sorted(tables)
        for start in range(0, len(tables), 50):
            chunk = tables[start:start + 50]
            sql = 'CHECKSUM TABLE %s' % ', '.join(
                '%s.%s' % (quote_identifier(database), quote_identifier(t)) for t in chunk)
            for row in self.query(sql):
                # "Table" is "<database>.<table>"
                checksums[row['Table'][len(database) + 1:]] = row['Checksum']
        return checksums

    def database_size(self, database):
        rows = self.query('SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) AS size '
                          'FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s'
                          % quote_string(database))
        return int(rows[0]['size']) if rows else 0

    def database_charset(self, database):
        rows = self.query('SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS '
                          'collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s'
                          % quote_string(database))
        return (rows[0]['charset'], rows[0]['collation']) if rows else (None, None)
