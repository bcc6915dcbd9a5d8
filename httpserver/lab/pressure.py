"""Resource pressure from one client, measured from inside the notebook's process.

Contract: `open_descriptors()` counts this process's open file descriptors (None
where the operating system does not say: Windows). `pipelining_pressure(server,
path, count, seconds)` opens one connection that pipelines `count` GETs of `path`
and never reads an answer, and samples the descriptors open meanwhile; the
servers of a chapter run in the notebook's own process, so their files count
there. `plot_pressure(runs)` draws several such runs on one time axis.
"""

import os
import socket
import sys
import time

from .style import FIGURE_WIDTH, series_style


def open_descriptors():
    """How many file descriptors this process has open, or None if we cannot tell."""
    for folder in ("/proc/self/fd", "/dev/fd"):  # Linux; macOS and the BSDs
        if os.path.isdir(folder):
            return len(os.listdir(folder))
    return None


def pipelining_pressure(server, path, count=400, seconds=2.0, interval=0.05):
    """[(seconds since start, descriptors above the baseline)] while one client
    pipelines `count` GETs of `path` and reads nothing back."""
    baseline = open_descriptors()
    if baseline is None:
        return []
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode("ascii")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads slowly, if at all
    samples = []
    try:
        sock.connect((server.host, server.port))
        sock.settimeout(0.2)
        try:
            sock.sendall(request * count)
        except (socket.timeout, OSError):
            pass  # the server stopped reading from us: back-pressure at work
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            samples.append((time.monotonic() - start, open_descriptors() - baseline))
            time.sleep(interval)
    finally:
        sock.close()
    return samples


def plot_pressure(runs, title="One client pipelines requests for a 1 MiB file and never reads"):
    """Descriptors over time, one line per run: runs is {label: samples}."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(FIGURE_WIDTH, 4), layout="constrained")
    axes = figure.subplots()
    for number, (label, samples) in enumerate(runs.items()):
        times = [t for t, _ in samples]
        values = [v for _, v in samples]
        axes.plot(times, values, label=label, markevery=max(1, len(times) // 10), **series_style(number))
    axes.set_title(title)
    axes.set_xlabel("time since the client sent its requests (s)")
    axes.set_ylabel("files the server holds open")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="center right")
    if sys.platform == "win32":
        axes.text(0.5, 0.5, "Windows does not list a process's open files", transform=axes.transAxes,
                  ha="center")
    return figure
