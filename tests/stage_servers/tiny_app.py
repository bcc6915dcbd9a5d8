"""tiny_server.py's routes: /echo/, /user-agent, /files/ and static files.

`respond(request, options)` returns (status, body, fields) for a parsed request;
`store(...)` writes an upload. The flaws of chapters 03, 04 and 06 that concern
what a route answers live here, each under its name (see flaws.py).
"""

import gzip
import os
import tempfile
from urllib.parse import unquote

REASONS = {100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
           505: "HTTP Version Not Supported"}
TYPES = {".html": "text/html", ".txt": "text/plain", ".bin": "application/octet-stream"}
KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")


def error(status, flaws):
    """An error answer: its status and a line of text."""
    fields = [("Content-Type", "text/plain")]
    return status, ("%d %s\n" % (status, REASONS[status])).encode(), fields


def not_allowed(allowed, flaws):
    if "wrong-method-404" in flaws:
        return error(404, flaws)
    status, body, fields = error(405, flaws)
    return status, body, fields + ([] if "no-allow" in flaws else [("Allow", allowed)])


def text(request, words, flaws):
    """A text/plain answer, gzip-compressed when the client accepts gzip."""
    body = words.encode("utf-8")
    plain = (body.isascii() and "charset-always" not in flaws) or "no-charset" in flaws
    fields = [("Content-Type", "text/plain" if plain else "text/plain; charset=utf-8")]
    if "gzip-no-vary" not in flaws:
        fields.append(("Vary", "Accept-Encoding"))
    if accepts_gzip(request.get("accept-encoding"), flaws):
        body = gzip.compress(body)
        fields.append(("Content-Encoding", "gzip"))
    return 200, body, fields


def accepts_gzip(value, flaws):
    """Whether an Accept-Encoding value allows gzip: named with q > 0, or by "*" with q > 0."""
    if value is None or "no-gzip" in flaws:
        return False
    if "gzip-exact" in flaws:
        return value == "gzip"
    named = star = None
    for element in value.split(","):
        coding, *parameters = element.split(";")
        coding = coding.strip() if "gzip-case" in flaws else coding.strip().lower()
        quality = 1.0
        for parameter in parameters:
            key, _, number = parameter.partition("=")
            if key.strip().lower() == "q" and "gzip-q0" not in flaws:
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if coding == "gzip":
            named = quality
        elif coding == "*" and "gzip-star" not in flaws:
            star = quality
    return named > 0 if named is not None else star is not None and star > 0


def inside(folder, name, flaws):
    """The path of `name` in `folder`, or None when it would lead outside."""
    if "\x00" in name:
        return None
    path = os.path.join(folder, name)
    if "traversal" in flaws:
        return path
    check = os.path.abspath if "symlink-escape" in flaws else os.path.realpath
    real, base = check(path), os.path.realpath(folder)
    return real if real.startswith(base if "prefix-check" in flaws else base + os.sep) else None


def respond(request, options):
    """(status, body, fields) for a request whose body has been read."""
    flaws = options.flaws
    path = unquote(request.target if "query-in-path" in flaws else request.target.split("?")[0])
    method = request.method
    if method not in KNOWN_METHODS:
        return error(500 if "unknown-method-500" in flaws else 501, flaws)
    if method == "HEAD":
        if "head-not-routed" in flaws:
            return error(501, flaws)
        method = "GET"
    if request.target.startswith("/echo/"):
        if method != "GET":
            return not_allowed("GET, HEAD", flaws)
        raw = request.target.split("?")[0][len("/echo/"):]
        return text(request, raw if "no-percent-decode" in flaws else unquote(raw, errors="strict"), flaws)
    if path == "/user-agent":
        if method != "GET":
            return not_allowed("GET, HEAD", flaws)
        if "user-agent-case" in flaws:
            return text(request, request.as_written.get("User-Agent", ""), flaws)
        return text(request, request.get("user-agent") or "", flaws)
    if path.startswith("/files/"):
        return files(method, path[len("/files/"):], request, options)
    if method != "GET" and not (method == "DELETE" and "delete-static" in flaws):
        return not_allowed("GET, HEAD", flaws)
    file = inside(options.root, "index.html" if path == "/" else path.lstrip("/"), flaws)
    if file is None or not os.path.isfile(file):
        if "unbound-local" in flaws:
            return reply  # noqa: F821  the planted bug: `reply` is only assigned further down
        return error(404, flaws)
    if method == "DELETE":
        os.remove(file)
        return 204, b"", []
    with open(file, "rb") as handle:
        reply = 200, handle.read(), [("Content-Type", TYPES.get(os.path.splitext(file)[1], "application/octet-stream"))]
    return reply


def files(method, name, request, options):
    flaws = options.flaws
    path = inside(options.directory, name, flaws)
    if path is None:
        return error(404, flaws)
    if method == "GET":
        if not os.path.isfile(path):
            return error(404, flaws)
        with open(path, "rb") as handle:
            return 200, handle.read(), [("Content-Type", "application/octet-stream")]
    if method in ("POST", "PUT"):
        existed = os.path.exists(path)
        if request.stored_already:  # the partial-upload flaw wrote it while it arrived
            return (204 if existed and not request.created else 201), b"", []
        if "put-append" in flaws and existed:
            with open(path, "ab") as handle:
                handle.write(request.body)
        else:
            descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path))
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(request.body)
            os.replace(temporary, path)
        return (204 if existed else 201), b"", []
    if not os.path.isfile(path):
        return error(404, flaws)
    os.remove(path)
    return 204, b"", []
