# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment(object):
    # The login options of every module that talks to a service's database
    # through module_utils.mysql (CONNECTION_ARGUMENT_SPEC); each module
    # documents its own config_file and database_url.
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host of the database server. Overrides the host of O(database_url) or O(config_file).
      - Without any host the client uses its local socket.
    type: str
  login_password:
    description:
      - Password of O(login_user). Overrides the password of O(database_url) or O(config_file).
    type: str
  login_port:
    description:
      - TCP port of the database server.
    type: int
  login_unix_socket:
    description:
      - Unix socket of the database server.
    type: path
  login_user:
    description:
      - User to connect as. Overrides the user of O(database_url) or O(config_file). Without any user
        the client's default applies (the local user, e.g. C(root) over the socket).
    type: str
'''
