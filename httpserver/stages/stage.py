"""Stages and what a stage's check gets to work with.

Contract: `@stage(name, title, rule)` registers a check function in `STAGES`,
which stays sorted by chapter: a module imported later adds its stages after
those of the same chapter already there, so a new module (say, more stages of
chapter 06) needs only an import line in `__init__.py`. A check receives a
`Context`: the server's address, the folders the server was given and the
files in them, and `connect()` for recording connections; it returns when the
server did everything right and raises `StageFailure` otherwise, naming the
rule (an RFC section) and a hint for the very check that failed.
"""

import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from .failure import StageFailure
from .wire import Client

STAGES = []


@dataclass(frozen=True)
class Stage:
    """One check of the learner's server: "NN-slug", the chapter NN, what it checks, the RFC rule."""

    name: str
    chapter: int
    title: str
    rule: str
    check: Callable = field(repr=False, compare=False)
    tls: bool = False  # runs against the program started with --certfile/--keyfile
    app: bool = False  # runs against the program started with --app (a WSGI application, wsgi.py)


def stage(name, title, rule, tls=False, app=False):
    """Decorator: register the function as the check of a new stage, after its chapter's others."""
    def register(check):
        new = Stage(name, int(name[:2]), title, rule, check, tls, app)
        if any(known.name == name for known in STAGES):
            raise ValueError(f"two stages named {name}")
        place = sum(1 for known in STAGES if known.chapter <= new.chapter)
        STAGES.insert(place, new)
        return check
    return register


@dataclass
class Context:
    """Everything a check needs: where the server listens and what it serves."""

    host: str
    port: int
    workspace: object  # a workspace.Workspace: root, directory, known files
    timeout: float = 5.0
    ssl_context: Optional[ssl.SSLContext] = None
    clients: List[Client] = field(default_factory=list)
    origin: float = field(default_factory=time.perf_counter)

    @property
    def authority(self):
        """What goes in the Host field."""
        return f"{self.host}:{self.port}"

    def connect(self, tls=None, label=None, receive_buffer=None):
        """A new recording connection (TLS when the stage is a TLS stage, unless tls=False);
        `receive_buffer`: a small receive window, so a large answer cannot fit in the
        kernel's buffers at once and the server's sending is really tested."""
        try:
            if receive_buffer is None:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            else:  # SO_RCVBUF before connect(): it sets the window the handshake announces
                sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
                sock.settimeout(self.timeout)
                sock.connect((self.host, self.port))
        except OSError as error:
            raise StageFailure(f"could not connect to {self.authority}: {error}",
                               rule="RFC 9293 §3.5 (the server accepts connections on its port)",
                               hint="Is the server still running? Does it accept a second connection?")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # pieces leave when sent
        use_tls = self.ssl_context is not None if tls is None else tls
        if use_tls:
            try:
                sock = self.ssl_context.wrap_socket(sock, server_hostname="localhost")
            except (ssl.SSLError, OSError) as error:
                sock.close()
                raise StageFailure(f"the TLS handshake failed: {error}",
                                   expected="a handshake with the certificate given by --certfile/--keyfile",
                                   rule="RFC 9110 §4.3.4 (https: the server's certificate must verify)",
                                   hint="Wrap each accepted socket with an SSLContext loaded with "
                                        "load_cert_chain(certfile, keyfile), server side.")
        client = Client(sock, self.origin, self.timeout, label or f"connection {len(self.clients) + 1}")
        self.clients.append(client)
        return client

    def request(self, target, method="GET", fields=(), body=b"", client=None, expected=None, keep_open=False,
                version="HTTP/1.1", host=True):
        """Send one request and read its response; (client, response).

        Without `client`, a new connection carries the request and is closed
        after the response unless `keep_open`: a server that serves one
        connection at a time (before chapter 05) then moves on to the next.
        """
        new = client is None
        client = client or self.connect()
        client.send(self.request_bytes(target, method, fields, body, version, host), expected=expected)
        response = client.read_response(method, expected=expected)
        if new and not keep_open:
            client.shutdown()
        return client, response

    def request_bytes(self, target, method="GET", fields=(), body=b"", version="HTTP/1.1", host=True):
        """A well-formed request as bytes, with Host (unless `host` is False) and, for a body,
        Content-Length."""
        lines = [f"{method} {target} {version}"] + ([f"Host: {self.authority}"] if host else [])
        lines += [f"{name}: {value}" for name, value in fields]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def close_all(self):
        for client in self.clients:
            client.shutdown()


def fail(problem, **details):
    """Raise a StageFailure (details: expected, hint, rule, client)."""
    raise StageFailure(problem, **details)


def expect_status(response, statuses, client, expected, hint=None, rule=None):
    """Fail unless the response's status is one of `statuses` (an int or a tuple)."""
    statuses = (statuses,) if isinstance(statuses, int) else tuple(statuses)
    if response.status not in statuses:
        wanted = " or ".join(str(status) for status in statuses) if len(statuses) < 5 else "one this stage accepts"
        fail(f"the status is {response.status}, not {wanted}", expected=expected,
             client=client, hint=hint, rule=rule)


class hint_on_failure:
    """Context manager: a StageFailure raised inside without a rule of its own gets `rule` and `hint`."""

    def __init__(self, hint, rule=None):
        self.hint, self.rule = hint, rule

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        # A hint belongs with its rule: a failure that names a rule of its own keeps its own
        # hint (or none), never this block's, which was written for this block's rule.
        if isinstance(error, StageFailure) and not error.rule:
            error.rule, error.hint = self.rule, error.hint or self.hint
        return False
