"""Opening the listening socket, with errors a learner can act on.

Contract: `open_listener(host, port)` returns a bound, listening, non-blocking
socket (IPv4 or IPv6, whichever `host` names first) or raises `StartupError` with a
one-line message. `host="::"` is dual stack where the system allows it: one IPv6
socket that IPv4 clients reach too (`accept_ipv4_too`). `adopt_listener(fd)` wraps
a listening socket inherited from a parent process (`--workers` without SO_REUSEPORT).
"""

import errno
import os
import socket


class StartupError(Exception):
    """The server cannot start; the message says why in one line."""


def open_listener(host, port, backlog=1024, reuse_port=False, joining=False):
    """A listening socket; with `reuse_port`, several processes may share the port
    (SO_REUSEPORT: on Linux the kernel spreads new connections among them).

    SO_REUSEPORT lets any process of the same user join a port, a stale server
    from an earlier run included: then two generations of a server would
    answer on one port, each for some connections. So the first process checks
    that the port is free with a plain bind first; only the workers it starts
    (`joining`) skip that check."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise StartupError(f"cannot listen on {host!r}: {error.strerror}") from None
    family, kind, protocol, _, address = infos[0]
    listener = socket.socket(family, kind, protocol)
    try:
        if family == socket.AF_INET6 and address[0] == "::" and socket.has_dualstack_ipv6():
            accept_ipv4_too(listener)
        if os.name != "nt":
            # Lets a restarted server bind while old connections sit in TIME_WAIT.
            # Not on Windows, where it would let two servers share one port.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            if not joining and port != 0:
                _bind_alone(family, kind, protocol, address)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(address)
        listener.listen(backlog)
        listener.setblocking(False)
    except OSError as error:
        listener.close()
        if error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise StartupError(
                f"port {port} on {host} is already in use: stop the other server "
                f"or choose another port with --port") from None
        if error.errno in (errno.EACCES, getattr(errno, "WSAEACCES", -1)):
            raise StartupError(f"not allowed to listen on {host}:{port} (ports below 1024 need privileges)") from None
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return listener


def _bind_alone(family, kind, protocol, address):
    """Bind (and let go of) `address` without SO_REUSEPORT: this fails with
    EADDRINUSE when any socket listens there, SO_REUSEPORT or not."""
    with socket.socket(family, kind, protocol) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and address[0] == "::" and socket.has_dualstack_ipv6():
            accept_ipv4_too(probe)  # so an IPv4 listener on the port is seen too
        probe.bind(address)


def accept_ipv4_too(listener):
    """Make an IPv6 socket bound to "::" take IPv4 connections as well (dual stack).

    With IPV6_V6ONLY off, an IPv4 client arrives as an IPv4-mapped IPv6 address,
    ::ffff:127.0.0.1 (RFC 4291 §2.5.5.2; the socket option is RFC 3493 §5.3). The
    default differs by system (off on Linux, on on Windows), so it is set explicitly.
    """
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)


def adopt_listener(fd):
    """The listening socket open as file descriptor `fd` (inherited), non-blocking."""
    try:
        listener = socket.socket(fileno=fd)  # family and type are read from the socket
    except OSError as error:
        raise StartupError(f"no listening socket to inherit as file descriptor {fd}: {error.strerror}") from None
    listener.setblocking(False)
    return listener


def describe_address(address):
    """"127.0.0.1:4221" or "[::1]:4221" from a socket address."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
