# -*- coding: utf-8 -*-
# Copyright: contributors to openstack_ops.upgrade
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment(object):
    # Connection options of every module that talks to an OpenStack API through
    # module_utils.openstack_api (OPENSTACK_ARGUMENT_SPEC).
    DOCUMENTATION = r'''
options:
  api_timeout:
    description:
      - Seconds to wait for one answer of Keystone or of the service's API.
    type: int
    default: 30
  auth:
    description:
      - Password authentication with Keystone v3, with the names of the C(auth) section of a
        C(clouds.yaml), which can be passed as it is.
      - The token is scoped to the project. The compute API's host-level calls need the C(admin) role
        on it (or a policy that allows them).
    type: dict
    required: true
    suboptions:
      auth_url:
        description:
          - URL of Keystone, with or without its C(/v3), for example C(https://keystone.example.org:5000/v3).
        type: str
        required: true
      password:
        description:
          - Password of O(auth.username). Never shown in messages or return values.
        type: str
        required: true
      project_domain_id:
        description:
          - Id of the domain of O(auth.project_name). Takes precedence over O(auth.project_domain_name).
        type: str
      project_domain_name:
        description:
          - Name of the domain of O(auth.project_name). When neither this nor O(auth.project_domain_id)
            is set, the domain with id C(default).
        type: str
      project_id:
        description:
          - Id of the project to scope the token to; takes precedence over O(auth.project_name).
        type: str
      project_name:
        description:
          - Name of the project to scope the token to, for example C(admin). One of O(auth.project_name)
            and O(auth.project_id) is required.
        type: str
      user_domain_id:
        description:
          - Id of the domain of O(auth.username). Takes precedence over O(auth.user_domain_name).
        type: str
      user_domain_name:
        description:
          - Name of the domain of O(auth.username). When neither this nor O(auth.user_domain_id) is set,
            the domain with id C(default).
        type: str
      username:
        description:
          - Name of the user.
        type: str
        required: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed the certificates of Keystone and of the
        endpoints, for C(https) URLs.
    type: path
  interface:
    description:
      - Which endpoint of the service catalog to use.
    type: str
    choices: [admin, internal, public]
    default: public
  region_name:
    description:
      - Region of the endpoint, when the catalog has endpoints in several regions.
    type: str
  validate_certs:
    description:
      - Whether to validate the certificates of C(https) URLs.
    type: bool
    default: true
notes:
  - HTTP goes through Ansible's own C(open_url); no OpenStack SDK is needed. The service's address comes
    from the token's service catalog. A request that gets HTTP 401 (a token that expired during a long wait)
    gets a new token and is sent once more.
'''
