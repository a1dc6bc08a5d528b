# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Exceptions raised inside the collection's module_utils.

Internal code raises these; only a module's ``main()`` turns them into
``fail_json(msg=..., **error.context)``.
"""

from __future__ import annotations


class OpsError(Exception):
    """An error with a message for the operator and structured context.

    ``context`` holds extra return keys (already masked) that help the operator
    see what was found, e.g. the last observed state of a wait.
    """

    def __init__(self, msg, **context):
        super().__init__(msg)
        self.msg = msg
        self.context = context


def fail_from(module, error, **extra):
    """Report an :class:`OpsError` through ``module.fail_json``."""
    result = dict(extra)
    result.update(error.context)
    module.fail_json(msg=error.msg, **result)
