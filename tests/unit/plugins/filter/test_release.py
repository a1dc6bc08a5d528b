import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openstack_ops.upgrade.plugins.filter.release import release_step


@pytest.mark.parametrize('start, end, allow, kind, supported', [
    ('2025.2', '2025.2', False, 'same_series', True),
    ('2025.2', '2026.1', False, 'next', True),
    ('2026.1', '2026.2', False, 'next', True),
    ('2025.1', '2026.1', False, 'skip_level', False),
    ('2025.1', '2026.1', True, 'skip_level', True),
    ('2025.2', '2026.2', True, 'too_far', False),   # not SLURP to SLURP
    ('2024.1', '2026.1', True, 'too_far', False),
    ('2026.1', '2025.2', False, 'downgrade', False),
])
def test_release_steps(start, end, allow, kind, supported):
    step = release_step(start, end, allow)
    assert (step['kind'], step['supported']) == (kind, supported)
    assert start in step['reason'] and end in step['reason']


@pytest.mark.parametrize('bad', ['2025.3', 'flamingo', '', '25.2'])
def test_bad_release_names_are_refused(bad):
    with pytest.raises(AnsibleFilterError, match='not an OpenStack release name'):
        release_step(bad, '2026.1')
