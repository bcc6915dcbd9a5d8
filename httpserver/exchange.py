"""One call of a WSGI application: `start_response`, `write()`, and its answer as our `Response`.

Contract: the gateway (wsgi.py) makes an `Exchange` per request and passes its
`start_response` to the application; `respond(result)` turns what the
application returned into a `Response`: the whole body as bytes when it is all
known at once, a `FileBody` for `wsgi.file_wrapper` of a real file, or a
`StreamBody` (stream.py) the connection pulls one piece at a time. Everything
PEP 3333 forbids in a head is refused by `check_head` while the application can
still react; an answer it gives is sent as it gave it ("play dumb"), with its own
reason phrase, Date and Server when it chose them.
"""

import re

from .response import FileBody, Response, standard_status_line
from .stream import CHUNKED, CLOSE, LENGTH, StreamBody, UnsentBody
from .wsgiio import FileWrapper

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade"})
STATUS = re.compile(r"([2-5][0-9]{2}) [^\x00-\x1f\x7f]*")  # "200 OK"; 1xx is the server's
FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls, HTAB allowed (RFC 9110 §5.5)
NO_BODY = (204, 304)
HEAD_COUNT_LIMIT = 1024 * 1024  # HEAD: body bytes counted for Content-Length, at most
_STATUS_LINES = {}  # "200 OK" → None (ours is the same); "299 Fine" → b"HTTP/1.1 299 Fine\r\n"


class AppResponse(Response):
    """An application's answer: its own fields only (no nosniff of ours: PEP 3333 asks a
    server to "play dumb"), and the reason phrase, Date or Server it chose, if any."""

    __slots__ = ("status_line", "stamps")
    nosniff = False


def make_response(status, body, headers, stamps):
    """Our `Response` for the application's status string ("200 OK"), body and headers."""
    code = int(status[:3])
    line = _STATUS_LINES.get(status, False)
    if line is False:
        line = ("HTTP/1.1 %s\r\n" % status).encode("latin-1")
        if line == standard_status_line(code):
            line = None
        if len(_STATUS_LINES) < 1000:
            _STATUS_LINES[status] = line
    response = AppResponse(code, body, headers)
    response.status_line, response.stamps = line, stamps
    return response


class Exchange:
    """One call of the application: start_response, write, and what it returned."""

    __slots__ = ("request", "on_error", "status", "headers", "length", "stamps", "response", "stream")

    def __init__(self, request, on_error):
        self.request = request
        self.on_error = on_error
        self.status = None  # set by start_response
        self.headers = None
        self.length = None  # the application's Content-Length, as a number
        self.stamps = Response.stamps  # whether we add Date and Server
        self.response = None  # made at the first write()
        self.stream = None  # its body

    def start_response(self, status, headers, exc_info=None):
        """PEP 3333's start_response: check and keep the head; returns write()."""
        if exc_info is not None:
            try:
                if self.stream is not None and self.stream.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])  # too late to change the answer
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise AssertionError("start_response called twice without exc_info (PEP 3333)")
        self.status, self.headers, self.length, self.stamps = check_head(status, headers)
        return self.write

    def write(self, data):
        """PEP 3333's write(): the bytes have left before it returns when the model
        lets a handler send (`Connection.send_now`); otherwise they wait, in order."""
        if self.status is None:
            raise AssertionError("write() before start_response() (PEP 3333)")
        if type(data) is not bytes:
            raise TypeError(f"write() takes bytes, not {type(data).__name__} (PEP 3333)")
        if self.stream is None:
            self.response = self._streaming_response()
            self.stream = self.response.body
        self.stream.push(data)
        send_now = self.request.send_now
        if send_now is not None:
            send_now(self.response)

    def respond(self, result):
        """Turn the application's return value into our `Response`."""
        if self.stream is not None:  # write() was used: the iterable's output follows
            self.stream.attach(result, iter(result))
            if self.stream.framing is None:  # HEAD, 204, 304: nothing of it will be sent
                self.stream.close()
            return self.response
        try:
            if type(result) is FileWrapper and self.status is not None:
                response = self._file_response(result)
                if response is not None:
                    return response
            if type(result) in (list, tuple):
                return self._whole_response(b"".join(check_bytes(piece) for piece in result), result)
            iterator = iter(result)
            for first in iterator:  # until the first non-empty piece: the head waits for it
                if check_bytes(first):
                    break
            else:
                return self._whole_response(b"", result)
            if self._complete(first, result):
                return self._whole_response(first, result)
            status, headers = self._head()
            if status in NO_BODY or self.request.method == "HEAD":
                length = self.length if status not in NO_BODY else 0
                if length is None:  # HEAD: count what GET would send, up to a bound
                    length = len(first)
                    for data in iterator:
                        length += len(check_bytes(data))
                        if length > HEAD_COUNT_LIMIT:
                            length = None  # too long to count: not said
                            break
                close_iterable(result)  # no body is sent
                return make_response(self.status, UnsentBody(length), headers, self.stamps)
        except BaseException:
            close_iterable(result)
            raise
        response = self._streaming_response()
        response.body.attach(result, iterator)
        response.body.push(first)
        return response

    def _complete(self, first, result):
        """True when `first` is all of the body, known without asking for more."""
        if self.length is not None and len(first) >= self.length:
            return True
        try:
            return len(result) == 1  # PEP 3333: a len() of 1 means one piece
        except TypeError:
            return False

    def _head(self):
        """(status code, the application's headers less Content-Length, which we write)."""
        if self.status is None:
            raise AssertionError("the application returned without calling start_response (PEP 3333)")
        return int(self.status[:3]), [(name, value) for name, value in self.headers
                                      if name.lower() != "content-length"]

    def _whole_response(self, body, result):
        """The answer, all of it known now (the iterable is closed here)."""
        close_iterable(result)
        status, headers = self._head()
        if status in NO_BODY:
            return make_response(self.status, b"", headers, self.stamps)
        if self.request.method == "HEAD":  # RFC 9110 §9.3.2: the length GET would send
            return make_response(self.status, UnsentBody(self.length if self.length is not None else len(body)), headers, self.stamps)
        if self.length is not None and len(body) != self.length:
            if len(body) < self.length:  # it promised more than it gave: the client must see the cut
                stream = StreamBody(LENGTH, self.length, self.on_error)
                stream.push(body)
                stream.end()
                return make_response(self.status, stream, headers, self.stamps)
            body = body[:self.length]  # never more than Content-Length (PEP 3333)
        return make_response(self.status, body, headers, self.stamps)

    def _file_response(self, wrapper):
        """`wsgi.file_wrapper` of a real file: the kernel sends it (sendfile)."""
        sendable = wrapper.sendable()
        if sendable is None:
            return None
        file, offset, size = sendable
        close_iterable(wrapper)  # the application's file; ours is the duplicate
        status, headers = self._head()
        length = size if self.length is None else min(size, self.length)
        if status in NO_BODY or self.request.method == "HEAD":
            file.close()
            return make_response(self.status, b"" if status in NO_BODY else UnsentBody(length), headers, self.stamps)
        return make_response(self.status, FileBody(file, offset, length), headers, self.stamps)

    def _streaming_response(self):
        """A response whose body the connection pulls; the framing is chosen here."""
        status, headers = self._head()
        if status in NO_BODY or self.request.method == "HEAD":
            stream = StreamBody(None, self.length if status not in NO_BODY else 0, self.on_error)
        elif self.length is not None:
            stream = StreamBody(LENGTH, self.length, self.on_error)
        elif self.request.version == "HTTP/1.1":
            headers.append(("Transfer-Encoding", "chunked"))
            stream = StreamBody(CHUNKED, None, self.on_error)
        else:
            stream = StreamBody(CLOSE, None, self.on_error)
        return make_response(self.status, stream, headers, self.stamps)


def check_bytes(data):
    """`data` if it is bytes, as PEP 3333 requires of every piece of body."""
    if type(data) is not bytes:
        raise TypeError(f"the application gave {type(data).__name__} as body, not bytes (PEP 3333)")
    return data


def close_iterable(result):
    """PEP 3333: the server must call the iterable's close(), if it has one."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


def check_head(status, headers):
    """PEP 3333's rules for start_response's arguments, checked while the application
    can still react; returns (status, headers, Content-Length as a number or None,
    which of Date and Server we add)."""
    if type(status) is not str or not STATUS.fullmatch(status):
        raise ValueError(f"status must be a str like '200 OK' (code 200-599), not {status!r}")
    if type(headers) is not list:
        raise TypeError(f"response headers must be a list, not {type(headers).__name__}")
    length = None
    date = server = True  # whether we add our own (PEP 3333: the server adds what the app omits)
    for field in headers:
        if type(field) is not tuple or len(field) != 2:
            raise TypeError(f"each response header must be a (name, value) tuple, not {field!r}")
        name, value = field
        if type(name) is not str or not FIELD_NAME.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if type(value) is not str or BAD_VALUE.search(value):
            raise ValueError(f"invalid value for header {name}: {value!r}")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {name} must be Latin-1 text (PEP 3333), not {value!r}") from None
        lowered = name.lower()
        if lowered in HOP_BY_HOP:
            raise ValueError(f"{name} is a hop-by-hop header: the server's to send, not the application's (PEP 3333)")
        if lowered == "content-length":
            if not value.isdigit() or not value.isascii():
                raise ValueError(f"invalid Content-Length {value!r}")
            length = int(value)
        elif lowered == "date":
            date = False
        elif lowered == "server":
            server = False
    return status, headers, length, Response.stamps if date and server else (date, server)


