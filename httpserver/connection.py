"""One client connection, without I/O: bytes in, things to send out.

Contract: the server model calls `receive(data)` with whatever the socket gave it
(b"" when the peer closed) and sends what comes back, in order: `bytes`, or a
`FileBody` to stream. When `closing` is true, it sends those and closes. When a
timer runs out it calls `timed_out()` instead; when the connection ends, for
whatever reason, it calls `close()`. The handler (`app.handle`) knows nothing
about sockets either; this class is where the two meet, and the one boundary
where errors, ours included, turn into responses.

Three rules keep what one client can cost us bounded:

- Back-pressure, and turns. `receive` stops answering once `limits.output_budget`
  bytes of responses (or one open file), or ANSWERS_PER_TURN answers, are waiting
  to be sent. The model sends them,
  then calls `process()` for the requests still buffered, and reads from the
  socket only when that returns nothing: a client that pipelines thousands of
  requests and never reads holds one budget of our memory, not thousands.
- Bodies go to a `BodySpool` (body.py): memory up to 1 MiB, a file beyond; all
  the connections of a server share one memory budget for bodies (`storage`).
- Disk work can be left to the model. With `offload=True`, every step that may
  touch a disk (choosing where an upload goes, writing a body to disk, any
  handler that is not answered from memory: `app.answer_from_memory`) is left
  in `work` instead of run: the model runs it on another thread and then calls
  `process()`. The event loop uses this so it never waits on a disk, nor on an
  application (an application without `answer_from_memory`, as a WSGI one, has
  every handler, and every piece of a streamed body (stream.py), left in `work`).

The loop below has one branch per parser event, in the manner of uvicorn's h11
protocol: need data, a request head, body data, end of message, peer closed.
"""

import errno
import time
import traceback

from .body import UNLIMITED, BodySpool
from .bodyrate import BodyClock
from .config import Limits
from .errors import HTTPError
from .parser import (
    CONNECTION_CLOSED, END_OF_MESSAGE, NEED_DATA, PAUSED, Data, Request, RequestParser,
)
from .response import CONTINUE, FileBody, encode_head, error_response, text_response
from .stream import ClientGone, StreamBody

ANSWERS_PER_TURN = 8  # pipelined requests answered before another client gets a turn
JOIN_LIMIT = 16 * 1024  # bodies up to this size leave in one piece with their head
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # handlers that only read (RFC 9110 §9.2.1)


class Connection:
    """The HTTP state of one connection: parser, current request, keep-alive."""

    def __init__(self, app, *, limits=Limits(), client=None, secure=False,
                 access_log=None, error_log=None, offload=False, storage=UNLIMITED, proxies=None,
                 draining=None):
        self.app = app
        self.limits = limits
        self.client = client  # (address, port) of the peer
        self.proxies = proxies  # TrustedProxies (proxy.py): whose Forwarded headers we believe
        self.draining = draining  # threading.Event set for a graceful stop (drain.py), or None
        self.secure = secure
        self.access_log = access_log  # callable(client, request, response, size) or None
        self.error_log = error_log  # callable(text) or None
        self.offload = offload  # True: leave disk work in `work` for the model
        self.storage = storage  # the memory budget and disk floor all bodies share (body.py)
        self.transmit = None  # set by the model: callable(items) sending at once, from a handler's thread
        self.outgoing = None  # what process() has queued but not returned yet
        self.from_memory = getattr(app, "answer_from_memory", None)  # (an application may have none)
        self.parser = RequestParser(limits)
        # output_budget=0 turns back-pressure off, turns included (chapter 08 shows why we need it).
        self.output_budget = limits.output_budget or float("inf")
        self.answers_per_turn = ANSWERS_PER_TURN if limits.output_budget else float("inf")
        self.closing = False
        self.requests_served = 0
        self.work = None  # a step the model must run (it may block), then call process()
        self.early = []  # what such a step produced to send (a 100 Continue, an error)
        self.stalled = False  # process() stopped for want of bytes; receive() clears it
        self.clock = time.monotonic  # replaceable, so a chapter can replay time
        # Per-request state, reset when each request head arrives.
        self.request = None
        self.spool = None  # where the current request's body goes
        self.response = None  # an answer computed by a step, not yet encoded
        self.stream = None  # a body the application is still producing (stream.py)
        self.head_started = None  # time.monotonic() of the first byte of a head
        self.body_clock = None  # the body's deadlines, when a body follows (bodyrate.py)
        self.close_after = False  # close once the ready response has gone

    @property
    def waiting_for(self):
        """"idle", "head" or "body": which timeout applies while we wait. Bytes
        that the parser dropped (empty lines before a request line) count as the
        start of a head, so a client cannot stay "idle" by sending CRLF forever."""
        waiting_for = self.parser.waiting_for
        if waiting_for == "idle" and self.head_started is not None and self.request is None:
            return "head"
        return waiting_for

    @property
    def idle(self):
        """True between the requests of a keep-alive connection: nothing received,
        nothing under way, so closing it loses nothing (RFC 9112 §9.5)."""
        return (self.request is None and self.response is None and self.work is None
                and not self.closing and self.head_started is None and not self.parser.buffer)

    @property
    def stopping(self):
        """True once the server stops gracefully: each answer then closes its connection."""
        return self.draining is not None and self.draining.is_set()

    def receive(self, data):
        """Feed bytes from the peer (b"" at end of stream); returns what to send."""
        if self.head_started is None and data:
            self.head_started = self.clock()
        self.parser.receive_data(data)
        self.stalled = False
        return self.process()

    @property
    def has_more(self):
        """True when `process()` may give more answers without new bytes: requests
        (or a computed answer) are waiting. Models ask before calling it."""
        return (self.response is not None or self.stream is not None
                or (not self.stalled and self.parser.has_more))

    def process(self):
        """Answer the requests buffered so far, until the output budget is spent,
        more bytes are needed, or a step is left in `work`; returns what to send."""
        if self.work is not None:
            raise RuntimeError("process() called before the pending work was run")
        outgoing, self.early = self.early, []  # what a step on another thread left to send
        self.outgoing = outgoing
        budget = self.output_budget
        turns = self.answers_per_turn  # however small the answers: others are waiting too
        while not self.closing and self.work is None and budget > 0 and turns:
            if self.stream is not None:  # an answer still being produced
                self._stream_step(outgoing)
                if self.stream is not None and (outgoing or self.work is not None):
                    break  # PEP 3333: this piece leaves before the next is asked for
                continue
            if self.response is not None:  # a request's answer is ready: send it
                budget -= self._answer(outgoing)
                turns -= 1
                continue
            try:
                event = self.parser.next_event()
            except HTTPError as error:
                # The peer broke the protocol: answer once, then close (RFC 9112 §9.3).
                self._fail(error_response(error, self.request), outgoing)
                break
            except Exception:  # a bug in the parser: the client still gets an answer
                self._log_bug("parsing a request")
                self._fail(text_response(500, "internal server error"), outgoing)
                break
            if event is NEED_DATA or event is PAUSED:
                self.stalled = True
                break
            elif event is CONNECTION_CLOSED:
                self.closing = True
            elif isinstance(event, Request):
                self.request = event
                event.client = self.client
                if self.proxies:  # behind a proxy we trust, the client is who it says
                    event.client, event.scheme = self.proxies.client_of(event, self.client)
                event.secure = self.secure
                if event.content_length or event.chunked or event.expect_continue:
                    if self.offload and event.method not in SAFE_METHODS:
                        # Where an upload goes is decided on the disk: not on the loop.
                        self.work = self._as_work(lambda request=event: self._start_body(request, self.early))
                    else:
                        self._start_body(event, outgoing)
            elif isinstance(event, Data):
                self._body_data(event.data)
            elif event is END_OF_MESSAGE:
                if not self.offload:
                    self._handle(self.app.handle)
                elif not self._answered_from_memory():
                    self.work = self._as_work(self._handle_off_loop)  # it may wait on a disk
                    continue
                budget -= self._answer(outgoing)  # at once: one trip round the loop fewer
                turns -= 1
        self.outgoing = None
        return outgoing

    def close(self):
        """The connection is over: free the body spool and any file not yet sent,
        and close an application's unfinished answer (PEP 3333)."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        self._drop_body()
        if self.response is not None and isinstance(self.response.body, FileBody):
            self.response.body.close()
        self.response = None

    def timed_out(self):
        """The server's timer ran out: 408 if a request was under way, then close."""
        self.closing = True
        if self.waiting_for == "idle":
            return []  # a quiet keep-alive connection just ends (RFC 9112 §9.5)
        error = HTTPError(408, f"request not received in time (waited for its {self.waiting_for})")
        return self._send(self.request, error_response(error, self.request), close=True)

    def deadline(self, now):
        """When the current wait ends, as a time.monotonic() value (`now`: the
        time of the last bytes received)."""
        waiting_for = self.waiting_for
        limits = self.limits
        if self.stopping and self.requests_served and self.idle:  # (drain.py)
            return now  # a graceful stop: a keep-alive connection between requests ends at once
        if waiting_for == "head" and self.head_started is not None:
            return self.head_started + limits.head_timeout
        if waiting_for == "body":  # a body is under way: silence and rate rules (bodyrate.py)
            return self.body_clock.deadline(now)
        return now + limits.idle_timeout

    # -- a request, step by step ---------------------------------------------

    def _start_body(self, request, outgoing):
        """A body follows the head: where it goes, its clock, and 100 Continue."""
        if request.content_length or request.chunked:
            self.body_clock = BodyClock(self.clock(), self.limits.body_timeout, self.limits.min_body_rate)
            make_spool = getattr(self.app, "body_spool", None)
            try:
                self.spool = make_spool(request, self.storage) if make_spool else BodySpool(storage=self.storage)
            except HTTPError as error:  # e.g. an upload to a folder that does not exist
                self._fail(error_response(error, request), outgoing)
                return
            request.spool = self.spool
        if request.expect_continue and not self.parser.buffer:
            outgoing.append(CONTINUE)  # RFC 9110 §10.1.1: "go on, send it"

    def _body_data(self, data):
        self.spool.write(data)
        self.body_clock.received(self.clock(), len(data))
        if self.spool.needs_spill:
            if self.offload:
                self.work = self._as_work(self._spill)
            else:
                self._spill()

    def _as_work(self, step):
        """`step` as the model's `work`: it clears `work` itself once it has run."""
        def work():
            self.work = None
            step()
        return work

    def _spill(self):
        try:
            self.spool.spill()
        except OSError as error:  # a full disk, say: refuse the upload, keep serving others
            self.response = error_response(storage_error(error), self.request)
            self.close_after = True  # the rest of the body will not be read: framing is lost

    def _handle(self, handler):
        """Run `handler` for the complete request in `self.request`; False if it
        gave no answer (None: `answer_from_memory` needs the disk)."""
        request = self.request
        if self.transmit is not None:
            request.send_now = self._send_now
        try:
            response = handler(request)
        except HTTPError as error:
            response = error_response(error, request)
            self.close_after = error.close
        except Exception:
            self._log_bug(f"handling {request!r}")
            response = error_response(HTTPError(500, "internal server error"), request)
            self.close_after = True
        if response is None:
            return False
        self.response = response
        return True

    def _answered_from_memory(self):
        """For the event loop: answer now if no disk is needed (app.answer_from_memory)."""
        from_memory = self.from_memory
        return (from_memory is not None and self.request.method in SAFE_METHODS
                and self._handle(from_memory))

    def _handle_off_loop(self):
        """The handler, and freeing the body (a file to delete, maybe), on a helper thread."""
        self._handle(self.app.handle)
        body = self.response.body if self.response is not None else None
        if isinstance(body, StreamBody) and not body.finished:
            body.cleanups.append(self._drop_body)  # the application may read it while it streams
        else:
            self._drop_body()

    @property
    def holds_files(self):
        """True when closing may block: it deletes a spooled body (a disk operation),
        or closes an application's unfinished answer (its code, stream.py)."""
        return self.stream is not None or (self.spool is not None and getattr(self.spool, "path", None) is not None)

    def _answer(self, outgoing):
        """Encode the ready response, move on to the next request; bytes queued."""
        request, response = self.request, self.response
        self.response = None
        close = self.closing or self.close_after or not request.keep_alive or self.stopping
        self.close_after = False
        self.requests_served += 1
        if isinstance(response.body, StreamBody):  # the rest is produced piece by piece
            if not response.body.head_sent:
                outgoing.extend(self._send(request, response, close=close))
            self.stream = response.body
            # With bytes queued, this turn ends: they leave before the next piece is asked for.
            return float("inf") if outgoing else 0
        self.closing = close
        items = self._send(request, response, close=close)
        outgoing.extend(items)
        self._next_request()
        last = items[-1]
        if isinstance(last, FileBody):
            return self.limits.output_budget  # one open file at a time is budget enough (0: off)
        return len(last) if len(items) == 1 else len(items[0]) + len(last)

    def _next_request(self):
        """The answer is complete: forget the request, get ready for the next one."""
        self._drop_body()  # whatever the handler did not take
        self.request = None
        self.head_started = self.clock() if self.parser.buffer else None
        if not self.closing:
            self.parser.start_next_request()

    def _stream_step(self, outgoing):
        """Queue what the application produced; ask it for its next piece (as `work`
        when offloaded), or, at its end, finish the request."""
        stream = self.stream
        if not stream.ready and not stream.finished:
            if self.offload:
                self.work = self._as_work(stream.produce)
                return
            stream.produce()
        outgoing.extend(stream.take())
        if stream.finished:
            self.stream = None
            self.closing = self.closing or stream.closes or stream.broken
            if self.access_log is not None:
                self.access_log(self.request.client, self.request, stream.response, stream.size)
            self._next_request()

    def _send_now(self, response):
        """Send `response`, as far as its body is produced, before the handler has
        returned (WSGI's write()): what earlier requests answered first, then its
        head, once. Runs on the handler's thread, which owns the connection now."""
        items = []
        if self.outgoing:
            items.extend(self.outgoing)
            self.outgoing.clear()
        if self.early:
            items.extend(self.early)
            self.early.clear()
        if response.body.head_sent:
            items.extend(response.body.take())
        else:
            close = self.closing or self.close_after or not self.request.keep_alive or self.stopping
            items.extend(self._send(self.request, response, close=close))
        try:
            self.transmit(items)
        except OSError as error:
            raise ClientGone(f"the client is gone: {error}") from error

    def _fail(self, response, outgoing):
        self.closing = True
        outgoing.extend(self._send(self.request, response, close=True))
        self._drop_body()

    def _drop_body(self):
        if self.spool is not None:
            self.spool.discard()
            self.spool = None

    def _log_bug(self, what):
        if self.error_log:
            self.error_log(f"error while {what} for {self.client}:\n{traceback.format_exc()}")

    def _send(self, request, response, close):
        """The wire form of `response`: one bytes object, or head then body.

        A large body (a cached file, say) leaves as its own item, so the bytes
        the cache holds are shared by every response, never copied into each.
        """
        body = response.body
        if isinstance(body, StreamBody):  # logged when it ends, with the size it had
            close = close or body.close_delimited
            body.head_sent, body.closes, body.response = True, close, response
            if (request is not None and request.method == "HEAD") or response.status in (204, 304):
                body.close()
        keep_alive_header = request is not None and request.version == "HTTP/1.0" and not close
        if isinstance(body, StreamBody):
            head = encode_head(response, close=close, keep_alive_header=keep_alive_header)
            return [head, *body.take()]
        if self.access_log is not None:
            client = self.client if request is None else request.client
            self.access_log(client, request, response, response.body_length or 0)
        if response.wire is not None and not close and not keep_alive_header and request.method == "GET":
            return [response.wire]  # kept ready, head and body (filecache.py)
        head = encode_head(response, close=close, keep_alive_header=keep_alive_header)
        if (request is not None and request.method == "HEAD") or response.status in (204, 304):
            if isinstance(body, FileBody):
                body.close()
            return [head]
        if isinstance(body, FileBody) or len(body) > JOIN_LIMIT:
            return [head, body]
        return [head + body]


def storage_error(error):
    """The `HTTPError` for an OSError met while storing a body."""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return HTTPError(507, "no space left to store the body")
    if error.errno in (errno.EMFILE, errno.ENFILE):
        return HTTPError(503, "server busy: too many open files", headers=[("Retry-After", "1")])
    return HTTPError(500, "the body could not be stored")
