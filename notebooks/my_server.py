"""my_server.py: an HTTP/1.1 server of your own, built chapter by chapter.

    python my_server.py --port 4221 --directory DIR --root DIR
    python my_server.py --port 4443 --directory DIR --root DIR --certfile cert.pem --keyfile key.pem
    python my_server.py --tls ...         (HTTPS with a throw-away certificate, made by trustme)

It answers GET /echo/{text}, GET /user-agent, /files/{name} (GET, HEAD, POST, PUT,
DELETE inside --directory) and static files from --root; it keeps connections
alive, reads pipelined requests, decodes chunked bodies, gzips text for clients
that accept it, serves each connection in its own thread, speaks TLS, and refuses
what a hostile client might send (too long, too slow, ambiguous).

Only the standard library (and trustme, for --tls). In your copy each part you
write is one line that raises NotImplementedError with the words "not built yet",
the chapter whose Build section asks for the part and the stage that first tests
it (the instructor's copy has the answer there instead):
a request that needs a missing part gets a 500 saying which, and the server goes
on serving the others. Later chapters ask you to extend parts you wrote earlier
(the accept loop grows threads, the connection loop keep-alive); this file holds
each part as it ends up.
"""

import argparse
import gzip
import os
import re
import socket
import ssl
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

# Every number that protects the server, in one place (chapter 08 explains each).
MAX_REQUEST_LINE = 8 * 1024   # longer → 414 URI Too Long (RFC 9112 §3)
MAX_FIELD_LINE = 8 * 1024     # one header field line; longer → 431 (RFC 6585 §5)
MAX_HEAD = 64 * 1024          # the whole header section; longer → 431
MAX_FIELDS = 100              # more header fields → 431
MAX_BODY = 16 * 1024 * 1024   # bodies are held in memory here, so capped low; larger → 413
IDLE_TIMEOUT = 15.0           # a kept-alive connection may wait this long for its next request
HEAD_TIMEOUT = 10.0           # from a head's first byte to its end: against slowloris
BODY_TIMEOUT = 30.0           # from the end of the head to the end of the body
MAX_CONNECTIONS = 1000        # live connection threads at most; more get 503
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
COMPRESSIBLE = ("text/", "application/json", "application/javascript", "image/svg+xml")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
                 ".css": "text/css", ".js": "application/javascript", ".json": "application/json",
                 ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
                 ".ico": "image/x-icon"}


class HTTPError(Exception):
    """Something about the request that we answer with an error status."""

    def __init__(self, status, explanation, close=False, fields=()):
        super().__init__(explanation)
        self.status, self.explanation, self.close = status, explanation, close
        self.fields = list(fields)  # header fields the answer needs, e.g. Allow with a 405


@dataclass
class Request:
    """One parsed request: the request line, the header fields (name → values), the body."""

    method: str
    target: str
    version: str
    fields: dict
    body: bytes = b""

    def header(self, name, default=None):
        """The field's value, or `default`; several fields of that name joined by commas."""
        values = self.fields.get(name.lower())
        return ", ".join(values) if values else default


@dataclass
class Answer:
    """What a route answers: status, body, content type, and any more header fields."""

    status: int
    body: bytes = b""
    content_type: object = "text/plain"  # None: no Content-Type (an empty body)
    fields: list = field(default_factory=list)  # (name, value) pairs


def text_type(body):
    """The Content-Type of text `body` (bytes): text/plain when it is ASCII, as the CodeCrafters
    challenge expects; text/plain; charset=utf-8 otherwise, since text/plain without a charset
    means US-ASCII (RFC 2046 §4.1.2)."""
    return "text/plain" if body.isascii() else "text/plain; charset=utf-8"


class Reader:
    """A socket with a pocket: bytes read too early wait in `leftover` for the next read.

    `recv_until` may read past the end of a head; what follows is the start of the
    body or of the next, pipelined, request, so it goes back with `unread`. While
    `deadline` (a time.monotonic() value) is set, no recv waits past it.
    """

    def __init__(self, sock):
        self.sock, self.leftover, self.deadline = sock, b"", None

    def recv(self, size):
        """At most `size` bytes: the leftover first, then the socket's; b"" once the peer closed."""
        if self.leftover:
            data, self.leftover = self.leftover[:size], self.leftover[size:]
            return data
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("deadline passed")
            self.sock.settimeout(remaining)
        return self.sock.recv(size)

    def unread(self, data):
        """Put bytes back: the next recv returns them first."""
        self.leftover = data + self.leftover


# ---------------------------------------------------------------- chapter 01: sockets

def open_listener(host, port):
    """A TCP socket bound to (host, port) and listening."""
    ### BEGIN SOLUTION (chapter 01, stage 01-bind)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if os.name != "nt":
        # Restarting at once must not fail on the old connections' TIME_WAIT; on Windows
        # this option would let another program take the port from us.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    return listener
    ### END SOLUTION


def recv_exactly(sock, n):
    """Exactly n bytes from sock; ConnectionError if the peer closes first."""
    ### BEGIN SOLUTION (chapter 01, stage 01-read-head)
    pieces, missing = [], n
    while missing > 0:
        piece = sock.recv(missing)  # never more than missing: the rest is the next message's
        if not piece:
            raise ConnectionError("the peer closed after %d of %d bytes" % (n - missing, n))
        pieces.append(piece)
        missing -= len(piece)
    return b"".join(pieces)
    ### END SOLUTION


def recv_until(sock, marker, limit=65536):
    """(head, leftover): bytes up to and including the first `marker`, and what came after."""
    ### BEGIN SOLUTION (chapter 01, stage 01-read-head)
    buffer = b""
    while True:
        end = buffer.find(marker)
        if end != -1:
            end += len(marker)
            return buffer[:end], buffer[end:]
        if len(buffer) > limit:
            raise ValueError("no %r in the first %d bytes" % (marker, len(buffer)))
        piece = sock.recv(4096)
        if not piece:
            raise ConnectionError("the peer closed before %r arrived" % (marker,))
        buffer += piece
    ### END SOLUTION


# ---------------------------------------------------------------- chapter 02: requests

def parse_request_line(line):
    """(method, target, version) from one request line with its CRLF; ValueError if malformed."""
    ### BEGIN SOLUTION (chapter 02, stage 02-request-line)
    if not line.endswith(b"\r\n"):
        raise ValueError("a request line ends with CRLF (RFC 9112 §2.2)")
    text = line[:-2]
    if b"\r" in text or b"\n" in text:
        raise ValueError("CR or LF inside the request line")
    parts = text.split(b" ")
    if len(parts) != 3:
        raise ValueError("expected METHOD SP TARGET SP VERSION (RFC 9112 §3)")
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise ValueError("the method is not a token")
    if not re.fullmatch(rb"[\x21-\x7e]+", target):
        raise ValueError("the target must be visible ASCII")
    if not re.fullmatch(rb"HTTP/[0-9]\.[0-9]", version):
        raise ValueError("the version must look like HTTP/1.1 (RFC 9112 §2.3)")
    return method.decode("ascii"), target.decode("ascii"), version.decode("ascii")
    ### END SOLUTION


def parse_headers(lines):
    """{lower-case name: [values, in order]} from field lines without their CRLF; ValueError if malformed."""
    ### BEGIN SOLUTION (chapter 02, stage 02-bad-request)
    fields = {}
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise ValueError("obsolete line folding (RFC 9112 §5.2)")
        name, colon, value = line.partition(b":")
        if not colon:
            raise ValueError("a field line needs a colon")
        if not TOKEN.fullmatch(name):
            raise ValueError("invalid field name (whitespace before the colon? RFC 9112 §5.1)")
        fields.setdefault(name.decode("ascii").lower(), []).append(value.strip(b" \t").decode("latin-1"))
    return fields
    ### END SOLUTION


def decode_chunked(data):
    """(body, rest) once `data` holds a whole chunked body; None while more bytes are needed.

    Raises ValueError when the bytes break RFC 9112 §7.1.
    """
    ### BEGIN SOLUTION (chapter 02, stage 06-chunked-upload)
    decoded, position = [], 0
    while True:
        end = data.find(b"\r\n", position)
        if end == -1:
            return None  # the size line is not all here yet
        # chunk-size [ chunk-ext ]: hex digits, then nothing, or ";" after optional spaces or tabs
        # (an extension, ignored). int(text, 16) alone would take "0x5", "+5", " 5" and "5_0".
        size_line = re.fullmatch(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;.*)?", data[position:end], re.S)
        if not size_line:
            raise ValueError("invalid chunk size line %r" % data[position:end][:20])
        size, position = int(size_line.group(1), 16), end + 2
        if size > MAX_BODY:  # refuse now rather than wait for bytes that will never be accepted
            raise ValueError("a chunk of %d bytes is over the body limit" % size)
        if size == 0:
            break
        if len(data) < position + size + 2:
            return None
        if data[position + size:position + size + 2] != b"\r\n":
            raise ValueError("chunk data not followed by CRLF")
        decoded.append(data[position:position + size])
        position += size + 2
    while True:  # trailer fields, ignored, up to the empty line (RFC 9112 §7.1.2)
        end = data.find(b"\r\n", position)
        if end == -1:
            return None
        line, position = data[position:end], end + 2
        if not line:
            return b"".join(decoded), data[position:]
    ### END SOLUTION


def read_line(reader, limit, status):
    """One line, up to and including its CRLF; HTTPError(status) when longer than `limit`."""
    ### BEGIN SOLUTION (chapter 02, stage 02-request-line)
    too_long = HTTPError(status, "a line longer than %d bytes" % limit, close=True)
    try:
        line, leftover = recv_until(reader, b"\n", limit)
    except ValueError:
        raise too_long from None
    reader.unread(leftover)
    if len(line) > limit:  # the LF arrived in the read that crossed the limit
        raise too_long
    if not line.endswith(b"\r\n") or b"\r" in line[:-2]:
        # Reading to LF, not CRLF, lets us refuse a bare LF at once instead of waiting for a CR.
        raise HTTPError(400, "lines end with CRLF (RFC 9112 §2.2)", close=True)
    return line
    ### END SOLUTION


def read_request_head(reader):
    """The next request's head as a Request (no body yet); None when the client closed first."""
    ### BEGIN SOLUTION (chapter 02, stage 02-request-line)
    try:
        first = reader.recv(1)
    except (socket.timeout, ConnectionError):
        return None  # idle too long, or gone: a kept-alive connection ends quietly
    if not first:
        return None
    reader.unread(first)
    reader.deadline = time.monotonic() + HEAD_TIMEOUT  # the whole head, however it trickles
    line = read_line(reader, MAX_REQUEST_LINE, 414)
    if line == b"\r\n":  # RFC 9112 §2.2: ignore an empty line before the request line (an old
        line = read_line(reader, MAX_REQUEST_LINE, 414)  # client's extra CRLF after a body)
    try:
        method, target, version = parse_request_line(line)
    except ValueError as error:
        raise HTTPError(400, str(error), close=True) from None
    lines, size = [], 0
    while True:
        field_line = read_line(reader, MAX_FIELD_LINE, 431)[:-2]
        if not field_line:
            break
        size += len(field_line)
        lines.append(field_line)
        if size > MAX_HEAD or len(lines) > MAX_FIELDS:
            raise HTTPError(431, "header section too large", close=True)
    try:
        fields = parse_headers(lines)
    except ValueError as error:
        raise HTTPError(400, str(error), close=True) from None
    if version == "HTTP/1.1" and len(fields.get("host", [])) != 1:
        raise HTTPError(400, "an HTTP/1.1 request has exactly one Host field (RFC 9112 §3.2)", close=True)
    if not version.startswith("HTTP/1."):
        raise HTTPError(505, "this server speaks HTTP/1.x", close=True)
    return Request(method, target, version, fields)
    ### END SOLUTION


# ---------------------------------------------------------------- chapter 03: responses

def build_response(status, body, content_type=None, fields=()):
    """The bytes of an HTTP/1.1 response: status line, Content-Type, Content-Length, `fields`, body.

    No Content-Type when `content_type` is None; no Content-Length on a 204 (RFC 9110 §8.6).
    """
    ### BEGIN SOLUTION (chapter 03, stage 03-echo)
    lines = ["HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase)]
    if content_type is not None:
        lines.append("Content-Type: " + content_type)
    if status != 204:
        lines.append("Content-Length: %d" % len(body))
    lines += ["%s: %s" % (name, value) for name, value in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    ### END SOLUTION


def echo(request, text):
    """GET /echo/{text}: the text, percent-decoded."""
    ### BEGIN SOLUTION (chapter 03, stage 03-echo)
    body = unquote(text).encode("utf-8")
    return Answer(200, body, text_type(body))
    ### END SOLUTION


def user_agent(request):
    """GET /user-agent: the client's User-Agent field."""
    ### BEGIN SOLUTION (chapter 03, stage 03-user-agent)
    body = request.header("user-agent", "").encode("latin-1")  # the bytes as they came
    return Answer(200, body, text_type(body))
    ### END SOLUTION


# ---------------------------------------------------------------- chapter 04: files

def safe_join(base, url_path):
    """The path inside `base` that `url_path` names; ValueError if it would lie outside."""
    ### BEGIN SOLUTION (chapter 04, stage 04-traversal)
    real_base = os.path.realpath(base)
    segments = []
    for raw in url_path.split("/"):  # split first: an encoded '/' stays inside its segment
        if not raw:
            continue
        segment = unquote(raw, errors="strict")
        if segment in (".", "..") or "/" in segment or "\\" in segment or "\0" in segment:
            raise ValueError("refused path segment %r" % raw)
        segments.append(segment)
    path = os.path.realpath(os.path.join(real_base, *segments))
    if path != real_base and not path.startswith(real_base.rstrip(os.sep) + os.sep):
        raise ValueError("the path leaves the folder")
    return path
    ### END SOLUTION


def atomic_write(path, chunks):
    """Write the chunks to `path` all at once or not at all; return the number of bytes."""
    ### BEGIN SOLUTION (chapter 04, stage 04-atomic-upload)
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".part-")
    written = 0
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                written += file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # readers see the old file or the new one, never half
    except BaseException:
        os.remove(temporary)
        raise
    return written
    ### END SOLUTION


def files(request, name, directory):
    """/files/{name}: GET/HEAD read it, POST/PUT store the body, DELETE removes it."""
    ### BEGIN SOLUTION (chapter 04, stage 04-files-read)
    try:
        path = safe_join(directory, name)
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(404, "no such file") from None
    if path == os.path.realpath(directory):
        raise HTTPError(404, "a name is needed after /files/")
    if request.method in ("GET", "HEAD"):
        if not os.path.isfile(path):
            raise HTTPError(404, "no such file")
        with open(path, "rb") as file:
            return Answer(200, file.read(), "application/octet-stream")
    if request.method in ("POST", "PUT"):
        existed = os.path.exists(path)
        atomic_write(path, [request.body])
        if existed:
            return Answer(204, content_type=None)
        return Answer(201, content_type=None, fields=[("Location", request.target)])
    if request.method == "DELETE":
        if not os.path.isfile(path):
            raise HTTPError(404, "no such file")
        os.remove(path)
        return Answer(204, content_type=None)
    raise HTTPError(405, "not a method for files", fields=[("Allow", "GET, HEAD, POST, PUT, DELETE")])
    ### END SOLUTION


def static_file(request, path, root):
    """Any other path: the file under --root (/ and folders: their index.html)."""
    ### BEGIN SOLUTION (chapter 04, stage 04-static)
    if request.method not in ("GET", "HEAD"):
        raise HTTPError(405, "static files are read-only", fields=[("Allow", "GET, HEAD")])
    try:
        path = safe_join(root, path)
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(404, "no such file") from None
    if os.path.isdir(path):
        if path == os.path.realpath(root) and not os.path.isfile(os.path.join(path, "index.html")):
            # The home page answers even without a site: the CodeCrafters challenge starts the
            # server with no --root and asks GET / for a 200.
            return Answer(200, b"my_server.py is running; --root DIR serves the files in DIR\n")
        path = os.path.join(path, "index.html")
    if not os.path.isfile(path):
        raise HTTPError(404, "no such file")
    with open(path, "rb") as file:
        body = file.read()
    extension = os.path.splitext(path)[1].lower()
    return Answer(200, body, CONTENT_TYPES.get(extension, "application/octet-stream"))
    ### END SOLUTION


def route(request, config):
    """The Answer to a request, chosen by its path: the dispatch table."""
    ### BEGIN SOLUTION (chapter 02, stage 02-request-line)
    path = request.target.split("?", 1)[0]
    if path.startswith(("http://", "https://")):  # the absolute form, which a server MUST accept
        path = urlsplit(path).path or "/"            # too (RFC 9112 §3.2.2): keep only its path
    if not path.startswith("/"):
        raise HTTPError(400, "the target must be an absolute path here (RFC 9112 §3.2.1)")
    if path.startswith("/echo/"):
        allowed, handle = "GET, HEAD", lambda: echo(request, path[len("/echo/"):])
    elif path == "/user-agent":
        allowed, handle = "GET, HEAD", lambda: user_agent(request)
    elif path.startswith("/files/"):
        allowed = "GET, HEAD, POST, PUT, DELETE"
        handle = lambda: files(request, path[len("/files/"):], config.directory)
    else:
        allowed, handle = "GET, HEAD", lambda: static_file(request, path, config.root)
    if request.method not in allowed.split(", "):
        return Answer(405, b"405 Method Not Allowed\n", fields=[("Allow", allowed)])
    return handle()
    ### END SOLUTION


# ---------------------------------------------------------------- one connection, request after request

def accepts(value, coding):
    """True if the Accept-Encoding value `value` (str or None) allows the content coding `coding`."""
    ### BEGIN SOLUTION (chapter 06, stage 06-gzip)
    if not value:
        return False
    coding = coding.lower()
    named = star = None
    for element in value.split(","):
        name, *params = element.split(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number.strip())
                except ValueError:
                    quality = 0.0
        if name == coding:
            named = quality
        elif name == "*":
            star = quality
    if named is not None:
        return named > 0  # a named coding wins over `*` (RFC 9110 §12.5.3)
    return star is not None and star > 0
    ### END SOLUTION


def wants_to_close(request):
    """True when this request's connection ends after its response (RFC 9112 §9.3)."""
    ### BEGIN SOLUTION (chapter 06, stage 06-connection-close)
    tokens = [token.strip().lower() for token in request.header("connection", "").split(",")]
    if request.version == "HTTP/1.0":
        return "keep-alive" not in tokens  # HTTP/1.0 closes unless asked not to
    return "close" in tokens
    ### END SOLUTION


def body_length(request):
    """How the body is framed: an int (Content-Length), "chunked", or 0 (no body)."""
    ### BEGIN SOLUTION (chapter 08, stage 08-smuggling)
    lengths = request.fields.get("content-length", [])
    encodings = request.fields.get("transfer-encoding", [])
    if lengths and encodings:
        # Two framings: a proxy may pick the other one, and the rest is a smuggled request.
        raise HTTPError(400, "both Content-Length and Transfer-Encoding (RFC 9112 §6.3)", close=True)
    if encodings:
        codings = [coding.strip().lower() for value in encodings for coding in value.split(",")]
        if codings[-1] != "chunked" or codings.count("chunked") > 1:
            # RFC 9112 §6.1 and §6.3: chunked comes last, and once, or the length is unknowable.
            raise HTTPError(400, "chunked must be the final transfer coding, once", close=True)
        if codings != ["chunked"]:
            raise HTTPError(501, "only the chunked transfer coding is supported", close=True)
        return "chunked"
    if lengths:
        if len(lengths) > 1 or not re.fullmatch(r"[0-9]+", lengths[0]):
            raise HTTPError(400, "Content-Length must be one number (RFC 9110 §8.6)", close=True)
        return int(lengths[0])
    return 0
    ### END SOLUTION


def read_body(reader, sock, request):
    """The request's body, de-chunked; HTTPError 413 when larger than MAX_BODY."""
    ### BEGIN SOLUTION (chapter 04, stage 04-files-write)
    length = body_length(request)
    if length == 0:
        return b""
    if length != "chunked" and length > MAX_BODY:
        raise HTTPError(413, "the body may have at most %d bytes" % MAX_BODY, close=True)
    if request.header("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # the client waits for this before its body
    reader.deadline = time.monotonic() + BODY_TIMEOUT
    if length != "chunked":
        return recv_exactly(reader, length)
    data = b""
    while True:
        try:
            framed = decode_chunked(data)
        except ValueError as error:  # the framing is broken: where would the next request start?
            raise HTTPError(400, str(error), close=True) from None
        if framed is not None:
            body, rest = framed
            reader.unread(rest)  # the start of the next, pipelined, request
            return body
        if len(data) > MAX_BODY + 64 * 1024:
            raise HTTPError(413, "the body may have at most %d bytes" % MAX_BODY, close=True)
        piece = reader.recv(65536)
        if not piece:
            raise ConnectionError("the client closed inside a chunked body")
        data += piece
    ### END SOLUTION


def encode_answer(request, answer, close):
    """The response's bytes: Date, gzip when it helps and the client accepts it, Connection."""
    ### BEGIN SOLUTION (chapter 03, stage 03-date)
    body, fields = answer.body, list(answer.fields)
    fields.append(("Date", formatdate(usegmt=True)))  # RFC 9110 §6.6.1: a server MUST send Date
    if answer.content_type and answer.content_type.startswith(COMPRESSIBLE):
        fields.append(("Vary", "Accept-Encoding"))  # caches must keep one copy per coding
        if body and accepts(request.header("accept-encoding"), "gzip"):
            body = gzip.compress(body, mtime=0)
            fields.append(("Content-Encoding", "gzip"))
    if close:
        fields.append(("Connection", "close"))
    elif request.version == "HTTP/1.0":
        fields.append(("Connection", "keep-alive"))
    response = build_response(answer.status, body, answer.content_type, fields)
    if request.method == "HEAD" or answer.status in (204, 304):
        response = response[:response.index(b"\r\n\r\n") + 4]  # the same head, no body
    return response
    ### END SOLUTION


def error_answer(status, explanation, fields=()):
    """An error's Answer: the status and a line of text saying why (and any fields it needs)."""
    body = ("%d %s: %s\n" % (status, HTTPStatus(status).phrase, explanation)).encode("utf-8")
    return Answer(status, body, text_type(body), fields=list(fields))


def respond(request, config):
    """(the route's Answer, close?), every exception turned into an error status: the one boundary."""
    try:
        if config.app is not None:  # --app: a WSGI application answers instead of the routes (part 10)
            return run_app(config.app, request, config), False
        return route(request, config), False
    except HTTPError as error:
        return error_answer(error.status, error.explanation, error.fields), error.close
    except NotImplementedError as error:
        # A part of this file not written yet: say which, and keep serving.
        return error_answer(500, str(error) or "not built yet"), False
    except Exception as error:  # a bug in a route must not end the connection's thread
        return error_answer(500, "%s: %s" % (type(error).__name__, error)), True


def handle_connection(sock, config):
    """Serve requests on one connection, one after the other, until either side ends it."""
    ### BEGIN SOLUTION (chapter 01, stage 01-bind)
    reader = Reader(sock)
    while True:
        reader.deadline = time.monotonic() + IDLE_TIMEOUT
        request = None
        try:
            request = read_request_head(reader)
            if request is None:
                return
            request.body = read_body(reader, sock, request)
            result, close = respond(request, config)
            close = close or wants_to_close(request)
        except HTTPError as error:
            result, close = error_answer(error.status, error.explanation), True
        except socket.timeout:
            result, close = error_answer(408, "the request took too long to arrive"), True
        except NotImplementedError as error:
            result, close = error_answer(500, str(error)), True
        except OSError:
            return  # the client is gone (a reset, a closed connection): nobody to answer
        if request is None:  # an error in the head: answer as HTTP/1.1, then close
            request = Request("GET", "/", "HTTP/1.1", {})
        sock.settimeout(BODY_TIMEOUT)  # a client that never reads must not hold sendall forever
        sock.sendall(encode_answer(request, result, close))
        if close:
            return
    ### END SOLUTION


# ---------------------------------------------------------------- accepting connections, many at once

def serve_forever(listener, config):
    """Accept connections until interrupted, and serve each."""
    ### BEGIN SOLUTION (chapter 01, stage 01-bind)
    while True:
        try:
            connection, _address = listener.accept()
        except OSError:  # out of file descriptors, say: wait a moment rather than die
            time.sleep(0.1)
            continue
        serve_in_thread(connection, config)
    ### END SOLUTION


FREE_PLACES = threading.BoundedSemaphore(MAX_CONNECTIONS)  # one per live connection thread


def serve_in_thread(connection, config):
    """Serve the connection in a new thread and return at once; 503 when MAX_CONNECTIONS are busy."""
    ### BEGIN SOLUTION (chapter 05, stage 05-concurrent)
    if not FREE_PLACES.acquire(blocking=False):
        # Too many at once: a short answer now beats a thread we cannot afford.
        connection.sendall(build_response(503, b"busy\n", "text/plain", [("Connection", "close")]))
        close_quietly(connection)
        return

    def serve_then_free():
        try:
            serve_one(connection, config)
        finally:
            FREE_PLACES.release()

    # daemon: Ctrl-C ends the server without waiting for idle keep-alive connections
    threading.Thread(target=serve_then_free, daemon=True).start()
    ### END SOLUTION


def serve_one(connection, config):
    """One connection: TLS first when configured, then HTTP; closed whatever happens."""
    try:
        if config.tls_context is not None:
            connection = start_tls(connection, config.tls_context)
        if connection is not None:
            handle_connection(connection, config)
    except OSError:
        pass  # a reset or a failed handshake ends this connection only
    finally:
        if connection is not None:
            close_quietly(connection)


def close_quietly(sock):
    """Close without losing our last response: stop sending, then read what the client still sends.

    Closing with unread bytes makes the kernel send a reset, which can destroy the
    response before the client has read it (RFC 9112 §9.6), so drain a little first.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(1.0)
        for _ in range(64):  # at most 64 reads and about a second each: bounded
            if not sock.recv(65536):
                break
    except OSError:
        pass
    sock.close()


# ---------------------------------------------------------------- chapter 07: TLS

def make_tls_context(certfile, keyfile):
    """A server-side SSLContext from a certificate chain file and its private key."""
    ### BEGIN SOLUTION (chapter 07, stage 07-https)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # older versions are deprecated (RFC 8996)
    context.load_cert_chain(certfile, keyfile)
    return context
    ### END SOLUTION


def start_tls(connection, context):
    """The connection wrapped in TLS; None (after a plain-text 400) when the client speaks plain HTTP."""
    ### BEGIN SOLUTION (chapter 07, stage 07-plain-on-tls)
    connection.settimeout(HEAD_TIMEOUT)
    first = connection.recv(1, socket.MSG_PEEK)  # look without taking: the handshake needs it
    if first and first != b"\x16":  # 0x16 starts every TLS handshake record
        connection.sendall(build_response(400, b"This port speaks HTTPS: use https:// URLs.\n",
                                          "text/plain", [("Connection", "close")]))
        close_quietly(connection)
        return None
    return context.wrap_socket(connection, server_side=True)
    ### END SOLUTION


def throwaway_tls_context():
    """--tls: a context with a certificate from a new local CA (trustme); prints where the CA is."""
    import trustme  # only needed here, so the rest runs with the standard library alone

    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", "127.0.0.1", "::1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(context)
    folder = tempfile.mkdtemp(prefix="my-server-ca-")
    authority.cert_pem.write_to_path(os.path.join(folder, "ca.pem"))
    print("trust this CA to check the certificate: %s" % os.path.join(folder, "ca.pem"), flush=True)
    return context


# ---------------------------------------------------------------- the command line

@dataclass
class Config:
    """What every connection needs to know."""

    root: str
    directory: str
    tls_context: object = None
    app: object = None  # --app: the WSGI application (part 10)
    port: int = 0


def main(argv=None):
    """Parse the options, listen, serve until Ctrl-C; return the exit status."""
    parser = argparse.ArgumentParser(description="My own HTTP/1.1 server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4221)
    parser.add_argument("--directory", default=".", help="the folder of /files/{name}")
    parser.add_argument("--root", default=".", help="the folder of static files")
    parser.add_argument("--certfile", help="HTTPS with this certificate chain (PEM)")
    parser.add_argument("--keyfile", help="... and this private key (PEM)")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a throw-away certificate")
    parser.add_argument("--app", metavar="MODULE:NAME", help="serve this WSGI application (chapter 10)")
    args = parser.parse_args(argv)
    try:
        config = Config(os.path.realpath(args.root), os.path.realpath(args.directory))
        if args.certfile:
            config.tls_context = make_tls_context(args.certfile, args.keyfile or args.certfile)
        elif args.tls:
            config.tls_context = throwaway_tls_context()
        listener = open_listener(args.host, args.port)
        config.port = listener.getsockname()[1]
        if args.app:
            config.app = load_app(args.app)
    except (NotImplementedError, OSError, ssl.SSLError, ImportError, AttributeError) as error:
        print("my_server: %s" % error, file=sys.stderr)  # one line, not a traceback
        return 1
    scheme = "https" if config.tls_context else "http"
    print("listening on %s://%s:%d/" % (scheme, args.host, listener.getsockname()[1]), flush=True)
    try:
        serve_forever(listener, config)
    except KeyboardInterrupt:
        pass
    except NotImplementedError as error:
        print("my_server: %s" % error, file=sys.stderr)
        return 1
    finally:
        listener.close()
    return 0



# ---------------------------------------------------------------- part 10: a WSGI application (chapter 10)

def load_app(spec):
    """The WSGI application named "module:name", looked for in the current folder too."""
    import importlib

    module_name, _, name = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as gunicorn does: the app usually sits where you are
    return getattr(importlib.import_module(module_name), name or "app")


def wsgi_environ(request, config):
    """The environ of PEP 3333 for `request`: CGI's names, the fields as HTTP_*, the body as wsgi.input."""
    ### BEGIN SOLUTION (chapter 10, stage 10-wsgi-environ)
    import io

    path, _, query = request.target.partition("?")
    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),  # decoded; its bytes as Latin-1 characters
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(config.port),
        "SERVER_PROTOCOL": request.version,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if config.tls_context else "http",
        "wsgi.input": io.BytesIO(request.body or b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, values in request.fields.items():
        key, value = name.upper().replace("-", "_"), ", ".join(values)  # repeated fields joined
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        elif "_" not in name:  # X_Forwarded_For must not pose as X-Forwarded-For
            environ["HTTP_" + key] = value
    if request.body:
        environ["CONTENT_LENGTH"] = str(len(request.body))  # also for a chunked body
    return environ
    ### END SOLUTION


def run_app(app, request, config):
    """Call the application; its status, fields and body as an Answer (close() always called)."""
    ### BEGIN SOLUTION (chapter 10, stage 10-wsgi-environ)
    head = []

    def start_response(status, fields, exc_info=None):
        if head and exc_info is None:
            raise AssertionError("start_response called twice without exc_info")
        head[:] = [status, fields]
        return pieces.append  # write(): kept in order, before what the iterable gives

    pieces = []
    result = app(wsgi_environ(request, config), start_response)
    try:
        for piece in result:
            pieces.append(piece)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, fields = head
    fields = [(name, value) for name, value in fields if name.lower() != "content-length"]
    # content_type None: the application's own Content-Type field goes out, and no gzip of ours
    return Answer(int(status.split()[0]), b"".join(pieces), None, fields)
    ### END SOLUTION


if __name__ == "__main__":
    sys.exit(main())
