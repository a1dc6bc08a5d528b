"""Whole-module tests of db_backup against a simulated MariaDB server.

The simulated server keeps databases as ``{table: rows}``; mariadb-dump
writes a real dump captured from MariaDB 10.11 (tests/unit/fixtures/mysql/)
and `source` loads a dump by counting its rows with parse_dump, so the
module's own bookkeeping (checksums, manifests, scratch databases, drop and
create) is what these tests exercise. Real dumps and restores against the
machine's MariaDB were run by hand (see the final report).
"""

import json
import os
import re
import shutil

import pytest

from ansible.module_utils import basic

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import mysql
from ansible_collections.openstack_ops.upgrade.plugins.modules import db_backup

from modrun import run_module  # noqa: E402 pylint: disable=wrong-import-order

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'mysql')


def counts(name):
    with open(os.path.join(FIXTURES, name + '.counts.json')) as handle:
        return json.load(handle)


class FakeServer(object):
    def __init__(self):
        self.databases = {'heat': counts('heat26_dump')}
        self.dump_fixture = 'heat26_dump.sql'
        self.calls = []
        self.restore_damage = None  # table whose rows go missing on restore

    def batch(self, header, rows):
        return '\n'.join(['\t'.join(header)] + ['\t'.join(str(v) for v in row) for row in rows]) + '\n'

    def run_command(self, module, argv, **kwargs):
        if argv[0].endswith('/timeout'):
            argv = argv[3:]
        self.calls.append(argv)
        if argv[0].endswith('mariadb-dump'):
            result_file = [a for a in argv if a.startswith('--result-file=')][0].split('=', 1)[1]
            assert os.stat(result_file).st_mode & 0o777 == 0o600  # created private before the dump
            shutil.copy(os.path.join(FIXTURES, self.dump_fixture), result_file)
            return 0, '', ''
        sql = argv[argv.index('-e') + 1]
        database = argv[-1] if argv[-1] != sql else None
        return self.execute(sql, database)

    def execute(self, sql, database):
        match = re.match(r"SELECT SCHEMA_NAME AS name .* WHERE SCHEMA_NAME = '(.*)'$", sql)
        if match:
            name = match.group(1)
            return 0, self.batch(['name'], [[name]] if name in self.databases else []), ''
        if sql == 'SELECT VERSION() AS version':
            return 0, self.batch(['version'], [['10.11.19-MariaDB-0+deb12u1']]), ''
        if 'SUM(DATA_LENGTH' in sql:
            return 0, self.batch(['size'], [[65536]]), ''
        if 'DEFAULT_CHARACTER_SET_NAME' in sql:
            return 0, self.batch(['charset', 'collation'], [['utf8mb4', 'utf8mb4_general_ci']]), ''
        match = re.match(r"SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = '(.*?)'", sql)
        if match:
            return 0, self.batch(['name'], [[t] for t in sorted(self.databases[match.group(1)])]), ''
        if sql.startswith('SELECT ') and 'COUNT(*)' in sql:
            rows = []
            for table_sql in sql.split(' UNION ALL '):
                name, db, table = re.match(r"SELECT '(.*)' AS name, COUNT\(\*\) AS n FROM `(.*)`\.`(.*)`$",
                                           table_sql).groups()
                rows.append([name, self.databases[db][table]])
            return 0, self.batch(['name', 'n'], rows), ''
        if sql.startswith('CHECKSUM TABLE'):
            rows = []
            for ref in sql[len('CHECKSUM TABLE '):].split(', '):
                db, table = re.match(r'`(.*)`\.`(.*)`$', ref).groups()
                rows.append(['%s.%s' % (db, table), 1000 + self.databases[db][table]])
            return 0, self.batch(['Table', 'Checksum'], rows), ''
        match = re.match(r'CREATE DATABASE `(.*?)`', sql)
        if match:
            if match.group(1) in self.databases:
                return 1, '', "ERROR 1007 (HY000): Can't create database; database exists\n"
            self.databases[match.group(1)] = {}
            return 0, '', ''
        match = re.match(r'DROP DATABASE IF EXISTS `(.*)`$', sql)
        if match:
            self.databases.pop(match.group(1), None)
            return 0, '', ''
        if sql.startswith('source '):
            with db_backup.open_dump(sql[len('source '):]) as handle:
                restored = mysql.parse_dump(handle)['rows']
            if self.restore_damage:
                restored[self.restore_damage] -= 1
            self.databases[database] = restored
            return 0, '', ''
        raise AssertionError('unexpected SQL %r' % sql)


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer()

    def run_command(module, argv, **kwargs):
        return fake.run_command(module, argv, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    return fake


def run(monkeypatch, args, check_mode=False, diff=False):
    return run_module(monkeypatch, db_backup, args, check_mode=check_mode, diff=diff)


def kinds(server):
    out = []
    for argv in server.calls:
        if argv[0].endswith('mariadb-dump'):
            out.append('dump')
        else:
            sql = argv[argv.index('-e') + 1]
            out.append(sql.split(' ')[0] if sql.split(' ')[0] in ('CREATE', 'DROP', 'source') else 'query')
    return out


@pytest.mark.parametrize('compress', [False, True])
def test_dump_writes_dump_checksum_and_manifest(server, monkeypatch, tmp_path, compress):
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path / 'backups'), compress=compress,
                                login_user='root', login_password='hunter22'))
    assert not out.failed, out.result.get('msg')
    path = out.result['path']
    assert os.path.basename(path).startswith('heat-') and path.endswith('.sql.gz' if compress else '.sql')
    assert out.result['changed'] is True
    assert out.result['tables'] == counts('heat26_dump')
    manifest = json.load(open(path + '.json'))
    assert manifest['sha256'] == out.result['checksum']
    assert manifest['size'] == os.path.getsize(path) == out.result['size']
    assert manifest['server_version'] == '10.11.19-MariaDB-0+deb12u1'
    assert manifest['tables']['stack'] == 5
    assert open(path + '.sha256').read() == '%s  %s\n' % (out.result['checksum'], os.path.basename(path))
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    assert oct(os.stat(str(tmp_path / 'backups')).st_mode & 0o777) == '0o700'
    assert sorted(os.listdir(str(tmp_path / 'backups'))) == sorted(
        [os.path.basename(path), os.path.basename(path) + '.json', os.path.basename(path) + '.sha256'])
    dump_argv = [c for c in server.calls if c[0].endswith('mariadb-dump')][0]
    assert '--single-transaction' in dump_argv and '--routines' in dump_argv and '--events' in dump_argv
    assert 'hunter22' not in str(server.calls) and 'hunter22' not in str(out.result)


def test_dump_in_check_mode_writes_nothing(server, monkeypatch, tmp_path):
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path)), check_mode=True)
    assert not out.failed
    assert out.result['changed'] is True
    assert os.listdir(str(tmp_path)) == []
    assert 'dump' not in kinds(server)


def test_unwritable_dest_fails_before_dumping(server, monkeypatch, tmp_path):
    # a regular file where the directory should be: nothing can be created there, even as root
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    out = run(monkeypatch, dict(name='heat', dest=str(blocker / 'backups')))
    assert out.failed
    assert 'Cannot create backup directory' in out.result['msg']
    assert server.calls == []


def test_missing_database_fails_before_dumping(server, monkeypatch, tmp_path):
    out = run(monkeypatch, dict(name='nova', dest=str(tmp_path)))
    assert out.failed
    assert 'Database nova does not exist' in out.result['msg']
    assert 'dump' not in kinds(server)


def test_explicit_path_with_valid_backup_is_idempotent(server, monkeypatch, tmp_path):
    path = str(tmp_path / 'heat-before-upgrade.sql.gz')
    first = run(monkeypatch, dict(name='heat', path=path, compress=True))
    assert first.result['changed'] is True
    second = run(monkeypatch, dict(name='heat', path=path, compress=True))
    assert second.result['changed'] is False
    assert second.result['checksum'] == first.result['checksum']
    assert kinds(server).count('dump') == 1
    forced = run(monkeypatch, dict(name='heat', path=path, force=True))
    assert forced.result['changed'] is True
    assert kinds(server).count('dump') == 2


def test_verify_restores_into_a_scratch_database_and_drops_it(server, monkeypatch, tmp_path):
    made = run(monkeypatch, dict(name='heat', dest=str(tmp_path), compress=True))
    server.calls[:] = []
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='verified', max_age='1h'))
    assert not out.failed, out.result.get('msg')
    assert out.result['changed'] is False
    assert out.result['path'] == made.result['path']
    verification = out.result['verification']
    assert verification['restore_tested'] is True
    assert verification['problems'] == []
    assert re.match(r'^heat_verify_\d+$', verification['scratch_database'])
    assert set(server.databases) == {'heat'}
    assert kinds(server) == ['query', 'CREATE', 'source', 'query', 'query', 'DROP']


def test_verify_fails_when_the_restore_differs_and_still_drops_the_scratch(server, monkeypatch, tmp_path):
    run(monkeypatch, dict(name='heat', dest=str(tmp_path)))
    server.restore_damage = 'event'
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='verified'))
    assert out.failed
    assert 'table event has 9 rows, expected 10' in out.result['msg']
    assert set(server.databases) == {'heat'}


def test_verify_fails_on_a_changed_file(server, monkeypatch, tmp_path):
    made = run(monkeypatch, dict(name='heat', dest=str(tmp_path)))
    with open(made.result['path'], 'a') as handle:
        handle.write('-- tampered\n')
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='verified'))
    assert out.failed
    assert 'does not match its checksum' in out.result['msg']


def test_verify_fails_when_the_newest_backup_is_too_old(server, monkeypatch, tmp_path):
    made = run(monkeypatch, dict(name='heat', dest=str(tmp_path)))
    manifest_path = made.result['path'] + '.json'
    manifest = json.load(open(manifest_path))
    manifest['created'] = '2026-01-01T00:00:00+00:00'
    json.dump(manifest, open(manifest_path, 'w'))
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='verified', max_age='6h'))
    assert out.failed
    assert 'more than max_age 6h' in out.result['msg']


def test_verify_in_check_mode_checks_without_restoring(server, monkeypatch, tmp_path):
    run(monkeypatch, dict(name='heat', dest=str(tmp_path)))
    server.calls[:] = []
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='verified'), check_mode=True)
    assert not out.failed
    assert out.result['verification']['restore_tested'] is False
    assert 'CREATE' not in kinds(server) and 'source' not in kinds(server)


def test_verify_without_any_backup(server, monkeypatch, tmp_path):
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='verified'))
    assert out.failed
    assert 'No backup of heat' in out.result['msg']


def test_restore_replaces_the_database_after_checking_the_checksum(server, monkeypatch, tmp_path):
    made = run(monkeypatch, dict(name='heat', dest=str(tmp_path)))
    # after a migration: one more table, more rows
    server.databases['heat']['resource_snapshot_extra'] = 3
    server.databases['heat']['event'] = 40
    server.calls[:] = []
    check = run(monkeypatch, dict(name='heat', path=made.result['path'], state='restored'), check_mode=True, diff=True)
    assert check.result['changed'] is True
    assert 'resource_snapshot_extra' in check.result['diff']['before']['tables']
    assert server.databases['heat']['event'] == 40
    out = run(monkeypatch, dict(name='heat', path=made.result['path'], state='restored'), diff=True)
    assert not out.failed, out.result.get('msg')
    assert out.result['changed'] is True
    assert server.databases['heat'] == counts('heat26_dump')
    assert 'DROP' in kinds(server) and 'source' in kinds(server)
    again = run(monkeypatch, dict(name='heat', path=made.result['path'], state='restored'))
    assert again.result['changed'] is False


def test_restore_refuses_a_damaged_backup(server, monkeypatch, tmp_path):
    made = run(monkeypatch, dict(name='heat', dest=str(tmp_path)))
    with open(made.result['path'], 'r+') as handle:
        handle.write('--')
    server.calls[:] = []
    out = run(monkeypatch, dict(name='heat', dest=str(tmp_path), state='restored'))
    assert out.failed
    assert 'do not restore it' in out.result['msg']
    assert 'DROP' not in kinds(server)


def test_name_from_the_service_config(server, monkeypatch, tmp_path):
    conf = tmp_path / 'heat.conf'
    conf.write_text('[database]\nconnection = mysql+pymysql://heat:hunter22@127.0.0.1/heat\n')
    out = run(monkeypatch, dict(config_file=str(conf), dest=str(tmp_path / 'b')))
    assert out.result['database'] == 'heat'
    assert 'hunter22' not in str(out.result) and 'hunter22' not in str(server.calls)
