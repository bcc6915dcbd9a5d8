"""A restart under load, measured: does any request fail while a server is replaced?

`graceful_restart()` runs, on 127.0.0.1:

1. server A (`python -m httpserver --wsgi httpserver.lab.apps:whoami`), with
   SO_REUSEPORT, and a bounded load of keep-alive clients against it;
2. server B on the same port (the kernel now spreads new connections over both);
3. SIGTERM to A, which stops gracefully (httpserver/drain.py): no new
   connections, the requests under way answered, idle connections closed;
4. the load goes on against B until the end; then B stops too.

Each answer says which process sent it. A client whose idle keep-alive
connection was closed retries once on a new connection, as RFC 9112 §9.3.1
allows for a request that got no answer at all (browsers and proxies do);
those retries are counted, and a request fails only if the retry fails too.
SO_REUSEPORT spreads connections on Linux only: elsewhere this raises RuntimeError.

`plot_restart(result)` draws answers per 100 ms, by process, with the moments
of the restart marked.
"""

import http.client
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
             http.client.BadStatusLine)


@dataclass
class RestartResult:
    """What the clients saw, and when the restart happened (seconds from the start)."""

    answers: list = field(default_factory=list)  # (time, pid) of every 200
    failures: list = field(default_factory=list)  # (time, what went wrong)
    retries: int = 0  # requests sent again after an idle connection was closed
    old_pid: int = 0
    new_pid: int = 0
    new_started_at: float = 0.0
    sigterm_at: float = 0.0
    old_exited_at: float = 0.0
    first_exit_code: int = None

    @property
    def completed(self):
        return len(self.answers)

    @property
    def failed(self):
        return len(self.failures)

    @property
    def served_by_old(self):
        return sum(pid == self.old_pid for _, pid in self.answers)

    @property
    def served_by_new(self):
        return sum(pid == self.new_pid for _, pid in self.answers)

    @property
    def drain_seconds(self):
        return self.old_exited_at - self.sigterm_at


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port, extra=()):
    """A server process sharing `port` (SO_REUSEPORT); returns once it answers."""
    command = [sys.executable, "-m", "httpserver", "--wsgi", "httpserver.lab.apps:whoami",
               "--host", "127.0.0.1", "--port", str(port), "--reuse-port", "--quiet", *extra]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:  # answered by this process? (another on the port may answer first)
            if _ask(port, "/") == process.pid:
                return process
        except OSError:
            pass
        time.sleep(0.02)
    process.kill()
    process.wait()
    raise RuntimeError("the server did not start answering within 15 s")


def _ask(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        return int(connection.getresponse().read().split()[1])
    finally:
        connection.close()


def _client(port, path, stop_at, started, result, lock):
    connection, used = None, False
    while time.monotonic() < stop_at:
        for attempt in (1, 2):
            if connection is None:
                connection, used = http.client.HTTPConnection("127.0.0.1", port, timeout=10), False
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
                else:
                    used = True
                with lock:
                    if response.status == 200:
                        result.answers.append((time.monotonic() - started, int(body.split()[1])))
                    else:
                        result.failures.append((time.monotonic() - started, f"status {response.status}"))
                break
            except RETRYABLE as error:
                connection.close()
                connection = None
                if used and attempt == 1:  # an idle keep-alive connection closed under us: retry once
                    with lock:
                        result.retries += 1
                    continue
                with lock:
                    result.failures.append((time.monotonic() - started, repr(error)))
                break
            except OSError as error:  # refused, timed out: a failure, never retried
                connection.close()
                connection = None
                with lock:
                    result.failures.append((time.monotonic() - started, repr(error)))
                break
    if connection is not None:
        connection.close()


def graceful_restart(clients=8, duration=4.0, restart_at=1.5, path="/slow?ms=20", graceful_timeout=10):
    """Replace a server under a bounded load; see the module docstring."""
    if not sys.platform.startswith("linux"):
        raise RuntimeError("a restart on one port needs SO_REUSEPORT spreading connections: Linux only")
    port = free_port()
    extra = ["--graceful-timeout", str(graceful_timeout)]
    old = start_server(port, extra)
    result, lock = RestartResult(old_pid=old.pid), threading.Lock()
    started = time.monotonic()
    stop_at = started + duration
    threads = [threading.Thread(target=_client, args=(port, path, stop_at, started, result, lock), daemon=True)
               for _ in range(clients)]
    new = None
    try:
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, started + restart_at - time.monotonic()))
        new = start_server(port, extra)
        result.new_pid, result.new_started_at = new.pid, time.monotonic() - started
        old.send_signal(signal.SIGTERM)
        result.sigterm_at = time.monotonic() - started
        result.first_exit_code = old.wait(graceful_timeout + 5)
        result.old_exited_at = time.monotonic() - started
        for thread in threads:
            thread.join(duration + 15)
    finally:
        for process in (old, new):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(graceful_timeout + 5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    result.answers.sort()
    return result


def plot_restart(result, bin_ms=100, ax=None, title="A graceful restart under load"):
    """Answers per `bin_ms` by the process that sent them, with the restart marked."""
    import matplotlib.pyplot as plt

    from .style import ERROR, FIGURE_WIDTH, NEUTRAL, legend_below, series_style

    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_WIDTH, 4))
    end = max([t for t, _ in result.answers] + [result.old_exited_at, 0.1])
    bins = int(end * 1000 // bin_ms) + 1
    for index, (pid, label) in enumerate([(result.old_pid, f"old server (pid {result.old_pid})"),
                                          (result.new_pid, f"new server (pid {result.new_pid})")]):
        counts = [0] * bins
        for t, answered_by in result.answers:
            if answered_by == pid:
                counts[int(t * 1000 // bin_ms)] += 1
        style = series_style(index)
        ax.plot([n * bin_ms / 1000 for n in range(bins)], counts, label=label, color=style["color"],
                marker=style["marker"], markersize=3, linestyle=style["linestyle"])
    moments = [(result.new_started_at, "new server answers"), (result.sigterm_at, "SIGTERM to the old"),
               (result.old_exited_at, "old server exited")]
    for row, (moment, what) in enumerate(moments):  # a few ms apart: labels at three heights
        ax.axvline(moment, color=NEUTRAL, linestyle=":", linewidth=1)
        ax.annotate(f" {what} ({moment:.3f} s)", (moment, 0.45 - 0.13 * row), xycoords=("data", "axes fraction"),
                    va="center", ha="left", fontsize=8, color=NEUTRAL,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    for t, _ in result.failures:
        ax.axvline(t, color=ERROR, linewidth=1.5)
    ax.set_title(f"{title}: {result.completed} answered, {result.failed} failed, "
                 f"{result.retries} retried after an idle close")
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel(f"answers per {bin_ms} ms")
    ax.set_ylim(bottom=0)
    legend_below(ax)
    return ax
