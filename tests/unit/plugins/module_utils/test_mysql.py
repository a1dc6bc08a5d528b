"""mysql.py: connection sources, the option file, batch output and dump parsing.

Fixtures in tests/unit/fixtures/mysql/ come from MariaDB 10.11.19 on this
machine: mariadb-dump of a probe database (awkward names and values: a
table name with a space, strings holding "),(" and quotes, a blob, NULLs,
a view, a trigger, a routine, an event), the same with
--skip-extended-insert, a dump of a real heat 26 database with stacks in
progress, and `mariadb --batch --raw` outputs. The *.counts.json files hold
the row counts found after restoring each dump into a scratch database.
"""

import json
import os
import stat

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import mysql
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.command import CommandRunner
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import DatabaseError

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'mysql')


def fixture_path(name):
    return os.path.join(FIXTURES, name)


def fixture(name):
    with open(fixture_path(name)) as handle:
        return handle.read()


@pytest.mark.parametrize('url, expected', [
    ('mysql+pymysql://heat:S3cret-heat-pw@127.0.0.1:3306/heat',
     dict(host='127.0.0.1', port=3306, user='heat', password='S3cret-heat-pw', database='heat', unix_socket=None)),
    ('mysql+pymysql://heat:p%40ss%2Fw%25rd@db.example.org/heat?charset=utf8',
     dict(host='db.example.org', port=None, user='heat', password='p@ss/w%rd', database='heat', unix_socket=None)),
    ('mysql+pymysql://root@/nova?unix_socket=/run/mysqld/mysqld.sock',
     dict(host=None, port=None, user='root', password=None, database='nova', unix_socket='/run/mysqld/mysqld.sock')),
    ('mariadb://u:@[::1]:3307/x',
     dict(host='::1', port=3307, user='u', password='', database='x', unix_socket=None)),
])
def test_parse_database_url(url, expected):
    assert mysql.parse_database_url(url) == expected


def test_parse_database_url_refuses_other_databases_without_showing_the_password():
    with pytest.raises(DatabaseError) as err:
        mysql.parse_database_url('postgresql://heat:hunter22@db/heat')
    assert 'hunter22' not in err.value.msg


def test_resolve_connection_from_a_service_config_file(tmp_path):
    conf = tmp_path / 'heat.conf'
    # % in a password must not be taken for interpolation; a repeated section is tolerated
    conf.write_text('[DEFAULT]\nhost = a\n[database]\nconnection = mysql+pymysql://heat:50%25off@10.0.0.5/heat\n'
                    '[DEFAULT]\nlog_file = x%\n')
    conn = mysql.resolve_connection(dict(config_file=str(conf), login_user='root', login_password=None))
    assert conn['host'] == '10.0.0.5'
    assert conn['password'] == '50%off'
    assert conn['user'] == 'root'  # login_* overrides the file
    assert conn['database'] == 'heat'


def test_resolve_connection_without_database_option_is_an_error(tmp_path):
    conf = tmp_path / 'heat.conf'
    conf.write_text('[database]\n')
    with pytest.raises(DatabaseError, match='no \\[database\\] connection'):
        mysql.resolve_connection(dict(config_file=str(conf)))
    with pytest.raises(DatabaseError, match='Cannot read'):
        mysql.resolve_connection(dict(config_file=str(tmp_path / 'missing.conf')))


def test_defaults_file_quotes_awkward_passwords():
    text = mysql.defaults_file_content(dict(user='heat', password='a#b "c" \\d', host='127.0.0.1', port=3306,
                                            unix_socket=None, database='heat'))
    assert text == ('[client]\nuser="heat"\npassword="a#b \\"c\\" \\\\d"\nhost="127.0.0.1"\nport="3306"\n')


def test_parse_batch_reads_nulls_empty_strings_and_spaces():
    rows = mysql.parse_batch(fixture('batch_nulls.tsv'))
    # --raw prints a NULL and the string 'NULL' alike: both read as None
    assert rows == [{'a': '1', 'b': None, 'c': None, 'd': '', 'e': 'x y'}]


def test_parse_batch_reads_checksum_table_output():
    rows = mysql.parse_batch(fixture('batch_checksum.tsv'))
    assert rows[0] == {'Table': 'osl_test_probe.odd name', 'Checksum': '2865344526'}
    assert rows[2]['Checksum'] is None


def test_parse_batch_of_no_output_and_refuses_ragged_rows():
    assert mysql.parse_batch('') == []
    with pytest.raises(DatabaseError):
        mysql.parse_batch('a\tb\n1\t2\t3\n')


@pytest.mark.parametrize('name', ['probe_dump', 'probe_dump_single_inserts', 'heat26_dump'])
def test_parse_dump_counts_match_a_real_restore(name):
    with open(fixture_path(name + '.sql'), 'rb') as handle:
        parsed = mysql.parse_dump(handle)
    expected = json.loads(fixture(name + '.counts.json'))
    assert parsed['rows'] == expected
    assert sorted(parsed['tables']) == sorted(expected)


def test_parse_dump_single_line_inserts_as_mysql_writes_them():
    lines = [
        'CREATE TABLE `t` (\n',
        "INSERT INTO `t` VALUES (1,'a),(b'),(2,'it\\'s'),(3,NULL);\n",
        "INSERT INTO `t` (`id`, `v`) VALUES (4,'(');\n",
        'CREATE TABLE `u` (\n',
    ]
    assert mysql.parse_dump(lines) == {'tables': ['t', 'u'], 'rows': {'t': 4, 'u': 0}}


def test_quote_identifier_and_string():
    assert mysql.quote_identifier('odd`name') == '`odd``name`'
    assert mysql.quote_string("it's \\") == "'it\\'s \\\\'"


class FakeModule(object):
    def __init__(self, answers=None, check_mode=False):
        self.answers = list(answers or [])
        self.check_mode = check_mode
        self.calls = []
        self.seen_files = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return {'mariadb': '/usr/bin/mariadb', 'mariadb-dump': '/usr/bin/mariadb-dump',
                'timeout': '/usr/bin/timeout'}.get(name)

    def run_command(self, argv, environ_update=None, cwd=None, data=None, binary_data=False, check_rc=False):
        self.calls.append(argv)
        option_file = argv[1].split('=', 1)[1]
        mode = stat.S_IMODE(os.stat(option_file).st_mode)
        with open(option_file) as handle:
            self.seen_files.append((mode, handle.read()))
        return self.answers.pop(0) if self.answers else (0, '', '')


def test_client_keeps_the_password_out_of_argv_and_removes_the_option_file():
    module = FakeModule([(0, 'version\n10.11.19-MariaDB\n', '')])
    runner = CommandRunner(module)
    conn = dict(user='heat', password='hunter22', host='127.0.0.1', port=3306, unix_socket=None, database='heat')
    with mysql.MySQLClient(module, runner, conn) as client:
        assert client.server_version() == '10.11.19-MariaDB'
        option_file = client.defaults_file
    argv = module.calls[0]
    assert argv[0] == '/usr/bin/mariadb'
    assert argv[1].startswith('--defaults-extra-file=')
    assert 'hunter22' not in ' '.join(argv)
    assert 'hunter22' not in str(runner.commands)
    mode, content = module.seen_files[0]
    assert mode == 0o600
    assert 'password="hunter22"' in content
    assert not os.path.exists(option_file)
    assert not os.path.exists(os.path.dirname(option_file))


def test_client_failure_message_masks_the_password():
    module = FakeModule([(1, '', "ERROR 1045 (28000): Access denied for user 'heat'@'localhost' (hunter22)\n")])
    runner = CommandRunner(module)
    conn = dict(user='heat', password='hunter22', host=None, port=None, unix_socket=None, database=None)
    with pytest.raises(DatabaseError) as err:
        with mysql.MySQLClient(module, runner, conn) as client:
            client.query('SELECT 1')
    assert 'Access denied' in err.value.msg
    assert 'hunter22' not in err.value.msg


def test_mutating_statements_and_dumps_are_skipped_in_check_mode():
    module = FakeModule(check_mode=True)
    runner = CommandRunner(module)
    with mysql.MySQLClient(module, runner, dict(user=None, password=None)) as client:
        client.execute('DROP DATABASE x')
        client.dump('heat', '/tmp/x.sql')
    assert module.calls == []
    assert [c['skipped'] for c in runner.commands] == [True, True]
    assert runner.commands[1]['cmd'][2:7] == ['--single-transaction', '--routines', '--triggers', '--events',
                                              '--hex-blob']


def test_table_counts_one_union_query():
    module = FakeModule([(0, 'name\n`odd` t\nt1\n', ''), (0, 'name\tn\n`odd` t\t2\nt1\t3\n', '')])
    runner = CommandRunner(module)
    with mysql.MySQLClient(module, runner, dict()) as client:
        assert client.table_counts('db') == {'`odd` t': 2, 't1': 3}
    assert 'FROM `db`.```odd`` t`' in module.calls[1][-1]
