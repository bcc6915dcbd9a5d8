"""What every server model shares: a listener, an application, a way to stop.

Contract: a model subclasses `BaseServer` and fills in hooks:

    handle_accepted(sock, client)   a new connection: serve it, or hand it on
    stop_connections()              after the accept loop ends: finish the
                                    connections in flight and join threads

`serve_forever()` accepts until `shutdown()` is called from another thread.
It blocks in `selectors` on two things, the listener and a wake-up socket, so
stopping needs no polling: `shutdown()` writes one byte to the wake-up socket.
Models that run their own loop (the event loop) override `serve_forever` and
use the same pieces: `watch_listener`, `accept_waiting`, `refuse_busy`.

Two things no client may do to any model: make accepting spin, and crash it.
When the process runs out of file descriptors, `accept` fails at once, again
and again, while the waiting connection stays in the queue: so we stop
watching the listener for `ACCEPT_PAUSE` seconds (and say so in the log once
per `LOG_INTERVAL`), keep serving the connections we have, and try again.
And every step taken for one connection is guarded: a bug there is logged
with the client's address (`log_fault`) and costs that connection only.
"""

import errno
import queue
import selectors
import socket
import threading
import time
import traceback

from .admission import Admission
from .body import BodyStorage
from .config import Limits
from .connection import Connection
from .drain import GracefulStop
from .linger import Lingerer
from .listener import describe_address
from .response import error_bytes

ACCEPT_PAUSE = 0.5  # seconds without accepting after running out of descriptors
LOG_INTERVAL = 5.0  # at most one "accept failed" line per this many seconds
# accept() errors that say "not now, the process or the system is full".
RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
BUSY = error_bytes(503, "server busy: too many connections", [("Retry-After", "1")])


class BaseServer(GracefulStop):
    """Accepts connections on `listener` and serves them with `app`."""

    model = "base"
    proxies = None  # TrustedProxies (proxy.py), set by make_server for --trusted-proxy

    def __init__(self, listener, app, *, limits=Limits(), ssl_context=None,
                 access_log=None, error_log=None):
        self.listener = listener
        self.app = app
        self.limits = limits
        self.ssl_context = ssl_context
        self.access_log = access_log  # callable(client, request, response, size) or None
        self.error_log = error_log  # callable(text) or None
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.lingerer = Lingerer()  # closes refused and finished connections gently
        self.accept_paused_until = 0.0
        self._listener_watched = False
        self._accept_failures = 0  # since the last log line about them
        self._accept_logged_at = -LOG_INTERVAL
        self.storage = BodyStorage.from_limits(limits)  # one memory budget for every body
        self.admission = Admission(limits)  # connections counted, in all and per address
        self.init_draining()

    # -- where we are -----------------------------------------------------

    @property
    def address(self):
        """(host, port) the server listens on."""
        return self.listener.getsockname()[:2]

    @property
    def url(self):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{describe_address(self.address)}"

    # -- running and stopping -----------------------------------------------

    def serve_forever(self):
        """Accept connections until `shutdown()`; then finish the ones in flight."""
        selector = selectors.DefaultSelector()
        selector.register(self._wake_reader, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                if self.draining.is_set():  # a graceful stop (drain.py)
                    self.stop_accepting(selector)
                    self.wait_for_in_flight()
                    break
                timeout = self.watch_listener(selector, None)
                for key, _ in selector.select(timeout):
                    if key.fileobj is self._wake_reader:
                        break
                    self.accept_waiting()
        finally:
            selector.close()
            self.stop_connections()
            self.lingerer.stop()
            self._stopped.set()

    def watch_listener(self, selector, timeout, data=None):
        """Watch the listener in `selector` unless accepting is paused; returns the
        select timeout to use (`timeout`, or less, to resume accepting on time)."""
        if (self._listener_watched and not self.accept_paused_until) or not self.accepting:
            return timeout  # the usual case, decided without a system call
        paused_for = self.accept_paused_until - time.monotonic()
        if paused_for > 0:
            if self._listener_watched:
                selector.unregister(self.listener)
                self._listener_watched = False
            return paused_for if timeout is None else min(timeout, paused_for)
        self.accept_paused_until = 0.0
        if not self._listener_watched:
            selector.register(self.listener, selectors.EVENT_READ, data)
            self._listener_watched = True
        return timeout

    def accept_waiting(self):
        """Accept every connection that is waiting, then return."""
        while not self._stopping.is_set() and self.accepting:
            try:
                sock, client = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                self._accept_failed(error)
                return
            try:
                self.handle_accepted(sock, client)
            except Exception:
                self.log_fault(client, "accepting")
                sock.close()

    def _accept_failed(self, error):
        """Too many open files, say: pause accepting; log it once per LOG_INTERVAL."""
        now = time.monotonic()
        if error.errno in RESOURCE_ERRORS:
            self.accept_paused_until = now + ACCEPT_PAUSE
        self._accept_failures += 1
        if self.error_log and now - self._accept_logged_at >= LOG_INTERVAL:
            paused = f"; not accepting for {ACCEPT_PAUSE} s at a time" if error.errno in RESOURCE_ERRORS else ""
            self.error_log(f"accept failed {self._accept_failures} time(s) since the last report: {error}{paused}")
            self._accept_logged_at, self._accept_failures = now, 0

    def wake(self):
        """Wake the thread that waits in `select` (called from other threads)."""
        try:
            self._wake_writer.send(b"w")
        except OSError:
            pass  # its buffer is full of wake-ups already, or we are stopping

    def waker(self):
        """`wake` as a function that holds the wake-up socket, not the server (so
        helpers holding it keep no server alive after it is dropped)."""
        writer = self._wake_writer

        def wake():
            try:
                writer.send(b"w")
            except OSError:
                pass
        return wake

    def drain_wakeups(self):
        """In the waiting thread: empty the wake-up socket (so select sleeps again)."""
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def handed_back(self, handoff):
        """In the waiting thread: drain the wake-up socket, then yield every item
        other threads have put in the queue `handoff`."""
        self.drain_wakeups()
        while True:
            try:
                yield handoff.get_nowait()
            except queue.Empty:
                return

    def refuse_busy(self, sock):
        """Answer 503 to a connection over the cap, and close it gently (no reset).
        Over TLS a plain-text answer would only confuse the client's TLS, and a
        handshake is work we are too busy for: it gets a clean close instead."""
        try:
            sock.setblocking(False)
            if self.ssl_context is None:
                sock.send(BUSY)  # a fresh socket's buffer takes these few bytes at once
        except OSError:
            pass
        self.lingerer.close_later(sock)

    def log_fault(self, client, what, error=None):
        """Log the exception being handled (or `error`, caught on another thread),
        once, with the client it happened for."""
        if self.error_log:
            peer = describe_address(client) if client else "a client"
            trace = "".join(traceback.format_exception(error)) if error is not None else traceback.format_exc()
            self.error_log(f"error while {what} for {peer} (that connection is closed):\n{trace}")

    def shutdown(self, timeout=10.0):
        """Stop accepting, finish the connections, join threads, free the port."""
        self._stopping.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass
        self._stopped.wait(timeout)
        self.close()

    def close(self):
        for sock in (self.listener, self._wake_reader, self._wake_writer):
            sock.close()
        self.lingerer.stop()

    @property
    def stopping(self):
        return self._stopping.is_set()

    # -- hooks ----------------------------------------------------------------

    def handle_accepted(self, sock, client):
        raise NotImplementedError

    def stop_connections(self):
        pass

    def close_idle(self, key):
        """Close one idle keep-alive connection of client `key` (any when None) to
        make room for a newcomer; True if there was one (see admission.py)."""
        return False

    def new_connection(self, client, secure, offload=False):
        """A fresh sans-I/O `Connection` for a client, wired to our logs."""
        return Connection(self.app, limits=self.limits, client=client, secure=secure,
                          access_log=self.access_log, error_log=self.error_log, offload=offload,
                          storage=self.storage, proxies=self.proxies, draining=self.draining)
