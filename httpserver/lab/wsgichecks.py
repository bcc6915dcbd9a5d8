"""The check of chapter 10's middleware exercise: `with_header(app, name, value)`.

A middleware is an application to the server and a server to the application
(PEP 3333, "Middleware: Components that Play Both Sides"). The learner's
`with_header` must add one response field to whatever the application answers,
and keep every promise of the protocol on the way: `start_response` may be
called late (from inside a generator), again with `exc_info`, and returns
`write`; the iterable must come back as it is, not read ahead, so that it
streams and so that its `close()` still reaches the application.

`check_middleware(with_header)` serves one request to each application in
`APPLICATIONS` through the learner's middleware, between two
`wsgiref.validate` checkers (one on each side), and compares what a server would
send with the answer expected, case by case, with `check` (checks.py).
"""

import sys
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

from .checks import Case, check

NAME, VALUE = "X-Served-By", "chapter-10"
TEXT = ("Content-Type", "text/plain")


def list_app(environ, start_response):
    start_response("200 OK", [TEXT, ("Content-Length", "5")])
    return [b"hello"]


def generator_app(environ, start_response):
    start_response("200 OK", [TEXT])  # called on the first iteration, not before
    yield b"a"
    yield b"b"


def write_app(environ, start_response):
    write = start_response("200 OK", [TEXT])
    write(b"written, ")
    return [b"returned"]


def error_app(environ, start_response):
    start_response("200 OK", [TEXT])
    try:
        raise ValueError("changed its mind")
    except ValueError:
        start_response("500 Oops", [TEXT], sys.exc_info())  # allowed: nothing was sent yet
    return [b"sorry"]


class _Closing:
    closed = []

    def __init__(self, start_response):
        start_response("200 OK", [TEXT])

    def __iter__(self):
        yield b"body"

    def close(self):
        _Closing.closed.append(True)


def closing_app(environ, start_response):
    return _Closing(start_response)


APPLICATIONS = {"list": list_app, "generator": generator_app, "write": write_app,
                "error": error_app, "closing": closing_app}


def serve(middleware, application):
    """What a server sends when `middleware(APPLICATIONS[application], NAME, VALUE)`
    answers one GET: (status, [(name, value)...], body, close() reached the app)."""
    environ = {}
    setup_testing_defaults(environ)
    head, written = [], []

    def start_response(status, headers, exc_info=None):
        if head and exc_info is None:  # as a server must (PEP 3333, "The start_response() Callable")
            raise AssertionError("start_response called a second time without exc_info")
        head[:] = [status, list(headers)]  # kept as they are now: later changes are not seen
        return written.append

    _Closing.closed = []
    app = validator(middleware(validator(APPLICATIONS[application]), NAME, VALUE))
    result = app(environ, start_response)
    try:
        pieces = list(result)  # write()'s bytes, written during the call, come first
        body = b"".join(written) + b"".join(pieces)
    finally:
        if hasattr(result, "close"):
            result.close()
    return head[0], head[1], body, bool(_Closing.closed)


def check_middleware(with_header):
    """Check the learner's `with_header` on every application; see the module docstring."""
    def served(application):
        return serve(with_header, application)
    served.__name__ = served.__qualname__ = "serve(with_header, ...)"
    added = (NAME, VALUE)
    check(served, [
        Case("list", ("200 OK", [TEXT, ("Content-Length", "5"), added], b"hello", False),
             "the application's status, fields and body, and your field after its own, added "
             "inside your own start_response (a server keeps the fields it is given then)"),
        Case("generator", ("200 OK", [TEXT, added], b"ab", False),
             "this application calls start_response only when its generator is first iterated: "
             "add the field inside your own start_response, never after the application returns"),
        Case("write", ("200 OK", [TEXT, added], b"written, returned", False),
             "your start_response must return what the server's returned: the write() callable"),
        Case("error", ("500 Oops", [TEXT, added], b"sorry", False),
             "the application calls start_response a second time with exc_info: pass exc_info on "
             "to the server's start_response (its third argument), or the server refuses the second call"),
        Case("closing", ("200 OK", [TEXT, added], b"body", True),
             "return the application's iterable itself (do not read it into a list): the server "
             "must reach its close(), and a streamed answer must not be held back"),
    ])
