"""A WSGI gateway (PEP 3333): Flask, Django or any Python web application on our server.

Contract: `WSGIGateway(app)` is an application in the server's own sense (it
has `handle(request)`, which returns a `Response`, and `body_spool(request)`),
so every server model, TLS, keep-alive, back-pressure and every limit serve a
WSGI application unchanged. For each request it builds the `environ`, calls
`app(environ, start_response)` and, with an `Exchange` (exchange.py), turns what
comes back into a `Response`:

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
import sys
from urllib.parse import unquote_to_bytes

from .body import UNLIMITED, BodySpool
from .errors import HTTPError
from .exchange import Exchange
from .stream import ClientGone, StreamBody
from .wsgiio import ErrorStream, FileWrapper, request_input

# Threads that run the application on the event loop (--threads): waitress's default.
# Python runs one thread at a time: for an application that mostly computes, more
# threads only take turns at the GIL (4 beat 16 by 5-20 % on the bench's Flask /json);
# one that mostly waits on a database wants more.
WSGI_THREADS = 4
_ENVIRON_NAMES = {}  # "user-agent" → "HTTP_USER_AGENT", computed once per field name


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

