# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment(object):
    # Options of every module that waits through module_utils.waiter.
    DOCUMENTATION = r'''
options:
  delay:
    description:
      - Seconds to wait before the first check.
    type: int
    default: 0
  sleep:
    description:
      - Seconds to sleep between two checks.
    type: int
    default: 2
  timeout:
    description:
      - Seconds to wait at most. On timeout the task fails and reports the last observed state.
    type: int
    default: 300
'''

    # Return keys of every module that runs commands through module_utils.command.
    COMMANDS = r'''
options: {}
'''
