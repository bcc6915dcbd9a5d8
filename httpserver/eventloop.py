"""The event-loop model: one thread, non-blocking sockets, `selectors`.

Contract: `SelectServer.serve_forever` runs one loop that waits in
`selector.select()` for any socket to be ready, then does only what can be done
without waiting: accept, a TLS handshake step, one recv, as much send as the
kernel takes. Each connection's progress lives in a `Client` object, not on a
thread's stack, so an idle connection costs a few hundred bytes, not a thread.

- Back-pressure: while a client has unsent output we stop reading from it, so
  a client that pipelines requests but never reads cannot grow our memory.
- Deadlines (idle, head, body, handshake) are checked by the loop itself, in a
  sweep at most once a second.
- TLS handshakes and reads are stepped with `SSLWantReadError` and
  `SSLWantWriteError`, so a stalled handshake blocks no one.
"""

import collections
import os
import selectors
import socket
import ssl
import time

from .blocking import (
    FAILED, PLAIN_HTTP, PLAIN_HTTP_ON_TLS_PORT, WANT_READ, WANT_WRITE, error_bytes, tls_handshake_step,
)
from .response import FileBody
from .server import BaseServer
from .tls import send_close_notify

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECEIVE_SIZE = 64 * 1024
FILE_CHUNK = 256 * 1024
SWEEP_INTERVAL = 1.0
LINGER = 1.0
HAS_SENDFILE = hasattr(os, "sendfile")


class Client:
    """One connection's state in the loop: socket, protocol, output not yet sent."""

    __slots__ = ("sock", "connection", "output", "deadline", "last_activity", "handshaking",
                 "tls", "draining", "events")

    def __init__(self, sock, connection, deadline, handshaking):
        self.sock = sock
        self.connection = connection
        self.output = collections.deque()  # bytes, memoryviews and FileBody objects, in order
        # A fixed deadline while handshaking, writing or draining; otherwise None,
        # and the connection says (from the last activity) which timeout applies.
        self.deadline = deadline
        self.last_activity = time.monotonic()
        self.handshaking = handshaking  # True until the TLS handshake completes
        self.tls = handshaking
        self.draining = False  # response sent, write side shut: read until EOF
        self.events = READ


class SelectServer(BaseServer):
    """Every connection in one thread, multiplexed with `selectors`."""

    model = "select"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selector = selectors.DefaultSelector()
        self.clients = set()

    def serve_forever(self):
        selector = self.selector
        selector.register(self.listener, READ, None)
        selector.register(self._wake_reader, READ, "wake")
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        try:
            while not self._stopping.is_set():
                for key, mask in selector.select(SWEEP_INTERVAL):
                    client = key.data
                    if client is None:
                        self.accept_waiting()
                    elif client == "wake":
                        break
                    elif mask & READ:
                        self.on_readable(client)
                    elif mask & WRITE:
                        self.flush(client)
                now = time.monotonic()
                if now >= next_sweep:
                    self.sweep(now)
                    next_sweep = now + SWEEP_INTERVAL
        finally:
            self.stop_connections()
            selector.close()
            self._stopped.set()

    # -- accepting ------------------------------------------------------------

    def handle_accepted(self, sock, address):
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        secure = self.ssl_context is not None
        now = time.monotonic()
        deadline = now + self.limits.handshake_timeout if secure else None
        client = Client(sock, self.new_connection(address, secure), deadline, handshaking=secure)
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

    # -- writing --------------------------------------------------------------

    def queue(self, client, outgoing):
        client.output.extend(outgoing)
        self.flush(client)

    def flush(self, client):
        """Send as much as the socket takes now; wait for WRITE if it takes less."""
        if client.handshaking:
            return self.handshake_step(client)
        sock, output = client.sock, client.output
        try:
            while output:
                item = output[0]
                if isinstance(item, FileBody):
                    if not self.send_file_part(sock, item):
                        return self.want(client, WRITE)
                    item.close()
                    output.popleft()
                    continue
                sent = sock.send(item)
                if sent < len(item):
                    output[0] = memoryview(item)[sent:]  # the rest, without copying it
                    return self.want(client, WRITE)
                output.popleft()
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return self.want(client, WRITE)
        except OSError:
            return self.close_client(client)
        # Everything has left.
        if client.connection.closing:
            return self.finish(client)
        client.deadline = None
        self.want(client, READ)

    @staticmethod
    def send_file_part(sock, body):
        """Send some of a FileBody; True once all of it has gone."""
        if HAS_SENDFILE and not isinstance(sock, ssl.SSLSocket):  # kernel copies file → socket
            while body.length:
                sent = os.sendfile(sock.fileno(), body.file.fileno(), body.offset, body.length)
                if sent == 0:
                    break  # the file shrank under us; stop here
                body.offset += sent
                body.length -= sent
            return True
        # TLS encrypts in user space, and Windows has no os.sendfile: read and send.
        while body.length:
            body.file.seek(body.offset)
            chunk = body.file.read(min(FILE_CHUNK, body.length))
            if not chunk:
                break
            sent = sock.send(chunk)
            body.offset += sent
            body.length -= sent
        return True

    # -- state changes ------------------------------------------------------------

    def want(self, client, events):
        if client.events != events:
            client.events = events
            self.selector.modify(client.sock, events, client)
        if events == WRITE:
            client.deadline = time.monotonic() + self.limits.body_timeout

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
                self.selector.unregister(client.sock)
            except (KeyError, ValueError):
                pass
            for item in client.output:
                if isinstance(item, FileBody):
                    item.close()
            client.output.clear()
            client.sock.close()

    def sweep(self, now):
        """Close or answer (408) every connection whose deadline has passed."""
        expired = [client for client in self.clients
                   if (client.deadline if client.deadline is not None
                       else client.connection.deadline(client.last_activity)) <= now]
        for client in expired:
            if client.handshaking or client.draining or client.output:
                self.close_client(client)
            else:
                client.connection.closing = True
                self.queue(client, client.connection.timed_out())

    def stop_connections(self):
        for client in list(self.clients):
            self.close_client(client)
