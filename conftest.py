"""Lets plain pytest import ansible_collections.openstack_ops.upgrade.* from a checkout.

scripts/bootstrap links .collections/ansible_collections/openstack_ops/upgrade to
this directory; here the collection finder is installed over that path.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.abspath(__file__))
_COLLECTIONS = os.path.join(_ROOT, '.collections')
_LINK = os.path.join(_COLLECTIONS, 'ansible_collections', 'openstack_ops', 'upgrade')

if not os.path.lexists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink('../../..', _LINK)

if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_AnsibleCollectionFinder(paths=[_COLLECTIONS])._install()

collect_ignore_glob = ['.collections/*', '.venv/*', 'tests/output/*', 'extensions/*']
