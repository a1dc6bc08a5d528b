"""Helpers shared by the benchmarks under bench/: run the checkout's playbooks
against the lab, and sum time intervals."""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
INVENTORY = os.path.join(ROOT, 'inventories', 'lab', 'hosts.yml')
RESULTS = '/srv/openstack-lab/results'


def ansible_playbook(*args, env=None):
    """Run a playbook of the checkout on the lab; exits with its output when it fails."""
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), OSL_PROJECT_DIR=ROOT,
                    ANSIBLE_NOCOLOR='1')
    full_env.update(env or {})
    cmd = [os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'), '-i', INVENTORY] + list(args)
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-2000:])
        raise SystemExit('ansible-playbook %s failed (rc %d)' % (' '.join(args), proc.returncode))
    return proc.stdout


def union_seconds(intervals):
    """Total length of the union of [start, end] intervals."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def write_result(path, result):
    """Write a benchmark result as sorted, indented JSON, and print it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        json.dump(result, handle, indent=2, sort_keys=True)
        handle.write('\n')
    print(json.dumps(result, indent=2, sort_keys=True))
