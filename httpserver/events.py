"""What the request parser says: its events (see `parser.py` for their order).

    NEED_DATA, END_OF_MESSAGE, PAUSED, CONNECTION_CLOSED   markers, compared with `is`
    Request                                                a complete request head
    Data                                                   some body bytes
"""


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


NEED_DATA = _Sentinel("NEED_DATA")
END_OF_MESSAGE = _Sentinel("END_OF_MESSAGE")
PAUSED = _Sentinel("PAUSED")
CONNECTION_CLOSED = _Sentinel("CONNECTION_CLOSED")


class Data:
    """A piece of request body."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __repr__(self):
        return f"Data({self.data!r})"


class Request:
    """A parsed request head; the connection attaches its body (`spool`)."""

    __slots__ = (
        "method", "target", "path", "query", "version", "headers",
        "keep_alive", "expect_continue", "content_length", "chunked",
        "spool", "client", "secure", "scheme", "send_now",
    )

    def __init__(self, method, target, path, query, version, headers):
        self.method = method  # "GET"
        self.target = target  # as sent: "/a%20b?x=1" or "http://host/a"
        self.path = path  # still percent-encoded: "/a%20b"
        self.query = query  # "x=1", or "" when there is none
        self.version = version  # "HTTP/1.0" or "HTTP/1.1"
        self.headers = headers
        self.keep_alive = True
        self.expect_continue = False
        self.content_length = 0  # None when the body is chunked
        self.chunked = False
        self.spool = None  # the body's BodySpool (body.py), set by the connection
        self.client = None  # (address, port), set by the server
        self.secure = False  # True when it came over TLS
        self.scheme = None  # "http" or "https" as a trusted proxy reported it (proxy.py), else None
        self.send_now = None  # set by the connection: callable(response) sending it before the handler returns

    def copy(self):
        """A new request with this one's head (the parser's memo of heads it has
        seen hands out copies: each request gets its own client, body and flags)."""
        other = Request(self.method, self.target, self.path, self.query, self.version, self.headers)
        other.keep_alive = self.keep_alive
        return other

    @property
    def body(self):
        """The whole body as bytes (b"" when there is none). A large body is read
        back from its spool file: a handler that stores it uses `spool` instead."""
        return self.spool.read() if self.spool is not None else b""

    def __repr__(self):
        return f"<Request {self.method} {self.target} {self.version}>"
