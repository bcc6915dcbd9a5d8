"""Chapter 08, section 6: attacks by a crowd, and a client that measures what
they cost everyone else.

Contract:
- `Probe(make_socket)` is a well-behaved client: in a thread, it sends one small
  GET after another on a keep-alive connection and records when it asked and
  how long each answer took (`samples`: (time.perf_counter() when asked, latency)).
- `handshake_flood(port, seconds)` starts, in a child process, 16 clients that
  replay one recorded TLS ClientHello as fast as the server answers, never doing
  any cryptography themselves; `.wait()` returns how many ServerHellos came back.
- `plot_latency(series, title)` draws probes' latencies over time, one colour
  per series (the course palette), on a log scale, with the 50 ms line.
- `server_processes(pid)` lists the worker processes of a `--workers` server;
  `running(pid)` says whether a process is still there.
- `ChildServer(module, *options)` runs `python -m module --port 0 ...` (the
  package's server, or `httpserver.lab.slowdisk`) in a child process, reads the
  port from its banner, and keeps its log; `stop()` ends it (Ctrl-C, then kill).
- `keep_fetching(urls, seconds)` starts one thread per URL that fetches it
  again and again until `seconds` pass (the attackers), timing each answer too.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from . import style

FLOOD_PROGRAM = r"""
import socket, ssl, sys, threading, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
client = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
try:
    client.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outgoing.read()  # one ClientHello, replayed: the flood does no crypto at all
answered = [0]
def flood():
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(hello)
                if sock.recv(4096):
                    answered[0] += 1  # the server did a key exchange and signed, for nothing
        except OSError:
            pass
threads = [threading.Thread(target=flood) for _ in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(answered[0])
"""


class Flood:
    """A handshake flood running in a child process (see `handshake_flood`)."""

    def __init__(self, port, seconds):
        self.process = subprocess.Popen([sys.executable, "-c", FLOOD_PROGRAM, str(port), str(seconds)],
                                        stdout=subprocess.PIPE, text=True)

    def wait(self, timeout=60):
        """How many of the flood's ClientHellos the server answered."""
        output, _ = self.process.communicate(timeout=timeout)
        return int(output.strip() or 0)


def handshake_flood(port, seconds):
    return Flood(port, seconds)


class Probe:
    """A polite client measuring its own requests while something else goes on."""

    def __init__(self, make_socket, path="/echo/ping", interval=0.01):
        self.make_socket, self.path, self.interval = make_socket, path, interval
        self.samples, self.failures = [], []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        request = f"GET {self.path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode()
        sock = None
        while not self.stopping.is_set():
            asked = time.perf_counter()
            try:
                if sock is None:
                    sock = self.make_socket()
                sock.sendall(request)
                read_one_answer(sock)
                self.samples.append((asked, time.perf_counter() - asked))
            except OSError as error:
                self.failures.append(repr(error))
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

    def latencies(self):
        return sorted(latency for _, latency in self.samples)

    def quantile(self, q):
        ordered = self.latencies()
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("inf")

    def summary(self):
        return (f"{len(self.samples)} requests: median {self.quantile(0.5) * 1000:.1f} ms, "
                f"p99 {self.quantile(0.99) * 1000:.1f} ms, slowest {self.quantile(1.0) * 1000:.1f} ms")


def read_one_answer(sock):
    """Read one answer with a Content-Length body (what our echo and file answers have)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return head, body


def plot_latency(series, title, limit=0.050):
    """Answer times over time for each named series: {label: Probe or Fetchers}."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    figure, axes = plt.subplots(figsize=(style.FIGURE_WIDTH, 4))
    start = min((when for probe in series.values() for when, _ in probe.samples), default=0.0)
    for index, (label, probe) in enumerate(series.items()):
        times = [when - start for when, _ in probe.samples]
        latencies = [max(latency, 1e-5) * 1000 for _, latency in probe.samples]
        median = probe.quantile(0.5)
        label = f"{label} (median {median * 1000:.1f} ms)" if median < 1 else f"{label} (median {median:.1f} s)"
        if isinstance(probe, Fetchers):  # few, long answers: each drawn from when it was asked to when it came
            axes.hlines(latencies, times, [t + l / 1000 for t, l in zip(times, latencies)],
                        color=style.colour(index), linewidth=2, label=label)
            continue
        axes.plot(times, latencies, style.MARKERS[index % len(style.MARKERS)], color=style.colour(index),
                  markersize=3, linestyle="none", label=label)
    axes.axhline(limit * 1000, color=style.NEUTRAL, linestyle="--", linewidth=1)
    axes.annotate(f"{limit * 1000:.0f} ms", (0, limit * 1000), xytext=(2, -12), textcoords="offset points",
                  color=style.NEUTRAL)
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))  # 0.1, 1, 10, 1,000: no 10³
    axes.set_xlabel("time since the first request (s)")
    axes.set_ylabel("answer time (ms, log scale)")
    axes.set_title(title)
    style.legend_below(axes, columns=1)
    figure.tight_layout()
    return figure


def server_processes(pid):
    """The ids of the child processes of `pid` (Linux: /proc; elsewhere: pgrep)."""
    if os.path.isdir("/proc/self"):
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
        return sorted(found)
    output = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(word) for word in output.split())


def running(pid):
    """True while process `pid` exists and has not ended (a zombie has ended)."""
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process is there
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): it answered signal 0, so it is there


def connect_from(port, address=None, timeout=10):
    """A TCP connection to 127.0.0.1:`port` from `address` (another loopback address),
    or from the usual one when this system has no such address (macOS has only
    127.0.0.1 unless told otherwise)."""
    if address is not None:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(address, 0))
        except OSError:
            pass
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


class ChildServer:
    """A server in a child process, started with `python -m module`, port chosen by the system."""

    def __init__(self, module, *options, cwd=None):
        self.process = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *options],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, cwd=cwd)
        self.pid = self.process.pid
        self.log = []
        banner = self.process.stderr.readline()  # "Serving ... on http://127.0.0.1:PORT/ ..."
        found = re.search(r"://[^/]*:(\d+)/", banner)
        if not found:
            self.process.kill()
            raise RuntimeError(f"the server did not start: {banner!r}")
        self.port = int(found.group(1))
        self.log.append(banner)
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line)

    def stop(self):
        """Ctrl-C (SIGINT), then wait; kill it if it does not stop. Returns its exit status."""
        if self.process.poll() is None:
            if os.name == "nt":
                self.process.terminate()
            else:
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(5)
        return self.process.returncode


class Fetchers:
    """Threads fetching URLs again and again (the attackers); `samples` like a Probe's."""

    def __init__(self, urls, seconds, context=None):
        self.samples = []  # (when asked, how long the whole answer took)
        self.threads = [threading.Thread(target=self._fetch, args=(url, seconds, context), daemon=True)
                        for url in urls]
        for thread in self.threads:
            thread.start()

    def _fetch(self, url, seconds, context):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            asked = time.perf_counter()
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=seconds + 10, context=context) as answer:
                    answer.read()
                self.samples.append((asked, time.perf_counter() - asked))

    def join(self, timeout=60):
        for thread in self.threads:
            thread.join(timeout)

    def quantile(self, q):
        ordered = sorted(latency for _, latency in self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("inf")


def keep_fetching(urls, seconds, context=None):
    """Fetch each URL again and again, each in a thread, until `seconds` have passed."""
    return Fetchers(urls, seconds, context)
