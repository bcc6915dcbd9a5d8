"""Small WSGI applications, standard library only, for chapter 10 and the tests.

- `hello`: the ten-line application of chapter 10.
- `whoami`: answers with the serving process's id (and sleeps `?ms=` first), so a
  restart under load shows which process answered each request.
- `routes`: the seed's routes (`/echo/`, `/user-agent`, `/files/`, static files
  under the server's root) written as a WSGI application: with it, the stage
  tester checks the protocol of our server running an application, not the
  server's own handlers. `python -m httpserver --wsgi httpserver.lab.apps:routes`.
"""

import mimetypes
import os
import time
from urllib.parse import parse_qs

TEXT = [("Content-Type", "text/plain")]


def hello(environ, start_response):
    """The smallest useful WSGI application: every request gets a greeting."""
    name = environ["PATH_INFO"].strip("/") or "world"
    body = f"Hello, {name}!\n".encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def whoami(environ, start_response):
    """"pid 1234": which process answered; `?ms=20` waits that long first."""
    milliseconds = int(parse_qs(environ.get("QUERY_STRING", "")).get("ms", ["0"])[0] or 0)
    if milliseconds:
        time.sleep(min(milliseconds, 10_000) / 1000)
    body = f"pid {os.getpid()}\n".encode()
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [body]


def routes(environ, start_response):
    """The seed's routes as a WSGI application (see the module docstring)."""
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    if path.startswith("/echo/"):
        return _answer(start_response, "200 OK", path[len("/echo/"):].encode("latin-1"))
    if path == "/user-agent":
        agent = environ.get("HTTP_USER_AGENT")
        if agent is None:
            return _answer(start_response, "400 Bad Request", b"no User-Agent\n")
        return _answer(start_response, "200 OK", agent.encode("latin-1"))
    if path.startswith("/files/"):
        return _file_route(environ, start_response, method, path[len("/files/"):])
    if method not in ("GET", "HEAD"):
        return _answer(start_response, "405 Method Not Allowed", b"GET or HEAD only\n",
                       [("Allow", "GET, HEAD")])
    return _static(environ, start_response, path)


def _answer(start_response, status, body, headers=(), content_type="text/plain"):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            *headers])
    return [body]


def _safe_name(name):
    """A file name inside the folder, or None (no separators, no dot files)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        return None
    return name


def _file_route(environ, start_response, method, name):
    folder = environ.get("httpserver.directory", ".")
    name = _safe_name(name)
    if name is None:
        return _answer(start_response, "404 Not Found", b"not found\n")
    path = os.path.join(folder, name)
    if method in ("GET", "HEAD"):
        if not os.path.isfile(path):
            return _answer(start_response, "404 Not Found", b"not found\n")
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.path.getsize(path)))])
        return environ["wsgi.file_wrapper"](open(path, "rb"))
    if method in ("POST", "PUT"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        existed = os.path.exists(path)
        partial = os.path.join(folder, f".{name}.{os.getpid()}.part")
        with open(partial, "wb") as file:  # written aside, then renamed: never half a file
            stream = environ["wsgi.input"]
            while length > 0:
                block = stream.read(min(length, 65536))
                if not block:
                    break
                file.write(block)
                length -= len(block)
        os.replace(partial, path)
        return _answer(start_response, "204 No Content" if existed else "201 Created", b"")
    if method == "DELETE":
        if not os.path.isfile(path):
            return _answer(start_response, "404 Not Found", b"not found\n")
        os.remove(path)
        return _answer(start_response, "204 No Content", b"")
    return _answer(start_response, "405 Method Not Allowed", b"not allowed here\n",
                   [("Allow", "GET, HEAD, POST, PUT, DELETE")])


def _static(environ, start_response, path):
    root = os.path.realpath(environ.get("httpserver.root", "."))
    target = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if target != root and not target.startswith(root + os.sep):
        return _answer(start_response, "404 Not Found", b"not found\n")
    if os.path.isdir(target):
        if not path.endswith("/"):
            return _answer(start_response, "301 Moved Permanently", b"", [("Location", path + "/")])
        target = os.path.join(target, "index.html")
    if not os.path.isfile(target):
        return _answer(start_response, "404 Not Found", b"not found\n")
    content_type = mimetypes.guess_type(target)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
        content_type += "; charset=utf-8"
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(os.path.getsize(target)))])
    return environ["wsgi.file_wrapper"](open(target, "rb"))
