"""Chapter 10's pictures: one request's way from socket to `start_response`, and the WSGI bench.

`trace_request(app, path)` serves `app` with the event loop in this process, sends
one request over a raw socket, and records who did what, when: the client, the
event loop's thread (bytes received and parsed, bytes sent) and the thread the
application ran on (its call, `start_response`, each piece of body it gave).
`plot_wsgi_ladder(events)` draws those as a ladder, one lane each, time flowing
down. `plot_wsgi_bench(summary)` draws bench_wsgi's medians with their spread.
matplotlib is imported inside the plotting functions only.
"""

import socket
import threading
import time

from . import style

LANES = ("client", "event loop", "application")


def trace_request(app, path="/", model="select"):
    """[(milliseconds, lane, what)] for one GET `path` of `app` on our server."""
    from httpserver import serve_in_background

    events, lock = [], threading.Lock()

    def note(lane, what):
        with lock:
            events.append((time.perf_counter(), lane, what))

    def traced(environ, start_response):
        note("application", f"app(environ, start_response), on thread {threading.current_thread().name}")

        def start(status, headers, exc_info=None):
            note("application", f"start_response({status!r}, {len(headers)} headers)")
            return start_response(status, headers, exc_info)
        result = app(environ, start)
        note("application", f"returns {type(result).__name__}")
        return _Pieces(result, note)

    with serve_in_background(app=traced, model=model, log_access=False) as server:
        wrap_connections(server.server, note)
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            note("client", f"sends GET {path}")
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            received = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            status_line = received.split(b"\r\n", 1)[0].decode("latin-1")
            note("client", f"has the answer: {status_line}, {len(received)} bytes")
    start = events[0][0]
    return [((moment - start) * 1000, lane, what) for moment, lane, what in sorted(events)]


class _Pieces:
    """The application's iterable, noting each piece it gives (and its close)."""

    def __init__(self, result, note):
        self.result, self.note, self.iterator = result, note, iter(result)

    def __iter__(self):
        return self

    def __next__(self):
        piece = next(self.iterator)
        self.note("application", f"gives {len(piece)} bytes of body")
        return piece

    def close(self):
        self.note("application", "close() (PEP 3333: always called)")
        if hasattr(self.result, "close"):
            self.result.close()


def wrap_connections(server, note):
    """Make every new connection of `server` note what the loop does with it."""
    make = server.new_connection

    def new_connection(*args, **options):
        connection = make(*args, **options)
        receive, process = connection.receive, connection.process

        def traced_receive(data):
            if data:
                note("event loop", f"recv: {len(data)} bytes, parsed into a Request")
            return receive(data)

        def traced_process():
            outgoing = process()
            if connection.work is not None:
                note("event loop", "hands the request to a helper thread (Connection.work)")
            if outgoing:
                size = sum(len(item) for item in outgoing if isinstance(item, (bytes, bytearray, memoryview)))
                note("event loop", f"send: {size} bytes, head and body")
            return outgoing
        connection.receive, connection.process = traced_receive, traced_process
        return connection
    server.new_connection = new_connection


def plot_wsgi_ladder(events, title="One request, from socket to start_response and back", ax=None):
    """The events of `trace_request` as a ladder: one lane each, time flowing down."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, min(style.MAX_FIGURE_HEIGHT, 1.2 + 0.45 * len(events))))
    x = {lane: index for index, lane in enumerate(LANES)}
    colours = {"client": style.CLIENT, "event loop": style.SERVER, "application": style.GREEN}
    for lane in LANES:
        ax.axvline(x[lane], color=style.NEUTRAL, linewidth=1)
        ax.text(x[lane], -0.7, lane, ha="center", va="bottom", fontsize=10, fontweight="bold")
    previous = None
    for row, (milliseconds, lane, what) in enumerate(events):
        if previous is not None and previous[1] != lane:
            ax.annotate("", xy=(x[lane], row), xytext=(x[previous[1]], row - 1),
                        arrowprops={"arrowstyle": "->", "color": style.NEUTRAL, "linewidth": 1})
        ax.plot(x[lane], row, marker="o", color=colours[lane], markersize=6)
        ax.text(x[lane] + 0.04, row, f"{milliseconds:6.2f} ms  {what}", va="center", fontsize=8)
        previous = (milliseconds, lane)
    ax.set_xlim(-0.3, len(LANES) + 1.2)
    ax.set_ylim(len(events) - 0.4, -1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel("time flows down (each row one event, labelled with ms since the request left)")
    ax.set_title(title)
    return ax


def plot_wsgi_bench(summary, path="/json", title=None, ax=None):
    """Median requests per second of each server at each concurrency, with the
    lowest and highest round as an error bar (bench_wsgi's summary)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, 4.5))
    servers = list(summary["servers"])
    levels = sorted({int(c) for entry in summary["servers"].values() for c in entry.get(path, {})})
    width = 0.8 / max(1, len(servers))
    for index, name in enumerate(servers):
        points = summary["servers"][name].get(path, {})
        medians = [points.get(str(c), {}).get("rps_median", 0) for c in levels]
        lows = [m - points.get(str(c), {}).get("rps_low", m) for m, c in zip(medians, levels)]
        highs = [points.get(str(c), {}).get("rps_high", m) - m for m, c in zip(medians, levels)]
        positions = [level + (index - (len(servers) - 1) / 2) * width for level in range(len(levels))]
        ax.bar(positions, medians, width, label=name, color=style.colour(index),
               hatch="//" if name.startswith("httpserver") else None, edgecolor="white")
        ax.errorbar(positions, medians, yerr=[lows, highs], fmt="none", ecolor="black", capsize=2, linewidth=1)
    ax.set_xticks(range(len(levels)))
    ax.set_xticklabels([f"{c} connection{'s' if c > 1 else ''}" for c in levels])
    ax.set_ylabel("requests per second (median of the rounds)")
    ax.set_title(title or f"Flask {path}: requests per second, one process each "
                          f"({summary['rounds']} round(s), {summary['tool']})")
    style.legend_outside(ax)
    return ax
