"""More than one process on one port: `python -m httpserver --workers N`.

One Python process runs Python code on one core at a time (the GIL). To use
more cores, N processes each run a whole server. On Linux every process opens
its own listening socket on the same port with SO_REUSEPORT, and the kernel
spreads new connections among them. macOS accepts SO_REUSEPORT but does not
spread TCP connections, and Windows has no such option: there we serve with one
process and say so.

Contract: `start_workers(arguments, port, count)` starts `count` child
processes serving `port` with the same options; `stop_workers(children)` ends
them (only them, by their process objects) and waits.
"""

import subprocess
import sys


def workers_supported():
    return sys.platform.startswith("linux")


def child_command(arguments, port, certfile, keyfile):
    """The command line of one worker: the parent's options, on the resolved port."""
    command = [sys.executable, "-m", "httpserver", "--reuse-port", "--host", arguments.host,
               "--port", str(port), "--model", arguments.model, "--max-body", str(arguments.max_body)]
    for option, value in (("--root", arguments.root), ("--directory", arguments.directory),
                          ("--certfile", certfile), ("--keyfile", keyfile)):
        if value:
            command += [option, value]
    if arguments.quiet:
        command.append("--quiet")
    return command


def start_workers(arguments, port, count, certfile=None, keyfile=None):
    command = child_command(arguments, port, certfile, keyfile)
    # The children share our stderr, so their access logs appear with ours.
    return [subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            for _ in range(count)]


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
