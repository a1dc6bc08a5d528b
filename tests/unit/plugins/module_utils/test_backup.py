"""backup.py: names, ages, checksums and the one-pass finish of a real dump."""

import datetime
import gzip
import hashlib
import json
import os
import shutil

import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import backup
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.backup import BackupError

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'mysql')
WHEN = datetime.datetime(2026, 11, 22, 13, 57, 4, tzinfo=datetime.timezone.utc)


def test_backup_filename_round_trip():
    name = backup.backup_filename('heat', WHEN, compress=True)
    assert name == 'heat-20261122T135704Z.sql.gz'
    assert backup.parse_backup_filename('/x/' + name) == {'name': 'heat', 'time': WHEN, 'compressed': True}
    assert backup.parse_backup_filename('heat_verify-20261122T135704Z.sql')['name'] == 'heat_verify'
    assert backup.parse_backup_filename('heat.sql') is None
    assert backup.parse_backup_filename('heat-20261122T135704Z.sql.sha256') is None


def test_find_backups_newest_first_and_only_of_that_database(tmp_path):
    for name in ('heat-20261122T100000Z.sql', 'heat-20261122T120000Z.sql.gz', 'heat-20261121T235959Z.sql',
                 'heat-20261122T120000Z.sql.gz.sha256', 'nova-20261123T000000Z.sql', 'heat_api-20261130T000000Z.sql'):
        (tmp_path / name).write_text('x')
    assert [os.path.basename(p) for p in backup.find_backups(str(tmp_path), 'heat')] == [
        'heat-20261122T120000Z.sql.gz', 'heat-20261122T100000Z.sql', 'heat-20261121T235959Z.sql']
    with pytest.raises(BackupError):
        backup.find_backups(str(tmp_path / 'missing'), 'heat')


@pytest.mark.parametrize('value, seconds', [(3600, 3600), ('3600', 3600), ('90m', 5400), ('6h', 21600),
                                            ('2d', 172800), ('1w', 604800), (' 1.5h ', 5400)])
def test_parse_age(value, seconds):
    assert backup.parse_age(value) == seconds


@pytest.mark.parametrize('value', ['', 'soon', '6 hours', '-1h', None, True])
def test_parse_age_refuses(value):
    with pytest.raises(BackupError):
        backup.parse_age(value)


def test_checksum_file_format_is_sha256sum():
    line = backup.checksum_line('ab' * 32, '/var/backups/heat-20261122T135704Z.sql.gz')
    assert line == '%s  heat-20261122T135704Z.sql.gz\n' % ('ab' * 32)
    assert backup.parse_checksum_file(line) == 'ab' * 32
    with pytest.raises(BackupError):
        backup.parse_checksum_file('not a checksum')


@pytest.mark.parametrize('compress', [False, True])
def test_finish_dump_hashes_the_final_file_and_counts_rows_in_one_pass(tmp_path, compress):
    plain = tmp_path / 'heat.sql.partial-1'
    shutil.copy(os.path.join(FIXTURES, 'heat26_dump.sql'), str(plain))
    final = str(tmp_path / backup.backup_filename('heat', WHEN, compress))
    digest, size, contents = backup.finish_dump(str(plain), final, compress, WHEN)
    assert not plain.exists()
    with open(final, 'rb') as handle:
        data = handle.read()
    assert digest == hashlib.sha256(data).hexdigest()
    assert size == len(data)
    with open(os.path.join(FIXTURES, 'heat26_dump.counts.json')) as handle:
        assert contents['rows'] == json.load(handle)
    if compress:
        with open(os.path.join(FIXTURES, 'heat26_dump.sql'), 'rb') as handle:
            assert gzip.decompress(data) == handle.read()
        assert oct(os.stat(final).st_mode & 0o777) == '0o600'
    # what the module writes next: verify_checksum agrees
    backup.write_text_atomic(final + '.sha256', backup.checksum_line(digest, final))
    assert backup.verify_checksum(final) == (digest, size)
    assert backup.dump_contents(final)['rows'] == contents['rows']


def test_verify_checksum_refuses_a_changed_file(tmp_path):
    path = tmp_path / 'heat-20261122T135704Z.sql'
    path.write_text('-- dump\n')
    line = backup.checksum_line(hashlib.sha256(b'-- dump\n').hexdigest(), str(path))
    backup.write_text_atomic(str(path) + '.sha256', line)
    assert backup.verify_checksum(str(path))[1] == 8
    path.write_text('-- dump changed\n')
    with pytest.raises(BackupError, match='does not match its checksum'):
        backup.verify_checksum(str(path))


def test_verify_checksum_needs_the_checksum_file(tmp_path):
    path = tmp_path / 'heat-20261122T135704Z.sql'
    path.write_text('x')
    with pytest.raises(BackupError, match='Cannot read checksum file'):
        backup.verify_checksum(str(path))
    with pytest.raises(BackupError, match='does not exist'):
        backup.verify_checksum(str(tmp_path / 'nope.sql'))


def test_compare_contents():
    assert backup.compare_contents({'a': 1, 'b': 2}, {'a': 1, 'b': 2}) == []
    assert backup.compare_contents({'a': 1, 'b': 2}, {'a': 0, 'c': 2}) == [
        'tables missing: b', 'unexpected tables: c', 'table a has 0 rows, expected 1']


def test_probe_writable(tmp_path):
    backup.probe_writable(str(tmp_path))
    assert os.listdir(str(tmp_path)) == []
    with pytest.raises(BackupError, match='does not exist'):
        backup.probe_writable(str(tmp_path / 'missing'))


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes anywhere; the module test covers a read-only dir')
def test_probe_writable_refuses_a_read_only_directory(tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(BackupError, match='not writable'):
        backup.probe_writable(str(ro))
