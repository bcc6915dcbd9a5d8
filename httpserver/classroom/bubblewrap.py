"""bubblewrap's command line for a sandbox: what it mounts, where, and for whom.

Contract: `command(program, view, limits, uid)` is the argument list that runs
`program` in a sandbox showing `view` (see sandbox.View) under `limits`, with
confine.py as its first process. `python_for(course)` is the interpreter to
run inside: this environment's for a chapter's answers, the base one, without
site-packages, for my_server.py. `proc_allowed()` says whether a sandbox may
mount a /proc of its own here (a container may forbid it). sandbox.py runs and
times these commands; this module only writes them.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import asdict
from pathlib import Path

import httpserver

HERE = Path(__file__).resolve().parent
PACKAGE = Path(httpserver.__file__).resolve().parent
HOME = "/home/student"       # the sandbox's home folder and working folder
EXCHANGE = HOME + "/exchange"  # a host folder shared with the grader, when the job needs one
TOOLS = "/sandbox"           # confine.py and the probe's files, read-only
TOOL_FILES = ("confine.py", "probe.py", "plain.py", "probe_watched.py")
ETC_FILES = ("hosts", "nsswitch.conf", "passwd", "group", "localtime", "mime.types", "ssl",
             "ca-certificates", "alternatives")


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def proc_allowed():
    """Whether a sandbox may have a /proc of its own.

    Inside a container whose /proc has read-only or masked parts (Docker's and Podman's
    default), the kernel refuses a new proc mount; the sandbox then has an empty /proc,
    and its PID namespace still hides every process outside it.
    """
    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--unshare-pid", "--die-with-parent"]
    probe += [] if is_root() else ["--unshare-user"]
    try:
        return subprocess.run(probe + ["true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def python_for(course):
    """The interpreter inside: this virtual environment's for a chapter, the base one for my_server.py."""
    if course:
        return sys.executable
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def site_folders():
    """Every folder where the base interpreter finds installed packages: hidden from my_server.py."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    folders = {sysconfig.get_path(name, vars=base) for name in ("purelib", "platlib")}
    version = "python%d.%d" % sys.version_info[:2]
    folders |= {"/usr/lib/python3/dist-packages", "/usr/local/lib/%s/dist-packages" % version,
                "/usr/local/lib/%s/site-packages" % version, "/usr/lib/%s/site-packages" % version}
    return sorted(folder for folder in folders if folder and os.path.isdir(folder))


def system_mounts(mounts):
    """The system's programs and libraries, read-only, the way the host lays them out."""
    mounts.add("--ro-bind", "/usr", "/usr")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            mounts.add("--symlink", os.readlink(path), path)
        elif os.path.isdir(path):
            mounts.add("--ro-bind", path, path)
    for name in ETC_FILES:
        if os.path.exists("/etc/" + name):
            mounts.add("--ro-bind", "/etc/" + name, "/etc/" + name)


def python_mounts(mounts, course):
    """The interpreter and its standard library; for a chapter, the package and the environment too."""
    prefixes = {sys.base_prefix, sys.base_exec_prefix}
    for prefix in sorted(prefixes):
        if not prefix.startswith("/usr/") and prefix != "/usr":
            mounts.add("--ro-bind", prefix, prefix)
    if course:
        if sys.prefix not in prefixes:
            mounts.add("--ro-bind", sys.prefix, sys.prefix)  # the virtual environment
        mounts.add("--ro-bind", str(PACKAGE), str(PACKAGE))
        data = PACKAGE.parent / "data"
        if data.is_dir():
            mounts.add("--ro-bind", str(data), str(data))
        mounts.add("--tmpfs", str(HERE))  # the instructor's tools stay out, though nothing in them is secret
    else:
        for folder in site_folders():
            mounts.add("--tmpfs", folder)


def command(program, view, limits, uid=None):
    """The argument list that runs `program` in a sandbox of `view` with `limits`."""
    size = str(limits.tmp_mb * 1024 * 1024)
    arguments = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
    if not view.share_net:
        arguments.append("--unshare-net")
    if is_root():
        # No user namespace for root: the sandbox's first process needs the right to
        # change its user id once (confine.py), and gives it up for good doing so.
        arguments += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        arguments += ["--unshare-user", "--disable-userns"]
    mounts = Mounts()
    # The private folders first: a bind below /tmp (an environment made there) goes on top.
    mounts.add("--proc", "/proc") if proc_allowed() else mounts.add("--dir", "/proc")
    mounts.add("--dev", "/dev")
    mounts.add("--tmpfs", "/tmp", perms="1777", size=size).add("--tmpfs", HOME, perms="1777", size=size)
    system_mounts(mounts)
    python_mounts(mounts, view.course)
    for name, host in sorted(view.files.items()):
        mounts.add("--ro-bind", str(host), HOME + "/" + name)
    if view.exchange:
        mounts.add("--bind", str(view.exchange), EXCHANGE)
    for path in view.writable:
        mounts.add("--bind", str(path), str(path))
    for path in view.readable:
        mounts.add("--ro-bind", str(path), str(path))
    for name in TOOL_FILES:
        mounts.add("--ro-bind", str(HERE / name), TOOLS + "/" + name)
    arguments += mounts.arguments + ["--chdir", HOME]
    for name, value in (("PATH", "/usr/local/bin:/usr/bin:/bin"), ("HOME", HOME), ("TMPDIR", "/tmp"),
                        ("LANG", "C.UTF-8"), ("PYTHONDONTWRITEBYTECODE", "1"), ("PYTHONUNBUFFERED", "1"),
                        ("OPENBLAS_NUM_THREADS", "1"), ("MPLBACKEND", "Agg")):
        arguments += ["--setenv", name, value]
    for name, value in sorted(view.environment.items()):
        arguments += ["--setenv", name, value]
    if view.course:  # the package the grader runs, wherever the environment would look for it
        arguments += ["--setenv", "PYTHONPATH", str(PACKAGE.parent)]
    settings = asdict(limits)
    if is_root():
        settings["uid"] = uid  # see sandbox.sandbox_uid
    arguments += ["--", python_for(course=False), "-S", "-s", TOOLS + "/confine.py", json.dumps(settings)]
    return arguments + [str(word) for word in program]


class Mounts:
    """bubblewrap's file-system options, each mount point's missing parent folders made first.

    bubblewrap would make those itself, with the host folder's mode: /root is 0700 there,
    and the sandbox's user could not reach an interpreter installed under it.
    """

    def __init__(self):
        self.arguments, self.made = [], {"/"}

    def add(self, option, *words, perms=None, size=None):
        target = words[-1]
        for parent in reversed(Path(target).parents):
            parent = str(parent)
            if parent not in self.made and not parent.startswith("/usr"):
                self.arguments += ["--perms", "0755", "--dir", parent]
                self.made.add(parent)
        self.made.add(target)
        if perms:
            self.arguments += ["--perms", perms]
        if size:
            self.arguments += ["--size", str(size)]
        self.arguments += [option, *words]
        return self


def tool(name, confined=True):
    """Where confine.py or probe.py is, as the program sees it."""
    return TOOLS + "/" + name if confined else str(HERE / name)
