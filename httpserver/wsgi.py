"""A WSGI gateway (PEP 3333): Flask, Django or any Python web application on our server.

Contract: `WSGIGateway(app)` is an application in the server's own sense (it
has `handle(request)`, which returns a `Response`, and `body_spool(request)`),
so every server model, TLS, keep-alive, back-pressure and every limit serve a
WSGI application unchanged. For each request it builds the `environ`, calls
`app(environ, start_response)` and turns what comes back into a `Response`:

- the whole answer, as bytes, when the application gave it at once (a list, or
  a first piece that reaches its Content-Length: every Flask view that does not
  stream);
- a `FileBody`, sent with `sendfile`, when it returned `wsgi.file_wrapper` of a
  real file;
- otherwise a `StreamBody` (stream.py) that the connection pulls one piece at a
  time: chunked on HTTP/1.1 without Content-Length, close-delimited on HTTP/1.0.

The request body has arrived in full before the application is called (memory,
then a temporary file, under the server's limits), as waitress does: a client
that uploads slowly holds a connection, never an application thread.
`blocking = True` tells the event loop that `handle` runs application code,
which may wait on anything: it runs on the loop's helper threads, never on the
loop's own. An exception before the head has gone is a 500, logged once by the
connection; one after it cuts the answer short, logged once by the stream.
"""

import contextvars
import re
import sys
from urllib.parse import unquote_to_bytes

from .body import UNLIMITED, BodySpool
from .errors import HTTPError
from .response import FileBody, Response, standard_status_line
from .stream import CHUNKED, CLOSE, LENGTH, ClientGone, StreamBody, UnsentBody
from .wsgiio import ErrorStream, FileWrapper, request_input

# PEP 3333, "Other HTTP Features": hop-by-hop fields are the server's alone.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade"})
STATUS = re.compile(r"([2-5][0-9]{2}) [^\x00-\x1f\x7f]*")  # "200 OK"; 1xx is the server's
FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls, HTAB allowed (RFC 9110 §5.5)
NO_BODY = (204, 304)
# Threads that run the application on the event loop (--threads): waitress's default.
# Python runs one thread at a time: for an application that mostly computes, more
# threads only take turns at the GIL (4 beat 16 by 5-20 % on the bench's Flask /json);
# one that mostly waits on a database wants more.
WSGI_THREADS = 4
HEAD_COUNT_LIMIT = 1024 * 1024  # HEAD: body bytes counted for Content-Length, at most
_ENVIRON_NAMES = {}  # "user-agent" → "HTTP_USER_AGENT", computed once per field name
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


class WSGIGateway:
    """Serves a WSGI application: one `app(environ, start_response)` call per request.

    `server_name`, `server_port`: SERVER_NAME and SERVER_PORT (make_server sets
    them from the listening socket); `multithread`, `multiprocess`: true to the
    server model; `error_log`: where `wsgi.errors` and the application's failures go.
    """

    blocking = True  # handle() runs application code: never on the event loop's thread

    def __init__(self, app, *, script_name="", error_log=None, multithread=True,
                 multiprocess=False, server_name="127.0.0.1", server_port=80, extra=None):
        self.app = app
        self.script_name = script_name.rstrip("/")
        self.error_log = error_log
        self.errors = ErrorStream(error_log)
        self.base = {  # the part of every environ that never changes
            "wsgi.version": (1, 0), "wsgi.errors": self.errors, "wsgi.multithread": multithread,
            "wsgi.multiprocess": multiprocess, "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "SERVER_NAME": server_name, "SERVER_PORT": str(server_port),
            "SERVER_SOFTWARE": "httpserver/0.1", "GATEWAY_INTERFACE": "CGI/1.1",
        }
        self.base.update(extra or {})  # server-defined variables, e.g. httpserver.directory

    def body_spool(self, request, storage=UNLIMITED):
        """Every body is the application's to read: memory first (within the server's
        budget for all bodies, `storage`), then a file."""
        return BodySpool(storage=storage)

    # -- one request ------------------------------------------------------------

    def handle(self, request):
        if request.method == "CONNECT":  # a tunnel is not something an application can answer
            raise HTTPError(501, "CONNECT is not supported", close=False)
        # A streamed answer's pieces may be produced on other threads than the call
        # ran on; frameworks keep the current request in context variables (Flask's
        # stream_with_context, say), so the call and every piece run in one context.
        context = contextvars.copy_context()
        response = context.run(self._call, request)
        if isinstance(response.body, StreamBody):
            response.body.context = context
        return response

    def _call(self, request):
        environ, close_input = self.environ(request)
        exchange = Exchange(request, self.error_log)
        try:
            response = exchange.respond(self.app(environ, exchange.start_response))
        except Exception as error:
            close_input()
            stream = exchange.stream
            if stream is not None and stream.head_sent:  # too late for a 500: cut the answer
                if isinstance(error, ClientGone):
                    stream.broken = True
                    stream.close()
                else:
                    stream.fail("running the application")
                return exchange.response
            raise  # the connection answers 500 and logs it, once
        body = response.body
        if isinstance(body, StreamBody) and not body.finished:
            body.cleanups.append(close_input)  # the application may read on while it streams
        else:
            close_input()
        return response

    def environ(self, request):
        """The `environ` of PEP 3333 for `request`, and a function that closes its input."""
        environ = self.base.copy()
        stream, close_input = request_input(request.spool)
        path = request.path
        if path != "*":
            # PEP 3333: PATH_INFO is decoded; the bytes travel as Latin-1 characters.
            path = unquote_to_bytes(path).decode("latin-1")
        script = self.script_name
        if script and (path == script or path.startswith(script + "/")):
            path = path[len(script):]
        else:
            script = ""
        client = request.client or ("", 0)
        environ.update({
            "REQUEST_METHOD": request.method, "SCRIPT_NAME": script, "PATH_INFO": path,
            "QUERY_STRING": request.query, "SERVER_PROTOCOL": request.version,
            "REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1]),
            "wsgi.input": stream,
            "wsgi.url_scheme": getattr(request, "scheme", None) or ("https" if request.secure else "http"),
        })
        if request.secure:
            environ["HTTPS"] = "on"
        names = _ENVIRON_NAMES
        for name, values in request.headers.by_name.items():
            key = names.get(name)
            if key is None:
                if "_" in name:
                    # Skipped, as nginx and waitress do: "X_Forwarded_For" would
                    # otherwise pass for "X-Forwarded-For" (both HTTP_X_FORWARDED_FOR).
                    continue
                key = "HTTP_" + name.upper().replace("-", "_")
                if len(names) < 10_000:
                    names[name] = key
            # RFC 9110 §5.3: repeated fields join with commas; cookies with "; " (RFC 6265 §5.4).
            environ[key] = values[0] if len(values) == 1 else ("; " if name == "cookie" else ", ").join(values)
        environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is de-chunked already
        content_type = environ.pop("HTTP_CONTENT_TYPE", None)
        if content_type is not None:
            environ["CONTENT_TYPE"] = content_type
        environ.pop("HTTP_CONTENT_LENGTH", None)
        if request.spool is not None:
            environ["CONTENT_LENGTH"] = str(request.spool.size)  # chunked bodies too
        if not request.target.startswith(("/", "*")):
            # RFC 9112 §3.2.2: with an absolute-form target, its authority is the host.
            authority = request.target.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
            environ["HTTP_HOST"] = authority
        return environ, close_input


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


def load_application(spec):
    """The application named by "module:name" (or "module", meaning module:app), as
    gunicorn and waitress take it; "module:name()" calls a factory. Raises ValueError."""
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    call = attribute.endswith("()")
    attribute = attribute[:-2] if call else attribute
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise ValueError(f"--wsgi wants module:name, not {spec!r}")
    if "." not in sys.path and "" not in sys.path:
        sys.path.insert(0, ".")  # the current folder, where the user's app usually is
    import importlib
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {module_name!r} for --wsgi: {error}") from None
    except Exception as error:  # the application's own module failed: say where, in one line
        raise ValueError(f"importing {module_name!r} for --wsgi failed: {type(error).__name__}: {error}") from None
    target = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ValueError(f"module {module_name!r} has no {attribute!r} for --wsgi")
    if call:
        target = target()
    if not callable(target):
        raise ValueError(f"{spec!r} is not callable: a WSGI application is app(environ, start_response)")
    return target
