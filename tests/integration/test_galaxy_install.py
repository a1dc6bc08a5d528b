"""The collection as an operator gets it: built, installed with ansible-galaxy
into an empty collections path, and used from a site playbook outside the
checkout (docs/site-example.yml) against the lab."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.dirname(sys.executable)


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


def test_build_install_and_use_from_a_site_playbook(tmp_path):
    build = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', str(tmp_path)])
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(p for p in tmp_path.iterdir() if p.name.startswith('openstack_ops-upgrade-'))
    names = run(['tar', 'tzf', str(tarball)]).stdout.split()
    assert 'plugins/modules/openstack_service.py' in names
    assert not any(n.startswith(('.collections', '.venv', 'tests/output')) for n in names)

    collections = tmp_path / 'collections'
    site = tmp_path / 'site'
    site.mkdir()
    shutil.copy(os.path.join(ROOT, 'docs', 'site-example.yml'), site / 'site.yml')
    # The operator's own configuration: nothing of the checkout's ansible.cfg.
    (site / 'ansible.cfg').write_text('[defaults]\ncollections_path = %s\n' % collections)
    env = dict(os.environ, ANSIBLE_CONFIG=str(site / 'ansible.cfg'), ANSIBLE_NOCOLOR='1', OSL_PROJECT_DIR=ROOT)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)

    install = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', str(tarball), '-p', str(collections)],
                  cwd=str(site), env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (collections / 'ansible_collections' / 'openstack_ops' / 'upgrade' / 'MANIFEST.json').exists()
    play = run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(ROOT, 'inventories', 'lab', 'hosts.yml'),
                'site.yml'], cwd=str(site), env=env)
    out = play.stdout + play.stderr
    assert play.returncode == 0, out[-3000:]
    assert 'osl-node1-heat-api=running, osl-node1-heat-engine=running' in out, out[-3000:]
    doc = run([os.path.join(BIN, 'ansible-doc'), 'openstack_ops.upgrade.openstack_service'], cwd=str(site), env=env)
    assert str(collections) in doc.stdout, doc.stdout[:500] + doc.stderr
    assert '.collections/ansible_collections' not in out
