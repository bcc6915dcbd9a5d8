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
    """Descriptors over time, one line per run: runs is {label: samples}.

    The count axis is logarithmic above 1 (linear from 0 to 1), so that a run holding
    3 files stands clearly off the axis beside one holding 400; each line ends with
    its largest count written out."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(FIGURE_WIDTH, 4.4), layout="constrained")
    axes = figure.subplots()
    for number, (label, samples) in enumerate(runs.items()):
        times = [t for t, _ in samples]
        values = [v for _, v in samples]
        look = series_style(number)
        axes.plot(times, values, label=label, markevery=max(1, len(times) // 10), **look)
        if values:
            axes.annotate(f"at most {max(values):,}", (times[-1], values[-1]), xytext=(6, 0),
                          textcoords="offset points", va="center", fontsize=9, color=look["color"])
    axes.set_title(title)
    axes.set_xlabel("time since the client sent its requests (s)")
    axes.set_ylabel("files the server holds open (log scale)")
    axes.set_yscale("symlog", linthresh=1)
    axes.set_ylim(0, 2000)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    if runs and any(runs.values()):
        axes.set_xlim(0, max(t for samples in runs.values() for t, _ in samples) * 1.15)  # room for the words
    axes.grid(alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=9)
    if sys.platform == "win32":
        axes.text(0.5, 0.5, "Windows does not list a process's open files", transform=axes.transAxes,
                  ha="center")
    return figure
