# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one command helper of the collection.

Runs an argv list (never a shell string) with ``LANG=C``, resolves the binary
with ``get_bin_path``, skips mutating commands in check mode, bounds every
command with a timeout, and keeps an audit trail of what was run with secrets
masked. Output parsing lives in pure ``parse_*`` functions elsewhere.
"""

from __future__ import annotations

import os
import time

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.secrets import (
    mask_argv,
    mask_text,
)

# rc of coreutils timeout(1) when the command ran out of time (124) or had to
# be killed after --kill-after (137).
_TIMEOUT_RCS = (124, 137)


class CommandError(OpsError):
    """A command failed; the context carries its masked argv, rc and output."""


class CommandTimeout(CommandError):
    """A command did not finish within its timeout."""


class CommandResult(object):
    """What one command did. ``skipped`` is true for a mutating command in check mode."""

    __slots__ = ('argv', 'rc', 'stdout', 'stderr', 'skipped', 'elapsed')

    def __init__(self, argv, rc, stdout, stderr, skipped=False, elapsed=0.0):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.skipped = skipped
        self.elapsed = elapsed


class CommandRunner(object):
    """Runs commands for one module invocation and records them.

    ``commands`` is the audit trail returned to the operator: one dict per
    command with the masked command line, rc, elapsed seconds and whether it
    was skipped by check mode.
    """

    def __init__(self, module, secrets=(), timeout=None):
        self.module = module
        self.secrets = [s for s in secrets if s]
        self.timeout = timeout
        self.commands = []

    def add_secret(self, secret):
        if secret:
            self.secrets.append(secret)

    def mask(self, text):
        return mask_text(text, self.secrets)

    def resolve(self, name, opt_dirs=None):
        """Absolute path of executable ``name``; raises CommandError if absent."""
        if os.path.sep in name:
            if os.path.isfile(name) and os.access(name, os.X_OK):
                return name
            raise CommandError('Executable %s does not exist or is not executable.' % name)
        path = self.module.get_bin_path(name, required=False, opt_dirs=opt_dirs or [])
        if not path:
            raise CommandError(
                'Executable %s was not found in PATH%s; install it or give its full path.'
                % (name, ' or %s' % ', '.join(opt_dirs) if opt_dirs else ''))
        return path

    def run(self, argv, mutating=False, expected_rc=(0,), timeout=None, environ=None,
            cwd=None, data=None, check_rc=True):
        """Run ``argv`` and return a :class:`CommandResult`.

        ``mutating`` commands are not run in check mode (the result is marked
        ``skipped``). A rc outside ``expected_rc`` raises :class:`CommandError`
        unless ``check_rc`` is false. ``timeout`` (seconds, default the runner's)
        bounds the command through timeout(1).
        """
        argv = [str(a) for a in argv]
        argv[0] = self.resolve(argv[0])
        shown = mask_argv(argv, self.secrets)
        if mutating and self.module.check_mode:
            self.commands.append({'cmd': shown, 'rc': None, 'elapsed': 0.0, 'skipped': True})
            return CommandResult(shown, 0, '', '', skipped=True)

        timeout = self.timeout if timeout is None else timeout
        real_argv = argv
        if timeout:
            real_argv = [self.resolve('timeout'), '--kill-after=10', str(int(timeout))] + argv

        env = {'LANG': 'C', 'LC_ALL': 'C', 'LANGUAGE': 'C'}
        env.update(environ or {})
        start = time.monotonic()
        rc, out, err = self.module.run_command(real_argv, environ_update=env, cwd=cwd, data=data,
                                               binary_data=data is not None, check_rc=False)
        elapsed = round(time.monotonic() - start, 3)
        self.commands.append({'cmd': shown, 'rc': rc, 'elapsed': elapsed, 'skipped': False})
        result = CommandResult(shown, rc, out, err, elapsed=elapsed)
        if timeout and rc in _TIMEOUT_RCS:
            raise CommandTimeout(
                'Command "%s" did not finish within %s seconds and was stopped.'
                % (' '.join(shown), timeout),
                cmd=shown, rc=rc, stdout=self.mask(out), stderr=self.mask(err))
        if check_rc and rc not in expected_rc:
            raise CommandError(
                'Command "%s" failed with rc %s: %s'
                % (' '.join(shown), rc, self.mask((err or out or '').strip()[-2000:])),
                cmd=shown, rc=rc, stdout=self.mask(out), stderr=self.mask(err))
        return result
