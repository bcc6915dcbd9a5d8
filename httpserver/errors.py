"""The two kinds of error, as h11 separates them.

`HTTPError`: the peer broke the protocol or asked for something we refuse. It
carries the status code it maps to, and the connection turns it into a response
at one boundary (`httpserver.connection`). `close` says whether the connection
can go on afterwards: after a framing error it cannot, because we no longer know
where the next request starts.

A bug in our own code is any other exception; it becomes a 500 at the same
boundary and is logged, never sent to the client as a traceback.
"""


class HTTPError(Exception):
    """A request we answer with an error status and a short plain-text reason."""

    def __init__(self, status, reason, *, close=True, headers=()):
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.close = close
        self.headers = list(headers)
