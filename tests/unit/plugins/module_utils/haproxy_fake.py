"""A stand-in for HAProxy's admin socket, for tests: a real UNIX (or TCP)
socket served from a thread, answering one command per connection with the
answers captured from HAProxy 2.6.12 (tests/unit/fixtures/haproxy/).

The fake is in one *scene* at a time: a pair of captured ``show stat`` and
``show servers state`` answers. ``set server B/S state X`` moves it to the
scenes listed in ``transitions[command]``: the first at once, each next one
after a ``show servers state`` has been answered (the last command of one
observation of a server), so that successive checks of a wait see time pass.
"""

import os
import shutil
import socket
import socketserver
import tempfile
import threading

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'haproxy')

# scene -> (show stat answer, show servers state answer); see the fixtures' README
SCENES = {
    'up': ('show_stat.up.txt', 'show_servers_state.up.txt'),
    'inflight': ('show_stat.inflight.txt', 'show_servers_state.up.txt'),
    'web1_drain_inflight': ('show_stat.web1_drain_inflight.txt', 'show_servers_state.web1_drain_inflight.txt'),
    'web1_drain': ('show_stat.web1_drain.txt', 'show_servers_state.web1_drain.txt'),
    'web1_maint': ('show_stat.web1_maint.txt', 'show_servers_state.web1_maint.txt'),
    'mirror_ready_web1_maint': ('show_stat.mirror_ready_web1_maint.txt',
                                'show_servers_state.be_track.mirror_ready_web1_maint.txt'),
    'web1_ready': ('show_stat.web1_ready.txt', 'show_servers_state.web1_ready.txt'),
    'web2_down': ('show_stat.web2_down.txt', 'show_servers_state.web2_down.txt'),
    'web2_down_drain': ('show_stat.web2_down_drain.txt', 'show_servers_state.web2_down_drain.txt'),
    'web2_down_maint': ('show_stat.web2_down_maint.txt', 'show_servers_state.web2_down_maint.txt'),
    'web2_down_ready': ('show_stat.web2_down_ready.txt', 'show_servers_state.web2_down.txt'),
    'web2_going_up': ('show_stat.web2_going_up.txt', 'show_servers_state.web2_going_up.txt'),
    'web2_up': ('show_stat.web2_up.txt', 'show_servers_state.be_app.up.txt'),
    'spare_ready': ('show_stat.spare_ready.txt', 'show_servers_state.be_other.spare_ready.txt'),
}


def fixture(name):
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        return f.read()


def servers_state_of(answer, backend):
    """A captured ``show servers state`` cut down to one backend, as HAProxy
    answers ``show servers state <backend>``; None if it is not there."""
    lines = answer.decode().splitlines()
    rows = [line for line in lines[2:] if line.split(' ')[1:2] == [backend]]
    if not rows:
        return None
    return ('\n'.join(lines[:2] + rows) + '\n\n').encode()


class FakeHAProxy(object):
    def __init__(self, scene='up', tcp=False):
        self.scene = scene
        self.pending = []
        self.transitions = {}
        # command -> raw answer, overrides the scenes
        self.answers = {'get weight be_app/web1': fixture('answer.get_weight.txt')}
        self.received = []
        self.mute = False       # accept connections, never answer
        self.dir = tempfile.mkdtemp(prefix='hafake-', dir='/tmp')
        handler = self._handler()
        if tcp:
            self.server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), handler)
            self.address = '127.0.0.1:%d' % self.server.server_address[1]
        else:
            self.address = os.path.join(self.dir, 'admin.sock')
            self.server = socketserver.ThreadingUnixStreamServer(self.address, handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _handler(self):
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                command = self.rfile.readline().decode().rstrip('\n')
                if fake.mute:
                    self.rfile.read()  # until the client gives up
                    return
                self.wfile.write(fake.answer(command))
        return Handler

    def move(self, scenes):
        scenes = list(scenes)
        self.scene = scenes.pop(0)
        self.pending = scenes

    def answer(self, command):
        self.received.append(command)
        if command in self.answers:
            return self.answers[command]
        stat, state = SCENES[self.scene]
        if command == 'show stat':
            return fixture(stat)
        if command.startswith('show servers state '):
            answer = servers_state_of(fixture(state), command.split(' ', 3)[3])
            if self.pending:
                self.scene = self.pending.pop(0)
            return answer if answer is not None else fixture('answer.servers_state_no_such_backend.txt')
        if command.startswith('set server '):
            target = command.split(' ')[2]
            if '/' not in target:
                return fixture('answer.require_backend_server.txt')
            backend, server = target.split('/', 1)
            known = [line.split(',')[:2] for line in fixture(stat).decode().splitlines()]
            if not any(b == backend for b, dummy in known):
                return fixture('answer.no_such_backend.txt')
            if [backend, server] not in known:
                return fixture('answer.no_such_server.txt')
            if command in self.transitions:
                self.move(self.transitions[command])
            return fixture('answer.set_state_ok.txt')
        return fixture('answer.unknown_command.txt')

    def sent(self, prefix='set server'):
        return [c for c in self.received if c.startswith(prefix)]


def closed_port():
    """A TCP port on 127.0.0.1 nobody listens on."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port
