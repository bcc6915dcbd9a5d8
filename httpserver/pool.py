"""The thread-pool model: a fixed number of workers, and one thread that watches.

Contract: the accepting thread runs a `selectors` loop over the listener and
every connection that is waiting for its socket ("parked"): for bytes to read,
or for room to write. When a parked connection becomes ready it goes to a
queue; one of `limits.pool_threads` workers takes it, reads what is there,
answers every complete request, sends what the socket takes, and parks it again.

A worker never waits for a client: reads, sends and TLS handshake steps are
non-blocking. A connection that has sent half a request, or has not read its
answer yet, goes back to the watcher; a finished one is closed gently by the
lingerer (`linger.py`). So a pool of 16 serves thousands of keep-alive
connections, and neither 50 trickling clients nor 100 that never read their
downloads can take all the workers. At most `limits.max_connections` are
served at once, `limits.max_per_address` from one client (admission.py).

A TLS handshake step can cost a key exchange and a signature: the watcher
hands workers at most HANDSHAKES_AT_ONCE of them at a time, in turn per client
address, so a flood of handshakes from one address leaves most workers to the
established connections and others' handshakes their turn.

Workers hand connections back through a queue and a byte on the wake-up socket,
because a selector must only be changed by the thread that waits on it.
"""

import queue
import selectors
import socket
import ssl
import threading
import time

from .alpn import negotiated
from .blocking import DONE, PLAIN_HTTP, PLAIN_HTTP_ON_TLS_PORT, WANT_READ, WANT_WRITE, tls_handshake_step
from .helpers import TakeTurns
from .outbox import Outbox, send_waiting
from .response import error_bytes
from .drain import between_requests
from .server import BaseServer
from .tls import send_close_notify

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECEIVE_SIZE = 64 * 1024
SWEEP_INTERVAL = 1.0
HANDSHAKES_AT_ONCE = 4  # workers doing TLS handshakes at most, whatever the queue holds


class PooledClient:
    """A connection between workers: its socket, protocol state, output and deadline."""

    __slots__ = ("sock", "address", "key", "connection", "deadline", "handshaking", "events", "outbox")

    def __init__(self, sock, address, key, connection, deadline, handshaking):
        self.sock = sock
        self.address = address
        self.key = key  # the client's address, as admission.py counts it
        self.connection = connection
        self.deadline = deadline
        self.handshaking = handshaking
        self.events = READ
        self.outbox = Outbox()


class PoolServer(BaseServer):
    """`limits.pool_threads` workers serve every connection between them."""

    model = "pool"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ready = queue.SimpleQueue()  # watcher → workers
        self.returned = queue.SimpleQueue()  # workers → watcher
        self.parked = set()  # touched by the watching thread only
        self.selector = None  # the watching thread's, while it runs
        self.handshakes = TakeTurns()  # handshakes that can move on, per client address (watcher only)
        self.handshakes_running = 0  # handed to workers and not yet back (under self._lock)
        self._wake_writer.setblocking(False)
        self.workers = [threading.Thread(target=self.work, name=f"pool-worker-{n}", daemon=True)
                        for n in range(self.limits.pool_threads)]
        for worker in self.workers:
            worker.start()

    # -- the watching thread --------------------------------------------------

    def serve_forever(self):
        selector = self.selector = selectors.DefaultSelector()
        selector.register(self._wake_reader, READ, "wake")
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        try:
            while not self._stopping.is_set():
                if self.draining.is_set():  # a graceful stop (drain.py)
                    if self.accepting:
                        self.stop_accepting(selector)
                        next_sweep = 0  # close the idle connections now
                    elif not self.admission.total:
                        break
                timeout = self.watch_listener(selector, SWEEP_INTERVAL if not self.draining.is_set() else 0.1)
                for key, _ in selector.select(timeout):
                    if key.data is None:
                        self.accept_waiting()
                    elif key.data == "wake":
                        self.take_returned(selector)
                    else:
                        client = key.data
                        if client not in self.parked:  # closed to make room earlier in this round
                            continue
                        selector.unregister(client.sock)
                        self.parked.discard(client)
                        if client.handshaking:  # costly: in turn per address, a few at a time
                            self.handshakes.add(client.key, client)
                        else:
                            self.ready.put(client)
                self.start_handshakes()
                now = time.monotonic()
                if now >= next_sweep:
                    self.sweep(selector, now)
                    next_sweep = now + (SWEEP_INTERVAL if not self.draining.is_set() else 0.1)
        finally:
            selector.close()
            self.stop_connections()
            self.lingerer.stop()
            self._stopped.set()

    def start_handshakes(self):
        """Hand workers the handshakes that can move on: at most HANDSHAKES_AT_ONCE
        at a time, so established connections always find most workers free."""
        while self.handshakes:
            with self._lock:
                if self.handshakes_running >= HANDSHAKES_AT_ONCE:
                    return
            client = self.handshakes.take()[1]
            if client.deadline <= time.monotonic():  # it waited its whole handshake timeout
                self.drop(client)
                continue
            with self._lock:
                self.handshakes_running += 1
            self.ready.put(client)

    def handle_accepted(self, sock, address):
        key = self.admission.admit(address, self.close_idle)
        if key is None:
            return self.refuse_busy(sock)
        if self.ssl_context is not None and not self.admission.start_handshake(key):
            self.admission.release(key)  # too many handshakes from there already
            return sock.close()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        secure = self.ssl_context is not None
        wait = self.limits.handshake_timeout if secure else self.limits.idle_timeout
        connection = self.new_connection(address, secure)
        client = PooledClient(sock, address, key, connection, time.monotonic() + wait, secure)
        # A worker owns the connection while its handler runs: an application's
        # write() may send from there (client.sock: the TLS socket, once wrapped).
        connection.transmit = lambda items: send_waiting(client.sock, items, self.limits.body_timeout)
        self.park(client)

    def close_idle(self, key):
        """Close a parked, idle keep-alive connection of `key` (any, if None).
        Runs in the watching thread, the only one that touches `parked`."""
        for client in self.parked:
            if ((key is None or client.key == key) and client.events == READ and not client.handshaking
                    and not client.outbox and client.connection.idle):
                self.selector.unregister(client.sock)
                self.parked.discard(client)
                send_close_notify(client.sock)
                self.drop(client)
                return True
        return False

    def take_returned(self, selector):
        for client in self.handed_back(self.returned):
            self.parked.add(client)
            selector.register(client.sock, client.events, client)

    def sweep(self, selector, now):
        stopping = self.draining.is_set()  # a graceful stop ends idle keep-alive connections now
        for client in [c for c in self.parked if c.deadline <= now or (
                stopping and not c.handshaking and not c.outbox and between_requests(c.connection))]:
            selector.unregister(client.sock)
            self.parked.discard(client)
            if client.handshaking or client.outbox:  # a stalled handshake, or a client that does not read
                self.drop(client)
                continue
            client.outbox.extend(client.connection.timed_out())  # a 408 is small: one send takes it
            self._send_safely(client)
            self.drop(client, gently=True)

    @staticmethod
    def _send_safely(client):
        """One non-blocking try at sending what is queued; errors ignored (we are closing)."""
        try:
            client.outbox.send(client.sock)
        except OSError:
            pass

    # -- workers ----------------------------------------------------------------

    def park(self, client, events=READ):
        """Give a connection back to the watcher until it is ready again."""
        client.events = events
        self.returned.put(client)
        self.wake()

    def work(self):
        while True:
            client = self.ready.get()
            if client is None:
                return
            try:
                self.step(client)
            except Exception:  # a bug: log it, answer 500 if we can, drop the connection, keep the worker
                self.log_fault(client.address, "serving")
                if not client.outbox and not client.handshaking:
                    client.outbox.extend([error_bytes(500, "internal server error")])
                    self._send_safely(client)
                self.drop(client)

    def step(self, client):
        """Advance one ready connection as far as it goes without waiting."""
        if client.handshaking:
            try:
                if not self.handshake_step(client):
                    return
            finally:
                with self._lock:
                    self.handshakes_running -= 1
                self.wake()  # the watcher may start another handshake
        if client.outbox:  # parked for room to write: go on sending
            return self.flush(client)
        sock, connection = client.sock, client.connection
        if connection.has_more:  # requests already buffered: answer them before reading more
            client.outbox.extend(connection.process())
            return self.flush(client)
        try:
            data = sock.recv(RECEIVE_SIZE)
            while isinstance(sock, ssl.SSLSocket) and sock.pending():
                data += sock.recv(RECEIVE_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError):
            return self.park(client, READ)
        except ssl.SSLWantWriteError:
            return self.park(client, WRITE)
        except OSError:
            return self.drop(client)
        outgoing = connection.receive(data)
        now = time.monotonic()
        if not connection.closing and connection.deadline(now) <= now:
            outgoing += connection.timed_out()  # a trickle of bytes must not extend the deadline
        client.outbox.extend(outgoing)
        self.flush(client)

    def flush(self, client):
        """Send what the socket takes; answer further buffered requests; park."""
        connection = client.connection
        while True:
            try:
                if not client.outbox.send(client.sock):
                    break
            except OSError:  # the client reset the connection, say
                return self.drop(client)
            if connection.closing:
                # A peer that has closed already needs no lingering.
                return self.drop(client, gently=not connection.parser.eof)
            if connection.has_more:  # more requests buffered: back of the queue, others first
                return self.ready.put(client)
            break
        now = time.monotonic()
        if client.outbox:
            client.deadline = now + self.limits.body_timeout  # the client must read within this
            return self.park(client, WRITE)
        client.deadline = connection.deadline(now)
        self.park(client, READ)

    def handshake_step(self, client):
        """Advance the TLS handshake; True once it is done and bytes may follow."""
        client.sock, outcome = tls_handshake_step(client.sock, self.ssl_context)
        if outcome == DONE:
            self.handshake_over(client)
            client.connection = negotiated(client.sock, client.connection)  # HTTP/2 if ALPN chose "h2"
            client.deadline = time.monotonic() + self.limits.idle_timeout
            return True
        if outcome == WANT_READ or outcome == WANT_WRITE:
            self.park(client, READ if outcome == WANT_READ else WRITE)
        elif outcome == PLAIN_HTTP:
            self.handshake_over(client)
            client.connection.closing = True
            client.outbox.extend([error_bytes(400, PLAIN_HTTP_ON_TLS_PORT)])
            self.flush(client)
        else:
            self.drop(client)
        return False

    def handshake_over(self, client):
        client.handshaking = False
        self.admission.end_handshake(client.key)

    def drop(self, client, gently=False):
        """The connection is over: free what it holds and close it (gently: linger)."""
        if client.handshaking:
            self.handshake_over(client)
        client.connection.close()
        client.outbox.close()
        if gently:
            self.lingerer.close_later(client.sock)
        else:
            client.sock.close()
        self.admission.release(client.key)

    def stop_connections(self):
        for _ in self.workers:
            self.ready.put(None)
        for worker in self.workers:
            worker.join(timeout=5)
        for client in list(self.parked):
            self.drop(client)
        self.parked.clear()
        while self.handshakes:
            self.drop(self.handshakes.take()[1])
        while True:  # connections handed back after the watcher stopped
            try:
                self.drop(self.returned.get_nowait())
            except queue.Empty:
                return
