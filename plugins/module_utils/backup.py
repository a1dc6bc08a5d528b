# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Backup files of a database dump: names, checksums, manifests, ages.

A backup is three files side by side: the dump ``<name>-<UTC stamp>.sql``
(or ``.sql.gz``), ``<dump>.sha256`` in ``sha256sum`` format (so
``sha256sum -c`` works by hand), and ``<dump>.json``, a manifest with the
database, time, size, checksum, tables with their row counts (counted from
the dump itself) and the server version.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import re
import tempfile

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.mysql import parse_dump

STAMP_FORMAT = '%Y%m%dT%H%M%SZ'
_BACKUP_NAME = re.compile(r'^(?P<name>.+)-(?P<stamp>\d{8}T\d{6}Z)\.sql(?P<gz>\.gz)?$')
_AGE = re.compile(r'^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw]?)\s*$')
_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
_CHUNK = 1024 * 1024


class BackupError(OpsError):
    """A backup file is missing, unreadable, or does not match its checksum."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def backup_filename(name, when, compress=False):
    """``heat-20261122T135704Z.sql`` (``.sql.gz`` when compressed)."""
    return '%s-%s.sql%s' % (name, when.strftime(STAMP_FORMAT), '.gz' if compress else '')


def parse_backup_filename(filename):
    """``{'name', 'time' (aware UTC datetime), 'compressed'}`` of a backup file name, or None."""
    match = _BACKUP_NAME.match(os.path.basename(filename))
    if not match:
        return None
    when = datetime.datetime.strptime(match.group('stamp'), STAMP_FORMAT).replace(
        tzinfo=datetime.timezone.utc)
    return {'name': match.group('name'), 'time': when, 'compressed': bool(match.group('gz'))}


def find_backups(dest, name):
    """Backups of database ``name`` in ``dest``, newest first (by the stamp in the name)."""
    try:
        entries = os.listdir(dest)
    except OSError as exc:
        raise BackupError('Cannot list backup directory %s: %s' % (dest, exc.strerror))
    found = []
    for entry in entries:
        info = parse_backup_filename(entry)
        if info and info['name'] == name:
            found.append((info['time'], os.path.join(dest, entry)))
    return [path for _when, path in sorted(found, reverse=True)]


def parse_age(value):
    """Seconds of an age such as ``3600``, ``90m``, ``6h``, ``2d``; raises BackupError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _AGE.match(str(value or ''))
    if not match:
        raise BackupError('max_age %r is not a number of seconds or a number with a unit '
                          '(s, m, h, d, w), e.g. 6h.' % (value,))
    return float(match.group('n')) * _UNITS[match.group('unit')]


def parse_checksum_file(text):
    """The hex digest of a ``sha256sum`` line (``<hex>  <file>``); raises BackupError."""
    first = (text or '').strip().split('\n', 1)[0].split()
    if not first or not re.match(r'^[0-9a-fA-F]{64}$', first[0]):
        raise BackupError('Not a sha256sum checksum line: %r' % (text or '')[:120])
    return first[0].lower()


def checksum_line(digest, path):
    return '%s  %s\n' % (digest, os.path.basename(path))


def file_sha256(path):
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, 'rb') as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b''):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise BackupError('Cannot read %s: %s' % (path, exc.strerror))
    return digest.hexdigest(), size


def open_dump(path):
    """The dump as a binary line iterator (decompressed when it ends in .gz)."""
    if path.endswith('.gz'):
        return gzip.open(path, 'rb')
    return open(path, 'rb')


def dump_contents(path):
    """parse_dump() of a (possibly compressed) dump file."""
    try:
        with open_dump(path) as handle:
            return parse_dump(handle)
    except (OSError, EOFError) as exc:
        raise BackupError('Cannot read dump %s: %s' % (path, exc))


class _HashingWriter(object):
    """Hashes and counts what is written through it; passes it on to ``handle`` if any."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        if self.handle is not None:
            self.handle.write(data)
        return len(data)

    def flush(self):
        if self.handle is not None:
            self.handle.flush()


def finish_dump(plain_path, final_path, compress, when):
    """Turn the plain dump written by the dump tool into the final backup file.

    Reads ``plain_path`` once: parses tables and rows, and either renames it
    to ``final_path`` (hashing it) or gzips it there (hashing the compressed
    bytes, which are what ``sha256sum -c`` will see). Returns
    ``(sha256, size, contents)``.
    """
    if not compress:
        hasher = _HashingWriter(None)
        with open(plain_path, 'rb') as src:
            contents = parse_dump(_tee_lines(src, hasher))
        os.rename(plain_path, final_path)
        return hasher.digest.hexdigest(), hasher.size, contents
    tmp = final_path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as raw:
        writer = _HashingWriter(raw)
        mtime = int(when.timestamp())
        with gzip.GzipFile(filename=os.path.basename(final_path)[:-3], mode='wb',
                           fileobj=writer, mtime=mtime) as gz:
            with open(plain_path, 'rb') as src:
                contents = parse_dump(_tee_lines(src, gz))
    os.rename(tmp, final_path)
    os.unlink(plain_path)
    return writer.digest.hexdigest(), writer.size, contents


def _tee_lines(src, sink):
    for line in src:
        sink.write(line)
        yield line


def write_text_atomic(path, text, mode=0o600):
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.osl-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_manifest(path):
    """The manifest next to a dump, or None when there is none."""
    manifest_path = path + '.json'
    if not os.path.exists(manifest_path):
        return None
    try:
        with open(manifest_path, 'r') as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise BackupError('Cannot read manifest %s: %s' % (manifest_path, exc))


def verify_checksum(path):
    """Recompute the sha256 of ``path`` and compare it with ``<path>.sha256``.

    Returns ``(digest, size)``; raises BackupError on a missing checksum file
    or a mismatch.
    """
    if not os.path.isfile(path):
        raise BackupError('Backup %s does not exist.' % path)
    checksum_path = path + '.sha256'
    try:
        with open(checksum_path, 'r') as handle:
            expected = parse_checksum_file(handle.read())
    except OSError as exc:
        raise BackupError('Cannot read checksum file %s: %s; without it the backup cannot be '
                          'trusted.' % (checksum_path, exc.strerror))
    digest, size = file_sha256(path)
    if digest != expected:
        raise BackupError('Backup %s does not match its checksum: expected %s, found %s. The file '
                          'is damaged or was changed; do not restore it.' % (path, expected, digest),
                          path=path, expected_checksum=expected, checksum=digest)
    return digest, size


def compare_contents(expected, found):
    """Differences between two ``{table: rows}`` maps, as a list of strings (empty: equal)."""
    problems = []
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing:
        problems.append('tables missing: %s' % ', '.join(missing))
    if extra:
        problems.append('unexpected tables: %s' % ', '.join(extra))
    for table in sorted(set(expected) & set(found)):
        if int(expected[table]) != int(found[table]):
            problems.append('table %s has %s rows, expected %s' % (table, found[table], expected[table]))
    return problems


def probe_writable(directory):
    """Raise BackupError unless a file can really be created in ``directory``.

    Creating a file is the only reliable test: root passes os.access() on a
    read-only file system.
    """
    if not os.path.isdir(directory):
        raise BackupError('Backup directory %s does not exist.' % directory)
    try:
        fd, probe = tempfile.mkstemp(prefix='.osl-probe-', dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BackupError('Backup directory %s is not writable (%s); nothing was dumped. Choose '
                          'another dest or fix its permissions.' % (directory, exc.strerror))
