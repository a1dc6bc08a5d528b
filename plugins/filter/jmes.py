# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The jmes filter: JMESPath queries in playbooks without community collections."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.jmes import QueryError, query


def jmes(data, expression):
    try:
        return query(expression, data)
    except QueryError as exc:
        raise AnsibleFilterError(exc.msg)


class FilterModule(object):
    def filters(self):
        return {'jmes': jmes}
