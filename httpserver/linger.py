"""Closing a connection gently, without a thread waiting for each client.

Contract: `Lingerer.close_later(sock)` takes a socket whose last response has
been sent. It shuts our sending side (the client sees end of stream), then one
background thread reads and discards what the client still sends until the
client closes too or `linger` seconds pass, and only then closes the socket.

Why not just close? Closing while the client's unread bytes sit in our receive
buffer makes the kernel send a reset (RST), and a reset can destroy our
response before the client reads it (RFC 9112 §9.6). Waiting for that inside a
worker would let a client that never closes hold the worker; here one thread
waits for all of them, and at most `limit` at once (beyond that a socket is
closed at once: we prefer a rare reset to unbounded waiting).
"""

import selectors
import socket
import threading
import time

from .tls import send_close_notify

RECEIVE_SIZE = 64 * 1024


class Lingerer:
    """One thread that drains and closes sockets handed to it."""

    def __init__(self, linger=1.0, limit=1024):
        self.linger = linger
        self.limit = limit
        self.lock = threading.Lock()
        self.waiting = {}  # socket → deadline; read by the thread, changed under the lock
        self.selector = None
        self.thread = None
        self.wake_reader, self.wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self.wake_writer.setblocking(False)
        self.stopped = False

    def close_later(self, sock):
        """Half-close `sock` now; close it once the client has closed, or after `linger`."""
        try:
            # Over TLS, our close_notify alert first (TLS's own way of closing);
            # shutdown() then drops TLS, and the draining below reads raw bytes.
            send_close_notify(sock)
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        with self.lock:
            if self.stopped or len(self.waiting) >= self.limit:
                sock.close()
                return
            self.waiting[sock] = time.monotonic() + self.linger
            if self.thread is None:
                self.selector = selectors.DefaultSelector()
                self.selector.register(self.wake_reader, selectors.EVENT_READ)
                self.thread = threading.Thread(target=self._run, name="lingerer", daemon=True)
                self.thread.start()
        self._wake()

    def _wake(self):
        try:
            self.wake_writer.send(b"x")
        except OSError:
            pass  # its buffer is full of wake-ups already

    def _run(self):
        watched = set()
        while True:
            with self.lock:
                if self.stopped:
                    break
                waiting = dict(self.waiting)
            for sock in waiting.keys() - watched:
                self.selector.register(sock, selectors.EVENT_READ)
                watched.add(sock)
            now = time.monotonic()
            timeout = max(0.0, min(waiting.values(), default=now + 1.0) - now)
            for key, _ in self.selector.select(timeout):
                if key.fileobj is self.wake_reader:
                    try:
                        while self.wake_reader.recv(4096):
                            pass
                    except OSError:
                        pass
                    continue
                try:
                    if key.fileobj.recv(RECEIVE_SIZE):
                        continue  # discard it; keep waiting for the end
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    pass
                self._forget(key.fileobj, watched)
            now = time.monotonic()
            for sock, deadline in waiting.items():
                if deadline <= now and sock in watched:
                    self._forget(sock, watched)
        with self.lock:
            remaining = watched | set(self.waiting)
            self.waiting.clear()
        for sock in remaining:
            sock.close()
        self.selector.close()

    def _forget(self, sock, watched):
        self.selector.unregister(sock)
        watched.discard(sock)
        with self.lock:
            self.waiting.pop(sock, None)
        sock.close()

    def stop(self):
        """Close everything still lingering and end the thread."""
        with self.lock:
            self.stopped = True
            thread = self.thread
        self._wake()
        if thread is not None:
            thread.join(timeout=5)
        self.wake_reader.close()
        self.wake_writer.close()
