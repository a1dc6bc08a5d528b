# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The release_step filter: is an upgrade from one OpenStack release to another supported?

OpenStack names releases YYYY.N (two a year since 2023.1). The .1 releases
are SLURP releases (Skip Level Upgrade Release Process): an upgrade may skip
one release only from one SLURP release to the next (2025.1 -> 2026.1).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_RELEASE = re.compile(r'^(?P<year>20\d\d)\.(?P<half>[12])$')


def _parse(release):
    match = _RELEASE.match(str(release).strip())
    if not match:
        raise AnsibleFilterError(
            'Release %r is not an OpenStack release name of the form YYYY.1 or YYYY.2 '
            '(for example 2025.2).' % (release,))
    return int(match.group('year')) * 2 + int(match.group('half')) - 1


def release_step(from_release, to_release, allow_skip_level=False):
    """Classify the step ``from_release`` -> ``to_release``.

    Returns a dict ``{supported, kind, from, to, reason}`` where ``kind`` is
    one of ``same_series``, ``next``, ``skip_level``, ``downgrade`` or
    ``too_far``; ``supported`` is false with a ``reason`` that names both
    releases for anything that may not be done.
    """
    start, end = _parse(from_release), _parse(to_release)
    result = {'from': str(from_release), 'to': str(to_release)}
    distance = end - start
    slurp_pair = str(from_release).endswith('.1') and str(to_release).endswith('.1')
    if distance == 0:
        result.update(kind='same_series', supported=True,
                      reason='%s to %s is an update within one series.' % (from_release, to_release))
    elif distance == 1:
        result.update(kind='next', supported=True,
                      reason='%s to %s is an upgrade to the next series.' % (from_release, to_release))
    elif distance == 2 and slurp_pair:
        result.update(
            kind='skip_level', supported=bool(allow_skip_level),
            reason=('%s to %s skips one release between consecutive SLURP releases%s.'
                    % (from_release, to_release,
                       '' if allow_skip_level else
                       '; it is refused unless asked for explicitly (set the skip-level option to true)')))
    elif distance < 0:
        result.update(kind='downgrade', supported=False,
                      reason='%s to %s is a downgrade; a schema cannot go back, restore a backup instead.'
                      % (from_release, to_release))
    else:
        result.update(
            kind='too_far', supported=False,
            reason=('%s to %s skips %d releases; only the next series, or one skip between '
                    'consecutive SLURP releases (YYYY.1 to YYYY+1.1), is supported. '
                    'Upgrade step by step.' % (from_release, to_release, distance - 1)))
    return result


class FilterModule(object):
    def filters(self):
        return {'release_step': release_step}
