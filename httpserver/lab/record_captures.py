"""Record the captures in data/captures/ that notebooks show when live capture is impossible.

Run as root (or with CAP_NET_RAW) on Linux:  python -m httpserver.lab.record_captures
Each scenario starts a server, captures its port on loopback while a plain-socket
client talks to it, stops the server (so its FIN is in the file) and saves a pcap.

The server under capture is a parameter: any function `start_server(ssl_context)`
that serves HTTP/1.1 on 127.0.0.1 (over TLS when ssl_context is given) and returns
(host, port, stop). The default is the small keep-alive server below, so the files
do not depend on the rest of the package. Every socket has a timeout: a run takes
a few seconds and never hangs.
"""

import argparse
import contextlib
import re
import socket
import ssl
import sys
import threading
from pathlib import Path
from typing import Callable, Optional, Tuple

from .capture import CAPTURES_DIR, capture, capture_available

TIMEOUT = 5.0  # seconds, for every socket operation on either side
ServerStarter = Callable[[Optional[ssl.SSLContext]], Tuple[str, int, Callable[[], None]]]


def start_minimal_server(ssl_context: Optional[ssl.SSLContext] = None):
    """A thread-per-connection HTTP/1.1 server answering every GET with a short text."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)  # how often the accept loop checks whether to stop
    stopping, handlers = threading.Event(), []

    def answer(connection):
        try:
            connection.settimeout(TIMEOUT)
            if ssl_context is not None:
                connection = ssl_context.wrap_socket(connection, server_side=True)
            buffered = b""
            while not stopping.is_set():
                while b"\r\n\r\n" not in buffered:
                    chunk = connection.recv(65536)
                    if not chunk:  # the client closed; finally closes our side (our FIN)
                        if ssl_context is not None:  # answer its close_notify alert with ours
                            connection = connection.unwrap()
                        return
                    buffered += chunk
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode("latin-1")
                body = f"Hello from the minimal server; you asked for {path}\n".encode()
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        finally:
            connection.close()

    def accept_loop():
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                continue
            handler = threading.Thread(target=_quietly, args=(answer, connection), daemon=True)
            handler.start()
            handlers.append(handler)

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()

    def stop():
        stopping.set()
        acceptor.join(TIMEOUT)
        for handler in handlers:
            handler.join(TIMEOUT)
        listener.close()

    host, port = listener.getsockname()
    return host, port, stop


def _quietly(function, *args):
    """Run function in a server thread; errors end the connection, never print."""
    try:
        function(*args)
    except (OSError, ValueError, IndexError):
        pass


def fetch(connection, path: str) -> bytes:
    """Send one GET on an open connection and read the response by its Content-Length."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                       f"User-Agent: record_captures\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed before answering")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if length is None:
        raise ValueError("the response has no Content-Length; these scenarios need one")
    while len(body) < int(length.group(1)):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed in the middle of the body")
        body += chunk
    return head


@contextlib.contextmanager
def _connect(port: int, client_context: Optional[ssl.SSLContext] = None):
    """A client connection to 127.0.0.1:port, over TLS when client_context is given."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        if client_context is not None:  # SNI says "localhost"; an IP literal would send no SNI
            connection = client_context.wrap_socket(connection, server_hostname="localhost")
        yield connection
        if client_context is not None:
            # A clean TLS ending: our close_notify alert, then wait for the server's
            # (RFC 8446 §6.1). Without it the server sees a truncated stream.
            connection = connection.unwrap()
    finally:
        connection.close()


def record(name: str, folder: Path, start_server: ServerStarter, talk,
           server_context=None, client_context=None) -> Path:
    """Start a server, capture its port while talk(port) runs, stop it, save name.pcap."""
    host, port, stop = start_server(server_context)
    try:
        with capture(port=port, max_seconds=30) as cap:
            talk(port, client_context)
            stop()
    finally:
        stop()  # a second stop is harmless, and the port must never stay open
    path = folder / f"{name}.pcap"
    cap.save(path)
    return path


def one_get(port, client_context=None):
    with _connect(port, client_context) as connection:
        fetch(connection, "/")


def three_gets_on_one_connection(port, client_context=None):
    with _connect(port, client_context) as connection:
        for path in ("/", "/echo/hello", "/user-agent"):
            fetch(connection, path)


def three_connections(port, client_context=None):
    for path in ("/", "/echo/hello", "/user-agent"):
        with _connect(port, client_context) as connection:
            fetch(connection, path)


def tls_contexts():
    """(server context, client context) with a throwaway trustme CA; TLS 1.3 only."""
    import trustme

    authority = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    server_context.num_tickets = 0  # no session tickets: a shorter, clearer picture
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    client_context.minimum_version = ssl.TLSVersion.TLSv1_3
    return server_context, client_context


def record_all(folder: Path = CAPTURES_DIR, start_server: ServerStarter = start_minimal_server):
    """Record the four standard captures into folder; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    server_context, client_context = tls_contexts()
    return [
        record("http_get", folder, start_server, one_get),
        record("keepalive", folder, start_server, three_gets_on_one_connection),
        record("three_connections", folder, start_server, three_connections),
        record("tls_handshake", folder, start_server, one_get, server_context, client_context),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CAPTURES_DIR, help="folder for the .pcap files")
    arguments = parser.parse_args(argv)
    available, reason = capture_available()
    if not available:
        print(f"cannot record: {reason}", file=sys.stderr)
        return 1
    for path in record_all(arguments.out):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
