"""A small HTTP/1.1 server written apart from the package, to test the stage tester.

    python tiny_server.py --port P --root DIR --directory DIR [--certfile F --keyfile F]
                          [--break FLAW]

It shares no code with `httpserver` or with notebooks/my_server.py (the standard
library only, and trustme for --break self-signed), so the stage tester passing
it shows that the tester assumes nothing about either. It is one file, like a
learner's my_server.py, so it can stand in for one (the grader's tests do).

`--break FLAW` plants one mistake a learner makes, the smallest way that
reproduces it: FLAWS below says what each does, and tests/stage_mutants.py which
stage must catch it, naming which rule. The file reads top to bottom: the
flaws, the routes (what a request is answered), the connection (reading a head,
framing a body, keep-alive), then TLS and the command line.
"""

import argparse
import email.utils
import gzip
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from urllib.parse import unquote

FLAWS = {
    # chapter 01: sockets, reading a head
    "status-line": "writes \"HTTP 200 OK\": no version number in the status line",
    "http-1-0-status": "answers \"HTTP/1.0 200 OK\", as http.server does by default",
    "lf-only": "ends the lines of its responses with LF alone",
    "stray-crlf": "writes a CRLF after every body, beyond Content-Length",
    "first-recv": "answers after the first recv(), whatever it held",
    # chapter 02: request line, fields, Host
    "no-400": "skips header lines without a colon",
    "split-any-space": "splits the request line with split(), so two spaces pass",
    "lowercase-version": "compares the version case-insensitively (http/1.1 passes)",
    "any-version": "checks only that the version starts with HTTP/ (HTTP/2.0 is served)",
    "method-not-token": "takes any word as a method",
    "target-any-bytes": "takes any bytes in the request target",
    "bare-lf-request": "accepts request lines ending with a bare LF",
    "strip-field-name": "strips the field name, so \"Accept : x\" passes",
    "query-in-path": "routes by the whole target, query included",
    "unbound-local": "serves in its main thread, where an UnboundLocalError for a missing file ends the program",
    "keep-open-after-400": "after a 400 for a bad head, reads the next request",
    "no-host-check": "serves an HTTP/1.1 request without Host",
    "last-host-wins": "serves an HTTP/1.1 request with two Host fields (the last wins)",
    "host-on-1-0": "asks for Host on HTTP/1.0 requests too",
    # chapter 03: responses and routes
    "no-content-length": "sends no Content-Length and closes instead",
    "short-content-length": "announces one byte less than the body",
    "long-content-length": "announces one byte more than the body",
    "chars-not-bytes": "counts characters, not bytes, in Content-Length",
    "charset-always": "sends text/plain; charset=utf-8 for every text, ASCII too",
    "no-charset": "sends text/plain without charset for non-ASCII text",
    "no-percent-decode": "echoes the path without percent-decoding it",
    "user-agent-case": "looks the User-Agent field up by its name as written (case-sensitive)",
    "user-agent-split": "takes a field's value as line.split(\":\")[1], cutting it at a second colon",
    "user-agent-ows": "keeps the spaces and tabs around a field's value",
    "head-body": "sends the body in answer to HEAD",
    "head-length-zero": "answers HEAD with Content-Length: 0",
    "head-not-routed": "answers HEAD with 501, as an unknown method",
    "no-date": "sends no Date",
    "ctime-date": "writes Date with time.ctime(), not in IMF-fixdate",
    "no-allow": "sends a 405 without Allow",
    "wrong-method-404": "answers 404 to a method the path does not take",
    "unknown-method-500": "crashes into a 500 on an unknown method",
    "method-case-insensitive": "upper-cases the method, so \"get\" is served as GET",
    "echo-decode-crash": "lets a path that is not UTF-8 once decoded raise out of the connection's thread",
    "error-no-length": "sends error answers without Content-Length, closing instead",
    # chapter 04: files
    "traversal": "joins the decoded path without checking where it leads",
    "symlink-escape": "checks the path with os.path.abspath, which does not follow symbolic links",
    "prefix-check": "checks that the real path starts with the folder's, without the separator",
    "partial-upload": "writes an upload straight to its final name",
    "body-ignored": "never reads request bodies",
    "body-first-recv": "takes as the body only what came with the head",
    "put-append": "opens the file with \"ab\" for PUT, appending to the old content",
    "files-no-decode": "uses the /files/ name without percent-decoding it",
    "double-decode": "checks the once-decoded path, then opens it decoded a second time",
    "content-length-case": "reads Content-Length only under that exact name",
    "length-on-204": "sends Content-Length: 0 with a 204",
    "post-200": "answers 200, not 201 Created, to an upload that made a new file",
    "send-not-sendall": "sends answers with one sock.send(), which may send only part of a large one",
    "delete-static": "lets DELETE remove static files",
    # chapter 05: many clients
    "one-at-a-time": "serves one connection at a time",
    # chapter 06: persistent connections, chunked bodies, gzip
    "no-keep-alive": "closes after every response",
    "lost-pipeline": "throws away bytes received after a request",
    "body-only-for-post": "reads a body only for POST and PUT, so a GET's body is taken for a request",
    "fields-carried-over": "keeps adding each request's fields to the connection's, never starting afresh",
    "chunked-case": "recognises Transfer-Encoding: chunked in lower case only",
    "close-exact": "closes only for a Connection value of exactly \"close\"",
    "close-ignored": "ignores Connection: close",
    "close-whole-value": "compares the whole Connection value, lower-cased, with \"close\"",
    "close-first-field": "reads only the first Connection field",
    "close-substring": "closes when \"close\" appears anywhere in Connection",
    "no-close-header": "closes without saying Connection: close",
    "http10-persistent": "keeps HTTP/1.0 connections open, as if they were HTTP/1.1",
    "http10-keepalive-ignored": "closes HTTP/1.0 connections even with Connection: keep-alive",
    "http10-no-keepalive-header": "keeps an HTTP/1.0 keep-alive connection without saying so",
    "no-chunked": "treats a chunked body as empty",
    "chunk-int16": "reads chunk sizes with int(size, 16)",
    "chunk-strip": "strips spaces around a chunk size",
    "chunk-lenient-crlf": "skips the two bytes after chunk data without checking them",
    "chunk-no-trailer": "expects the empty line right after the last chunk (no trailers)",
    "chunk-one-recv": "decodes only what has arrived, as if the body ended there",
    "chunk-rest-dropped": "drops the bytes after a chunked body",
    "chunk-dead-thread": "lets a bad chunk size raise out of the connection's thread",
    "chunk-keep-open": "answers a bad chunk with 400 but keeps the connection",
    "chunk-no-limit": "believes any chunk size, and waits for that much data",
    "no-gzip": "never compresses",
    "gzip-q0": "ignores q-values, so gzip;q=0 gets gzip",
    "gzip-exact": "compresses only when Accept-Encoding is exactly \"gzip\"",
    "gzip-case": "compares coding names case-sensitively",
    "gzip-star": "ignores \"*\" in Accept-Encoding",
    "gzip-no-vary": "sends no Vary: Accept-Encoding",
    # chapter 07: HTTPS
    "self-signed": "ignores --certfile and serves a certificate of its own",
    "plain-tls-silent": "closes a plain-HTTP connection to the HTTPS port without a word",
    "tls-in-accept-loop": "runs each TLS handshake in the accepting loop, without a timeout",
    # chapter 08: hostile input
    "no-limits": "accepts request lines and heads of any size",
    "no-field-count-limit": "accepts any number of header fields",
    "body-limit-after-read": "reads the body before comparing its length with the limit",
    "no-expect": "never answers Expect: 100-continue",
    "smuggling": "reads Content-Length even when Transfer-Encoding is there, and keeps the connection",
    "cl-int": "reads Content-Length with int(), which takes +5 and 5_0",
    "cl-first-wins": "takes the first of two different Content-Length values",
    "te-substring": "takes any Transfer-Encoding containing \"chunked\" as chunked",
    "no-head-deadline": "has no deadline for a trickled head",
    # chapter 10: a WSGI application (--app)
    "wsgi-raw-path": "gives the application PATH_INFO still percent-encoded",
    "wsgi-no-input": "gives the application an empty wsgi.input",
    "wsgi-first-piece": "sends only the first piece the application yields",
    "wsgi-crash": "lets the application's exception end the connection",
}

# ---------------------------------------------------------------- the routes

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
    if "double-decode" in flaws and inside(folder, name, flaws - {"double-decode"}) is not None:
        return os.path.join(folder, unquote(name))  # checked one path, opens another
    check = os.path.abspath if "symlink-escape" in flaws else os.path.realpath
    real, base = check(path), os.path.realpath(folder)
    return real if real.startswith(base if "prefix-check" in flaws else base + os.sep) else None


def respond(request, options):
    """(status, body, fields) for a request whose body has been read."""
    if options.app is not None:
        return run_app(request, options)
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
        if "no-percent-decode" in flaws:
            return text(request, raw, flaws)
        try:
            return text(request, unquote(raw, errors="strict"), flaws)
        except UnicodeDecodeError:
            if "echo-decode-crash" in flaws:
                raise  # nobody catches it: the connection's thread dies
            return error(400, flaws)
    if path == "/user-agent":
        if method != "GET":
            return not_allowed("GET, HEAD", flaws)
        if "user-agent-case" in flaws:
            return text(request, request.as_written.get("User-Agent", ""), flaws)
        return text(request, request.get("user-agent") or "", flaws)
    if path.startswith("/files/"):
        name = request.target.split("?")[0] if "files-no-decode" in flaws else path
        return files(method, name[len("/files/"):], request, options)
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


def run_app(request, options):
    """--app: a WSGI application answers (written apart from the package's gateway)."""
    import io
    import sys
    flaws = options.flaws
    raw_path, _, query = request.target.partition("?")
    environ = {"REQUEST_METHOD": request.method, "SCRIPT_NAME": "", "QUERY_STRING": query,
               "PATH_INFO": raw_path if "wsgi-raw-path" in flaws else unquote(raw_path, encoding="latin-1"),
               "SERVER_PROTOCOL": request.version, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(options.port),
               "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "wsgi.input": io.BytesIO(b"" if "wsgi-no-input" in flaws else request.body),
               "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
               "CONTENT_LENGTH": str(len(request.body))}
    for name, value, _ in request.fields:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started = []
    try:
        result = options.app(environ, lambda status, fields, exc_info=None: started.append((status, fields)))
        pieces = list(result)[:1] if "wsgi-first-piece" in flaws else list(result)
    except Exception:
        if "wsgi-crash" in flaws:
            raise
        return error(500, flaws)
    status, fields = started[-1]
    return int(status[:3]), b"".join(pieces), [(n, v) for n, v in fields if n.lower() != "content-length"]


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
        return (204 if existed else 200 if "post-200" in flaws else 201), b"", []
    if not os.path.isfile(path):
        return error(404, flaws)
    os.remove(path)
    return 204, b"", []

# ---------------------------------------------------------------- the connection

HEAD_DEADLINE, IDLE_TIMEOUT = 1.0, 10.0
MAX_LINE, MAX_HEAD, MAX_FIELDS, MAX_BODY = 8 * 1024, 64 * 1024, 100, 64 * 1024 * 1024
TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;.*)?", re.S)


class Refuse(Exception):
    """Answer this status, then close."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Closed(Exception):
    """The client went away, or stayed idle too long."""


class Incomplete(Exception):
    """The chunk-one-recv flaw: no more bytes have arrived yet."""


class Request:
    def __init__(self, method, target, version, fields):
        self.method, self.target, self.version = method, target, version
        self.fields = fields  # [(lower-case name, value, name as written)]
        self.as_written = {written: value for _, value, written in fields}
        self.body, self.stored_already, self.created = b"", False, False

    def all(self, name):
        return [value for key, value, _ in self.fields if key == name]

    def get(self, name):
        values = self.all(name)
        return ", ".join(values) if values else None


class Connection:
    def __init__(self, sock, options):
        self.sock, self.options, self.flaws = sock, options, options.flaws
        self.buffer = b""
        self.no_wait = False

    def receive(self, deadline=None):
        if self.no_wait:
            raise Incomplete()
        if deadline is not None and deadline - time.monotonic() <= 0:
            raise Refuse(408)
        self.sock.settimeout(IDLE_TIMEOUT if deadline is None else deadline - time.monotonic())
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Refuse(408) if deadline is not None else Closed()
        except OSError:
            raise Closed()
        if not chunk:
            raise Closed()
        self.buffer += chunk

    # -- reading a head ---------------------------------------------------------

    def read_head(self):
        """The next head's lines, without their line ends."""
        deadline = None
        while True:
            end, size = self.buffer.find(b"\r\n\r\n"), 4
            if "bare-lf-request" in self.flaws:
                bare = self.buffer.find(b"\n\n")
                if bare != -1 and (end == -1 or bare < end):
                    end, size = bare, 2
            elif re.search(rb"(?<!\r)\n", self.buffer if end == -1 else self.buffer[:end + 2]):
                raise Refuse(400)  # a bare LF: refused at once, never waited on
            if end != -1:
                break
            if self.buffer and deadline is None and "no-head-deadline" not in self.flaws:
                deadline = time.monotonic() + HEAD_DEADLINE
            if "no-limits" not in self.flaws:
                if b"\r\n" not in self.buffer and len(self.buffer) > MAX_LINE:
                    raise Refuse(414)
                if len(self.buffer) > MAX_HEAD:
                    raise Refuse(431)
            if "first-recv" in self.flaws and self.buffer:
                end, size = len(self.buffer), 0
                break
            self.receive(deadline)
        if end > MAX_HEAD and "no-limits" not in self.flaws:
            raise Refuse(431)
        head, self.buffer = self.buffer[:end], self.buffer[end + size:]
        if "bare-lf-request" in self.flaws:
            return [line.rstrip(b"\r") for line in head.split(b"\n")]
        return head.split(b"\r\n")

    def parse_head(self, lines):
        flaws = self.flaws
        if "no-limits" not in flaws and len(lines[0]) > MAX_LINE:
            raise Refuse(414)
        parts = lines[0].split() if "split-any-space" in flaws else lines[0].split(b" ")
        if len(parts) != 3 or not all(parts):
            raise Refuse(400)
        method, target, version = parts
        if not TOKEN.fullmatch(method) and "method-not-token" not in flaws:
            raise Refuse(400)
        if "method-case-insensitive" in flaws:
            method = method.upper()
        if not re.fullmatch(rb"[\x21-\x7e]+", target) and "target-any-bytes" not in flaws:
            raise Refuse(400)
        if "any-version" in flaws:
            if not version.startswith(b"HTTP/"):
                raise Refuse(400)
            version = version if version in (b"HTTP/1.0", b"HTTP/1.1") else b"HTTP/1.1"
        else:
            pattern = rb"HTTP/(\d)\.(\d)"
            match = re.fullmatch(pattern, version, re.I if "lowercase-version" in flaws else 0)
            if not match:
                raise Refuse(400)
            if match.group(1) != b"1":
                raise Refuse(505)
            version = b"HTTP/1." + match.group(2)
        fields = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t"):
                raise Refuse(400)  # obsolete line folding
            name, colon, value = line.partition(b":")
            if "user-agent-split" in flaws:
                value = line.split(b":")[1] if colon else b""
            if not colon:
                if "no-400" in flaws:
                    continue
                raise Refuse(400)
            if "strip-field-name" in flaws:
                name = name.strip()
            if not TOKEN.fullmatch(name):
                raise Refuse(400)
            if "user-agent-ows" not in flaws:
                value = value.strip(b" \t")
            fields.append((name.decode("latin-1").lower(), value.decode("latin-1"), name.decode("latin-1")))
        if len(fields) > MAX_FIELDS and "no-limits" not in flaws and "no-field-count-limit" not in flaws:
            raise Refuse(431)
        if "fields-carried-over" in flaws:
            self.carried = getattr(self, "carried", []) + fields
            fields = self.carried
        request = Request(method.decode(), target.decode("latin-1"), version.decode(), fields)
        hosts = request.all("host")
        if request.version == "HTTP/1.1" or "host-on-1-0" in flaws:
            if (not hosts and "no-host-check" not in flaws) or (len(hosts) > 1 and "last-host-wins" not in flaws):
                raise Refuse(400)
        return request

    # -- reading a body ---------------------------------------------------------

    def read_exactly(self, size, partial_file=None):
        written = 0
        while len(self.buffer) < size:
            if partial_file is not None:  # the partial-upload flaw: write the body as it arrives
                partial_file.write(self.buffer[written:])
                partial_file.flush()
                written = len(self.buffer)
            self.receive()
        data, self.buffer = self.buffer[:max(size, 0)], self.buffer[max(size, 0):]
        return data

    def read_line(self):
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise Refuse(400)
            self.receive()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def chunk_size(self, line):
        flaws = self.flaws
        if "chunk-int16" in flaws:
            try:
                return int(line.split(b";")[0], 16)
            except ValueError:
                raise Refuse(400)
        pattern = re.compile(rb"([0-9A-Fa-f]+)(?:[ \t]*;.*)?", re.S) if "chunk-no-limit" in flaws else CHUNK_SIZE
        match = pattern.fullmatch(line.split(b";")[0].strip() if "chunk-strip" in flaws else line)
        if not match:
            if "chunk-dead-thread" in flaws:
                raise ValueError("invalid chunk size %r" % line)  # nobody catches it: the thread dies
            raise Refuse(400)
        size = int(match.group(1), 16)
        if size > MAX_BODY and "chunk-no-limit" not in flaws:
            raise Refuse(413)
        return size

    def read_chunked(self):
        body = b""
        self.no_wait = "chunk-one-recv" in self.flaws
        try:
            while True:
                size = self.chunk_size(self.read_line())
                if size == 0:
                    if "chunk-no-trailer" in self.flaws:
                        self.read_exactly(2)
                    else:
                        while self.read_line():  # trailer fields, ignored
                            pass
                    break
                body += self.read_exactly(size)
                if self.read_exactly(2) != b"\r\n" and "chunk-lenient-crlf" not in self.flaws:
                    raise Refuse(400)
        except Incomplete:
            pass  # the chunk-one-recv flaw: what has arrived is taken for the whole body
        finally:
            self.no_wait = False
        if "chunk-rest-dropped" in self.flaws:
            self.buffer = b""
        return body

    def read_body(self, request):
        flaws = self.flaws
        if "body-only-for-post" in flaws and request.method not in ("POST", "PUT"):
            return b""
        codings, lengths = request.all("transfer-encoding"), request.all("content-length")
        if "content-length-case" in flaws:
            lengths = [value for key, value, written in request.fields if written == "Content-Length"]
        if codings and lengths and "smuggling" not in flaws:
            raise Refuse(400)
        if codings and not ("smuggling" in flaws and lengths):
            joined = ", ".join(codings) if "chunked-case" in flaws else ", ".join(codings).lower()
            if "te-substring" in flaws and "chunked" in joined:
                return self.read_chunked_body(request)
            names = [coding.strip() for coding in joined.split(",")]
            if names[-1] != "chunked":
                raise Refuse(400)
            if names != ["chunked"]:
                raise Refuse(501)
            return self.read_chunked_body(request)
        if not lengths:
            return b""
        if len(set(lengths)) > 1 and "cl-first-wins" not in flaws:
            raise Refuse(400)
        if "cl-int" in flaws:
            try:
                length = int(lengths[0])
            except ValueError:
                raise Refuse(400)
        elif re.fullmatch(r"[0-9]+", lengths[0]):
            length = int(lengths[0])
        else:
            raise Refuse(400)
        if length > MAX_BODY and "body-limit-after-read" not in flaws:
            raise Refuse(413)
        self.continue_if_expected(request)
        if "body-ignored" in flaws:
            return b""
        if "body-first-recv" in flaws:
            body, self.buffer = self.buffer[:length], b""
            return body
        if "partial-upload" in flaws and request.method == "POST" and request.target.startswith("/files/"):
            path = os.path.join(self.options.directory, request.target[len("/files/"):])
            request.created, request.stored_already = not os.path.exists(path), True
            with open(path, "wb") as file:
                return self.read_exactly(length, file)
        body = self.read_exactly(length)
        if length > MAX_BODY:  # the body-limit-after-read flaw checks only now
            raise Refuse(413)
        return body

    def read_chunked_body(self, request):
        self.continue_if_expected(request)
        return b"" if "no-chunked" in self.flaws else self.read_chunked()

    def continue_if_expected(self, request):
        if (request.get("expect") or "").lower() == "100-continue" and "no-expect" not in self.flaws:
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    # -- answering --------------------------------------------------------------

    def keeps_open(self, request):
        """Whether the connection stays open after this request (RFC 9112 §9.3)."""
        flaws, values = self.flaws, request.all("connection")
        if "close-first-field" in flaws:
            values = values[:1]
        tokens = {token.strip().lower() for value in values for token in value.split(",")}
        close = "close" in tokens
        if "close-exact" in flaws:
            close = values[:1] == ["close"]
        elif "close-whole-value" in flaws:
            close = (request.get("connection") or "").lower() == "close"
        elif "close-substring" in flaws:
            close = "close" in (request.get("connection") or "").lower()
        elif "close-ignored" in flaws:
            close = False
        if request.version == "HTTP/1.0":
            if "http10-persistent" in flaws:
                return not close
            return "keep-alive" in tokens and not close and "http10-keepalive-ignored" not in flaws
        return not close

    def send(self, status, body=b"", fields=(), keep_open=True, head_only=False, version="HTTP/1.1"):
        flaws = self.flaws
        fields = list(fields)
        if "error-no-length" in flaws and status >= 400:
            keep_open, no_length = False, True
        else:
            no_length = "no-content-length" in flaws
        if "no-keep-alive" in flaws or no_length:
            keep_open = False
        status_line = "HTTP/1.0 %d %s" if "http-1-0-status" in flaws else "HTTP/1.1 %d %s"
        lines = [("HTTP %d %s" if "status-line" in flaws else status_line) % (status, REASONS[status])]
        if "ctime-date" in flaws:
            lines.append("Date: " + time.ctime())
        elif "no-date" not in flaws:
            lines.append("Date: " + email.utils.formatdate(usegmt=True))
        lines += ["%s: %s" % field for field in fields]
        if not no_length and (status != 204 or "length-on-204" in flaws):  # RFC 9110 §8.6: none in a 204
            length = len(body)
            if "chars-not-bytes" in flaws:
                length = len(body.decode("utf-8", "replace"))
            length += ("long-content-length" in flaws) - ("short-content-length" in flaws and length > 0)
            if head_only and "head-length-zero" in flaws:
                length = 0
            lines.append("Content-Length: %d" % length)
        if not keep_open and "no-close-header" not in flaws:
            lines.append("Connection: close")
        elif keep_open and version == "HTTP/1.0" and "http10-no-keepalive-header" not in flaws:
            lines.append("Connection: keep-alive")
        end = "\n" if "lf-only" in flaws else "\r\n"
        head = (end.join(lines) + end + end).encode("latin-1")
        if head_only and "head-body" not in flaws:
            body = b""
        data = head + body + (b"\r\n" if "stray-crlf" in flaws else b"")
        if "send-not-sendall" in flaws:
            self.sock.settimeout(IDLE_TIMEOUT)
            self.sock.send(data)  # the planted bug: one send() returns after as much as fits
        else:
            self.sock.sendall(data)
        return keep_open

    def serve(self):
        try:
            while True:
                try:
                    if not self.handle_one():
                        break
                except Refuse as refusal:
                    keep = "keep-open-after-400" in self.flaws and refusal.status == 400
                    keep = keep or ("chunk-keep-open" in self.flaws and refusal.status == 400)
                    self.send(refusal.status, *error(refusal.status, self.flaws)[1:], keep_open=keep)
                    if not keep:
                        break
        except (Closed, OSError):
            pass
        finally:
            try:  # drain a little, so closing does not reset the answer away
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(0.5)
                while self.sock.recv(65536):
                    pass
            except OSError:
                pass
            self.sock.close()

    def handle_one(self):
        request = self.parse_head(self.read_head())
        request.body = self.read_body(request)
        if "lost-pipeline" in self.flaws:
            self.buffer = b""
        status, body, fields = respond(request, self.options)
        return self.send(status, body, fields, self.keeps_open(request), head_only=request.method == "HEAD",
                         version=request.version)


def tls_context(options):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if "self-signed" in options.flaws:
        import trustme
        trustme.CA().issue_cert("localhost", "127.0.0.1").configure_cert(context)
    else:
        context.load_cert_chain(options.certfile, options.keyfile)
    return context


def handle(sock, context, options):
    if context is not None:
        try:
            sock.settimeout(5)
            first = sock.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16" and "plain-tls-silent" not in options.flaws:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n"
                             b"Connection: close\r\n\r\nThis port speaks HTTPS\n")
            if first != b"\x16":
                sock.close()
                return
            sock = context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            sock.close()
            return
    Connection(sock, options).serve()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--break", dest="flaws", action="append", default=[], choices=sorted(FLAWS))
    parser.add_argument("--app", help="module:name of a WSGI application to serve instead of the routes")
    options = parser.parse_args()
    options.flaws = set(options.flaws)
    if options.app:
        import importlib
        module, _, name = options.app.partition(":")
        options.app = getattr(importlib.import_module(module), name)
    listener = socket.create_server(("127.0.0.1", options.port))
    context = tls_context(options) if options.certfile else None
    while True:
        sock, _ = listener.accept()
        if context is not None and "tls-in-accept-loop" in options.flaws:
            try:
                sock = context.wrap_socket(sock, server_side=True)  # waits for this client, however long
            except (ssl.SSLError, OSError):
                sock.close()
                continue
            threading.Thread(target=handle, args=(sock, None, options), daemon=True).start()
        elif options.flaws & {"one-at-a-time", "unbound-local"}:
            handle(sock, context, options)
        else:
            threading.Thread(target=handle, args=(sock, context, options), daemon=True).start()


if __name__ == "__main__":
    main()
