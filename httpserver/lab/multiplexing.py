"""Head-of-line blocking, measured: one slow answer ahead of quick ones, over HTTP/1.1 and HTTP/2.

Contract: `pipelined_http1(server, paths)` sends every request at once on one
TLS connection speaking HTTP/1.1 (pipelining, chapter 06) and
`multiplexed_http2(server, paths)` sends them at once as HTTP/2 streams on one
connection; both read through the same slow link (`read_size` bytes per read,
`read_delay` seconds between reads) and return a `Completion` per request, in
the order sent: when its answer was complete, in ms after the requests left.
`plot_completions(results)` draws them side by side. matplotlib is imported
inside the plot only.
"""

import time
from typing import NamedTuple

from . import style
from .http2_client import HTTP2Client, open_tls


class Completion(NamedTuple):
    """One request's path, its status, its body's size, and when its answer was complete (ms)."""

    path: str
    status: int
    size: int
    milliseconds: float


def pipelined_http1(server, paths, read_size=16384, read_delay=0.002, timeout=30.0):
    """Every request pipelined on one HTTP/1.1 connection; the answers as they complete."""
    with open_tls(server, ("http/1.1",), timeout) as sock:
        requests = b"".join(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode() for path in paths)
        started = time.perf_counter()
        sock.sendall(requests)
        buffer, results = b"", []
        deadline = time.monotonic() + timeout
        while len(results) < len(paths) and time.monotonic() < deadline:
            time.sleep(read_delay)
            piece = sock.recv(read_size)
            if not piece:
                break
            buffer += piece
            now = time.perf_counter()
            while True:  # every answer now complete: responses arrive in request order (RFC 9112 §9.3.2)
                answer = _complete_response(buffer)
                if answer is None:
                    break
                status, size, used = answer
                results.append(Completion(paths[len(results)], status, size, (now - started) * 1000))
                buffer = buffer[used:]
    return results


def _complete_response(buffer):
    """(status, body size, bytes used) of the first response in `buffer`, or None if incomplete.
    Enough for our server's answers, which always carry Content-Length."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in head[1:])
    length = int(fields.get("Content-Length", 0))
    if len(buffer) < end + 4 + length:
        return None
    return int(head[0].split()[1]), length, end + 4 + length


def multiplexed_http2(server, paths, read_size=16384, read_delay=0.002, timeout=30.0):
    """Every request as its own stream on one HTTP/2 connection; the answers as they complete."""
    with HTTP2Client(server, timeout=timeout, read_size=read_size, read_delay=read_delay) as client:
        client.read_once()  # the server's SETTINGS first, so the timing starts with requests alone
        ids = [client.send("GET", path, flush=False) for path in paths]
        started = time.perf_counter()
        client.flush()  # every request in one write, as the pipelined ones
        answers = client.collect(ids, timeout=timeout)
    return [Completion(path, answer.status, len(answer.body), (answer.completed - started) * 1000)
            for path, answer in zip(paths, answers)]


def plot_completions(results, title="When each answer was complete: one large file ahead of small ones"):
    """One panel per protocol ({name: [Completion]}); a bar per request, from 0 to its completion."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(results), 1, figsize=(style.FIGURE_WIDTH, 1.6 + 1.6 * len(results)),
                                sharex=True, squeeze=False)
    slowest = max(c.milliseconds for completions in results.values() for c in completions)
    for index, (ax, (name, completions)) in enumerate(zip(axes[:, 0], results.items())):
        labels = [f"{c.path} ({c.size:,} B)" for c in completions]
        colour = style.colour(index)
        ax.barh(range(len(completions)), [c.milliseconds for c in completions], color=colour, height=0.6)
        for row, completion in enumerate(completions):
            ax.text(completion.milliseconds + slowest * 0.01, row, f"{completion.milliseconds:.0f} ms",
                    va="center", fontsize=8)
        ax.set_yticks(range(len(completions)))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()  # the first request sent on top
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlim(0, slowest * 1.15)
    axes[-1, 0].set_xlabel("milliseconds after the requests were sent (all at once, on one connection)")
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    return figure
