# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
name: task_timer
type: aggregate
short_description: Append how long every task took, per host, to a JSON-lines file
version_added: 0.1.0
description:
  - Records, for every task result, the play, the task name, the host, its start and end time and
    whether it changed or failed, and appends them as one JSON line to a file when the playbook ends
    (one line per playbook run; times are seconds since C(started_epoch)).
  - Used by the benchmarks under C(bench/) to tell the time of the intrinsic commands (installs,
    migrations, service stops and starts) from the orchestration around them.
author: openstack_ops.upgrade contributors (!UNKNOWN)
requirements:
  - enable in C(callbacks_enabled)
options:
  output:
    description: Path of the JSON-lines file to append to.
    type: path
    default: task_timer.jsonl
    env:
      - name: OPENSTACK_OPS_TASK_TIMER_OUTPUT
    ini:
      - section: openstack_ops_task_timer
        key: output
'''

import json
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'openstack_ops.upgrade.task_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started = time.time()
        self._play = None
        self._task_start = {}
        self._records = []

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start[task._uuid] = time.time()

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start[task._uuid] = time.time()

    def _record(self, result, status):
        task = result._task
        now = time.time()
        start = self._task_start.get(task._uuid, now)
        self._records.append({
            'play': self._play,
            'task': task.get_name(),
            'host': result._host.get_name(),
            'status': status,
            'changed': bool(result._result.get('changed', False)),
            'start': round(start - self._started, 3),
            'end': round(now - self._started, 3),
        })

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        line = json.dumps({'started_epoch': round(self._started, 3),
                           'wall_seconds': round(time.time() - self._started, 3),
                           'tasks': self._records})
        with open(self.get_option('output'), 'a') as handle:
            handle.write(line + '\n')
