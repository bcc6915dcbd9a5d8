"""A bounded load generator, and a recorder of who served what, when.

Contract: `run_load(address, ...)` opens `connections` client connections and
keeps each busy with requests until `requests` have completed or `duration`
seconds have passed, whichever comes first; it never runs unbounded. Every
request's start and end are recorded, so latency percentiles come from the
whole distribution, not an average. It is one `selectors` loop in the calling
thread: no client threads competing with the server's.

`record_handling(server)` wraps a running server's application so that every
request it handles is recorded with the serving thread's name: the data behind
chapter 5's Gantt charts.

Measured from the same machine (often the same process) as the server, these
numbers show differences between designs, not what a server does in production.
"""

import math
import selectors
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class RequestRecord:
    """One request as the client saw it (times from time.perf_counter())."""

    connection: int
    start: float
    end: float
    status: int
    size: int

    @property
    def latency(self):
        return self.end - self.start


@dataclass
class LoadResult:
    """Every completed request of a run, with the run's settings."""

    connections: int
    keep_alive: bool
    started: float
    finished: float
    records: list = field(default_factory=list)
    errors: int = 0

    @property
    def elapsed(self):
        return self.finished - self.started

    @property
    def requests_per_second(self):
        return len(self.records) / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, fraction):
        """Latency in seconds within which `fraction` (0..1) of the requests finished
        (nearest rank: the smallest latency at least that fraction is not above)."""
        latencies = sorted(record.latency for record in self.records)
        if not latencies:
            return float("nan")
        rank = max(1, math.ceil(fraction * len(latencies)))
        return latencies[min(rank, len(latencies)) - 1]

    def summary(self):
        return (f"{len(self.records)} requests over {self.connections} connection(s) "
                f"({'keep-alive' if self.keep_alive else 'new connection each'}) in {self.elapsed:.2f} s: "
                f"{self.requests_per_second:,.0f} req/s, p50 {self.percentile(0.5) * 1000:.2f} ms, "
                f"p99 {self.percentile(0.99) * 1000:.2f} ms, {self.errors} errors")


class _Client:
    __slots__ = ("index", "sock", "buffer", "start", "expected", "closes")

    def __init__(self, index):
        self.index = index
        self.sock = None
        self.buffer = b""
        self.start = 0.0
        self.expected = None  # total response length, once the head is in
        self.closes = False  # the server said it closes after this response


def _response_length(buffer):
    """(head length + Content-Length, whether the server will close) once the
    head has arrived, else (None, False)."""
    end = buffer.find(b"\r\n\r\n")
    if end == -1:
        return None, False
    length = 0
    closes = buffer.startswith(b"HTTP/1.0")  # HTTP/1.0 closes unless it says keep-alive
    for line in buffer[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            closes = value == b"close" or (closes and value != b"keep-alive")
    return end + 4 + length, closes


def run_load(address, path="/", *, connections=10, requests=1000, duration=10.0,
             keep_alive=True, host_header="localhost", timeout=5.0):
    """Load `address` ((host, port) or a server with .host/.port); see the module doc."""
    if hasattr(address, "host"):
        address = (address.host, address.port)
    connection_header = b"" if keep_alive else b"Connection: close\r\n"
    request_bytes = (f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode()
                     + connection_header + b"\r\n")
    selector = selectors.DefaultSelector()
    clients = [_Client(index) for index in range(connections)]
    result = LoadResult(connections, keep_alive, time.perf_counter(), 0.0)
    deadline = result.started + duration
    started_requests = 0

    def begin(client):
        """Send the next request on `client`, connecting first when needed."""
        nonlocal started_requests
        started_requests += 1
        client.start = time.perf_counter()  # a new connection's handshake counts too
        client.buffer, client.expected = b"", None
        if client.sock is None:
            # Connect without blocking: a server with a short listen queue makes
            # a connect wait a second or more for SYN retries, and the other
            # connections must not wait with it. Writable means connected.
            client.sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
            client.sock.setblocking(False)
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.sock.connect_ex(address)
            selector.register(client.sock, selectors.EVENT_WRITE, client)
            return
        send_request(client)

    def drop(client):
        if client.sock is not None:
            selector.unregister(client.sock)
            client.sock.close()
            client.sock = None

    def send_request(client):
        try:
            client.sock.sendall(request_bytes)  # small: fits the socket buffer at once
        except OSError:
            result.errors += 1
            drop(client)

    try:
        for client in clients:
            if started_requests < requests and time.perf_counter() < deadline:
                begin(client)
        while len(result.records) + result.errors < started_requests:
            now = time.perf_counter()
            if now > deadline + timeout:
                break
            for key, events in selector.select(timeout=min(timeout, max(0.0, deadline + timeout - now))):
                client = key.data
                if events & selectors.EVENT_WRITE:  # a connect has finished
                    if client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        result.errors += 1
                        drop(client)
                        continue
                    selector.modify(client.sock, selectors.EVENT_READ, client)
                    send_request(client)
                    continue
                try:
                    chunk = client.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    result.errors += 1
                    drop(client)
                    if started_requests < requests and time.perf_counter() < deadline:
                        begin(client)
                    continue
                client.buffer += chunk
                if client.expected is None:
                    client.expected, client.closes = _response_length(client.buffer)
                if client.expected is None or len(client.buffer) < client.expected:
                    continue
                status = int(client.buffer[9:12])
                result.records.append(RequestRecord(client.index, client.start, time.perf_counter(),
                                                    status, client.expected))
                if not keep_alive or client.closes:
                    drop(client)
                if started_requests < requests and time.perf_counter() < deadline:
                    begin(client)
    finally:
        for client in clients:
            drop(client)
        selector.close()
        result.finished = time.perf_counter()
    return result


@dataclass
class HandlingRecord:
    """One request as the server handled it: which thread, from when to when, for which client port."""

    thread: str
    path: str
    start: float
    end: float
    connection: int = 0  # the client's port: one number per TCP connection (0 when unknown)


@contextmanager
def record_handling(server):
    """Record every request `server` (from serve_in_background) handles, by thread.

    Yields a list that fills with HandlingRecord objects; the server's
    application is restored on exit.
    """
    app = server.server.app
    original = app.handle
    records = []
    lock = threading.Lock()

    def recording_handle(request):
        start = time.perf_counter()
        try:
            return original(request)
        finally:
            port = request.client[1] if request.client else 0
            record = HandlingRecord(threading.current_thread().name, request.path, start,
                                    time.perf_counter(), port)
            with lock:
                records.append(record)

    app.handle = recording_handle
    try:
        yield records
    finally:
        del app.handle  # the instance attribute goes; the class's method shows again
