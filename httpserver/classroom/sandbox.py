"""The sandbox a student's code runs in: bubblewrap's namespaces, limits, a wall clock.

Contract: `run(program, view, limits)` runs `program` (an argument list, the
interpreter first) inside a fresh sandbox and returns an `Outcome` once it
ended, by itself or killed at `limits.wall_seconds`. `command(...)` is the
same sandbox as an argument list, for a caller that starts the program itself
(the stage tester starts the student's server that way). `unavailable()` says
why there is no sandbox here, or returns None.

What a sandbox is, on Linux, through bubblewrap (`bwrap`, in every
distribution's packages):

- its own user, mount, PID, IPC, UTS and network namespaces: it sees only its
  own processes, has no network but its own loopback (unless `view.share_net`:
  then the network namespace of the process that starts it, which the grader
  makes for one student alone), and cannot signal anything outside;
- a file system of its own, built from nothing: the system's programs and
  libraries and the Python standard library, read-only; a private /tmp and a
  home folder, small tmpfs that vanish with it; the student's files, read-only;
  and, for a chapter's answers (`view.course`), the package and the packages its
  demonstrations use. Never the instructor's notebooks, another student's
  files, the grades or the grader's temporary folders. In the standard-library
  view the interpreter's site-packages are hidden too, so `import httpserver`
  fails however it is spelled;
- limits on memory, CPU time, processes, file size and open files
  (`confine.py` sets them inside), and a wall clock outside;
- when it ends, every process in it ends: the PID namespace dies with its first
  process, and that one dies with bubblewrap (`--die-with-parent`).

When the grader runs as root, the sandbox's processes run as a user id of their
own (so the process limit counts them alone, and nothing only root may read is
readable); otherwise they run as the grader's user inside a user namespace.
"""

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from . import bubblewrap
from .bubblewrap import EXCHANGE, is_root, python_for, tool  # noqa: F401  (this module's contract)

# Killed by these signals, a program hit a limit rather than crashed.
LIMIT_SIGNALS = {signal.SIGXCPU: "CPU time", signal.SIGXFSZ: "file size"}


@dataclass(frozen=True)
class Limits:
    """How much one sandbox may use."""

    memory_mb: int = 1024     # address space (RLIMIT_AS)
    cpu_seconds: int = 30     # CPU time (RLIMIT_CPU)
    processes: int = 64       # processes and threads of its user (RLIMIT_NPROC)
    file_mb: int = 64         # the largest file it may write (RLIMIT_FSIZE)
    open_files: int = 256     # file descriptors (RLIMIT_NOFILE)
    tmp_mb: int = 64          # each of /tmp and the home folder
    wall_seconds: float = 30  # killed after this long, whatever it does


@dataclass
class View:
    """What a sandbox sees besides the system and the standard library."""

    course: bool = False          # the package and its dependencies (a chapter's answers)
    files: dict = field(default_factory=dict)   # {name in the home folder: host file}, read-only
    exchange: Optional[str] = None  # a host folder the grader watches, read-write at EXCHANGE
    writable: List[str] = field(default_factory=list)  # host folders, read-write at the same path
    readable: List[str] = field(default_factory=list)  # host files, read-only at the same path
    share_net: bool = False       # keep the starting process's network namespace
    environment: dict = field(default_factory=dict)  # more variables (the set is cleared first)


@dataclass
class Outcome:
    """How a sandboxed run ended."""

    returncode: Optional[int]
    seconds: float
    output: str = ""          # the last lines it printed (stdout and stderr)
    timed_out: bool = False

    @property
    def signal_name(self):
        """SIGKILL... when a signal ended it, else None."""
        code = self.returncode
        number = -code if code is not None and code < 0 else (code - 128 if code and code > 128 else None)
        try:
            return signal.Signals(number).name if number else None
        except ValueError:
            return None

    def limit_hit(self, limits):
        """Which limit ended it, in words, or None."""
        if self.timed_out:
            return "wall-clock limit (%g s)" % limits.wall_seconds
        for number, what in LIMIT_SIGNALS.items():
            if self.signal_name == number.name:
                return what + " limit (%s)" % ("%d s" % limits.cpu_seconds if number == signal.SIGXCPU
                                                else "%d MiB" % limits.file_mb)
        if "MemoryError" in self.output:
            return "memory limit (%d MiB)" % limits.memory_mb
        if "Resource temporarily unavailable" in self.output or "can't start new thread" in self.output:
            return "process limit (%d)" % limits.processes
        return None


@functools.lru_cache(maxsize=None)
def unavailable():
    """Why no sandbox can be made here (a sentence), or None when bubblewrap works."""
    if not sys.platform.startswith("linux"):
        return "sandboxes need Linux namespaces; this is %s" % sys.platform
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed (Debian, Ubuntu: sudo apt-get install bubblewrap; "
                "Fedora: sudo dnf install bubblewrap)")
    probe = command([python_for(course=False), "-S", "-s", "-c", "print('sandboxed')"], View(), Limits())
    try:
        finished = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return "bubblewrap did not run: %s" % error
    if finished.stdout.strip() != "sandboxed":
        reason = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        return ("bubblewrap cannot make namespaces here (%s); in a container, run it with "
                "--security-opt seccomp=unconfined, or give the grader user namespaces" % reason)
    return None


def command(program, view, limits, uid=None):
    """The argument list that runs `program` in a sandbox of `view` with `limits` (see bubblewrap.py)."""
    if uid is None and is_root():
        uid = sandbox_uid()
    return bubblewrap.command(program, view, limits, uid)


_uids = iter(range(1_000_000))
_uids_lock = threading.Lock()


def sandbox_uid():
    """A user id no one else uses, one per sandbox (only when the grader is root)."""
    with _uids_lock:
        return 2_000_000_000 + (os.getpid() % 10_000) * 10_000 + next(_uids) % 10_000


def give_to(uid, *paths):
    """Let the sandbox's user write `paths` (folders and what is in them): only needed as root."""
    if uid is None:
        return
    for path in paths:
        for folder, _, files in os.walk(path):
            os.chown(folder, uid, uid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, uid)


def run(program, view, limits, pass_fds=(), home=None, confined=True, output_limit=64 * 1024):
    """Run `program` in a sandbox, wait at most limits.wall_seconds, return its Outcome.

    Without `confined` (the grader's --no-sandbox) it runs as a plain process in the host
    folder `home`, which holds view.files, with the same limits but none of the walls.
    """
    uid = sandbox_uid() if confined and is_root() else None
    if confined:
        if view.exchange:
            give_to(uid, view.exchange)
        arguments, cwd = command(program, view, limits, uid), None
    else:
        arguments = [python_for(course=False), "-S", "-s", tool("confine.py", False),
                     json.dumps(unconfined(limits))] + [str(word) for word in program]
        cwd = home
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   pass_fds=pass_fds, start_new_session=True, cwd=cwd)
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        stop(process)  # without a sandbox, what it left running in its session goes too
        output.seek(0, os.SEEK_END)
        output.seek(max(0, output.tell() - output_limit))
        text = output.read().decode("utf-8", "replace")
    return Outcome(process.returncode, time.monotonic() - started, text, timed_out)


def unconfined(limits):
    """The limits of a process without a sandbox: no process limit, which would count all of yours."""
    return dict(asdict(limits), processes=None)


def stop(process):
    """Kill the process group it leads (bubblewrap's: the sandbox dies with it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
