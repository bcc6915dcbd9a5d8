"""A sans-I/O HTTP/1.1 request parser (RFC 9112).

Contract: give it bytes with `receive_data` in any split, one byte at a time
included, and ask `next_event` what they amount to. It never touches a socket and
never blocks. Events, in the order they come for one request:

    NEED_DATA         the bytes so far are not enough; feed more
    Request           a complete request head (method, target, headers, ...)
    Data              some body bytes (zero or more of these)
    END_OF_MESSAGE    the body is complete
    PAUSED            until `start_next_request()`: pipelined requests wait
    CONNECTION_CLOSED the peer closed cleanly between two requests

A request that breaks the protocol raises `HTTPError` with the status it maps to
(400, 411, 413, 414, 431, 501, 505). The parser is strict where leniency lets two
parsers disagree about where a message ends (request smuggling): bare LF, obsolete
line folding, whitespace before a colon, and Content-Length beside
Transfer-Encoding are all refused. The patterns every line is checked against are
in `grammar.py`; the events themselves in `events.py`.
"""

from .config import Limits
from .errors import HTTPError
from .events import CONNECTION_CLOSED, END_OF_MESSAGE, NEED_DATA, PAUSED, Data, Request
from .grammar import (
    ABSOLUTE_FORM, CHUNK_SIZE_LINE, DIGITS, FIELD_LINE, HOST, REQUEST_LINE, field_error,
    request_line_error,
)
from .headers import Headers

__all__ = ["CONNECTION_CLOSED", "END_OF_MESSAGE", "NEED_DATA", "PAUSED", "Data", "Request", "RequestParser"]


MAX_CHUNK_LINE = 4096
BARE_LF = "bare LF in the request head; lines end with CRLF (RFC 9112 §2.2)"
METHODS_WITH_REQUIRED_LENGTH = ("POST", "PUT")

# Parser states.
HEAD, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, DONE, CLOSED = range(8)


# Most requests repeat a head seen before: a browser asks for page after page
# with the same fields, a load generator sends the same bytes again and again.
# A head that parsed cleanly and carries no body is remembered, bytes → request:
# the same bytes always parse the same way, so only accepted heads are kept and
# nothing the grammar refuses ever gets past. Bounded in number and size, since
# clients choose these bytes.
_known_heads = {}  # head bytes → (the Limits they were accepted under, a request to copy)
MAX_KNOWN_HEADS = 1024
LONGEST_KNOWN_HEAD = 1024  # bytes: at most about 1 MiB of heads in all


class RequestParser:
    """Turns a stream of bytes into request events; see the module docstring."""

    def __init__(self, limits=Limits()):
        self.limits = limits
        self.buffer = bytearray()
        self.state = HEAD
        self.eof = False
        self._checked = 0  # how far the head has been checked for bare LF
        self._remaining = 0  # body bytes still to come (length or chunk)
        self._received_body = 0
        self._trailer_size = 0

    # -- feeding ----------------------------------------------------------

    def receive_data(self, data):
        """Add bytes from the peer; b"" means the peer closed its side."""
        if data:
            self.buffer += data
        else:
            self.eof = True

    @property
    def waiting_for(self):
        """What the parser waits for: "idle", "head" or "body" (for timeouts)."""
        if self.state == HEAD:
            return "head" if self.buffer else "idle"
        if self.state in (DONE, CLOSED):
            return "idle"
        return "body"

    @property
    def has_more(self):
        """True when `next_event` may give an event without new bytes: bytes are
        buffered, or a body has just become complete (its last byte was taken)."""
        return bool(self.buffer) or (self.state == BODY_LENGTH and self._remaining == 0)

    def start_next_request(self):
        """After END_OF_MESSAGE, move on to the next (possibly pipelined) request."""
        if self.state != DONE:
            raise RuntimeError("start_next_request() before the request ended")
        self.state = HEAD
        self._checked = 0
        self._received_body = 0
        self._trailer_size = 0

    # -- events -----------------------------------------------------------

    def next_event(self):
        """The next event the buffered bytes allow (see the module docstring)."""
        state = self.state
        if state == HEAD:
            return self._next_head()
        if state == BODY_LENGTH:
            return self._next_body_data()
        if state == DONE:
            return PAUSED
        if state == CLOSED:
            return CONNECTION_CLOSED
        return self._next_chunked()

    def _incomplete(self, what):
        if self.eof:
            raise HTTPError(400, f"connection closed in the middle of the {what}")
        return NEED_DATA

    # -- head (RFC 9112 §2, §3, §5) --------------------------------------

    def _next_head(self):
        buffer = self.buffer
        # §2.2: a server SHOULD ignore empty lines received before the request-line.
        while buffer.startswith(b"\r\n"):
            del buffer[:2]
            self._checked = 0
        if not buffer:
            if self.eof:
                self.state = CLOSED
                return CONNECTION_CLOSED
            return NEED_DATA

        end = buffer.find(b"\r\n\r\n", max(0, self._checked - 3))
        if end == -1:
            # Still incomplete: refuse a bare LF now rather than wait for a
            # CRLF CRLF that a client using bare LFs will never send.
            newline = buffer.find(b"\n", self._checked)
            while newline != -1:
                if newline == 0 or buffer[newline - 1] != 0x0D:
                    raise HTTPError(400, BARE_LF)
                newline = buffer.find(b"\n", newline + 1)
            self._checked = len(buffer)
            if len(buffer) > self.limits.max_request_line and buffer.find(b"\r\n") == -1:
                raise HTTPError(414, "request line too long")
            if len(buffer) > self.limits.max_head:
                raise HTTPError(431, "request header section too large")
            return self._incomplete("request head")

        head_bytes = bytes(buffer[:end])
        del buffer[: end + 4]
        self._checked = 0
        known = _known_heads.get(head_bytes)
        if known is not None and known[0] is self.limits:
            # These very bytes were parsed, checked and accepted before, under these
            # limits, and carried no body: the same head gets the same answer.
            self._remaining = 0
            self.state = BODY_LENGTH
            return known[1].copy()
        head = head_bytes.decode("latin-1")  # one character per byte, none lost (grammar.py)
        request = self._parse_head(head)
        self._choose_framing(request)
        if (self.state == BODY_LENGTH and self._remaining == 0 and not request.expect_continue
                and len(head_bytes) <= LONGEST_KNOWN_HEAD):
            if len(_known_heads) >= MAX_KNOWN_HEADS:
                _known_heads.clear()
            _known_heads[head_bytes] = (self.limits, request.copy())
        return request

    def _parse_head(self, head):
        lines = head.split("\r\n")
        request_line = lines[0]
        if len(request_line) > self.limits.max_request_line:
            raise HTTPError(414, "request line too long")
        if len(head) > self.limits.max_head:
            raise HTTPError(431, "request header section too large")
        if len(lines) - 1 > self.limits.max_fields:
            raise HTTPError(431, f"more than {self.limits.max_fields} header fields")
        # §2.2: every CR and LF in the head must belong to a CRLF line ending.
        # A bare LF would let us disagree with a proxy about where the head ends.
        if head.count("\n") != len(lines) - 1:
            raise HTTPError(400, BARE_LF)
        if head.count("\r") != len(lines) - 1:
            raise HTTPError(400, "bare CR in the request head (RFC 9112 §2.2)")

        parts = REQUEST_LINE.fullmatch(request_line)  # a match object, or None
        if parts is None:
            raise request_line_error(request_line)
        method, target, major, minor = parts.groups()  # the four (...) groups of the pattern
        if major != "1":
            raise HTTPError(505, f"HTTP/{major}.{minor} is not supported; this server speaks HTTP/1.1")
        version = "HTTP/1.0" if minor == "0" else "HTTP/1.1"
        path, query = self._parse_target(method, target)

        headers = Headers([self._parse_field(line) for line in lines[1:]])
        request = Request(method, target, path, query, version, headers)
        self._check_host(request)
        return request

    @staticmethod
    def _parse_target(method, target):
        if target[0] == "/":  # origin-form, the usual case (§3.2.1)
            path, _, query = target.partition("?")
            return path, query
        if target == "*":  # asterisk-form, only for OPTIONS (§3.2.4)
            if method != "OPTIONS":
                raise HTTPError(400, "the target '*' is only allowed with OPTIONS")
            return "*", ""
        absolute = ABSOLUTE_FORM.fullmatch(target)
        if absolute:  # absolute-form, as sent to proxies (§3.2.2)
            scheme = absolute.group(1).lower()
            if scheme not in ("http", "https"):
                raise HTTPError(400, "only http and https URLs can be requested")
            return absolute.group(3) or "/", absolute.group(4) or ""
        if method == "CONNECT":  # authority-form (§3.2.3); refused later with 501
            return "", ""
        raise HTTPError(400, "the request target must start with '/'")

    @staticmethod
    def _parse_field(line):
        """(name, value) of one field line, or the `HTTPError` saying what is wrong."""
        field = FIELD_LINE.fullmatch(line)
        if field is None:
            raise field_error(line)
        name, value = field.groups()
        return name, value.strip(" \t")  # OWS is not part of the value

    @staticmethod
    def _check_host(request):
        # RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is a 400.
        hosts = request.headers.by_name.get("host")
        if hosts is None:
            if request.version == "HTTP/1.1":
                raise HTTPError(400, "missing Host header (required in HTTP/1.1)")
            return
        if len(hosts) > 1:
            raise HTTPError(400, "more than one Host header")
        if not HOST.fullmatch(hosts[0]):
            raise HTTPError(400, "invalid Host header")

    # -- framing (RFC 9112 §6) -------------------------------------------

    def _choose_framing(self, request):
        headers = request.headers
        transfer_encoding = headers.by_name.get("transfer-encoding")
        content_length = headers.by_name.get("content-length")
        if transfer_encoding:
            if request.version == "HTTP/1.0":
                raise HTTPError(400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")
            if content_length:
                raise HTTPError(400, "both Content-Length and Transfer-Encoding; refusing an ambiguous body (RFC 9112 §6.1)")
            codings = [coding.lower() for coding in headers.get_list("transfer-encoding")]
            # §6.3 item 4: unless chunked is the final coding, the body's length cannot
            # be known, so 400 and close, whatever the codings are.
            if not codings or codings[-1] != "chunked":
                raise HTTPError(400, "chunked must be the final transfer coding (RFC 9112 §6.3)")
            # §6.1: a sender MUST NOT apply chunked more than once.
            if codings.count("chunked") > 1:
                raise HTTPError(400, "chunked applied more than once (RFC 9112 §6.1)")
            # §6.1: a coding we do not implement under the final chunked: 501.
            if len(codings) > 1:
                raise HTTPError(501, f"transfer coding {codings[0]!r} is not supported (RFC 9112 §6.1)")
            request.chunked = True
            request.content_length = None
            self.state = CHUNK_SIZE
        elif content_length:
            if len(content_length) > 1:
                raise HTTPError(400, "more than one Content-Length header")
            if not DIGITS.fullmatch(content_length[0]):
                raise HTTPError(400, f"invalid Content-Length {content_length[0][:20]!r}")
            length = int(content_length[0])
            if length > self.limits.max_body:
                raise HTTPError(413, f"request body larger than {self.limits.max_body} bytes")
            request.content_length = length
            self._remaining = length
            self.state = BODY_LENGTH
        else:
            if request.method in METHODS_WITH_REQUIRED_LENGTH:
                raise HTTPError(411, f"{request.method} needs a Content-Length (or chunked) body")
            self._remaining = 0
            self.state = BODY_LENGTH

        # §9.3: HTTP/1.1 keeps the connection open unless told "close";
        # HTTP/1.0 closes it unless told "keep-alive".
        if "connection" in headers.by_name:
            connection = {token.lower() for token in headers.get_list("connection")}
            close = "close" in connection
            request.keep_alive = not close and (request.version == "HTTP/1.1" or "keep-alive" in connection)
        else:
            request.keep_alive = request.version == "HTTP/1.1"
        if "expect" in headers.by_name and request.version == "HTTP/1.1":
            expect = headers.get("expect")
            if expect.lower() != "100-continue":
                raise HTTPError(417, f"unsupported expectation {expect[:40]!r}")
            request.expect_continue = True

    # -- bodies (RFC 9112 §6.2, §7.1) ------------------------------------

    def _next_body_data(self):
        if self._remaining == 0:
            self.state = DONE
            return END_OF_MESSAGE
        buffer = self.buffer
        if not buffer:
            return self._incomplete("request body")
        take = min(self._remaining, len(buffer))
        data = bytes(buffer[:take])
        del buffer[:take]
        self._remaining -= take
        return Data(data)

    def _next_chunked(self):
        """The next event of a chunked body: a loop, never recursion, because a
        client chooses how many chunk and trailer lines are already buffered.
        Consecutive small chunks come out as one `Data`, so a body sent in
        2-byte chunks costs no Python object per chunk once parsed."""
        buffer = self.buffer
        pieces = []  # data of the chunks parsed in this call
        while True:
            state = self.state
            if state == CHUNK_DATA:
                if not buffer:
                    break
                take = min(self._remaining, len(buffer))
                pieces.append(bytes(buffer[:take]))
                del buffer[:take]
                self._remaining -= take
                if self._remaining:
                    break  # the rest of this chunk has not arrived yet
                self.state = CHUNK_END
                continue
            if state == CHUNK_END:
                if len(buffer) < 2:
                    break
                if buffer[:2] != b"\r\n":
                    raise HTTPError(400, "chunk data not followed by CRLF")
                del buffer[:2]
                self.state = CHUNK_SIZE
                continue
            if pieces and state == TRAILER:
                break  # hand over the data first; the trailer comes next call
            line_end = buffer.find(b"\r\n", 0, MAX_CHUNK_LINE + 2)
            if line_end == -1:
                if len(buffer) > MAX_CHUNK_LINE:
                    raise HTTPError(400, "chunk size or trailer line too long")
                break
            line = bytes(buffer[:line_end])
            del buffer[: line_end + 2]
            if state == TRAILER:
                if not line:
                    self.state = DONE
                    return END_OF_MESSAGE
                self._trailer_size += len(line) + 2
                if self._trailer_size > self.limits.max_head:
                    raise HTTPError(431, "trailer section too large")
                self._parse_field(line.decode("latin-1"))  # validated, then dropped: we use no trailers
                continue
            size_line = CHUNK_SIZE_LINE.fullmatch(line)
            if not size_line:
                raise HTTPError(400, "invalid chunk size line")
            size = int(size_line.group(1), 16)
            if size == 0:
                self.state = TRAILER
                continue
            self._received_body += size
            if self._received_body > self.limits.max_body:
                raise HTTPError(413, f"request body larger than {self.limits.max_body} bytes")
            self._remaining = size
            self.state = CHUNK_DATA
        if pieces:
            return Data(pieces[0] if len(pieces) == 1 else b"".join(pieces))
        return self._incomplete("chunked body")
