"""A response body that an application produces piece by piece (a WSGI iterable).

Contract: `produce()` asks the application for its next piece and frames it for
the wire; `take()` hands the framed bytes to the connection, which sends them.
The connection asks for the next piece only when everything taken before has
been sent, as PEP 3333 requires ("completing the transmission of each bytestring
before requesting another one"). That rule is also our back-pressure: however
fast an application produces, a client that reads slowly holds one piece of our
memory, and no thread: between pieces the application is simply not asked.

`produce()` runs application code, so the event loop runs it on a helper thread
(`Connection.work`); the other models run it on the connection's own thread.

Framing, chosen when the head is written (RFC 9112 §6):

- LENGTH: the application gave Content-Length. No more than that is sent; if it
  gives less, the connection closes, so the client sees the answer was cut.
- CHUNKED: HTTP/1.1 without Content-Length: each piece is one chunk, and the
  last chunk (`0`) ends the body, so the connection can stay open.
- CLOSE: HTTP/1.0 without Content-Length: the end of the body is the end of the
  connection, the only way an HTTP/1.0 client can tell.
- None: no body goes out at all (HEAD, 204, 304); what is produced is dropped.

At the end (`finished`) the application's iterable has been closed, whether it
ran out, failed, or the client left (`close()`), as PEP 3333 requires. A stream
that failed midway is `broken`: what was produced is sent, then the connection
closes without the last chunk, so the client knows the answer is incomplete.
"""

import traceback

LENGTH, CHUNKED, CLOSE = "length", "chunked", "close"
LAST_CHUNK = b"0\r\n\r\n"


class ClientGone(OSError):
    """Raised in the application by write() when the client has left."""


class StreamBody:
    """The rest of an application's answer, pulled one piece at a time."""

    def __init__(self, framing, length=None, on_error=None):
        self.framing = framing
        self.length = length if framing in (LENGTH, None) else None  # what Content-Length says
        self.remaining = length  # LENGTH: bytes still owed to the client
        self.on_error = on_error  # callable(text) for the error log (a traceback, once)
        self.context = None  # the contextvars.Context the application was called in
        self.entered = False  # True while a step runs in it
        self.iterator = None  # the application's iterable, once it has returned one
        self.iterable = None  # the object whose close() we must call
        self.cleanups = []  # run once at the end: the request body's reader, say
        self.ready = []  # framed bytes waiting to be taken
        self.size = 0  # body bytes produced (framing not counted), for the access log
        self.response = None  # the Response this is the body of (set with head_sent)
        self.head_sent = False  # set by the connection once the head is on its way
        self.closes = False  # set by the connection: the connection closes at the end
        self.finished = False
        self.broken = False

    @property
    def close_delimited(self):
        """True when only closing the connection can end this body."""
        return self.framing == CLOSE

    # -- the application's side (its thread) --------------------------------

    def attach(self, iterable, iterator):
        """The application returned: pull the rest of the body from `iterator`."""
        self.iterable, self.iterator = iterable, iterator

    def push(self, data):
        """Frame one piece of body; False once Content-Length is reached (the rest is cut)."""
        if self.framing is None:
            return True
        if self.framing == LENGTH:
            if len(data) > self.remaining:
                data = data[:self.remaining]
            self.remaining -= len(data)
        if not data:
            return self.remaining != 0
        self.size += len(data)
        if self.framing == CHUNKED:
            self.ready.append(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.ready.append(data)
        return self.remaining != 0

    def produce(self):
        """Ask the application for its next piece (or for the end); frame it."""
        if self.finished:
            return
        self._in_context(self._produce)

    def _produce(self):
        try:
            for data in self.iterator:
                if type(data) is not bytes:
                    raise TypeError(f"the application yielded {type(data).__name__}, not bytes (PEP 3333)")
                if data:
                    if not self.push(data):
                        return self.end()  # Content-Length reached: stop asking
                    return  # one piece at a time
        except Exception:
            return self.fail("producing a response body")
        self.end()

    def end(self):
        """The application has no more to give: close it, then end the body."""
        if self.finished:
            return
        if self.framing == LENGTH and self.remaining:
            self.broken = True
            self._report(f"the application's body ended {self.remaining} bytes short of its Content-Length")
        self.close()
        if not self.broken and self.framing == CHUNKED:
            self.ready.append(LAST_CHUNK)

    def fail(self, what):
        """The application raised: log it once, close it, and cut the answer short."""
        self.broken = True
        self._report(f"error while {what} (the answer was cut short):\n{traceback.format_exc()}")
        self.close()

    def close(self):
        """Close the application's iterable (PEP 3333: always, exactly once) and
        run the cleanups; the stream is finished from now on."""
        if self.finished:
            return
        self.finished = True
        self._in_context(self._close)

    def _in_context(self, step):
        """Run `step` in the application's context (once: not again from inside it)."""
        if self.context is None or self.entered:
            return step()
        self.entered = True
        try:
            self.context.run(step)
        finally:
            self.entered = False

    def _close(self):
        try:
            if self.iterable is not None and hasattr(self.iterable, "close"):
                self.iterable.close()
        except Exception:
            self.broken = True
            self._report_traceback("closing the application's iterable")
        finally:
            self.iterator = self.iterable = None
            for cleanup in self.cleanups:
                cleanup()
            self.cleanups = []

    def _report_traceback(self, what):
        self._report(f"error while {what}:\n{traceback.format_exc()}")

    def _report(self, text):
        if self.on_error is not None:
            self.on_error(text)

    # -- the connection's side ------------------------------------------------

    def take(self):
        """The framed bytes produced since the last call, to send in order."""
        ready, self.ready = self.ready, []
        return ready


class UnsentBody:
    """No bytes, but a length to announce: the answer to HEAD (RFC 9110 §9.3.2),
    which says what GET would send (`length`; None: not known, so not said)."""

    __slots__ = ("length",)

    def __init__(self, length):
        self.length = length
