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

Contract: `start_workers(arguments, port, count)` starts `count` child
processes serving `port` with the same options (given `listener`, they inherit
it); `stop_workers(children)` ends them (only them, by their process objects)
and waits.
"""

import os
import subprocess
import sys


def sharing_method():
    """How worker processes share the port on this system: "reuse-port", "inherit" or None."""
    if sys.platform.startswith("linux"):
        return "reuse-port"
    if os.name == "posix":
        return "inherit"
    return None


def child_command(arguments, port, certfile, keyfile, listener_fd=None):
    """The command line of one worker: the parent's options, on the resolved port,
    with its own SO_REUSEPORT socket or (given `listener_fd`) the inherited one."""
    sharing = ["--reuse-port"] if listener_fd is None else ["--listener-fd", str(listener_fd)]
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


def start_workers(arguments, port, count, certfile=None, keyfile=None, listener=None):
    listener_fd = listener.fileno() if listener is not None else None
    command = child_command(arguments, port, certfile, keyfile, listener_fd)
    # pass_fds: the one descriptor a child inherits (Python makes no others inheritable).
    # The children share our stderr, so their access logs appear with ours.
    return [subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             pass_fds=() if listener_fd is None else (listener_fd,))
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
