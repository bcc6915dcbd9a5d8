"""What the server answers: one dispatch table from path and method to handler.

Contract: `Application.handle(request)` returns a `Response` or raises
`HTTPError`; it never sees a socket. Routes:

    GET  /echo/{text}      200 text/plain, the text
    GET  /user-agent       200 text/plain, the User-Agent
    *    /files/{name}     GET/HEAD read, POST/PUT write, DELETE remove
    GET  anything else     a static file under root; / serves index.html

HEAD is GET without the body (the connection drops it); OPTIONS lists what a
path allows; a method the server does not know at all is a 501, one it knows
but the path does not allow is a 405 with an Allow field (RFC 9110 §15.5.6).
"""

import gzip
from urllib.parse import unquote

from . import mime
from .errors import HTTPError
from .body import UNLIMITED, DiscardedBody
from .files import FileStore
from .negotiation import accepts_gzip
from .response import Response
from .filecache import FileCache
from .static import FileServer, StaticFiles

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
# The CodeCrafters stages compare this exact value, so ASCII text keeps it; text
# beyond ASCII names its charset, or a browser guesses (and shows "hÃ©llo").
TEXT = "text/plain"
TEXT_UTF8 = "text/plain; charset=utf-8"


# RFC 9111 §5.2.2.4: "no-cache" lets a browser keep a file but not reuse it
# without asking first (a cheap 304 when nothing changed). Without the field, a
# browser guesses a freshness lifetime from Last-Modified (RFC 9111 §4.2.2) and
# shows an edited stylesheet's old version for hours.
DEFAULT_CACHE_CONTROL = "no-cache"


class Application:
    """The seed's routes, /files/ and static files, behind one dispatch table.

    `cache_control`: the Cache-Control value sent with files (None: none);
    `file_check_interval`: how long a file's answer is kept ready (filecache.py).
    """

    def __init__(self, root, directory, cache_control=DEFAULT_CACHE_CONTROL, file_check_interval=1.0):
        file_server = FileServer(FileCache(check_interval=file_check_interval), cache_control=cache_control)
        self.static = StaticFiles(root, file_server)
        self.files = FileStore(directory, file_server)
        self.cache_control = cache_control
        # (path, whole path or prefix, {method: handler(request, rest)})
        self.routes = [
            ("/echo/", "prefix", {"GET": self.echo}),
            ("/user-agent", "exact", {"GET": self.user_agent}),
            ("/files/", "prefix", {"GET": self.files.read, "POST": self.files.write,
                                   "PUT": self.files.write, "DELETE": self.files.delete}),
        ]
        self.uploads = self.routes[2][2]
        self.fallback = {"GET": self.static.handle}

    def route(self, path):
        """The handler table for `path`, and the part of the path after the route."""
        for route, kind, handlers in self.routes:
            if kind == "exact" and path == route:
                return handlers, ""
            if kind == "prefix" and path.startswith(route):
                return handlers, path[len(route):]
        return self.fallback, path

    def handle(self, request):
        if request.method not in METHODS:
            raise HTTPError(501, f"method {request.method} is not implemented", close=False)
        if request.path == "*":  # OPTIONS * asks about the server as a whole
            return Response(204, b"", [("Allow", ", ".join(METHODS))])
        handlers, rest = self.route(request.path)
        if request.method == "OPTIONS":
            return Response(204, b"", [("Allow", self.allowed_methods(handlers))])
        handler = handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            allowed = self.allowed_methods(handlers)
            raise HTTPError(405, f"{request.method} is not allowed here; allowed: {allowed}",
                            close=False, headers=[("Allow", allowed)])
        return handler(request, rest)

    def answer_from_memory(self, request):
        """The answer to a GET, HEAD or OPTIONS when it needs no disk at all (the
        echo routes, errors, a small file checked a moment ago), else None.

        The event loop asks this first: what it answers, the loop sends at once;
        for the rest (a file to look up, a folder to list) it calls `handle`
        from a helper thread, since a disk may keep any such call waiting."""
        if request.method not in METHODS:
            raise HTTPError(501, f"method {request.method} is not implemented", close=False)
        if request.path == "*" or request.method == "OPTIONS":
            return self.handle(request)
        handlers, rest = self.route(request.path)
        if handlers is self.fallback:
            return self.static.answer_from_memory(request, rest) if request.method in ("GET", "HEAD") else None
        if handlers is self.uploads:
            return self.files.answer_from_memory(request, rest) if request.method in ("GET", "HEAD") else None
        return self.handle(request)  # the echo routes, or a 405: no disk

    def body_spool(self, request, storage=UNLIMITED):
        """Where the body of `request` waits for its handler (the connection asks
        when the head arrives): an upload to /files/ goes straight to a hidden file
        beside its final name. A body for a route that does not take the method is
        refused now, before it is read; one that no handler reads is dropped as it
        arrives."""
        if request.method not in METHODS:
            raise HTTPError(501, f"method {request.method} is not implemented")
        handlers, rest = self.route(request.path)
        if request.method not in handlers and request.method not in ("HEAD", "OPTIONS"):
            allowed = self.allowed_methods(handlers)
            raise HTTPError(405, f"{request.method} is not allowed here; allowed: {allowed}",
                            headers=[("Allow", allowed)])
        if handlers is self.uploads and request.method in ("POST", "PUT"):
            return self.files.spool_for(rest, storage, request.content_length or 0)
        return DiscardedBody()  # GET, HEAD, OPTIONS, DELETE: our handlers read no body

    @staticmethod
    def allowed_methods(handlers):
        methods = [method for method in METHODS
                   if method in handlers or method == "OPTIONS" or (method == "HEAD" and "GET" in handlers)]
        return ", ".join(methods)

    def echo(self, request, text):
        try:
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            raise HTTPError(400, "the echoed text is not valid UTF-8", close=False)
        return plain_text(request, decoded)

    def user_agent(self, request, _):
        agent = request.headers.get("user-agent")
        if agent is None:
            raise HTTPError(400, "the request has no User-Agent header to echo", close=False)
        return plain_text(request, agent)


def plain_text(request, text):
    """A text/plain response (UTF-8, named when not ASCII), gzip-compressed when
    the client accepts gzip.

    Compressed whatever its size, as the CodeCrafters challenge expects of
    /echo; for a few bytes gzip's 20-byte frame makes the body larger.
    """
    body = text.encode("utf-8")
    content_type = TEXT if text.isascii() else TEXT_UTF8
    headers = [("Content-Type", content_type), ("Vary", "Accept-Encoding")]
    if mime.compressible(content_type) and accepts_gzip(request.headers.get("accept-encoding")):
        body = gzip.compress(body, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    return Response(200, body, headers)
