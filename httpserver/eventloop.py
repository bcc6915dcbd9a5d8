"""The event-loop model: one thread, non-blocking sockets, `selectors`.

Contract: `SelectServer.serve_forever` runs one loop that waits in
`selector.select()` for any socket to be ready, then does only what can be done
without waiting: accept, a TLS handshake step, one recv, as much send as the
kernel takes. Each connection's progress lives in a `Client` object, not on a
thread's stack, so an idle connection costs a few hundred bytes, not a thread.

- Back-pressure: while a client has unsent output we stop reading from it and
  stop answering its pipelined requests, so a client that pipelines requests
  but never reads cannot grow our memory.
- The loop never waits on a disk: every call that may (opening, stat, reading
  or listing files, sendfile, storing an upload: writes, fsync, rename) runs on
  helper threads, as in nginx's thread pools (`aio threads`), taken in turn per
  client address (helpers.py); the connection sleeps meanwhile and resumes when
  the helper is done (see `Connection.work`). What the loop answers itself
  needs no disk at all: the echo routes, errors, and a small file whose answer
  was checked against the disk less than a second ago (filecache.py).
- Deadlines (idle, head, body, handshake) are checked by the loop itself, in a
  sweep at most once a second.
- TLS handshakes and reads are stepped with `SSLWantReadError` and
  `SSLWantWriteError`, so a stalled handshake blocks no one. A handshake step
  can cost a key exchange and a signature: a few of them run in each round,
  after the established connections' work, in turn per client address, so a
  flood of handshakes from one address slows neither others' requests nor
  others' handshakes much (and admission.py caps its handshakes under way).
- At most `limits.max_connections` at once, `limits.max_per_address` from one
  client; at a cap an idle keep-alive connection is closed to make room, and
  only when none is idle does a newcomer get 503 (admission.py).
"""

import collections
import selectors
import socket
import ssl
import time

from .alpn import negotiated
from .connection import Connection
from .blocking import FAILED, PLAIN_HTTP, PLAIN_HTTP_ON_TLS_PORT, WANT_READ, WANT_WRITE, tls_handshake_step
from .helpers import HelperThreads, TakeTurns
from .outbox import Outbox, send_file_part, send_waiting
from .response import error_bytes
from .server import BaseServer
from .tls import send_close_notify

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECEIVE_SIZE = 64 * 1024
SWEEP_INTERVAL = 1.0
LINGER = 1.0
HANDSHAKES_PER_ROUND = 4  # TLS handshake steps per round of the loop, after everything else
DISK_THREADS = 16  # helpers that run whatever may wait on a disk, off the loop (nginx: 32)


class Client:
    """One connection's state in the loop: socket, protocol, output not yet sent."""

    __slots__ = ("sock", "key", "connection", "outbox", "deadline", "last_activity", "handshaking",
                 "tls", "draining", "events", "busy", "waiting_turn")

    def __init__(self, sock, key, connection, deadline, handshaking):
        self.sock = sock
        self.key = key  # the client's address, as admission.py counts it
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
        # Every step that may wait on a disk runs on these, in turn per client address;
        # so does a WSGI application (`--threads` of them: the pool it runs in).
        if getattr(self.app, "blocking", False):  # one address (a proxy, say) may use all but one
            self.helpers = HelperThreads(self.limits.pool_threads, self.waker(),
                                         per_key=max(1, self.limits.pool_threads - 1), name="select-disk")
        else:
            self.helpers = HelperThreads(DISK_THREADS, self.waker(), name="select-disk")
        self.runnable = collections.deque()  # clients with requests buffered: each gets a turn
        self.handshakes = TakeTurns()  # handshakes that can move on, per client address

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
                timeout = 0 if self.runnable or self.handshakes else SWEEP_INTERVAL
                if self.draining.is_set():
                    timeout = min(timeout, 0.1)
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
                for _ in range(HANDSHAKES_PER_ROUND):  # last: the established connections come first
                    turn = self.handshakes.take()
                    if turn is None:
                        break
                    client = turn[1]
                    if client in self.clients:
                        self.guarded(self.handshake_step, client)
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
        speaks_http1 = isinstance(client.connection, Connection)  # (HTTP/2 frames its own errors)
        if speaks_http1 and not client.outbox and not client.handshaking and not client.draining:
            try:  # nothing of a response is on the wire yet: say what happened
                client.sock.send(error_bytes(500, "internal server error"))
            except OSError:
                pass
        self.close_client(client)

    # -- accepting ------------------------------------------------------------

    def handle_accepted(self, sock, address):
        key = self.admission.admit(address, self.close_idle)
        if key is None:
            return self.refuse_busy(sock)
        secure = self.ssl_context is not None
        if secure and not self.admission.start_handshake(key):
            self.admission.release(key)  # too many handshakes from there already
            return sock.close()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        now = time.monotonic()
        deadline = now + self.limits.handshake_timeout if secure else None
        connection = self.new_connection(address, secure, offload=True)
        client = Client(sock, key, connection, deadline, handshaking=secure)
        # While a helper runs this connection's work the loop leaves it alone, so
        # an application's write() may send from the helper (client.sock: TLS once wrapped).
        connection.transmit = lambda items: send_waiting(client.sock, items, self.limits.body_timeout)
        self.clients.add(client)
        self.selector.register(sock, READ, client)

    # -- reading --------------------------------------------------------------

    def on_readable(self, client):
        if client.handshaking:
            return self.queue_handshake(client)
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

    def queue_handshake(self, client):
        """A handshake can move on: do it after the established connections' work,
        in turn per client address (a step may cost a key exchange and a signature)."""
        self.unwatch(client)
        self.handshakes.add(client.key, client)

    def handshake_step(self, client):
        client.sock, outcome = tls_handshake_step(client.sock, self.ssl_context)  # (the socket is unwatched)
        if outcome == WANT_READ or outcome == WANT_WRITE:
            return self.want(client, READ if outcome == WANT_READ else WRITE)
        if outcome == FAILED:
            return self.close_client(client)
        self.handshake_over(client)
        if outcome == PLAIN_HTTP:
            client.connection.closing = True
            return self.queue(client, [error_bytes(400, PLAIN_HTTP_ON_TLS_PORT)])
        client.connection = negotiated(client.sock, client.connection)  # HTTP/2 if ALPN chose "h2"
        client.deadline = None
        client.last_activity = time.monotonic()
        self.want(client, READ)

    def handshake_over(self, client):
        client.handshaking = False
        self.admission.end_handshake(client.key)

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
            return self.queue_handshake(client)
        connection = client.connection
        while True:
            try:
                if not client.outbox.send(client.sock, stop_at_file=True):
                    return self.want(client, WRITE)
            except OSError:
                return self.close_client(client)
            if client.outbox:  # a file is next: reading it may wait on the disk
                return self.send_file_off_loop(client)
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
        """Let a helper thread run the connection's disk work (`Connection.work`:
        a handler that reads or writes files, a body spilled to disk); stop
        watching the client meanwhile, and answer it when the work is done."""
        self.off_loop(client, client.connection.work, self.work_done)

    def work_done(self, client, _, error):
        if error is not None:
            self.log_fault(client.connection.client, "handling a request", error)
            client.connection.closing = True
        self.take_turn(client)  # what the work produced, and the requests after it

    def send_file_off_loop(self, client):
        """Send some of the file at the head of the outbox from a helper thread:
        sendfile (or read, under TLS) may wait for the disk."""
        sock, body = client.sock, client.outbox[0]
        self.off_loop(client, lambda: send_file_part(sock, body), self.file_sent)

    def file_sent(self, client, all_sent, error):
        if error is not None:  # the client went away, or the file cannot be read
            return self.close_client(client)
        if all_sent:
            client.outbox.popleft().close()
            return self.flush(client)
        self.want(client, WRITE)  # the socket is full: come back when it has room

    def off_loop(self, client, job, then):
        """Run `job` on a helper, then `then(client, result, error)` on the loop."""
        self.unwatch(client)
        client.busy = True
        self.helpers.run(client.key, job, lambda result, error: self.resume(client, then, result, error))

    def resume(self, client, then, result, error):
        client.busy = False
        if client in self.clients:
            client.last_activity = time.monotonic()
            self.guarded(then, client, result, error)

    def resume_finished(self):
        """The loop's side of the wake-up socket: what the helpers finished."""
        self.drain_wakeups()
        for then, result, error in self.helpers.finished():
            if then is not None:  # (a close handed to a helper has nothing to resume)
                then(result, error)

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

    def close_idle(self, key):
        """Close an idle keep-alive connection of `key` (any, if None); see admission.py."""
        for client in self.clients:
            if ((key is None or client.key == key) and client.events == READ and not client.busy
                    and not client.waiting_turn and not client.handshaking and not client.draining
                    and not client.outbox and client.connection.idle):
                send_close_notify(client.sock)
                self.close_client(client)
                return True
        return False

    def close_client(self, client):
        if client in self.clients:
            self.clients.discard(client)
            if client.handshaking:
                self.handshake_over(client)
            self.admission.release(client.key)
            try:
                self.unwatch(client)
            except (KeyError, ValueError):
                pass
            if client.connection.holds_files:  # deleting a half-received upload: a disk call
                self.helpers.run(client.key, client.connection.close)
            else:
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
        self.helpers.stop()
        for client in list(self.clients):
            self.close_client(client)
        for then, _, _ in self.helpers.finished():  # a last close, say: nothing left to answer
            pass
