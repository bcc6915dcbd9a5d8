"""The event-loop model: one thread, non-blocking sockets, `selectors`.

Contract: `SelectServer.serve_forever` runs one loop that waits in
`selector.select()` for any socket to be ready, then does only what can be done
without waiting: accept, a TLS handshake step, one recv, as much send as the
kernel takes. Each connection's progress lives in a `Client` object, not on a
thread's stack, so an idle connection costs a few hundred bytes, not a thread.

- Back-pressure: while a client has unsent output we stop reading from it and
  stop answering its pipelined requests, so a client that pipelines requests
  but never reads cannot grow our memory.
- The loop never waits on a disk: storing an upload (writes, fsync, rename) and
  any handler for a request with a body run on a few helper threads, as in
  nginx's thread pools; the connection sleeps meanwhile and resumes when the
  helper is done (see `Connection.work`).
- Deadlines (idle, head, body, handshake) are checked by the loop itself, in a
  sweep at most once a second.
- TLS handshakes and reads are stepped with `SSLWantReadError` and
  `SSLWantWriteError`, so a stalled handshake blocks no one.
- At most `limits.max_connections` at once; beyond that a client gets 503.
"""

import collections
import queue
import selectors
import socket
import ssl
import threading
import time

from .blocking import FAILED, PLAIN_HTTP, PLAIN_HTTP_ON_TLS_PORT, WANT_READ, WANT_WRITE, tls_handshake_step
from .outbox import Outbox, send_waiting
from .response import error_bytes
from .server import BaseServer
from .tls import send_close_notify

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECEIVE_SIZE = 64 * 1024
SWEEP_INTERVAL = 1.0
LINGER = 1.0
DISK_THREADS = 4  # helpers that run the disk work of uploads, off the loop
# ... and a WSGI application's code (an app that says `blocking = True`): then
# `limits.pool_threads` helpers, the bounded pool the application runs in.


class Client:
    """One connection's state in the loop: socket, protocol, output not yet sent."""

    __slots__ = ("sock", "connection", "outbox", "deadline", "last_activity", "handshaking",
                 "tls", "draining", "events", "busy", "waiting_turn")

    def __init__(self, sock, connection, deadline, handshaking):
        self.sock = sock
        self.connection = connection
        self.outbox = Outbox()  # bytes and FileBody objects, in order
        # A fixed deadline while handshaking, writing or draining; otherwise None,
        # and the connection says (from the last activity) which timeout applies.
        self.deadline = deadline
        self.last_activity = time.monotonic()
        self.handshaking = handshaking  # True until the TLS handshake completes
        self.tls = handshaking
        self.draining = False  # response sent, write side shut: read until EOF
        self.events = READ  # what the selector watches for; 0 while not registered
        self.busy = False  # a helper thread is doing this connection's disk work
        self.waiting_turn = False  # in `runnable`: requests buffered, answered on its turn


class SelectServer(BaseServer):
    """Every connection in one thread, multiplexed with `selectors`."""

    model = "select"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selector = selectors.DefaultSelector()
        self.clients = set()
        self._wake_writer.setblocking(False)
        self.tasks = queue.SimpleQueue()  # loop → disk helpers: (client, work)
        self.done = queue.SimpleQueue()  # disk helpers → loop: clients to resume
        self.helpers = []
        self.runnable = collections.deque()  # clients with requests buffered: each gets a turn
        self.helper_limit = self.limits.pool_threads if getattr(self.app, "blocking", False) else DISK_THREADS

    def serve_forever(self):
        selector = self.selector
        selector.register(self._wake_reader, READ, "wake")
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        try:
            while not self._stopping.is_set():
                if self.draining.is_set():  # a graceful stop (drain.py)
                    if self.accepting:
                        self.stop_accepting(selector)
                        next_sweep = 0  # close the idle connections now
                    elif not self.clients:
                        break
                timeout = 0 if self.runnable else (SWEEP_INTERVAL if not self.draining.is_set() else 0.1)
                if self.accept_paused_until or not self._listener_watched:
                    timeout = self.watch_listener(selector, timeout)
                for key, mask in selector.select(timeout):
                    client = key.data
                    if client is None:
                        self.accept_waiting()
                    elif client == "wake":
                        self.resume_finished()
                    elif client.events:  # (0: unregistered earlier in this round)
                        try:
                            if mask & READ:
                                self.on_readable(client)
                            elif mask & WRITE:
                                self.flush(client)
                        except Exception:  # a bug of ours: it costs this client only
                            self.fault(client)
                for _ in range(len(self.runnable)):  # one turn each for clients with requests waiting
                    client = self.runnable.popleft()
                    client.waiting_turn = False
                    if client in self.clients:
                        self.guarded(self.take_turn, client)
                now = time.monotonic()
                if now >= next_sweep:
                    self.sweep(now)
                    next_sweep = now + (SWEEP_INTERVAL if not self.draining.is_set() else 0.1)
        finally:
            self.stop_connections()
            selector.close()
            self.lingerer.stop()
            self._stopped.set()

    def guarded(self, step, client, *args):
        """Run one step for one client; a bug in it closes that client only."""
        try:
            step(client, *args)
        except Exception:
            self.fault(client)

    def fault(self, client):
        """A bug while serving `client`: log it, answer 500 if we can, close it."""
        self.log_fault(client.connection.client, "serving")
        if not client.outbox and not client.handshaking and not client.draining:
            try:  # nothing of a response is on the wire yet: say what happened
                client.sock.send(error_bytes(500, "internal server error"))
            except OSError:
                pass
        self.close_client(client)

    # -- accepting ------------------------------------------------------------

    def handle_accepted(self, sock, address):
        if len(self.clients) >= self.limits.max_connections:
            return self.refuse_busy(sock)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        secure = self.ssl_context is not None
        now = time.monotonic()
        deadline = now + self.limits.handshake_timeout if secure else None
        connection = self.new_connection(address, secure, offload=True)
        client = Client(sock, connection, deadline, handshaking=secure)
        # While a helper runs this connection's work the loop leaves it alone, so
        # an application's write() may send from the helper (client.sock: TLS once wrapped).
        connection.transmit = lambda items: send_waiting(client.sock, items, self.limits.body_timeout)
        self.clients.add(client)
        self.selector.register(sock, READ, client)

    # -- reading --------------------------------------------------------------

    def on_readable(self, client):
        if client.handshaking:
            return self.handshake_step(client)
        if client.draining:
            return self.drain(client)
        sock = client.sock
        try:
            data = sock.recv(RECEIVE_SIZE)
            # TLS may hold more decrypted bytes than one recv returned.
            while client.tls and sock.pending():
                data += sock.recv(RECEIVE_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except ssl.SSLWantWriteError:
            return self.want(client, WRITE)
        except OSError:
            return self.close_client(client)
        outgoing = client.connection.receive(data)
        client.last_activity = time.monotonic()
        if not data:
            client.connection.closing = True
            if not outgoing:
                return self.close_client(client)
        self.queue(client, outgoing)

    def handshake_step(self, client):
        plain = not isinstance(client.sock, ssl.SSLSocket)
        if plain:  # wrapping detaches the plain socket object: unregister it first
            self.selector.unregister(client.sock)
            client.events = 0
        client.sock, outcome = tls_handshake_step(client.sock, self.ssl_context)
        if plain and outcome != FAILED:
            client.events = READ
            self.selector.register(client.sock, READ, client)
        if outcome == WANT_READ or outcome == WANT_WRITE:
            return self.want(client, READ if outcome == WANT_READ else WRITE)
        if outcome == FAILED:
            return self.close_client(client)
        client.handshaking = False
        if outcome == PLAIN_HTTP:
            client.connection.closing = True
            return self.queue(client, [error_bytes(400, PLAIN_HTTP_ON_TLS_PORT)])
        client.deadline = None
        client.last_activity = time.monotonic()
        self.want(client, READ)

    def drain(self, client):
        """After a closing response: discard what the client still sends, until EOF."""
        try:
            if client.sock.recv(RECEIVE_SIZE):
                return
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except OSError:
            pass
        self.close_client(client)

    # -- writing and answering ------------------------------------------------

    def queue(self, client, outgoing):
        client.outbox.extend(outgoing)
        self.flush(client)

    def flush(self, client):
        """Send what the socket takes; then answer what is buffered, or hand disk
        work to a helper; wait for WRITE, READ or the helper, whichever comes."""
        if client.handshaking:
            return self.handshake_step(client)
        connection = client.connection
        while True:
            try:
                if not client.outbox.send(client.sock):
                    return self.want(client, WRITE)
            except OSError:
                return self.close_client(client)
            if connection.closing:
                return self.finish(client)
            if connection.work is not None:
                return self.hand_to_helper(client)
            if not connection.has_more:
                break
            # More requests are buffered: answer them on a later turn, after the
            # other clients ready now, and read nothing more from this one meanwhile.
            self.unwatch(client)
            client.waiting_turn = True
            return self.runnable.append(client)
        client.deadline = None
        self.want(client, READ)

    def take_turn(self, client):
        """Answer some of a client's buffered requests (see `flush`)."""
        client.outbox.extend(client.connection.process())
        self.flush(client)

    # -- disk work, off the loop ------------------------------------------------

    def hand_to_helper(self, client):
        """Let a helper thread run the connection's disk work; stop watching it meanwhile."""
        self.unwatch(client)
        client.busy = True
        if len(self.helpers) < self.helper_limit:
            helper = threading.Thread(target=self.help, name=f"select-disk-{len(self.helpers)}", daemon=True)
            self.helpers.append(helper)
            helper.start()
        self.tasks.put(client)

    def help(self):
        """A helper thread: run disk work, hand the client back to the loop."""
        while True:
            client = self.tasks.get()
            if client is None:
                return
            try:
                client.connection.work()
            except Exception:
                self.log_fault(client.connection.client, "storing a request body")
                client.connection.closing = True
            self.done.put(client)
            self.wake()

    def resume_finished(self):
        """The loop's side of the wake-up socket: resume clients whose work is done."""
        for client in self.handed_back(self.done):
            client.busy = False
            if client in self.clients:
                client.last_activity = time.monotonic()
                self.guarded(self.flush, client)

    # -- state changes ------------------------------------------------------------

    def want(self, client, events):
        if client.events == 0:
            client.events = events
            self.selector.register(client.sock, events, client)
        elif client.events != events:
            client.events = events
            self.selector.modify(client.sock, events, client)
        if events == WRITE:
            client.deadline = time.monotonic() + self.limits.body_timeout

    def unwatch(self, client):
        if client.events:
            client.events = 0
            self.selector.unregister(client.sock)

    def finish(self, client):
        """The last response has gone: half-close and drain, so it is not lost to RST."""
        if client.connection.parser.eof:
            return self.close_client(client)
        send_close_notify(client.sock)  # over TLS, say goodbye in TLS first; shutdown() then drops TLS
        try:
            client.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return self.close_client(client)
        client.draining = True
        client.deadline = time.monotonic() + LINGER
        self.want(client, READ)

    def close_client(self, client):
        if client in self.clients:
            self.clients.discard(client)
            try:
                self.unwatch(client)
            except (KeyError, ValueError):
                pass
            client.connection.close()
            client.outbox.close()
            client.sock.close()

    def sweep(self, now):
        """Close or answer (408) every connection whose deadline has passed."""
        expired = [client for client in self.clients
                   if not client.busy and not client.waiting_turn and (client.deadline if client.deadline is not None
                                           else client.connection.deadline(client.last_activity)) <= now]
        for client in expired:
            if client.handshaking or client.draining or client.outbox:
                self.close_client(client)
            else:
                client.connection.closing = True
                self.guarded(self.queue, client, client.connection.timed_out())

    def stop_connections(self):
        for _ in self.helpers:
            self.tasks.put(None)
        for helper in self.helpers:
            helper.join(timeout=5)
        for client in list(self.clients):
            self.close_client(client)
