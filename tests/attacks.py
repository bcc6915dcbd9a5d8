"""What the hostile tests share: measuring a server from outside (/proc), a
well-behaved client's latency while an attack runs, and clients from other
loopback addresses (every 127.x.y.z is this machine on Linux)."""

import contextlib
import resource
import socket
import statistics
import sys
import threading
import time

from httpserver.lab.crowd import read_one_answer, running, server_processes

LINUX = sys.platform.startswith("linux")
OTHER_ADDRESS = "127.0.0.2"  # "another client": a second loopback address (Linux)


def rss_mib(pid):
    """Resident memory of process `pid`, in MiB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def raise_descriptor_limit(wanted):
    """Let this process (and the servers it starts) open `wanted` descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        import pytest
        pytest.skip(f"needs {wanted} open files; the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def connect(port, source=None, timeout=10):
    """A TCP connection to our server from `source` (an address of this machine)."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


def one_request(sock, path="/echo/ping", host="a"):
    """Send one keep-alive GET on `sock` and read its whole (small) answer: (status, body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head, body = read_one_answer(sock)
    return head.split(b" ", 2)[1], body


class Latency:
    """A well-behaved client measuring its own requests in a thread, while an
    attack runs: `with Latency(make_socket) as probe: ...; probe.p50, probe.p99`."""

    def __init__(self, make_socket, path="/echo/ping", interval=0.01, reconnect=False):
        self.make_socket, self.path, self.interval, self.reconnect = make_socket, path, interval, reconnect
        self.samples, self.failures = [], []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        sock = None
        while not self.stopping.is_set():
            start = time.perf_counter()
            try:
                if sock is None:
                    sock = self.make_socket()
                status, _ = one_request(sock, self.path)
                if status != b"200":
                    self.failures.append(status)
                self.samples.append(time.perf_counter() - start)
            except OSError as error:
                self.failures.append(repr(error))
                sock = None
            if self.reconnect and sock is not None:
                sock.close()
                sock = None
            time.sleep(self.interval)
        if sock is not None:
            sock.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.thread.join(30)

    def quantile(self, q):
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("inf")

    @property
    def p50(self):
        return statistics.median(self.samples) if self.samples else float("inf")

    @property
    def p99(self):
        return self.quantile(0.99)

    def summary(self):
        return (f"{len(self.samples)} requests, p50 {self.p50 * 1000:.1f} ms, p99 {self.p99 * 1000:.1f} ms, "
                f"max {max(self.samples, default=0) * 1000:.1f} ms, failures {self.failures[:3]}")


@contextlib.contextmanager
def many(sockets):
    """Close every socket in the list on the way out, whatever happened."""
    try:
        yield sockets
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()


def wait_until(condition, timeout, interval=0.05):
    """True once `condition()` holds, False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def alive(pid):
    """True while process `pid` exists and is not a zombie."""
    return running(pid)


def child_pids(pid):
    """The ids of process `pid`'s children."""
    return server_processes(pid)
