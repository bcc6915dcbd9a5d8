"""A graceful stop: take nothing new, finish what is in flight, then stop (SIGTERM).

When a server is restarted (a new version deployed, a machine drained), the
requests it is answering must not fail. `graceful_stop(timeout)` does, in order:

1. stop accepting: the connections already waiting in the listen queue are
   accepted, then the listening socket is closed, so new connections go to
   another server on the same port (SO_REUSEPORT, `--workers`) or behind the
   same proxy, or are refused, which a proxy such as nginx retries elsewhere;
2. close the keep-alive connections that sit idle between requests (closing
   one then loses nothing: RFC 9112 §9.3.1 lets the client retry on a new one);
3. answer every request already under way, with `Connection: close`, then close;
4. stop, once no connection is left or `timeout` seconds have passed.

A connection that has been accepted but has not sent its first request yet is
not idle: its client is about to send it, so it is served (and then closed).

Contract: `BaseServer` takes `GracefulStop` in; each model's loop calls
`stop_accepting` when `draining` is set and ends by itself once it has no
connection left. The blocking models `track` their connections here, so that
`graceful_stop` can close the idle ones from the thread that called it.
"""

import socket
import threading


class GracefulStop:
    """What `BaseServer` needs to stop gracefully; see the module docstring."""

    def init_draining(self):
        self.draining = threading.Event()  # set by graceful_stop(): connections close after their answer
        self.accepting = True
        self.in_flight = {}  # blocking models: id(connection) → (connection, socket)

    def graceful_stop(self, timeout=30.0):
        """Stop gracefully (see the module docstring); returns once stopped. True
        when every connection ended by itself within `timeout`."""
        self.draining.set()
        self.wake()  # the model's loop notices, stops accepting, closes what is idle
        self.close_idle_connections()
        finished = self._stopped.wait(timeout)
        self.shutdown()  # whatever is still running past the timeout is cut
        return finished

    def stop_accepting(self, selector=None):
        """Accept what waits in the listen queue (the kernel has completed those
        handshakes: the clients are sending), then close the listening socket.
        Called by the thread that watches the listener."""
        if not self.accepting:
            return
        self.accept_waiting()
        self.accepting = False
        if selector is not None and self._listener_watched:
            selector.unregister(self.listener)
            self._listener_watched = False
        self.listener.close()

    # -- the blocking models: connections served by threads we cannot wake ----

    def track(self, connection, sock):
        with self._lock:
            self.in_flight[id(connection)] = (connection, sock)

    def untrack(self, connection):
        with self._lock:
            self.in_flight.pop(id(connection), None)

    def close_idle_connections(self):
        """Shut the sockets of tracked keep-alive connections waiting between requests:
        their threads see the end of the stream and finish."""
        with self._lock:
            tracked = list(self.in_flight.values())
        for connection, sock in tracked:
            if between_requests(connection):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def connection_count(self):
        """Connections still open (the thread model counts its threads instead)."""
        with self._lock:
            return len(self.in_flight)

    def wait_for_in_flight(self):
        """Until every connection has ended, or the server is told to stop now."""
        while self.connection_count() and not self._stopping.is_set():
            self._stopping.wait(0.05)  # a short wait, bounded by graceful_stop's own timeout


def between_requests(connection):
    """True for a keep-alive connection that has served a request and waits for
    the next: closing it now loses nothing (one that has served none yet is
    about to send its first request, and is served)."""
    return connection.idle and getattr(connection, "requests_served", 1) > 0
