"""A small HTTP/1.1 server written apart from the package, to test the stage tester.

    python tiny_server.py --port P --root DIR --directory DIR [--certfile F --keyfile F]
                          [--break FLAW ...]

It shares no code with `httpserver` (only the standard library and, for
--break self-signed, trustme), so the stage tester passing it shows the tester
assumes nothing about the package. Each --break FLAW plants one of the usual
mistakes (see FLAWS) for the stage aimed at it to catch.
"""

import argparse
import email.utils
import gzip
import mimetypes
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from urllib.parse import unquote

FLAWS = {
    "status-line": "writes \"HTTP 200 OK\": no version number",
    "lf-only": "ends lines with LF alone",
    "first-recv": "answers after the first recv(), whatever it held",
    "no-400": "skips header lines without a colon",
    "no-content-length": "sends no Content-Length and closes instead",
    "short-content-length": "announces one byte less than the body",
    "long-content-length": "announces one byte more than the body",
    "no-date": "sends no Date",
    "traversal": "joins the decoded path without checking where it leads",
    "partial-upload": "writes an upload straight to its final name",
    "body-ignored": "never reads request bodies",
    "one-at-a-time": "serves one connection at a time",
    "no-keep-alive": "closes after every response",
    "lost-pipeline": "throws away bytes received after a request",
    "no-chunked": "treats a chunked body as empty",
    "no-gzip": "never compresses",
    "self-signed": "ignores --certfile and serves a certificate of its own",
    "no-limits": "accepts request lines and heads of any size",
    "smuggling": "reads Content-Length even when Transfer-Encoding is there, and keeps the connection",
    "no-head-deadline": "has no deadline for a trickled head",
    "wsgi-raw-path": "gives the application PATH_INFO still percent-encoded",
    "wsgi-no-input": "gives the application an empty wsgi.input",
    "wsgi-first-piece": "sends only the first piece the application yields",
    "wsgi-crash": "lets the application's exception end the connection",
}
HEAD_DEADLINE = 1.0
MAX_LINE, MAX_HEAD, MAX_BODY = 8 * 1024, 64 * 1024, 64 * 1024 * 1024
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
           408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented"}


class Refuse(Exception):
    """Answer this status and close."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Closed(Exception):
    """The client went away."""


class Connection:
    def __init__(self, sock, options):
        self.sock, self.options, self.flaws = sock, options, set(options.flaws)
        self.buffer = b""

    def receive(self, deadline=None):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Refuse(408)
            self.sock.settimeout(left)
        else:
            self.sock.settimeout(30)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Refuse(408) if deadline is not None else Closed()
        except OSError:
            raise Closed()
        if not chunk:
            raise Closed()
        self.buffer += chunk

    def read_head(self):
        deadline = None
        while b"\r\n\r\n" not in self.buffer:
            if self.buffer and deadline is None and "no-head-deadline" not in self.flaws:
                deadline = time.monotonic() + HEAD_DEADLINE
            if "no-limits" not in self.flaws:
                if b"\r\n" not in self.buffer and len(self.buffer) > MAX_LINE:
                    raise Refuse(414)
                if len(self.buffer) > MAX_HEAD:
                    raise Refuse(431)
            if "first-recv" in self.flaws and self.buffer:
                break
            self.receive(deadline)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        if "no-limits" not in self.flaws:
            if len(head.split(b"\r\n", 1)[0]) > MAX_LINE:
                raise Refuse(414)
            if len(head) > MAX_HEAD:
                raise Refuse(431)
        return head

    def read_exactly(self, size, partial_file=None):
        written = 0
        while len(self.buffer) < size:
            if partial_file is not None:  # the flaw: write the body as it arrives
                partial_file.write(self.buffer[written:])
                partial_file.flush()
                written = len(self.buffer)
            self.receive()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_line(self):
        while b"\r\n" not in self.buffer:
            self.receive()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_chunked(self):
        body = b""
        while True:
            size = int(self.read_line().split(b";")[0].strip(), 16)
            if size == 0:
                while self.read_line():  # trailer fields, ignored
                    pass
                return body
            body += self.read_exactly(size)
            self.read_exactly(2)

    def send(self, status, body=b"", fields=(), close=False, head_only=False):
        lines = ["HTTP %d %s" % (status, REASONS[status]) if "status-line" in self.flaws
                 else "HTTP/1.1 %d %s" % (status, REASONS[status])]
        if "no-date" not in self.flaws:
            lines.append("Date: " + email.utils.formatdate(usegmt=True))
        lines += ["%s: %s" % field for field in fields]
        if "no-content-length" in self.flaws:
            close = True
        elif status != 204:  # RFC 9110 §8.6: no Content-Length in a 204
            length = len(body) - ("short-content-length" in self.flaws and len(body) > 0) \
                + ("long-content-length" in self.flaws)
            lines.append("Content-Length: %d" % length)
        if close:
            lines.append("Connection: close")
        end = "\n" if "lf-only" in self.flaws else "\r\n"
        data = (end.join(lines) + end + end).encode("latin-1") + (b"" if head_only else body)
        self.sock.sendall(data)
        return close

    def serve(self):
        try:
            while True:
                try:
                    if self.handle_one() or "no-keep-alive" in self.flaws:
                        break
                except Refuse as refusal:
                    self.send(refusal.status, REASONS[refusal.status].encode(), close=True)
                    break
        except (Closed, OSError):
            pass
        finally:
            try:
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(0.5)
                while self.sock.recv(65536):  # drain, so closing does not reset the answer away
                    pass
            except OSError:
                pass
            self.sock.close()

    def handle_one(self):
        head = self.read_head()
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            raise Refuse(400)
        method, target = parts[0].decode("latin-1"), parts[1].decode("latin-1")
        fields = parse_fields(lines[1:], strict="no-400" not in self.flaws)
        headers = {}
        for name, value in fields:
            if name in headers and name == "content-length" and headers[name] != value:
                raise Refuse(400)
            headers[name] = value
        body = self.read_body(headers, method, target)
        if "lost-pipeline" in self.flaws:
            self.buffer = b""
        close = headers.get("connection", "").lower() == "close"
        if "transfer-encoding" in headers and "content-length" in headers:
            close = close or "smuggling" not in self.flaws
        status, payload, out_fields = self.respond(method, target, headers, body)
        return self.send(status, payload, out_fields, close, head_only=(method == "HEAD"))

    def read_body(self, headers, method, target):
        coding = headers.get("transfer-encoding")
        if coding is not None and not ("smuggling" in self.flaws and "content-length" in headers):
            if coding.lower().replace(" ", "").split(",")[-1] != "chunked":
                raise Refuse(400)
            return b"" if "no-chunked" in self.flaws else self.read_chunked()
        length = headers.get("content-length", "0")
        if not length.isdigit():
            raise Refuse(400)
        if int(length) > MAX_BODY:
            raise Refuse(413)
        if "body-ignored" in self.flaws:
            return b""
        if "partial-upload" in self.flaws and method == "POST" and target.startswith("/files/"):
            with open(os.path.join(self.options.directory, unquote(target[7:])), "wb") as file:
                return self.read_exactly(int(length), file)
        return self.read_exactly(int(length))

    def respond(self, method, target, headers, body):
        if self.options.app:
            return self.run_app(method, target, headers, body)
        path = unquote(target.split("?")[0])
        text = [("Content-Type", "text/plain")]
        if method not in ("GET", "HEAD", "POST", "PUT", "DELETE"):
            return 501, b"not implemented", text
        if path.startswith("/echo/") and method == "GET":
            data = path[6:].encode()
            accepted = [part.split(";")[0].strip() for part in headers.get("accept-encoding", "").split(",")]
            if "gzip" in accepted and "no-gzip" not in self.flaws:
                return 200, gzip.compress(data), text + [("Content-Encoding", "gzip")]
            return 200, data, text
        if path == "/user-agent" and method == "GET":
            return 200, headers.get("user-agent", "").encode(), text
        if path.startswith("/files/"):
            return self.files(method, path[7:], body)
        if method not in ("GET", "HEAD"):
            return 404, b"not found", text
        file = self.inside(self.options.root, "index.html" if path == "/" else path.lstrip("/"))
        if file is None or not os.path.isfile(file):
            return 404, b"not found", text
        with open(file, "rb") as handle:
            return 200, handle.read(), [("Content-Type", mimetypes.guess_type(file)[0] or "application/octet-stream")]

    def run_app(self, method, target, headers, body):
        """--app: a WSGI application answers (written apart from the package's gateway)."""
        import io
        raw_path, _, query = target.partition("?")
        path = raw_path if "wsgi-raw-path" in self.flaws else unquote(raw_path, encoding="latin-1")
        environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
                   "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.options.port),
                   "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
                   "wsgi.input": io.BytesIO(b"" if "wsgi-no-input" in self.flaws else body),
                   "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
                   "CONTENT_LENGTH": str(len(body))}
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started = []
        try:
            result = self.options.app(environ, lambda status, fields, exc_info=None: started.append((status, fields)))
            pieces = list(result)[:1] if "wsgi-first-piece" in self.flaws else list(result)
        except Exception:
            if "wsgi-crash" in self.flaws:
                raise
            return 500, b"the application failed", [("Content-Type", "text/plain")]
        status, fields = started[-1]
        return int(status[:3]), b"".join(pieces), [(n, v) for n, v in fields if n.lower() != "content-length"]

    def inside(self, folder, name):
        """The path of `name` in `folder`, or None when it would lead outside."""
        if "\x00" in name:
            return None
        path = os.path.join(folder, name)
        if "traversal" in self.flaws:
            return path
        real, base = os.path.realpath(path), os.path.realpath(folder)
        return real if real.startswith(base + os.sep) else None

    def files(self, method, name, body):
        path = self.inside(self.options.directory, name)
        text = [("Content-Type", "text/plain")]
        if path is None:
            return 404, b"not found", text
        if method in ("GET", "HEAD"):
            if not os.path.isfile(path):
                return 404, b"not found", text
            with open(path, "rb") as handle:
                return 200, handle.read(), [("Content-Type", "application/octet-stream")]
        if method in ("POST", "PUT"):
            existed = os.path.exists(path)
            if "partial-upload" not in self.flaws or not existed:
                descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path))
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(body)
                os.replace(temporary, path)
            return (204 if existed else 201), b"", []
        if not os.path.isfile(path):
            return 404, b"not found", text
        os.remove(path)
        return 204, b"", []


def parse_fields(lines, strict=True):
    fields = []
    for line in lines:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or name != name.strip():
            if strict:
                raise Refuse(400)
            continue
        fields.append((name.lower(), value.strip()))
    return fields


def tls_context(options):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if "self-signed" in options.flaws:
        import trustme
        trustme.CA().issue_cert("localhost", "127.0.0.1").configure_cert(context)
    else:
        context.load_cert_chain(options.certfile, options.keyfile)
    return context


def serve(options):
    listener = socket.create_server(("127.0.0.1", options.port))
    context = tls_context(options) if options.certfile else None

    def handle(sock):
        if context is not None:
            try:
                sock.settimeout(5)
                sock = context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                return
        Connection(sock, options).serve()

    while True:
        sock, _ = listener.accept()
        if "one-at-a-time" in options.flaws:
            handle(sock)
        else:
            threading.Thread(target=handle, args=(sock,), daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--break", dest="flaws", action="append", default=[], choices=sorted(FLAWS))
    parser.add_argument("--app", help="module:name of a WSGI application to serve instead")
    options = parser.parse_args()
    if options.app:
        import importlib
        module, _, name = options.app.partition(":")
        options.app = getattr(importlib.import_module(module), name)
    serve(options)


if __name__ == "__main__":
    main()
