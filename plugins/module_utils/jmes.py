# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""JMESPath queries over JSON answers (management API, status checks).

The collection's own small wrapper, so no community collection is needed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError

try:
    import jmespath
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    jmespath = None
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = exc


class QueryError(OpsError):
    """A JMESPath expression could not be compiled or evaluated."""


def plain(data):
    """``data`` with plain dicts, lists and strings in place of their subclasses.

    JMESPath decides a value's type by its class name, so the containers a
    template engine hands over (subclasses of dict and list) would be of no
    known type to its functions, such as ``length()``.
    """
    if isinstance(data, Mapping):
        return dict((plain(k), plain(v)) for k, v in data.items())
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    if isinstance(data, str):
        return str(data)
    return data


def query(expression, data):
    """Evaluate JMESPath ``expression`` on ``data``; raises QueryError."""
    data = plain(data)
    if not HAS_JMESPATH:
        raise QueryError('The Python library jmespath is required for JSON queries; '
                         'install it on the host that runs this task (pip install jmespath).')
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise QueryError('Invalid JMESPath expression %r: %s' % (expression, exc))
