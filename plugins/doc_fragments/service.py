# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment(object):
    # The service option of every module that knows services by name
    # (module_utils.services.SERVICES).
    DOCUMENTATION = r'''
options:
  service:
    description:
      - The OpenStack service.
    type: str
    required: true
    choices: [cinder, glance, heat, keystone, neutron, nova, placement]
'''
