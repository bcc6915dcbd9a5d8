"""What every server model shares: a listener, an application, a way to stop.

Contract: a model subclasses `BaseServer` and fills in hooks:

    handle_accepted(sock, client)   a new connection: serve it, or hand it on
    stop_connections()              after the accept loop ends: finish the
                                    connections in flight and join threads

`serve_forever()` accepts until `shutdown()` is called from another thread.
It blocks in `selectors` on two things, the listener and a wake-up socket, so
stopping needs no polling: `shutdown()` writes one byte to the wake-up socket.
Models that run their own loop (the event loop) override `serve_forever`.
"""

import selectors
import socket
import threading

from .config import Limits
from .connection import Connection
from .listener import describe_address


class BaseServer:
    """Accepts connections on `listener` and serves them with `app`."""

    model = "base"

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
        selector.register(self.listener, selectors.EVENT_READ)
        selector.register(self._wake_reader, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_reader:
                        break
                    self.accept_waiting()
        finally:
            selector.close()
            self.stop_connections()
            self._stopped.set()

    def accept_waiting(self):
        """Accept every connection that is waiting, then return."""
        while not self._stopping.is_set():
            try:
                sock, client = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. too many open files: keep serving the rest
                if self.error_log:
                    self.error_log(f"accept failed: {error}")
                return
            self.handle_accepted(sock, client)

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

    @property
    def stopping(self):
        return self._stopping.is_set()

    # -- hooks ----------------------------------------------------------------

    def handle_accepted(self, sock, client):
        raise NotImplementedError

    def stop_connections(self):
        pass

    def new_connection(self, client, secure):
        """A fresh sans-I/O `Connection` for a client, wired to our logs."""
        return Connection(self.app, limits=self.limits, client=client, secure=secure,
                          access_log=self.access_log, error_log=self.error_log)
