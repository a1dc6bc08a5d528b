import pytest

from ansible_collections.openstack_ops.upgrade.plugins.module_utils import secrets


@pytest.mark.parametrize('raw, expected', [
    ('rabbit://heat:s3cr3t@127.0.0.1:5672/heat-2025.2',
     'rabbit://heat:********@127.0.0.1:5672/heat-2025.2'),
    ('rabbit://heat:a@127.0.0.1:5672,heat:b@10.0.0.2:5672/vh',
     'rabbit://heat:********@127.0.0.1:5672,heat:********@10.0.0.2:5672/vh'),
    ('mysql+pymysql://heat:p%40ss;w0rd@db.example.com/heat?charset=utf8',
     'mysql+pymysql://heat:********@db.example.com/heat?charset=utf8'),
    ('connection = mysql+pymysql://nova:pw@127.0.0.1/nova', 'connection = mysql+pymysql://nova:********@127.0.0.1/nova'),
    ('http://127.0.0.1:8004/v1/admin', 'http://127.0.0.1:8004/v1/admin'),
    ('sqlite:////var/lib/keystone/keystone.db', 'sqlite:////var/lib/keystone/keystone.db'),
])
def test_mask_url(raw, expected):
    assert secrets.mask_url(raw) == expected


@pytest.mark.parametrize('name, value, expected', [
    ('password', 'hunter22', secrets.MASK),
    ('auth_encryption_key', 'k' * 32, secrets.MASK),
    ('transport_url', 'rabbit://u:p@h/v', 'rabbit://u:********@h/v'),
    ('bind_port', '8004', '8004'),
    ('admin_token', 'abc', secrets.MASK),
])
def test_mask_option(name, value, expected):
    assert secrets.mask_option(name, value) == expected


def test_mask_argv_hides_flag_values_inline_values_and_literals():
    argv = ['mysqldump', '--password', 'pw1', '--user=heat', '--password=pw2', 'rabbit://a:b@h/', 'token-x-literal']
    assert secrets.mask_argv(argv, secrets=['token-x-literal']) == [
        'mysqldump', '--password', secrets.MASK, '--user=heat', '--password=' + secrets.MASK,
        'rabbit://a:********@h/', secrets.MASK]


def test_mask_data_is_deep_and_does_not_mutate():
    data = {'db': {'password': 'x1y2z3', 'url': 'mysql://a:bcd@h/db'}, 'list': ['rabbit://q:rst@h']}
    masked = secrets.mask_data(data)
    assert masked == {'db': {'password': secrets.MASK, 'url': 'mysql://a:********@h/db'},
                      'list': ['rabbit://q:********@h']}
    assert data['db']['password'] == 'x1y2z3'
