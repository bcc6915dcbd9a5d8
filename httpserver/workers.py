"""More than one process on one port: `python -m httpserver --workers N`.

One Python process runs Python code on one core at a time (the GIL). To use
more cores, N processes each run a whole server on the same port. How they
share it depends on the system (`sharing_method`):

- "reuse-port" (Linux): every process opens its own listening socket with
  SO_REUSEPORT, and the kernel picks one for each new connection by a hash of
  its addresses and ports, so many connections spread roughly evenly.
- "inherit" (macOS and other POSIX systems, where SO_REUSEPORT does not spread
  TCP connections): the children inherit the parent's listening socket, by
  file descriptor, and all accept from its one queue; whoever is free first
  takes the next connection.
- None (Windows: no SO_REUSEPORT, and sockets are not inherited by number;
  `socket.share` could pass one, but is not used here): one process serves, and
  says so.

Contract: `Supervisor(arguments, port, count)` starts `count` child processes
serving `port` with the same options (given `listener`, they inherit it),
restarts any that dies (`check()`, called by the parent), and ends them
(`stop()`, only them, by their process objects). A worker stops by itself when
the parent dies (`watch_parent`). The parent opens its listener only after
making sure no other server holds the port (listener.py), so two generations
of a server never answer on one port.
"""

import os
import subprocess
import sys
import threading
import time


def sharing_method():
    """How worker processes share the port on this system: "reuse-port", "inherit" or None."""
    if sys.platform.startswith("linux"):
        return "reuse-port"
    if os.name == "posix":
        return "inherit"
    return None


def child_command(arguments, port, certfile, keyfile, listener_fd=None, parent_fd=None, leaf_folder=None):
    """The command line of one worker: the parent's options, on the resolved port,
    with its own SO_REUSEPORT socket or (given `listener_fd`) the inherited one;
    `parent_fd`: the pipe that tells it the parent has gone; `leaf_folder`: the
    temporary certificate files it removes if it outlives the parent."""
    sharing = ["--reuse-port"] if listener_fd is None else ["--listener-fd", str(listener_fd)]
    if parent_fd is not None:
        sharing += ["--parent-fd", str(parent_fd)]
    if leaf_folder is not None:
        sharing += ["--leaf-folder", leaf_folder]
    from .__main__ import LIMIT_OPTIONS  # (imported here: __main__ imports this module)
    command = [sys.executable, "-m", "httpserver", *sharing, "--host", arguments.host,
               "--port", str(port), "--model", arguments.model, "--cache-control", arguments.cache_control]
    for option, field, *_ in LIMIT_OPTIONS:
        command += [option, str(getattr(arguments, field))]
    for option, value in (("--root", arguments.root), ("--directory", arguments.directory),
                          ("--certfile", certfile), ("--keyfile", keyfile), ("--keylog", arguments.keylog)):
        if value:
            command += [option, value]
    if arguments.quiet:
        command.append("--quiet")
    if getattr(arguments, "http2", False):
        command.append("--http2")
    if arguments.wsgi:  # a WSGI application, as the parent serves it
        command += ["--wsgi", arguments.wsgi, "--script-name", arguments.script_name]
        if arguments.threads is not None:
            command += ["--threads", str(arguments.threads)]
    for proxy in arguments.trusted_proxy:
        command += ["--trusted-proxy", proxy]
    return command + ["--graceful-timeout", str(arguments.graceful_timeout)]


RESTART_WINDOW = 10.0  # seconds over which deaths are counted ...
MAX_DEATHS = 5  # ... and how many the parent accepts there before it gives up
QUICK_DEATH = 10.0  # a worker that died younger than this is restarted after a growing delay
MAX_DELAY = 8.0  # seconds: the longest such delay


class Supervisor:
    """Starts the workers, replaces any that dies, and stops them all.

    The parent calls `check()` every half second: a worker that has exited is
    reaped (so no zombie is left) and started again, at once if it had run a
    while, else after a delay that doubles with each quick death (0.25 s, 0.5 s,
    ... up to MAX_DELAY), the way gunicorn's arbiter and systemd's restart
    back-off do. When MAX_DEATHS workers die within RESTART_WINDOW seconds,
    something is wrong that restarting will not fix: `check()` returns False and
    the parent stops, with a non-zero exit status.

    And the workers watch the parent: each inherits the read end of a pipe whose
    write end only the parent holds. When the parent dies, however it dies
    (SIGKILL included), the system closes its end, the worker's read returns
    end-of-file, and the worker stops (`watch_parent`): no orphan keeps
    serving the port.
    """

    def __init__(self, arguments, port, count, certfile=None, keyfile=None, listener=None,
                 leaf_folder=None, log=None):
        self.listener_fd = listener.fileno() if listener is not None else None
        self.parent_fd, self.parent_end = os.pipe()  # workers inherit the first; we keep the second
        self.command = child_command(arguments, port, certfile, keyfile, self.listener_fd,
                                     self.parent_fd, leaf_folder)
        self.log = log or (lambda text: None)
        self.deaths = []  # when workers died, for the give-up rule
        self.children = [self._start() for _ in range(count)]
        self.started = [time.monotonic()] * count
        self.quick_deaths = [0] * count
        self.due = [None] * count  # when a dead worker is started again

    def _start(self):
        inherited = (self.parent_fd,) + (() if self.listener_fd is None else (self.listener_fd,))
        # The children share our stderr, so their access logs appear with ours.
        return subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                pass_fds=inherited)

    def check(self, now=None):
        """Reap and restart dead workers; False when they keep dying (give up)."""
        now = time.monotonic() if now is None else now
        for slot, child in enumerate(self.children):
            if self.due[slot] is not None:
                if now >= self.due[slot]:
                    self.children[slot], self.started[slot], self.due[slot] = self._start(), now, None
                continue
            status = child.poll()  # (reaps it: no zombie)
            if status is None:
                continue
            self.deaths = [when for when in self.deaths if now - when < RESTART_WINDOW] + [now]
            if len(self.deaths) >= MAX_DEATHS:
                self.log(f"httpserver: {len(self.deaths)} workers died within {RESTART_WINDOW:.0f} s "
                         f"(the last with status {status}); stopping")
                return False
            quick = now - self.started[slot] < QUICK_DEATH
            self.quick_deaths[slot] = self.quick_deaths[slot] + 1 if quick else 0
            delay = min(MAX_DELAY, 0.25 * 2 ** (self.quick_deaths[slot] - 1)) if quick else 0.0
            self.log(f"httpserver: worker {child.pid} exited with status {status}; "
                     f"starting another{f' in {delay:g} s' if delay else ''}")
            self.due[slot] = now + delay
        return True

    def terminate(self):
        """Tell every worker to stop gracefully (SIGTERM), without waiting."""
        for child in self.children:
            if child.poll() is None:
                child.terminate()

    def stop(self, timeout=10.0):
        """End the workers (only ours, by their process objects) and wait for them."""
        stop_workers(self.children, timeout)
        os.close(self.parent_end)
        os.close(self.parent_fd)


def watch_parent(fd, on_parent_gone):
    """In a worker: call `on_parent_gone()` when the parent process has ended
    (the pipe it holds open reads end-of-file). Runs a daemon thread."""
    def wait():
        try:
            while os.read(fd, 1):
                pass  # the parent never writes; any byte is ignored
        except OSError:
            pass
        on_parent_gone()
    threading.Thread(target=wait, name="watch-parent", daemon=True).start()


def stop_workers(children, timeout=10.0):
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
