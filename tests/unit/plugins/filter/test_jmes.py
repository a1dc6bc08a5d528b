import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.openstack_ops.upgrade.plugins.filter.jmes import jmes

QUEUES = [
    {'name': 'engine', 'messages': 0, 'messages_unacknowledged': 0, 'consumers': 2},
    {'name': 'engine_worker.4b1c', 'messages': 3, 'messages_unacknowledged': 1, 'consumers': 0},
]


def test_filters_queues_with_messages():
    assert jmes(QUEUES, '[?messages > `0`].name') == ['engine_worker.4b1c']


def test_sum_of_unacknowledged():
    assert jmes(QUEUES, 'sum([].messages_unacknowledged)') == 1


def test_bad_expression_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match='Invalid JMESPath expression'):
        jmes(QUEUES, '[?messages >')


class _TemplateList(list):
    """What a template engine hands a filter: a subclass of list."""


class _TemplateDict(dict):
    pass


def test_functions_accept_subclasses_of_list_and_dict():
    hosts = _TemplateList([_TemplateDict(service=None, instances=_TemplateList([])),
                           _TemplateDict(service=None, instances=_TemplateList([{'id': 'a'}]))])
    assert jmes(hosts, '[?service != null || length(instances) > `0`].instances[0].id') == ['a']
