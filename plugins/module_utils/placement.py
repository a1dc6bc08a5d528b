# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The placement API as the retirement of a compute host needs it: its resource providers and their allocations.

Why. Nova's ``DELETE /os-services/{id}`` deletes the resource provider tree
of each compute node of the host (``cascade=True``), but swallows
placement's 409: a provider that still holds allocations (a leaked
migration consumer, an instance now recorded on another host, any foreign
consumer) or still has children survives, and the service delete answers
204 all the same. Placement is keyed by nothing nova-specific, so a
nova-compute that later registers in another nova deployment with the same
compute node UUID (its ``compute_id`` file) adopts that provider with its
stale allocations; with another UUID it hits a name conflict and its node is
never scheduled. See docs/research/parallel-computes.md, sections 1 and 2.

Identity. From compute microversion 2.53 a hypervisor's ``id`` is the UUID
of its compute node, which is the UUID of its root resource provider, and its
``hypervisor_hostname`` the provider's name. Once nova has deleted the
service, its compute nodes are soft-deleted and no longer listed: a provider
left behind is then found by name only, the name being the host's (which
holds for drivers whose node name is the host, not for libvirt's FQDN when it
differs from the host).

Microversion 1.14 (placement in Queens or later): provider views carry
``parent_provider_uuid`` and ``root_provider_uuid``, and
``GET /resource_providers?in_tree=`` lists a provider's whole tree.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from ansible_collections.openstack_ops.upgrade.plugins.module_utils.errors import OpsError

PLACEMENT = 'placement'
PLACEMENT_MICROVERSION = '1.14'

_UUID = re.compile(r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')


class AllocationsLeft(OpsError):
    """A resource provider of a deleted compute service still holds allocations."""


# ---------------------------------------------------------------- pure helpers

def host_nodes(hypervisors, host):
    """The compute nodes of ``host`` in a nova.parse_hypervisors() list (2.53+) as [{uuid, name}].

    A hypervisor id that is not a UUID (a listing below 2.53) names no provider and is left out.
    """
    return [{'uuid': hv['id'], 'name': hv['hypervisor_hostname']} for hv in hypervisors
            if hv['host'] == host and isinstance(hv['id'], str) and _UUID.match(hv['id'])]


def parse_provider(item):
    """One resource provider of ``GET /resource_providers[/{uuid}]`` (1.14)."""
    return {'uuid': item.get('uuid'), 'name': item.get('name'),
            'parent_provider_uuid': item.get('parent_provider_uuid'),
            'root_provider_uuid': item.get('root_provider_uuid')}


def parse_providers(data):
    """``GET /resource_providers`` as a list: roots first, then by name."""
    providers = [parse_provider(p) for p in (data or {}).get('resource_providers') or []]
    return sorted(providers, key=lambda p: (p['parent_provider_uuid'] is not None, p['name'] or '', p['uuid'] or ''))


def parse_allocations(data):
    """``GET /resource_providers/{uuid}/allocations`` as {consumer uuid: {resource class: amount}}."""
    allocations = {}
    for consumer, allocation in ((data or {}).get('allocations') or {}).items():
        allocations[consumer] = dict((allocation or {}).get('resources') or {})
    return allocations


def provider_entry(uuid, name, exists, parent=None, allocations=None):
    """One entry of the ``resource_providers`` return value."""
    return {'uuid': uuid, 'name': name, 'exists': exists, 'parent_provider_uuid': parent,
            'allocations': dict(allocations or {})}


def with_allocations(providers):
    """The entries of providers that exist and hold at least one allocation."""
    return [p for p in providers if p['exists'] and p['allocations']]


def describe_provider(provider):
    return '%s (%s)' % (provider['name'], provider['uuid'])


def describe_allocations(allocations, limit=10):
    """'consumer (DISK_GB=1, MEMORY_MB=2048, VCPU=2), ...' for messages."""
    def one(consumer):
        resources = allocations[consumer]
        return '%s (%s)' % (consumer, ', '.join('%s=%s' % (rc, resources[rc]) for rc in sorted(resources)))
    consumers = sorted(allocations)
    shown = ', '.join(one(c) for c in consumers[:limit])
    if len(consumers) > limit:
        shown += ' and %d more' % (len(consumers) - limit)
    return shown


def allocations_left_message(host, providers, deleted):
    """Why a retired host's providers are not clean, and what to do; ``providers`` hold allocations."""
    if deleted:
        text = ('The nova-compute service of %s was deleted, but nova left its resource provider(s) in placement '
                'with allocations: ' % host)
    else:
        text = ('The nova-compute service of %s is gone, but resource provider(s) of it remain in placement '
                'with allocations: ' % host)
    text += '; '.join('%s holds those of %d consumer(s): %s'
                      % (describe_provider(p), len(p['allocations']), describe_allocations(p['allocations']))
                      for p in providers)
    consumer = sorted(providers[0]['allocations'])[0]
    text += ('. A compute node registering in another nova deployment with the same UUID adopts the provider with '
             'these allocations. Move or delete the consumers that are instances (openstack server show '
             '<consumer>); delete the allocations that are leaked (openstack resource provider allocation delete '
             '%s deletes all the allocations of that consumer; openstack --os-placement-api-version 1.12 resource '
             'provider allocation unset --provider %s %s only those on this provider); then run the task again.'
             % (consumer, providers[0]['uuid'], consumer))
    return text


def survivors_warning(host, providers):
    """The warning for providers that survived without allocations."""
    return ('Resource provider(s) of %s survived in placement without allocations: %s. A nova-compute that '
            'registers with the same compute node UUID (its compute_id file) adopts them, with their aggregates '
            'and traits; one with another UUID fails on the name and its node is never scheduled: delete them '
            'first (openstack resource provider delete <uuid>, children first).'
            % (host, ', '.join(describe_provider(p) for p in providers)))


# ---------------------------------------------------------------- client

class PlacementClient(object):
    """The placement calls the retirement of a compute host makes, over an openstack_api.Session."""

    def __init__(self, session, microversion=PLACEMENT_MICROVERSION):
        self.session = session
        self.microversion = microversion

    def _get(self, path, missing_ok=False):
        return self.session.request(PLACEMENT, 'GET', path, microversion=self.microversion, missing_ok=missing_ok)

    def provider(self, uuid):
        """The provider ``uuid``, or None when placement has none (404)."""
        data = self._get('/resource_providers/%s' % quote(uuid, safe=''), missing_ok=True)
        return parse_provider(data) if data else None

    def providers_named(self, name):
        return parse_providers(self._get('/resource_providers?%s' % urlencode({'name': name})))

    def tree(self, uuid):
        """Every provider of the tree ``uuid`` is in, roots first ([] when it is gone)."""
        return parse_providers(self._get('/resource_providers?%s' % urlencode({'in_tree': uuid})))

    def allocations(self, uuid):
        """The allocations against provider ``uuid``, or None when the provider is gone (404)."""
        data = self._get('/resource_providers/%s/allocations' % quote(uuid, safe=''), missing_ok=True)
        return None if data is None else parse_allocations(data)

    def host_providers(self, host, nodes=None):
        """The resource providers of a compute host as provider_entry() dicts, each tree root first.

        ``nodes`` are the host's compute nodes (host_nodes()): each is looked up
        by UUID, and reported with ``exists`` false when placement has none.
        Without nodes (the service is already gone, or has no compute node),
        the providers named ``host`` are looked up. The whole tree of each
        provider found is reported, children included: nova deletes trees
        leaves first, and a child that holds allocations keeps its parent.
        """
        entries, roots = [], []
        if nodes:
            for node in nodes:
                found = self.provider(node['uuid'])
                if found is None:
                    entries.append(provider_entry(node['uuid'], node['name'], False))
                else:
                    roots.append(found)
        else:
            roots = self.providers_named(host)
        seen = set(e['uuid'] for e in entries)
        for root in roots:
            for provider in self.tree(root['uuid']) or [root]:
                if provider['uuid'] in seen:
                    continue
                seen.add(provider['uuid'])
                allocations = self.allocations(provider['uuid'])
                entries.append(provider_entry(provider['uuid'], provider['name'], allocations is not None,
                                              provider['parent_provider_uuid'], allocations))
        return entries
