"""One HTTP/2 stream's request and answer, and the budgets that bound a client.

Contract: `Stream` holds what `HTTP2Connection` (http2.py) knows of one stream:
the `Request` made from its HEADERS, the body as it arrives (in the spool the
application chooses, as over HTTP/1.1), the `Response`, and how much of the
answer's body is left to send. It never touches h2 or a socket: the connection
asks it for the header list and for body pieces no larger than the windows
allow. `Allowance` is a budget that refills with time (a token bucket);
`FrameInput` answers the one question the models ask of a connection's input.
"""

import time
import traceback

from .body import UNLIMITED, BodySpool
from .errors import HTTPError
from .http2_messages import request_from_fields, response_fields
from .response import FileBody, error_response

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # handlers that only read (RFC 9110 §9.2.1)

SPOOL_MEMORY = 64 * 1024  # a body past this waits on disk: up to MAX_STREAMS bodies arrive at once


class Stream:
    """A request on one stream and the answer going back on it."""

    __slots__ = ("id", "request", "spool", "response", "received", "request_ended", "queued",
                 "reset", "body", "position", "remaining", "started", "drain_limit", "read", "reading")

    def __init__(self, stream_id):
        self.id = stream_id
        self.request = None
        self.spool = None
        self.response = None  # set when computed, or early, when the request is refused
        self.received = 0  # body bytes so far
        self.request_ended = False  # the client sent END_STREAM
        self.queued = False  # in the connection's queue of streams to answer
        self.reset = False  # the client cancelled it (RST_STREAM)
        self.body = None  # bytes or FileBody still to send
        self.position = 0  # how far into a bytes body
        self.remaining = 0  # body bytes left to send
        self.started = False  # HEADERS of the answer sent
        self.drain_limit = 0  # after an early answer: body bytes dropped before we reset the stream
        self.read = b""  # a file answer's bytes read ahead (by a helper thread, on the event loop)
        self.reading = False  # a read ahead is queued

    def start(self, fields, limits, app, client, secure, has_body, storage=UNLIMITED):
        """Make the request from its header list; refuse it (an early answer) if we must."""
        try:
            self.request = request_from_fields(fields, limits)
        except HTTPError as error:
            return self.refuse_with(error)
        self.request.client, self.request.secure = client, secure
        if not has_body:
            return
        make_spool = getattr(app, "body_spool", None)
        try:  # e.g. 405 for a POST where none is taken, before a byte of the body is read
            self.spool = make_spool(self.request, storage) if make_spool else BodySpool(storage=storage)
        except HTTPError as error:
            return self.refuse_with(error)
        if getattr(self.spool, "memory_limit", 0) > SPOOL_MEMORY:
            self.spool.memory_limit = SPOOL_MEMORY
        self.request.spool = self.spool

    def body_data(self, data, limits):
        """Keep a piece of the request body; False when the body grew too large (413)."""
        self.received += len(data)
        if self.received > limits.max_body:
            self.refuse(413, f"request body larger than {limits.max_body} bytes")
            return False
        if self.spool is not None:
            self.spool.write(data)
        return True

    def refuse(self, status, reason):
        self.refuse_with(HTTPError(status, reason))

    def refuse_with(self, error):
        """Answer `error` without running the handler; whatever body follows is dropped."""
        self.response = error_response(error, self.request)
        self._drop_spool()

    def answer_from_memory(self, app, error_log, client):
        """For the event loop: answer now if no disk is needed (`app.answer_from_memory`);
        False if the handler must run on a helper thread."""
        from_memory = getattr(app, "answer_from_memory", None)
        if from_memory is None or self.request.method not in SAFE_METHODS:
            return False
        self.handle(app, error_log, client, from_memory)
        return self.response is not None

    def handle(self, app, error_log, client, handler=None):
        """Run the handler for the complete request, as `Connection._handle` does."""
        try:
            self.response = (handler or app.handle)(self.request)
        except HTTPError as error:
            self.response = error_response(error, self.request)  # `close` means nothing here: streams frame themselves
        except Exception:
            if error_log:
                error_log(f"error while handling {self.request!r} for {client}:\n{traceback.format_exc()}")
            self.response = error_response(HTTPError(500, "internal server error"), self.request)
        self._drop_spool()  # whatever the handler did not take

    def response_head(self):
        """(header list, whether DATA follows); the body is then taken with `take`."""
        response = self.response
        length = response.body_length
        fields = response_fields(response, length)
        method = self.request.method if self.request is not None else "GET"
        self.started = True
        if method == "HEAD" or response.status in (204, 304) or length == 0:
            if isinstance(response.body, FileBody):
                response.body.close()
            return fields, False
        self.body, self.position, self.remaining = response.body, 0, length
        return fields, True

    @property
    def needs_reading(self):
        """True when the next bytes to send are still in the file (see `read_ahead`)."""
        return not self.read and isinstance(self.body, FileBody) and self.remaining > 0

    def read_ahead(self, size):
        """Read up to `size` bytes of a file answer now, for `take` (a disk read: the
        event loop runs it on a helper thread)."""
        body = self.body
        if isinstance(body, FileBody) and not self.reset:
            body.file.seek(body.offset)
            self.read = body.file.read(min(size, body.length))
            body.offset += len(self.read)
            body.length -= len(self.read)
            if not self.read:
                self.remaining = 0  # the file shrank under us
        self.reading = False

    def take(self, size):
        """Up to `size` bytes of the body still to send."""
        body = self.body
        if self.read:
            chunk, self.read = self.read[:size], self.read[size:]
            self.remaining -= len(chunk)
        elif isinstance(body, FileBody):
            body.file.seek(body.offset)
            chunk = body.file.read(min(size, body.length))
            body.offset += len(chunk)
            body.length -= len(chunk)
            # A file that shrank under us ends here, as sendfile would (the client sees a short body).
            self.remaining = body.length if chunk else 0
        else:
            chunk = body[self.position:self.position + size]
            self.position += len(chunk)
            self.remaining -= len(chunk)
        if not self.remaining:
            self._close_body()
        return chunk

    @property
    def done_sending(self):
        return self.started and self.remaining == 0

    def drop(self):
        """Free what the stream holds: its spool and any open file."""
        self._drop_spool()
        self._close_body()

    def _drop_spool(self):
        if self.spool is not None:
            self.spool.discard()
            self.spool = None

    def _close_body(self):
        if isinstance(self.body, FileBody):
            self.body.close()
        self.body = None


class Allowance:
    """`burst` units at once, refilled at `rate` per second (a token bucket)."""

    def __init__(self, burst, rate, clock=time.monotonic):
        self.burst, self.rate, self.clock = burst, rate, clock
        self.left, self.updated = float(burst), clock()

    def take(self):
        """Spend one unit; False when none is left."""
        now = self.clock()
        self.left = min(self.burst, self.left + (now - self.updated) * self.rate)
        self.updated = now
        self.left -= 1
        return self.left >= 0


class FrameInput:
    """The input side of an HTTP/2 connection, as far as the models ask: has the peer closed?"""

    __slots__ = ("eof",)

    def __init__(self):
        self.eof = False
