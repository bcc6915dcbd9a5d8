"""Small helpers every chapter uses: real source on screen, raw exchanges, clients.

    show_source(parse_head)         the function's real source, highlighted
    exchange(server, raw_bytes)     send exact bytes, get every byte of the answer
    show_exchange(sent, received)   both sides as text, CR and LF made visible
    client_session(server)          a requests.Session that trusts the server
"""

import inspect
import socket
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def show_source(obj, lines=None):
    """Display the real source of a function, class or module (never a copy).

    `lines=(first, last)` shows only those lines (1-based, inclusive) of it.
    """
    obj = inspect.unwrap(obj)  # a decorated function (lru_cache): show the function itself
    source = inspect.getsource(obj)
    if lines is not None:
        first, last = lines
        source = "\n".join(source.splitlines()[first - 1 : last])
    where = Path(inspect.getsourcefile(obj)).resolve()
    try:
        where = where.relative_to(REPOSITORY)
    except ValueError:
        pass
    header = f"# {where.as_posix()}"
    try:
        from IPython.display import Markdown, display
    except ImportError:  # outside Jupyter: plain text
        print(header + "\n" + source)
        return
    display(Markdown(f"```python\n{header}\n{source}\n```"))


def exchange(server, data, *, timeout=3.0, close_after=True):
    """Send `data` exactly as given; return all bytes received until close or timeout.

    `server` is a running server (anything with .host and .port) or (host, port).
    With `close_after`, our side is half-closed after sending, so a server that
    keeps the connection open still finishes promptly.
    """
    address = (server.host, server.port) if hasattr(server, "host") else tuple(server)
    received = []
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if close_after:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # a broken pipe, a reset, "not connected" (macOS, Linux after RST)
            pass  # it answered (or gave up) before taking it all: still read what it said
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            received.append(chunk)
    return b"".join(received)


def visible(data, limit=2000):
    """Bytes as text with CR and LF shown as ␍ and ␊, for printing raw HTTP."""
    try:  # our error bodies are UTF-8 ("RFC 9112 §2.2"); other bytes show as Latin-1
        text = data[:limit].decode("utf-8")
    except UnicodeDecodeError:
        text = data[:limit].decode("latin-1")
    text = text.replace("\r", "␍").replace("\n", "␊\n")
    return text + (f"\n… ({len(data) - limit} more bytes)" if len(data) > limit else "")


def show_exchange(sent, received, limit=2000):
    """Print what a client sent and what came back, line endings visible."""
    print("── sent " + "─" * 50)
    print(visible(sent, limit))
    print("── received " + "─" * 46)
    print(visible(received, limit))


def client_session(server=None):
    """A requests.Session that trusts `server`'s local CA (for HTTPS) and nothing
    from the environment: REQUESTS_CA_BUNDLE would otherwise override `verify`."""
    import requests

    session = requests.Session()
    session.trust_env = False
    ca_file = getattr(server, "ca_file", None)
    if ca_file:
        session.verify = ca_file
    return session
