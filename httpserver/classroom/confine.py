"""Inside the sandbox, before the student's program: set its limits, then become it.

    python -S -s confine.py '{"memory_mb": 1024, ...}' PROGRAM [ARGUMENTS...]

The first process of every sandbox runs this file (bubblewrap has already made
the namespaces and the file system). It sets the resource limits, drops to the
user id given in the limits (when the grader runs as root: then the sandbox's
processes belong to a user of their own, so the process limit counts them
alone), forbids gaining privileges through setuid files, and replaces itself
with PROGRAM. Standard library only: it runs where the package is not.

The limits are set here, inside, and not before starting bubblewrap: the
process limit counts the processes of a user in a user namespace, and the
namespace did not exist yet.
"""

import ctypes
import json
import os
import resource
import sys

PR_SET_NO_NEW_PRIVS = 38
MIB = 1024 * 1024


def set_limits(limits):
    """The rlimits of this process, inherited by everything it starts."""
    cpu = int(limits["cpu_seconds"])
    wanted = [
        (resource.RLIMIT_AS, limits["memory_mb"] * MIB),        # MemoryError past it
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),                  # SIGXCPU, then SIGKILL
        (resource.RLIMIT_NPROC, limits["processes"]),           # fork() fails past it (None: no limit)
        (resource.RLIMIT_FSIZE, limits["file_mb"] * MIB),       # SIGXFSZ past it
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),                              # no core files
    ]
    for which, value in wanted:
        if value is None:  # not limited here (the process limit, without a sandbox of its own)
            continue
        soft, hard = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(which, (soft, hard))


def no_new_privileges():
    """PR_SET_NO_NEW_PRIVS: no setuid file or file capability can raise this process again."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the sandbox is not bubblewrap's either
        pass


def main(argv):
    limits = json.loads(argv[1])
    program = argv[2:]
    uid = limits.get("uid")
    if uid is not None:  # the grader is root: become a user nobody else is
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    no_new_privileges()
    set_limits(limits)
    os.execv(program[0], program)


if __name__ == "__main__":
    main(sys.argv)
