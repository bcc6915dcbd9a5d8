"""Responses, and the bytes they become on the wire (RFC 9112 §4, §6).

Contract: a handler returns a `Response`; `encode_head` turns its status and
fields into the bytes that precede the body. The head and a small body leave in
one write, so Nagle's algorithm never holds a response back. Large files travel
as a `FileBody`, which the server sends with `socket.sendfile` where it can.
No I/O happens here.
"""

import time
from email.utils import formatdate
from http import HTTPStatus

from .negotiation import preferred_type
from .pages import HTML, error_page

SERVER_NAME = "httpserver/0.1"

# RFC 9110 §15: the reason phrase of every status, encoded once. The phrase is
# free text that clients ignore; Python's HTTPStatus has the standard ones
# (older Pythons still say "Request Entity Too Large" for 413).
_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii")
    for status in HTTPStatus
}
# RFC 9110 §8.6: no Content-Length on 1xx and 204; a 304 has no body at all.
_NO_BODY_STATUSES = frozenset({100, 101, 102, 103, 204, 304})

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class FileBody:
    """`length` bytes of an open file from `offset`; the server closes `file`."""

    __slots__ = ("file", "offset", "length")

    def __init__(self, file, offset, length):
        self.file = file
        self.offset = offset
        self.length = length

    def close(self):
        self.file.close()


class Response:
    """A status, header fields and a body (bytes or a `FileBody`)."""

    __slots__ = ("status", "headers", "body", "wire")
    # An application's answer (wsgi.py) may bring its own reason phrase, Date or
    # Server; a subclass sets these, and `encode_head` then uses the application's.
    status_line = None  # bytes to send instead of the standard status line
    stamps = (True, True)  # whether we add Date, and Server
    nosniff = True  # whether we add X-Content-Type-Options (not to an application's answer)

    def __init__(self, status=200, body=b"", headers=(), content_type=None):
        self.status = status
        self.body = body
        self.headers = list(headers)
        # The whole message as bytes, head and body, when it was kept ready (a small
        # file's answer, rebuilt once a second for its Date): sent as it is to an
        # HTTP/1.1 keep-alive GET, which needs no Connection field (connection.py).
        self.wire = None
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))

    @property
    def body_length(self):
        """Bytes in the body; None when not known in advance (a body streamed by
        an application, stream.py), so no Content-Length is sent."""
        body = self.body
        return len(body) if isinstance(body, (bytes, bytearray, memoryview)) else body.length

    def header(self, name):
        """The first value of field `name`, or None (for tests and logs)."""
        name = name.lower()
        for field, value in self.headers:
            if field.lower() == name:
                return value
        return None

    def __repr__(self):
        body = self.body
        preview = f" {body[:40]!r}{'…' if len(body) > 40 else ''}" if isinstance(body, bytes) and body else ""
        return f"<Response {self.status} {self.body_length} bytes{preview}>"


def standard_status_line(status):
    """The status line we send for `status`, with its standard reason phrase."""
    return _STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n".encode("ascii")


def text_response(status, text, headers=()):
    """A short plain-text response, as used for every error."""
    return Response(status, (text + "\n").encode("utf-8"), headers, "text/plain; charset=utf-8")


def error_bytes(status, reason, headers=()):
    """A complete error response that closes the connection, as bytes."""
    response = text_response(status, f"{status} {reason}", headers)
    return encode_head(response, close=True) + response.body


# What an error can be written as, plain text first: it wins a tie, so curl
# (Accept: */*) reads one line while a browser (Accept: text/html, …) gets a page.
ERROR_TYPES = ("text/plain", "text/html")


def error_response(error, request=None):
    """The response for an `HTTPError`: its status, headers and reason, as a
    small HTML page when the request's Accept field prefers HTML, else as plain
    text. `request` is None when the error came before a request head was read."""
    accept = request.headers.get("accept") if request is not None else None
    if preferred_type(accept, ERROR_TYPES) == "text/html":
        return Response(error.status, error_page(error.status, error.reason), error.headers, HTML)
    return text_response(error.status, f"{error.status} {error.reason}", error.headers)


_date_cache = (0, b"")


def http_date_now():
    """The Date field value, formatted at most once a second (RFC 9110 §5.6.7)."""
    global _date_cache
    now = int(time.time())
    second, value = _date_cache
    if second != now:
        value = formatdate(now, usegmt=True).encode("ascii")
        _date_cache = (now, value)
    return value


# Most responses repeat the same fields: every text/plain answer, every request
# for the same file. Each distinct list of fields is encoded once and
# remembered, up to a bound.
_encoded_fields = {}  # tuple of (name, value) pairs → their lines, as bytes
MAX_ENCODED_FIELDS = 4096
MAX_REMEMBERED_BYTES = 512  # so the cache holds at most 2 MiB, whatever clients send
_SERVER_FIELD = f"Server: {SERVER_NAME}\r\n".encode("ascii")
# Take our Content-Type as given, never guess from the bytes (WHATWG Fetch, "X-Content-
# Type-Options"): /echo reflects what a URL carries, and text/plain must not become a
# script or a stylesheet in a browser that sniffs.
_NOSNIFF_FIELD = b"X-Content-Type-Options: nosniff\r\n"


def _encode_fields(fields):
    lines = []
    for name, value in fields:
        # RFC 9110 §5.5: CR, LF and NUL in a value are "invalid and dangerous".
        if "\r" in value or "\n" in value or "\0" in value:  # a bug of ours, never the client's
            raise ValueError(f"line break or NUL in response header {name}")
        lines.append(f"{name}: {value}\r\n")
    encoded = "".join(lines).encode("latin-1")
    if len(encoded) <= MAX_REMEMBERED_BYTES:  # a Location the client chose may be 8 KiB: not kept
        if len(_encoded_fields) >= MAX_ENCODED_FIELDS:
            _encoded_fields.clear()
        _encoded_fields[fields] = encoded
    return encoded


def encode_head(response, *, close=False, keep_alive_header=False):
    """The status line and header section of `response`, ending in the blank line.

    `close` adds `Connection: close`; `keep_alive_header` adds
    `Connection: keep-alive`, which an HTTP/1.0 client needs to hear.
    """
    status = response.status
    status_line = (response.status_line or _STATUS_LINES.get(status)
                   or f"HTTP/1.1 {status} Unknown\r\n".encode("ascii"))
    fields = tuple(response.headers)
    encoded_fields = _encoded_fields.get(fields)
    if encoded_fields is None:
        encoded_fields = _encode_fields(fields)
    body_length = response.body_length
    if status in _NO_BODY_STATUSES or body_length is None:
        length = b""
    else:
        length = (_NOSNIFF_FIELD if response.nosniff else b"") + b"Content-Length: %d\r\n" % body_length
    if close:
        connection = b"Connection: close\r\n"
    elif keep_alive_header:
        connection = b"Connection: keep-alive\r\n"
    else:
        connection = b""
    stamps = response.stamps
    if stamps is not Response.stamps:  # an application gave its own Date or Server
        date = b"Date: %s\r\n" % http_date_now() if stamps[0] else b""
        return b"".join((status_line, date, _SERVER_FIELD if stamps[1] else b"",
                         encoded_fields, length, connection, b"\r\n"))
    return b"".join((status_line, b"Date: ", http_date_now(), b"\r\n", _SERVER_FIELD,
                     encoded_fields, length, connection, b"\r\n"))
