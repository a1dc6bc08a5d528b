# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Masking of credentials in URLs, option values and whole data structures.

Every message, diff, return value and audit-trail entry of the collection goes
through these functions, so a password in a ``transport_url`` or a database URL
never reaches an operator's terminal or log.
"""

from __future__ import annotations

import re

MASK = '********'

# scheme://user:password@host  (the password may contain anything but '@' and '/')
# Several hosts are allowed in one URL (rabbit://a:p@h1,b:q@h2/vhost), so the
# pattern is applied to every "user:password@" pair, not just the first one.
_URL_CREDENTIALS = re.compile(
    r'(?P<prefix>(?:[a-zA-Z][a-zA-Z0-9+.-]*://|,))(?P<user>[^:/@,\s]*):(?P<password>[^@/\s]*)@'
)

# Option names whose values are secrets in OpenStack configuration files.
_SECRET_NAMES = re.compile(
    r'(password|passwd|secret|token|auth_encryption_key|fernet|credential_key|'
    r'private_key|api_key)', re.IGNORECASE
)
# Option names whose values are URLs that may carry credentials.
_URL_NAMES = re.compile(r'(transport_url|connection|url|uri)$', re.IGNORECASE)
# "--password value" / "--password=value" style command-line arguments.
_SECRET_FLAG = re.compile(r'^--?[\w-]*(password|passwd|secret|token)[\w-]*$', re.IGNORECASE)
_SECRET_FLAG_INLINE = re.compile(
    r'^(?P<flag>--?[\w-]*(?:password|passwd|secret|token)[\w-]*=)(?P<value>.*)$', re.IGNORECASE)


def mask_url(text):
    """Return ``text`` with the password of every ``scheme://user:password@`` masked.

    Works on a bare URL or on any text that contains URLs (a log line, an
    error message, a command line). Non-strings are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    return _URL_CREDENTIALS.sub(
        lambda m: '%s%s:%s@' % (m.group('prefix'), m.group('user'), MASK), text)


def is_secret_option(name):
    """True if an option of this name holds a secret (not just a URL)."""
    return bool(name) and bool(_SECRET_NAMES.search(str(name)))


def mask_option(name, value):
    """Mask the value of an INI option or module parameter named ``name``."""
    if value is None:
        return value
    if is_secret_option(name):
        return MASK
    if isinstance(value, str):
        return mask_url(value)
    return value


def mask_text(text, secrets=()):
    """Mask URL credentials and every literal secret of ``secrets`` in ``text``."""
    if not isinstance(text, str):
        return text
    masked = mask_url(text)
    for secret in secrets:
        if secret and isinstance(secret, str) and len(secret) >= 3:
            masked = masked.replace(secret, MASK)
    return masked


def mask_argv(argv, secrets=()):
    """Mask a command's argument list for display: flags like ``--password X``,
    ``--password=X``, URLs with credentials, and literal ``secrets``."""
    masked = []
    hide_next = False
    for arg in argv:
        arg = str(arg)
        if hide_next:
            masked.append(MASK)
            hide_next = False
            continue
        inline = _SECRET_FLAG_INLINE.match(arg)
        if inline:
            masked.append(inline.group('flag') + MASK)
            continue
        if _SECRET_FLAG.match(arg):
            masked.append(arg)
            hide_next = True
            continue
        masked.append(mask_text(arg, secrets))
    return masked


def mask_data(data, secrets=()):
    """Return a deep copy of ``data`` (dicts, lists, strings) with secrets masked.

    Dictionary keys that name secrets have their values replaced; every string
    has URL credentials and the literal ``secrets`` masked.
    """
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
                    and is_secret_option(key) and value not in ('', None):
                out[key] = MASK
            else:
                out[key] = mask_data(value, secrets)
        return out
    if isinstance(data, (list, tuple)):
        return [mask_data(item, secrets) for item in data]
    if isinstance(data, str):
        return mask_text(data, secrets)
    return data


def url_is_secret_bearing(name):
    """True if an option of this name is a URL that may carry credentials."""
    return bool(name) and bool(_URL_NAMES.search(str(name)))
