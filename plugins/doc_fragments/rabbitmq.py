# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment(object):
    # Connection options of every module that talks to the RabbitMQ management
    # API through module_utils.rabbitmq (RABBITMQ_ARGUMENT_SPEC).
    DOCUMENTATION = r'''
options:
  api_timeout:
    description:
      - Seconds to wait for one answer of the management API.
    type: int
    default: 10
  api_url:
    description:
      - Base URL of the RabbitMQ management API (the C(rabbitmq_management) plugin),
        without C(/api).
      - Enable the plugin with C(rabbitmq-plugins enable rabbitmq_management).
    type: str
    default: http://127.0.0.1:15672
  ca_path:
    description:
      - PEM file of the certificate authority that signed the API's certificate, for an
        C(https) I(api_url).
    type: path
  login_password:
    description:
      - Password of O(login_user).
      - When not set, C(guest) is used, the password of RabbitMQ's default user (which
        can only log in from localhost).
    type: str
  login_user:
    description:
      - User of the management API. Managing vhosts, users and permissions needs the
        C(administrator) tag; reading queues needs at least C(monitoring).
    type: str
    default: guest
  validate_certs:
    description:
      - Whether to validate the certificate of an C(https) O(api_url).
    type: bool
    default: true
notes:
  - HTTP goes through Ansible's own C(open_url); no Python library beyond Ansible is
    needed to reach the API. Filtering uses the C(jmespath) library.
  - Vhost, user and queue names are URL-encoded (C(/) becomes C(%2F)).
'''
