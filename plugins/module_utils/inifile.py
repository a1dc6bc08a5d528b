# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Reading and editing OpenStack (oslo.config) INI files without disturbing them.

The file is kept as its list of original lines; an edit replaces, removes or
inserts whole lines and leaves every other byte as it was (comments, blank
lines, order, spacing, line endings, other occurrences of repeated keys).

The reading rules are those of ``oslo_config.iniparser`` and
``oslo_config.cfg.ConfigParser``, so what this module calls the value of an
option is what the service will read:

* lines are compared with trailing whitespace removed; an empty line ends a
  multi-line value;
* a line starting with a space or a tab continues the previous value (the
  parts are joined with a newline);
* ``[name]`` starts a section; the name is taken as written, and sections are
  the same group when their names are equal in lower case, except ``DEFAULT``,
  which must be upper case (``[default]`` is another group, one no option of
  the DEFAULT group is read from);
* a line starting with ``#`` or ``;`` is a comment (there are no inline
  comments: ``a = b # c`` has the value ``b # c``);
* ``key = value`` or ``key: value``, split at whichever of ``=`` and ``:``
  comes first; key and value are stripped and one pair of matching quotes
  around the value is removed;
* a key may be repeated (MultiStrOpt); all its occurrences in all the blocks of
  the group count, in file order, and a single-valued option takes the last.
"""

from __future__ import annotations

import re

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import (
    MASK,
    is_secret_option,
    mask_text,
    mask_url,
)

DEFAULT = 'DEFAULT'

_LINE = re.compile(r'([^\r\n]*)(\r\n|\r|\n|$)')
# Same prefix rules as secrets.mask_url: every "user:password@" after a scheme or a comma.
_URL_PASSWORD = re.compile(r'(?:[a-zA-Z][a-zA-Z0-9+.-]*://|,)[^:/@,\s]*:(?P<password>[^@/\s]*)@')
# Option names that hold keys (key_manager fixed_key, ...) on top of what secrets.py knows.
_KEY_NAME = re.compile(r'(^|[_-])key$', re.IGNORECASE)
# Names whose values are secrets for sure, so the value is masked wherever else it appears too.
# Narrower than is_secret: "service_token_roles = service" must not mask every "service".
_STRICT_SECRET = re.compile(r'(password|passwd|secret|(^|_)token$|(^|[_-])key$|fernet)', re.IGNORECASE)
# Values of secret-named options that are placeholders, not secrets.
_NOT_SECRET_VALUES = ('<none>', 'none', 'true', 'false')
_COMMENTED = re.compile(r'^(?P<prefix>[#;]\s*(?P<key>[^\s=:]+)\s*[=:][ \t]*)(?P<value>.*)$')


class IniError(OpsError):
    """A file or a request that cannot be handled; ``msg`` says why."""


class IniParseError(IniError):
    """The file is not one oslo.config can read."""


def group_of(section):
    """The oslo.config group a section header belongs to."""
    return section if section == DEFAULT else section.lower()


def is_secret(option):
    """True if the value of ``option`` must never be shown."""
    return is_secret_option(option) or bool(_KEY_NAME.search(option or ''))


def is_strict_secret(option):
    """True if the value of ``option`` is surely a secret, to be masked wherever it appears."""
    return bool(_STRICT_SECRET.search(option or ''))


def literal_secret(option, value):
    """True if ``value`` of ``option`` is a secret worth masking as a literal string everywhere."""
    return (isinstance(value, str) and is_strict_secret(option) and len(value) >= 4
            and value.lower() not in _NOT_SECRET_VALUES)


def mask_value(option, value, secrets=()):
    """``value`` of ``option`` as it may be shown: whole value masked for secret
    names, URL credentials and the literal ``secrets`` masked otherwise."""
    if value is None:
        return None
    if is_secret(option):
        return MASK if value != '' else value
    return mask_text(value, secrets)


def url_passwords(text):
    """Passwords of the ``scheme://user:password@`` URLs in ``text``."""
    if not isinstance(text, str):
        return []
    return [m.group('password') for m in _URL_PASSWORD.finditer(text) if m.group('password')]


def read_value(raw):
    """The value oslo.config reads from ``key = <raw>`` (stripped, one pair of quotes removed)."""
    value = raw.strip()
    if value and value[0] == value[-1] and value.startswith(('"', "'")):
        value = value[1:-1]
    return value


def split_assignment(text):
    """``(key, separator_index)`` of an assignment line, split as oslo.config does; None if no separator."""
    colon = text.find(':')
    equal = text.find('=')
    if colon < 0 and equal < 0:
        return None
    sep = equal if colon < 0 or 0 <= equal < colon else colon
    return text[:sep].strip(), sep


def check_section(section):
    """Raise IniError if ``section`` cannot be written as a header oslo.config reads back as given."""
    if not isinstance(section, str) or section == '':
        raise IniError('section must be a non-empty string, got %r.' % (section,))
    if section != section.strip() or any(c in section for c in '[]\r\n'):
        raise IniError('section %r cannot be written as a header: it must not contain "[", "]", line breaks or '
                       'leading/trailing whitespace.' % section)
    if section.lower() == 'default' and section != DEFAULT:
        raise IniError('section %r is not the DEFAULT section: oslo.config reads DEFAULT options only from '
                       '[DEFAULT] in upper case. Use section DEFAULT.' % section)


def check_option(option):
    """Raise IniError if ``option`` cannot be written as a key that reads back as given."""
    if not isinstance(option, str) or option == '':
        raise IniError('option must be a non-empty string, got %r.' % (option,))
    if re.search(r'[\s=:]', option) or option[0] in '[#;':
        raise IniError('option %r cannot be written as a key: it must not contain whitespace, "=" or ":", nor '
                       'start with "[", "#" or ";".' % option)


def check_value(option, value):
    """Raise IniError if ``value`` cannot be written on one line. The value is not shown (it may be secret)."""
    if not isinstance(value, str):
        raise IniError('the value of %s must be a string, got %s.' % (option, type(value).__name__))
    if '\n' in value or '\r' in value:
        raise IniError('the value of %s contains a line break: values are written on one line '
                       '(a repeated option takes a list of values instead).' % option)


class Assignment(object):
    """One occurrence of a key: lines ``start`` to ``end`` (exclusive, continuation lines included)."""

    def __init__(self, section, key, value, start, end):
        self.section = section
        self.key = key
        self.value = value
        self.start = start
        self.end = end


class Block(object):
    """One ``[section]`` header and the lines up to the next header (``start`` is the header line)."""

    def __init__(self, name, start, end):
        self.name = name
        self.group = group_of(name)
        self.start = start
        self.end = end


class IniFile(object):
    """An INI file as its original lines, with oslo.config reading rules and line-preserving edits."""

    def __init__(self, text=''):
        self.lines = []  # [text without line ending, line ending]
        for match in _LINE.finditer(text):
            if match.group(1) == '' and match.group(2) == '' and match.end() == len(text):
                break
            self.lines.append([match.group(1), match.group(2)])
        self.newline = next((eol for _text, eol in self.lines if eol), '\n')
        self.blocks = []
        self.assignments = []
        self._index()

    # -- reading -----------------------------------------------------------------
    def _error(self, msg, lineno):
        raise IniParseError('line %d: %s: %r. Fix the file first; nothing was changed.'
                            % (lineno, msg, mask_url(self.lines[lineno - 1][0].rstrip())),
                            lineno=lineno)

    def _index(self):
        blocks, assignments = [], []
        block = current = None
        for index, (raw, _eol) in enumerate(self.lines):
            text = raw.rstrip()
            if not text:
                current = None
                continue
            if text.startswith((' ', '\t')):
                if current is None:
                    self._error('Unexpected continuation line', index + 1)
                current.value += '\n' + text.lstrip()
                current.end = index + 1
                continue
            current = None
            if text.startswith('['):
                if not text.endswith(']'):
                    self._error('Invalid section (must end with ])', index + 1)
                if len(text) <= 2:
                    self._error('Empty section name', index + 1)
                if block is not None:
                    block.end = index
                block = Block(text[1:-1], index, len(self.lines))
                blocks.append(block)
            elif text.startswith(('#', ';')):
                continue
            else:
                split = split_assignment(text)
                if split is None:
                    self._error("No ':' or '=' found in assignment", index + 1)
                key, sep = split
                if not key:
                    self._error('Key cannot be empty', index + 1)
                if block is None:
                    self._error('Section must be started before assignment', index + 1)
                current = Assignment(block, key, read_value(text[sep + 1:]), index, index + 1)
                assignments.append(current)
        self.blocks = blocks
        self.assignments = assignments

    def sections(self):
        """Section names in file order, each group once (as first written)."""
        seen, names = set(), []
        for block in self.blocks:
            if block.group not in seen:
                seen.add(block.group)
                names.append(block.name)
        return names

    def occurrences(self, section, option):
        return [a for a in self.assignments
                if a.section.group == group_of(section) and a.key == option]

    def get(self, section, option):
        """Values of every occurrence of ``option`` in ``section``, in file order (empty if none)."""
        return [a.value for a in self.occurrences(section, option)]

    def render(self):
        return ''.join(text + eol for text, eol in self.lines)

    def secret_values(self):
        """Values that must be masked wherever they appear: those of options that are surely secrets
        (commented-out ones too) and the passwords of URLs in assignments. URLs in comments are masked
        in place only: their examples ("user:pass@") are not secrets."""
        found = set()
        for assignment in self.assignments:
            for part in [assignment.value] + assignment.value.split('\n'):
                if literal_secret(assignment.key, part.strip()):
                    found.add(part.strip())
            found.update(p for p in url_passwords(assignment.value) if len(p) >= 4)
        for text, _eol in self.lines:
            commented = _COMMENTED.match(text.rstrip())
            if commented and literal_secret(commented.group('key'), read_value(commented.group('value'))):
                found.add(read_value(commented.group('value')))
        return sorted(found, key=lambda v: (-len(v), v))

    def masked(self, secrets=()):
        """The text with the values of secret-named options (set, or commented out when surely secret), URL credentials
        and the literal ``secrets`` masked: what a diff may show."""
        secret_lines = {}
        for assignment in self.assignments:
            if not is_secret(assignment.key):
                continue
            first = self.lines[assignment.start][0]
            prefix = self._value_prefix(first)
            if first[len(prefix):].strip():
                secret_lines[assignment.start] = prefix + MASK
            for index in range(assignment.start + 1, assignment.end):
                text = self.lines[index][0]
                indent = text[:len(text) - len(text.lstrip())]
                secret_lines[index] = indent + MASK
        out = []
        for index, (text, eol) in enumerate(self.lines):
            if index in secret_lines:
                text = secret_lines[index]
            else:
                commented = _COMMENTED.match(text)
                # Commented-out defaults ("#token_cache_time = 300", "#password = <None>") stay readable;
                # a commented-out real secret does not.
                if commented and literal_secret(commented.group('key'), read_value(commented.group('value'))):
                    text = commented.group('prefix') + MASK
                text = mask_text(text, secrets)
            out.append(text + eol)
        return ''.join(out)

    # -- editing -----------------------------------------------------------------
    @staticmethod
    def _value_prefix(text):
        """The part of an assignment line before its value: key, separator and the blanks after it."""
        _key, sep = split_assignment(text)
        rest = text[sep + 1:]
        return text[:sep + 1] + rest[:len(rest) - len(rest.lstrip(' \t'))]

    def _line_for(self, option, value, like=None):
        """A line setting ``option`` to ``value``; spaced like the line ``like`` when it replaces one."""
        value = value.strip()
        if like is None:
            return '%s = %s' % (option, value) if value else '%s =' % option
        like = like.rstrip()
        prefix = self._value_prefix(like)
        if not value:
            return prefix.rstrip()
        if prefix[-1].isspace() or len(like) > len(prefix):
            # "key = old" and "key=old" keep their spacing.
            return prefix + value
        return prefix + ' ' + value

    def _body_end(self, block):
        """Index after the last line belonging to ``block``'s body: trailing blank lines, and a comment run
        that sits right above the next header (it describes that section), are left out."""
        end = block.end
        has_next = end < len(self.lines)

        def blank(i):
            return not self.lines[i][0].strip()

        def comment(i):
            return self.lines[i][0].startswith(('#', ';'))

        if has_next:
            i = end
            while i > block.start + 1 and comment(i - 1):
                i -= 1
            if i < end:
                end = i
        while end > block.start + 1 and blank(end - 1):
            end -= 1
        return end

    def _insertion_point(self, blocks, option):
        """Where a new occurrence of ``option`` goes: after its commented-out default
        (``#option = ...``) if the section has one, else at the end of the section's last block."""
        for block in blocks:
            for index in range(block.start + 1, block.end):
                commented = _COMMENTED.match(self.lines[index][0].rstrip())
                if commented and commented.group('key') == option:
                    return index + 1
        return self._body_end(blocks[-1])

    def _splice(self, edits):
        """Apply ``(start, end, new_lines)`` edits (non-overlapping) from the bottom up."""
        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            if new and start > 0 and self.lines[start - 1][1] == '':
                self.lines[start - 1][1] = self.newline
            new_lines = [[text, self.newline] for text in new]
            if new_lines and end == len(self.lines) and end > start:
                # The last line of the file keeps its ending (or lack of one).
                new_lines[-1][1] = self.lines[end - 1][1] or ''
            self.lines[start:end] = new_lines
        self._index()

    def set(self, section, option, values):
        """Make ``values`` (a list, in order) the occurrences of ``option`` in ``section``.

        Occurrences whose value already reads the same are left byte-identical; others are rewritten in
        place (keeping their spacing), extra ones removed, missing ones added after the last occurrence,
        after the commented-out default, at the end of the section, or in a new section at the end of
        the file. Returns the changes made.
        """
        check_section(section)
        check_option(option)
        for value in values:
            check_value(option, value)
        found = self.occurrences(section, option)
        edits, changes = [], []

        for assignment, value in zip(found, values):
            if assignment.value == read_value(value):
                continue
            line = self._line_for(option, value, like=self.lines[assignment.start][0])
            edits.append((assignment.start, assignment.end, [line]))
            changes.append(dict(section=section, option=option, action='set', old=assignment.value,
                                new=read_value(value)))
        for assignment in found[len(values):]:
            edits.append((assignment.start, assignment.end, []))
            changes.append(dict(section=section, option=option, action='unset', old=assignment.value, new=None))
        extra = values[len(found):]
        if extra:
            new = [self._line_for(option, value) for value in extra]
            blocks = [b for b in self.blocks if b.group == group_of(section)]
            if found:
                edits.append((found[-1].end, found[-1].end, new))
            elif blocks:
                point = self._insertion_point(blocks, option)
                edits.append((point, point, new))
            else:
                lead = []
                if self.lines and self.lines[-1][0].strip():
                    lead = ['']
                point = len(self.lines)
                edits.append((point, point, lead + ['[%s]' % section] + new))
            for value in extra:
                changes.append(dict(section=section, option=option, action='add', old=None, new=read_value(value)))
        if edits:
            self._splice(edits)
        return changes

    def unset(self, section, option, values=None):
        """Remove the occurrences of ``option`` in ``section`` (only those reading one of ``values`` when
        given). The section header stays. Returns the changes made."""
        check_section(section)
        check_option(option)
        wanted = None
        if values is not None:
            for value in values:
                check_value(option, value)
            wanted = set(read_value(value) for value in values)
        edits, changes = [], []
        for assignment in self.occurrences(section, option):
            if wanted is not None and assignment.value not in wanted:
                continue
            edits.append((assignment.start, assignment.end, []))
            changes.append(dict(section=section, option=option, action='unset', old=assignment.value, new=None))
        if edits:
            self._splice(edits)
        return changes
