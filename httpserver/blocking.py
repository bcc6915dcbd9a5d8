"""Server models with blocking sockets: one client at a time, or a thread each.

Contract: `serve_connection` drives one sans-I/O `Connection` over a blocking
socket until it closes: recv with a timeout chosen by what the connection waits
for (idle, head or body), feed, send what comes back, and ask for more answers
(`process`) until the requests already received are all answered. It never
lets an exception out: a bug is logged with the client's address and closes
that connection only. `IterativeServer` calls it inline, so a second client
waits for the first to leave: the point of chapter 5. `ThreadServer` gives each
connection its own thread, at most `limits.max_connections` at once and
`limits.max_per_address` from one client (admission.py); beyond that a client
gets 503 at once rather than waiting unseen in the listen queue.
"""

import socket
import ssl
import sys
import threading
import time

from .alpn import negotiated
from .outbox import send_all
from .response import error_bytes
from .server import BaseServer
from .tls import send_close_notify

# A thread waiting in recv holds a buffer of this size all the while (Python
# allocates it before the wait): a thousand idle threads, a thousand buffers.
# 16 KiB is one TLS record, and a few system calls more for a large upload.
RECEIVE_SIZE = 16 * 1024


def close_gracefully(sock, linger=1.0):
    """Close after the response has left: half-close, drain briefly, then close.

    Closing while the client's unread bytes sit in our receive buffer makes the
    kernel send RST, and the client may lose our response (RFC 9112 §9.6).
    """
    try:
        send_close_notify(sock)  # over TLS, say goodbye in TLS first; shutdown() then drops TLS
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(linger)
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline and sock.recv(RECEIVE_SIZE):
            pass
    except OSError:
        pass
    finally:
        sock.close()


PLAIN_HTTP_ON_TLS_PORT = "this port speaks HTTPS: use https:// instead of http://"
DONE, WANT_READ, WANT_WRITE, PLAIN_HTTP, FAILED = "done", "read", "write", "plain http", "failed"


def tls_handshake_step(sock, context):
    """One non-blocking step of a server's TLS handshake: (socket, outcome).

    Outcomes: DONE; WANT_READ or WANT_WRITE (wait for that, call again with the
    returned socket); PLAIN_HTTP (the client spoke plain HTTP: tell it so);
    FAILED. The event loop and the pool share it, so a stalled handshake never
    holds a thread.
    """
    if not isinstance(sock, ssl.SSLSocket):
        # A TLS client's first byte is 0x16 (a handshake record).
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return sock, WANT_READ
        except OSError:
            return sock, FAILED
        if first != b"\x16":
            return sock, PLAIN_HTTP if first else FAILED
    try:
        if not isinstance(sock, ssl.SSLSocket):  # wrapping may fail too: a reset, say
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        sock.do_handshake()
    except ssl.SSLWantReadError:
        return sock, WANT_READ
    except ssl.SSLWantWriteError:
        return sock, WANT_WRITE
    except (OSError, ValueError):
        return sock, FAILED
    return sock, DONE


def tls_accept(sock, context, timeout):
    """The TLS server handshake on a blocking socket, or None when the client cannot
    complete it. It is `tls_handshake_step` with a timeout on the socket: instead of
    answering WANT_READ, the step waits for the bytes, at most `timeout` seconds."""
    sock.settimeout(timeout)
    sock, outcome = tls_handshake_step(sock, context)
    if outcome == DONE:
        return sock
    if outcome == PLAIN_HTTP:
        refuse_plain_http(sock, timeout)
    else:
        sock.close()
    return None


def refuse_plain_http(sock, timeout):
    """Tell a client that spoke plain HTTP to the TLS port which scheme to use; close."""
    sock.settimeout(timeout)
    try:
        sock.sendall(error_bytes(400, PLAIN_HTTP_ON_TLS_PORT))
    except OSError:
        pass
    close_gracefully(sock)


def serve_connection(server, sock, client, register=None):
    """Serve one connection until it closes; `register(sock, connection)` tracks
    the live socket (a TLS one, once wrapped) and its connection."""
    try:
        if server.ssl_context is not None:
            sock = tls_accept(sock, server.ssl_context, server.limits.handshake_timeout)
            if sock is None:
                return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = server.new_connection(client, secure=server.ssl_context is not None)
        connection.transmit = lambda items: send_all(sock, items, server.limits.body_timeout)
        connection = negotiated(sock, connection)  # HTTP/2 if ALPN chose "h2"
        if register:
            register(sock, connection)
        server.track(connection, sock)  # so a graceful stop can close it when idle (drain.py)
    except Exception:  # OSError: the client left; anything else: a bug of ours
        if not isinstance(sys.exc_info()[1], OSError):
            server.log_fault(client, "starting the connection")
        sock.close()
        return
    peer_closed = False
    answering = False  # True while a response may be half on the wire
    try:
        while not connection.closing:
            now = time.monotonic()
            wait = connection.deadline(now) - now
            try:
                if wait <= 0:
                    raise socket.timeout
                sock.settimeout(wait)
                data = sock.recv(RECEIVE_SIZE)
            except socket.timeout:
                outgoing = connection.timed_out()
            else:
                peer_closed = not data
                outgoing = connection.receive(data)
            while outgoing:  # one output budget at a time, until all are answered
                answering = True
                send_all(sock, outgoing, server.limits.body_timeout)
                answering = False
                outgoing = connection.process() if connection.has_more and not connection.closing else None
    except OSError:  # reset by the peer, or a send timed out: nothing to answer
        peer_closed = True
    except Exception:  # a bug of ours: this connection ends, the server goes on
        server.log_fault(client, "serving")
        if not answering:
            try:
                sock.settimeout(1.0)
                sock.sendall(error_bytes(500, "internal server error"))
            except OSError:
                pass
    finally:
        server.untrack(connection)
        connection.close()
        if peer_closed:
            sock.close()
        else:
            close_gracefully(sock)


class IterativeServer(BaseServer):
    """One connection at a time, served by the accepting thread itself."""

    model = "iterative"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._current = None

    def handle_accepted(self, sock, client):
        self._current = sock
        if self.stopping:  # shutdown() may have run before we stored it
            sock.close()
            return
        serve_connection(self, sock, client, register=self._register)
        self._current = None

    def _register(self, sock, connection):
        self._current = sock

    def shutdown(self, timeout=10.0):
        current = self._current
        self._stopping.set()
        if current is not None:
            try:  # wakes the recv the accepting thread is blocked in
                current.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().shutdown(timeout)


class ThreadServer(BaseServer):
    """A thread per connection, at most `limits.max_connections` at once."""

    model = "thread"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # thread → [socket, connection, key], so shutdown can wake each one and a
        # newcomer at the cap can find an idle one to close
        self.live = {}

    def handle_accepted(self, sock, client):
        key = self.admission.admit(client, self.close_idle)
        if key is None:
            return self.refuse_busy(sock)
        thread = threading.Thread(target=self._run, args=(sock, client, key),
                                  name=f"http-{client[0]}:{client[1]}", daemon=True)
        with self._lock:
            self.live[thread] = [sock, None, key]
        thread.start()

    def _run(self, sock, client, key):
        me = threading.current_thread()
        try:
            serve_connection(self, sock, client, register=lambda *live: self._register(me, *live))
        finally:
            with self._lock:
                self.live.pop(me, None)
            self.admission.release(key)

    def _register(self, thread, sock, connection):
        with self._lock:
            self.live[thread][:2] = [sock, connection]

    def close_idle(self, key):
        """Wake and end an idle keep-alive connection of `key` (any, if None): its
        thread is waiting in recv, which the shutdown ends."""
        with self._lock:
            for sock, connection, owner in self.live.values():
                if (key is None or owner == key) and connection is not None and connection.idle:
                    connection.closing = True  # (and not chosen twice)
                    break
            else:
                return False
        try:  # (no TLS goodbye from here: the connection's own thread owns its TLS state)
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return True

    def connection_count(self):
        with self._lock:
            return len(self.live)

    def stop_connections(self):
        with self._lock:
            live = [(thread, sock) for thread, (sock, _, _) in self.live.items()]
        for _, sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread, _ in live:
            thread.join(timeout=5)
