"""One client connection, without I/O: bytes in, things to send out.

Contract: the server model calls `receive(data)` with whatever the socket gave it
(b"" when the peer closed) and sends what comes back, in order: `bytes`, or a
`FileBody` to stream. When `closing` is true, it sends those and closes. When a
timer runs out it calls `timed_out()` instead. The handler (`app.handle`) knows
nothing about sockets either; this class is where the two meet, and the one
boundary where errors turn into responses.

The loop below has one branch per parser event, in the manner of uvicorn's h11
protocol: need data, a request head, body data, end of message, peer closed.
"""

import time
import traceback

from .config import Limits
from .errors import HTTPError
from .parser import (
    CONNECTION_CLOSED, END_OF_MESSAGE, NEED_DATA, Data, Request, RequestParser,
)
from .response import CONTINUE, FileBody, encode_head, error_response


class Connection:
    """The HTTP state of one connection: parser, current request, keep-alive."""

    def __init__(self, app, *, limits=Limits(), client=None, secure=False,
                 access_log=None, error_log=None):
        self.app = app
        self.limits = limits
        self.client = client  # (address, port) of the peer
        self.secure = secure
        self.access_log = access_log  # callable(client, request, response, size) or None
        self.error_log = error_log  # callable(text) or None
        self.parser = RequestParser(limits)
        self.closing = False
        self.requests_served = 0
        # Per-request state, reset when each request head arrives.
        self.request = None
        self.body_parts = []
        self.head_started = None  # time.monotonic() of the first byte of a head
        self.body_started = None  # time.monotonic() when the head ended, if a body follows
        self.body_received = 0

    @property
    def waiting_for(self):
        """"idle", "head" or "body": which timeout applies while we wait."""
        return self.parser.waiting_for

    def receive(self, data):
        """Feed bytes from the peer (b"" at end of stream); returns what to send."""
        if self.head_started is None and data:
            self.head_started = time.monotonic()
        self.parser.receive_data(data)
        outgoing = []
        while not self.closing:
            try:
                event = self.parser.next_event()
            except HTTPError as error:
                # The peer broke the protocol: answer once, then close (RFC 9112 §9.3).
                self.closing = True
                outgoing.extend(self._send(self.request, error_response(error, self.request), close=True))
                break
            if event is NEED_DATA:
                break
            elif event is CONNECTION_CLOSED:
                self.closing = True
            elif isinstance(event, Request):
                self.request = event
                self.body_parts = []
                event.client = self.client
                event.secure = self.secure
                if event.content_length or event.chunked:
                    self.body_started, self.body_received = time.monotonic(), 0
                if event.expect_continue and not self.parser.buffer:
                    outgoing.append(CONTINUE)  # RFC 9110 §10.1.1: "go on, send it"
            elif isinstance(event, Data):
                self.body_parts.append(event.data)
                self.body_received += len(event.data)
            elif event is END_OF_MESSAGE:
                request = self.request
                request.body = b"".join(self.body_parts)
                self.body_parts = []
                outgoing.extend(self._respond(request))
                self.request = None
                self.head_started = time.monotonic() if self.parser.buffer else None
                if not self.closing:
                    self.parser.start_next_request()
        return outgoing

    def timed_out(self):
        """The server's timer ran out: 408 if a request was under way, then close."""
        self.closing = True
        if self.waiting_for == "idle":
            return []  # a quiet keep-alive connection just ends (RFC 9112 §9.5)
        error = HTTPError(408, f"request not received in time (waited for its {self.waiting_for})")
        return self._send(self.request, error_response(error, self.request), close=True)

    def deadline(self, now):
        """When the current wait ends, as a time.monotonic() value."""
        waiting_for = self.waiting_for
        if waiting_for == "head" and self.head_started is not None:
            return self.head_started + self.limits.head_timeout
        if waiting_for == "body":  # a body is under way, so body_started is set
            # Two rules. Silence may last body_timeout (like nginx's
            # client_body_timeout); and after that much grace the body must average
            # min_body_rate bytes/s (like MinRate in Apache's mod_reqtimeout), so a
            # trickle that is never quite silent cannot hold us for ever.
            limits = self.limits
            by_rate = self.body_started + limits.body_timeout + self.body_received / limits.min_body_rate
            return min(now + limits.body_timeout, by_rate)
        return now + self.limits.idle_timeout

    # -- responding ---------------------------------------------------------

    def _respond(self, request):
        try:
            response = self.app.handle(request)
        except HTTPError as error:
            response = error_response(error, request)
            if error.close:
                self.closing = True
        except Exception:
            if self.error_log:
                self.error_log(f"error while handling {request!r}:\n{traceback.format_exc()}")
            response = error_response(HTTPError(500, "internal server error"), request)
            self.closing = True
        if not request.keep_alive:
            self.closing = True
        self.requests_served += 1
        return self._send(request, response, close=self.closing)

    def _send(self, request, response, close):
        """The wire form of `response`: one bytes object, or head then a FileBody."""
        keep_alive_header = request is not None and request.version == "HTTP/1.0" and not close
        head = encode_head(response, close=close, keep_alive_header=keep_alive_header)
        body = response.body
        if self.access_log is not None:
            self.access_log(self.client, request, response, response.body_length)
        if (request is not None and request.method == "HEAD") or response.status in (204, 304):
            if isinstance(body, FileBody):
                body.close()
            return [head]
        if isinstance(body, FileBody):
            return [head, body]
        return [head + body]
