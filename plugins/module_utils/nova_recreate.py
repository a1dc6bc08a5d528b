# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Re-creating one instance in another nova deployment of the same Keystone.

Nova cannot move an instance between two deployments (two ``nova_api``
databases behind compute endpoints of two regions of one catalog). What can be
done is to boot an equivalent instance, the *twin*, in the new deployment
from the same image (glance is shared) and a flavor of the same name, with
the same name and metadata, and to delete the original once the twin is
ACTIVE. The twin carries a metadata key naming the original's UUID, which
makes the move resumable: a second run finds the twin instead of booting
another one.

Microversion 2.74 for every compute call: a server embeds its flavor with
``original_name`` (2.47), flavors embed their ``extra_specs`` (2.61),
``networks`` may be the strings ``none`` or ``auto`` (2.37), and 2.74 is the
last one where a flavor's ``swap`` of 0 is answered as ``""`` (2.75 changed
it), which :func:`parse_flavor` reads either way.

:class:`RegionSession` is a :class:`Session` whose audit entries carry its
region, so that the sessions of both deployments write one trail in the order
the requests were made.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.nova import NovaClient, parse_server
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.openstack_api import Session
from ansible_collections.openstack_ops.upgrade.plugins.module_utils.waiter import WaitTimeout, wait_for

RECREATE_MICROVERSION = '2.74'
# What a deleted instance may still show when the deployment defers deletes
# (``reclaim_instance_interval``): its disk stays on the host until reclaimed.
GONE_STATUSES = ('DELETED', 'SOFT_DELETED')
INSTANCE_KEYS = ('id', 'name', 'status', 'host', 'project_id', 'flavor', 'image')
NETWORK_STRINGS = ('auto', 'none')
# Characters that are special in the regular expressions of nova's ``name``
# filter (MySQL REGEXP, PostgreSQL ~, Python re for SQLite).
_REGEX_SPECIAL = set('\\.^$*+?()[]{}|')
_SCOPE_KEYS = ('project_id', 'project_name', 'project_domain_id', 'project_domain_name')


class RecreateRefused(OpsError):
    """The instance cannot be re-created as asked; nothing was changed."""


class RecreateFailed(OpsError):
    """The re-creation started but did not finish; the context says what exists now."""


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- instances

def parse_instance(item):
    """One server of ``GET /servers/{id}`` or ``/servers/detail`` at 2.74 (admin): nova's parse_server and
    what a re-creation needs besides."""
    image = item.get('image')
    return dict(parse_server(item),
                project_id=item.get('tenant_id'),
                # "" for an instance booted from a volume
                image=image.get('id') if isinstance(image, dict) else (image or None),
                metadata=dict(item.get('metadata') or {}),
                key_name=item.get('key_name'))


def instance_view(instance):
    """What the module returns of an instance (None stays None)."""
    if instance is None:
        return None
    return dict((key, instance.get(key)) for key in INSTANCE_KEYS)


def state_view(instance):
    """What the diff compares: ``{id, status, host}`` or None."""
    if instance is None:
        return None
    return {'id': instance.get('id'), 'status': instance.get('status'), 'host': instance.get('host')}


def identity(state):
    """Which original and which twin exist, for ``changed``: a status that moves by itself (BUILD to
    ACTIVE) is no change, a soft-deleted original counts as gone, a planned twin as one."""
    original, twin = state['original'], state['twin']
    return (None if original is None or original['status'] in GONE_STATUSES else original['id'],
            None if twin is None else (twin['id'] or twin['status']))


def planned_twin(original):
    """The twin check mode predicts."""
    return dict(instance_view(original), id=None, status='planned', host=None)


def describe_instance(instance):
    """'web1 (uuid)' for messages."""
    return '%s (%s)' % (instance.get('name') or '?', instance.get('id'))


def describe_status(instance):
    """The state of an instance for a wait's timeout message."""
    if instance is None:
        return 'gone'
    text = 'status %s' % instance['status']
    if instance.get('task_state'):
        text += ', task %s' % instance['task_state']
    if instance.get('fault'):
        text += ', fault: %s' % instance['fault']
    return text


def refusal_reason(original):
    """Why ``original`` cannot be re-created from its image now, or None."""
    if not original.get('image'):
        return 'it was booted from a volume (it has no image to boot the twin from)'
    if original['status'] != 'ACTIVE':
        reason = 'its status is %s' % original['status']
        if original['status'] == 'ERROR' and original.get('fault'):
            reason += ' (%s)' % original['fault']
        return reason + ', not ACTIVE'
    if original.get('task_state'):
        return 'a task is in progress on it (%s)' % original['task_state']
    return None


def name_filter(name):
    """The value of nova's ``name`` filter (a regular expression) that matches ``name`` only."""
    return '^%s$' % ''.join('\\' + c if c in _REGEX_SPECIAL else c for c in name or '')


def twins_of(servers, marker_key, original_id):
    """The servers whose metadata ``marker_key`` names ``original_id``."""
    return [s for s in servers if s['metadata'].get(marker_key) == original_id]


def twin_body(original, flavor_id, marker_key, networks):
    """The body of ``POST /servers`` for the twin of ``original``."""
    metadata = dict(original.get('metadata') or {})
    metadata[marker_key] = original['id']
    server = {'name': original['name'], 'imageRef': original['image'], 'flavorRef': flavor_id,
              'metadata': metadata, 'networks': networks}
    if original.get('key_name'):
        server['key_name'] = original['key_name']
    return {'server': server}


def check_networks(networks):
    """Refuse a ``networks`` value nova would refuse, before anything changes."""
    if isinstance(networks, str) and networks in NETWORK_STRINGS:
        return networks
    if isinstance(networks, list) and all(isinstance(n, dict) and n for n in networks):
        return networks
    raise RecreateRefused('networks must be none, auto or a list of dicts such as {uuid: NETWORK_ID} or '
                          '{port: PORT_ID}; got %r.' % (networks,))


def scoped_auth(auth, project_id):
    """``auth`` scoped to the project with id ``project_id`` (the other scope keys dropped)."""
    scoped = dict((k, v) for k, v in auth.items() if k not in _SCOPE_KEYS)
    scoped['project_id'] = project_id
    return scoped


# ---------------------------------------------------------------- flavors

def parse_flavor(item):
    """One flavor of ``GET /flavors/detail`` or ``/flavors/{id}``; ``extra_specs`` is None when the
    answer does not embed them (before 2.61, or a policy that hides them)."""
    extra_specs = item.get('extra_specs')
    return {
        'id': item.get('id'),
        'name': item.get('name'),
        'ram': _int(item.get('ram')),
        'vcpus': _int(item.get('vcpus')),
        'disk': _int(item.get('disk')),
        'ephemeral': _int(item.get('OS-FLV-EXT-DATA:ephemeral')),
        'swap': _int(item.get('swap')),     # "" before 2.75 when there is none
        'is_public': item.get('os-flavor-access:is_public', True) is not False,
        'description': item.get('description'),
        'extra_specs': dict(extra_specs) if isinstance(extra_specs, dict) else None,
    }


def flavor_create_body(flavor):
    """The body of ``POST /flavors`` that copies ``flavor`` with its id."""
    body = {'id': flavor['id'], 'name': flavor['name'], 'ram': flavor['ram'], 'vcpus': flavor['vcpus'],
            'disk': flavor['disk'], 'OS-FLV-EXT-DATA:ephemeral': flavor['ephemeral'], 'swap': flavor['swap'],
            'os-flavor-access:is_public': flavor['is_public']}
    if flavor.get('description'):
        body['description'] = flavor['description']
    return {'flavor': body}


def flavor_differences(wanted, found):
    """The sizes in which two flavors of the same name differ, as 'ram 2048 != 4096, ...'."""
    keys = ('ram', 'vcpus', 'disk', 'ephemeral', 'swap')
    return ', '.join('%s %s != %s' % (k, wanted[k], found[k]) for k in keys if wanted[k] != found[k])


# ---------------------------------------------------------------- sessions and client

class RegionSession(Session):
    """A Session whose audit entries carry ``region``; several of them can share ``trail``."""

    def __init__(self, auth, trail=None, **kwargs):
        super().__init__(auth, **kwargs)
        if trail is not None:
            self.requests = trail
        self.audit_context = {'region': self.region_name}


class RecreateClient(NovaClient):
    """The compute calls of a re-creation, in one deployment."""

    def __init__(self, session, microversion=RECREATE_MICROVERSION):
        super().__init__(session, microversion)

    @property
    def region(self):
        return self.session.region_name

    def project_id(self):
        """The id of the project the session's token is scoped to."""
        if self.session.token is None:
            self.session.authenticate()
        return self.session.project['id']

    # -- servers

    def instance(self, server_id):
        data = self._call('GET', '/servers/%s' % quote(server_id, safe=''), missing_ok=True)
        return parse_instance(data['server']) if data else None

    def instances(self, name=None):
        """The servers of every project (admin), those named ``name`` only when it is given."""
        params = {'all_tenants': 1}
        if name is not None:
            params['name'] = name_filter(name)
        return [parse_instance(s) for s in self._paged('/servers/detail', 'servers', params)['servers']]

    def create_server(self, body):
        """Boot a server; its id, or None in check mode. The answer's ``adminPass`` is dropped."""
        data = self._call('POST', '/servers', body)
        return data['server']['id'] if data else None

    def delete_server(self, server_id):
        return self._call('DELETE', '/servers/%s' % quote(server_id, safe=''))

    def keypair(self, name):
        """The keypair ``name`` of the session's user, or None."""
        return self._call('GET', '/os-keypairs/%s' % quote(name, safe=''), missing_ok=True)

    # -- flavors

    def flavor_named(self, name):
        """The flavor called ``name``, public or private (admin), or None."""
        listed = self._paged('/flavors/detail', 'flavors', {'is_public': 'none'})['flavors']
        found = [parse_flavor(f) for f in listed if f.get('name') == name]
        return found[0] if found else None

    def flavor(self, flavor_id):
        data = self._call('GET', '/flavors/%s' % quote(str(flavor_id), safe=''), missing_ok=True)
        return parse_flavor(data['flavor']) if data else None

    def extra_specs(self, flavor_id):
        data = self._call('GET', '/flavors/%s/os-extra_specs' % quote(str(flavor_id), safe=''))
        return dict((data or {}).get('extra_specs') or {})

    def create_flavor(self, flavor):
        return self._call('POST', '/flavors', flavor_create_body(flavor))

    def set_extra_specs(self, flavor_id, extra_specs):
        return self._call('POST', '/flavors/%s/os-extra_specs' % quote(str(flavor_id), safe=''),
                          {'extra_specs': extra_specs})

    def flavor_projects(self, flavor_id):
        """The projects a private flavor is shared with."""
        data = self._call('GET', '/flavors/%s/os-flavor-access' % quote(str(flavor_id), safe=''))
        return sorted(a.get('tenant_id') for a in (data or {}).get('flavor_access') or [])

    def add_flavor_project(self, flavor_id, project_id):
        return self._call('POST', '/flavors/%s/action' % quote(str(flavor_id), safe=''),
                          {'addTenantAccess': {'tenant': project_id}})


# ---------------------------------------------------------------- waits

def wait_settled(client, server_id, timeout, sleep, delay, what):
    """Wait until the server has left BUILD (or is gone); returns its last state."""
    try:
        return wait_for(lambda: client.instance(server_id), lambda s: s is None or s['status'] != 'BUILD',
                        timeout, sleep, delay, what=what, describe=describe_status).state
    except WaitTimeout as exc:
        raise RecreateFailed(exc.msg + '.', attempts=exc.attempts)


def wait_gone(client, server_id, timeout, sleep, what):
    """Wait until the server is gone (404) or soft-deleted; returns its last state (None when gone)."""
    try:
        return wait_for(lambda: client.instance(server_id),
                        lambda s: s is None or s['status'] in GONE_STATUSES,
                        timeout, sleep, 0, what=what, describe=describe_status).state
    except WaitTimeout as exc:
        raise RecreateFailed(exc.msg + '.', attempts=exc.attempts)
