"""The thread-pool model: a fixed number of workers, and one thread that watches.

Contract: the accepting thread runs a `selectors` loop over the listener and
every connection that is waiting for bytes ("parked"). When a parked connection
becomes readable it goes to a queue; one of `limits.pool_threads` workers takes
it, reads what is there, answers every complete request, and parks it again.

A worker never waits for a slow client: reads and TLS handshake steps are
non-blocking, and a connection that has sent half a request goes back to the
watcher. So a pool of 16 serves thousands of keep-alive connections, and 50
trickling clients cannot take all the workers. Only sending blocks a worker
(with a timeout), since a response is already in hand.

Workers hand connections back through a queue and a byte on the wake-up socket,
because a selector must only be changed by the thread that waits on it.
"""

import queue
import selectors
import socket
import ssl
import threading
import time

from .blocking import (
    DONE, PLAIN_HTTP, WANT_READ, WANT_WRITE, close_gracefully, refuse_plain_http, send_outgoing,
    tls_handshake_step,
)
from .server import BaseServer

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECEIVE_SIZE = 64 * 1024
SWEEP_INTERVAL = 1.0


class PooledClient:
    """A connection between workers: its socket, protocol state and deadline."""

    __slots__ = ("sock", "connection", "deadline", "handshaking", "events")

    def __init__(self, sock, connection, deadline, handshaking):
        self.sock = sock
        self.connection = connection
        self.deadline = deadline
        self.handshaking = handshaking
        self.events = READ


class PoolServer(BaseServer):
    """`limits.pool_threads` workers serve every connection between them."""

    model = "pool"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ready = queue.SimpleQueue()  # watcher → workers
        self.returned = queue.SimpleQueue()  # workers → watcher
        self.parked = set()  # touched by the watching thread only
        self._wake_writer.setblocking(False)
        self.workers = [threading.Thread(target=self.work, name=f"pool-worker-{n}", daemon=True)
                        for n in range(self.limits.pool_threads)]
        for worker in self.workers:
            worker.start()

    # -- the watching thread --------------------------------------------------

    def serve_forever(self):
        selector = selectors.DefaultSelector()
        selector.register(self.listener, READ, None)
        selector.register(self._wake_reader, READ, "wake")
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(SWEEP_INTERVAL):
                    if key.data is None:
                        self.accept_waiting()
                    elif key.data == "wake":
                        self.take_returned(selector)
                    else:
                        client = key.data
                        selector.unregister(client.sock)
                        self.parked.discard(client)
                        self.ready.put(client)
                now = time.monotonic()
                if now >= next_sweep:
                    self.sweep(selector, now)
                    next_sweep = now + SWEEP_INTERVAL
        finally:
            selector.close()
            self.stop_connections()
            self._stopped.set()

    def handle_accepted(self, sock, address):
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        secure = self.ssl_context is not None
        wait = self.limits.handshake_timeout if secure else self.limits.idle_timeout
        client = PooledClient(sock, self.new_connection(address, secure), time.monotonic() + wait, secure)
        self.park(client)

    def take_returned(self, selector):
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                client = self.returned.get_nowait()
            except queue.Empty:
                return
            self.parked.add(client)
            selector.register(client.sock, client.events, client)

    def sweep(self, selector, now):
        for client in [c for c in self.parked if c.deadline <= now]:
            selector.unregister(client.sock)
            self.parked.discard(client)
            if not client.handshaking:
                try:  # a 408 is small: one non-blocking send is enough
                    for item in client.connection.timed_out():
                        client.sock.send(item)
                except OSError:
                    pass
            client.sock.close()

    # -- workers ----------------------------------------------------------------

    def park(self, client, events=READ):
        """Give a connection back to the watcher until it is ready again."""
        client.events = events
        self.returned.put(client)
        try:
            self._wake_writer.send(b"w")
        except (BlockingIOError, OSError):
            pass  # the buffer is full of wake-ups already, or we are stopping

    def work(self):
        while True:
            client = self.ready.get()
            if client is None:
                return
            try:
                self.step(client)
            except Exception as error:  # a bug: log it, drop the connection, keep the worker
                if self.error_log:
                    self.error_log(f"pool worker: {error!r}")
                client.sock.close()

    def step(self, client):
        sock = client.sock
        if client.handshaking:
            if not self.handshake_step(client):
                return
            sock = client.sock
        try:
            data = sock.recv(RECEIVE_SIZE)
            while isinstance(sock, ssl.SSLSocket) and sock.pending():
                data += sock.recv(RECEIVE_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError):
            return self.park(client, READ)
        except ssl.SSLWantWriteError:
            return self.park(client, WRITE)
        except OSError:
            return sock.close()
        connection = client.connection
        outgoing = connection.receive(data)
        now = time.monotonic()
        if not connection.closing and connection.deadline(now) <= now:
            outgoing += connection.timed_out()  # a trickle of bytes must not extend the deadline
        try:
            if outgoing:
                send_outgoing(sock, outgoing, self.limits.body_timeout)
                sock.settimeout(0)
        except OSError:
            return sock.close()
        if connection.closing:
            if data:
                close_gracefully(sock)
            else:  # the peer has gone already: nothing to drain
                sock.close()
            return
        client.deadline = connection.deadline(now)
        self.park(client, READ)

    def handshake_step(self, client):
        """Advance the TLS handshake; True once it is done and bytes may follow."""
        client.sock, outcome = tls_handshake_step(client.sock, self.ssl_context)
        if outcome == DONE:
            client.handshaking = False
            return True
        if outcome == WANT_READ or outcome == WANT_WRITE:
            self.park(client, READ if outcome == WANT_READ else WRITE)
        elif outcome == PLAIN_HTTP:
            refuse_plain_http(client.sock, self.limits.body_timeout)
        else:
            client.sock.close()
        return False

    def stop_connections(self):
        for _ in self.workers:
            self.ready.put(None)
        for worker in self.workers:
            worker.join(timeout=5)
        for client in self.parked:
            client.sock.close()
        while True:  # connections handed back after the watcher stopped
            try:
                self.returned.get_nowait().sock.close()
            except queue.Empty:
                return
