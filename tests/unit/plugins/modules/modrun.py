"""Run a module's main() in-process with given arguments and catch its exit_json or fail_json."""

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    """What main() ended with: the result dict, and whether it failed."""

    def __init__(self, result, failed):
        super().__init__(result.get('msg'))
        self.result = result
        self.failed = failed


def run_module(monkeypatch, module, args, check_mode=False, diff=False):
    """Run ``module.main()`` with ``args``; returns the :class:`Exit` it ended with."""
    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, msg, **result):
        result['msg'] = msg
        raise Exit(result, True)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
        with pytest.raises(Exit) as caught:
            module.main()
    return caught.value
