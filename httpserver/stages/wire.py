"""The tester's side of a connection: it records every byte and reads responses strictly.

Contract: `Client(sock, origin)` wraps a connected socket (plain or TLS).
`send(data)` sends it all; `read_response(method)` returns the next `Response`
or raises `StageFailure` (no answer in time, closed, reset, or a head that breaks
the message grammar). `closes_within(seconds)` and `extra_bytes(seconds)` say
what the server does after answering. Every send and recv lands in `events` as
(direction "sent"/"received", bytes, seconds since `origin`), so a failure can
show the exact bytes on the wire.

The head of a response is split into lines here (every line must end with
CRLF) and checked by response.py; the framing of the body (Content-Length,
chunked, or until close) is left to `http.client`, the standard library's own
parser, so the tester does not judge framing with a grammar of its own.
"""

import http.client
import socket
import time

from .failure import StageFailure
from .response import Response, check_head

SENT, RECEIVED = "sent", "received"
CONTENT_LENGTH_RULE = "RFC 9110 §8.6 and RFC 9112 §6.3 (Content-Length is the exact size of the body)"
RECEIVE_SIZE = 64 * 1024
MAX_HEAD = 256 * 1024  # a response head longer than this is surely a bug

class Client:
    """A socket that records the bytes both ways and reads responses one by one."""

    def __init__(self, sock, origin, timeout=5.0, label="connection"):
        self.sock = sock
        self.origin = origin
        self.timeout = timeout
        self.label = label
        self.events = []
        self.buffer = bytearray()  # received, not yet handed to a reader
        self.at_eof = False
        self.reset = False  # the stream ended with a reset rather than a close
        self.closed = False  # the tester closed its end

    def _record(self, direction, data):
        self.events.append((direction, bytes(data), time.perf_counter() - self.origin))

    def sent_bytes(self):
        return b"".join(data for direction, data, _ in self.events if direction == SENT)

    def received_bytes(self):
        return b"".join(data for direction, data, _ in self.events if direction == RECEIVED)

    # -- sending ---------------------------------------------------------------

    def send(self, data, expected=None):
        """Send all of `data`; a server that already closed is a StageFailure."""
        self.sock.settimeout(self.timeout)
        try:
            self.sock.sendall(data)
        except OSError as error:
            # Record what we tried to send, so the failure shows it.
            self._record(SENT, data)
            raise StageFailure(f"sending failed: the server had closed the connection ({error})",
                               expected=expected, client=self) from None
        self._record(SENT, data)

    # -- receiving: a file-like object for http.client -------------------------

    def _fill(self, timeout):
        """Receive once into the buffer; False at end of stream (a close, or a reset)."""
        if self.at_eof:
            return False
        if self.closed:
            raise RuntimeError("a stage read from a connection it had closed itself")  # a bug of the tester
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(RECEIVE_SIZE)
        except ConnectionResetError:
            chunk, self.reset = b"", True  # the server (or its kernel) sent RST: no more bytes will come
        self._record(RECEIVED, chunk)
        if not chunk:
            self.at_eof = True
            return False
        self.buffer += chunk
        return True

    def ending(self):
        """How the stream ended, in words: "closed" or "reset" (after at_eof)."""
        return "reset the connection (a TCP RST)" if self.reset else "closed the connection"

    def readline(self, limit=-1):
        while b"\n" not in self.buffer and (limit < 0 or len(self.buffer) < limit):
            if not self._fill(self.timeout):
                break
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if limit >= 0:
            end = min(end, limit)
        return self._take(end)

    def read(self, size=-1):
        while (size is None or size < 0 or len(self.buffer) < size) and self._fill(self.timeout):
            pass
        return self._take(len(self.buffer) if size is None or size < 0 else min(size, len(self.buffer)))

    def readinto(self, target):
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def _take(self, count):
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def makefile(self, *args, **kwargs):  # http.client.HTTPResponse asks its "socket" for a file
        return self

    def close(self):  # http.client closes its file after a body; the connection lives on
        pass

    # -- responses -------------------------------------------------------------

    def read_response(self, method="GET", expected=None, interim=None):
        """The next final response; the status of each 1xx before it is appended to `interim`."""
        fields = None
        try:
            while True:
                head, version, status, reason, fields = self._read_head(expected)
                if not 100 <= status < 200:
                    break
                if interim is not None:
                    interim.append(status)
            response = http.client.HTTPResponse(_Replay(head, self), method=method)
            response.begin()
            body = response.read()
        except socket.timeout:
            names = {name.lower(): value for name, value in fields or ()}
            if "content-length" in names:
                raise StageFailure(
                    f"Content-Length announced {names['content-length']} bytes of body, but only "
                    f"{len(self.buffer)} came in {self.timeout:g} s",
                    expected=expected, client=self, rule=CONTENT_LENGTH_RULE,
                    hint="Count the bytes of the body as sent (after encoding), not the characters "
                         "of a text, and send them all: sock.sendall(), not sock.send(), which may "
                         "send only part.") from None
            if not names.keys() & {"content-length", "transfer-encoding"}:
                raise StageFailure(
                    f"the head came, but the body never ended: with no Content-Length, a body ends only "
                    f"when the connection closes, and it was still open after {self.timeout:g} s",
                    expected=expected, client=self, rule="RFC 9112 §6.3 (message body length)",
                    hint="Send \"Content-Length: <size>\" (0 for no body), or close the connection "
                         "after the response.") from None
            raise StageFailure(f"the chunked body of the answer did not end within {self.timeout:g} s",
                               expected=expected, client=self,
                               rule="RFC 9112 §7.1 (a chunked body ends with a chunk of size 0)") from None
        except http.client.IncompleteRead as error:
            raise StageFailure(f"the server {self.ending()} after {len(error.partial)} bytes of the body, "
                               f"but the response announced {len(error.partial) + (error.expected or 0)}",
                               expected=expected, client=self, rule=CONTENT_LENGTH_RULE,
                               hint="Send the whole body before closing, and count its bytes in "
                                    "Content-Length exactly.") from None
        except (http.client.HTTPException, ValueError) as error:
            raise StageFailure(f"the response could not be parsed: {error!r}",
                               expected=expected, client=self) from None
        except OSError as error:
            raise StageFailure(f"the connection broke while reading the response ({error})",
                               expected=expected, client=self) from None
        return Response(version, status, reason, fields, body, head)

    def read_interim(self, expected=None):
        """The status of the next response head: a 1xx interim response, or a final one (its body unread)."""
        return self._read_head(expected)[2]

    def _read_head(self, expected):
        lines = []
        while True:
            try:
                line = self.readline(MAX_HEAD)
            except socket.timeout:
                if lines or self.buffer:
                    began = len(self.buffer) + sum(len(line) + 2 for line in lines)
                    raise StageFailure(f"an answer began ({began} bytes) but its head did not end within "
                                       f"{self.timeout:g} s",
                                       expected=expected, client=self,
                                       rule="RFC 9112 §2.1 (a head ends with an empty line, CRLF CRLF)",
                                       hint="End the head with an empty line: \"\\r\\n\\r\\n\" after the "
                                            "last field.") from None
                raise StageFailure(f"no answer within {self.timeout:g} s: the connection stayed open and "
                                   "nothing came back", expected=expected, client=self) from None
            if not line.endswith(b"\n"):
                if not self.at_eof:
                    problem = "the response head is far too long (or never ends)"
                elif line or lines:
                    problem = f"the server {self.ending()} in the middle of the response head"
                else:
                    problem = f"the server {self.ending()} without answering"
                raise StageFailure(problem, expected=expected, client=self)
            if not lines and not line.startswith(b"HTTP"):
                raise StageFailure(
                    f"the answer does not begin with a status line: it begins {line[:40]!r}",
                    expected=expected, client=self, rule="RFC 9112 §4 (a response begins with its status-line)",
                    hint="Every answer, errors included, starts with \"HTTP/1.1 <code> <reason>\\r\\n\".")
            if not line.endswith(b"\r\n"):
                raise StageFailure(
                    f"line {len(lines) + 1} of the response head ends with a bare LF (\\n), not CRLF (\\r\\n)",
                    expected=expected, client=self, rule="RFC 9112 §2.1 (every line of a message ends with CRLF)",
                    hint="End each line with \"\\r\\n\", and the head with an empty line \"\\r\\n\".")
            if line == b"\r\n":
                break
            lines.append(line[:-2])
        return (b"\r\n".join(lines) + b"\r\n\r\n",) + check_head(lines, self, expected)

    def closes_within(self, seconds):
        """True when the server closes (or resets) within `seconds`; False if it
        keeps the connection open; bytes when it sends something instead."""
        if self.buffer:
            return bytes(self.buffer)
        try:
            if not self._fill(seconds):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True  # a reset closes too
        return bytes(self.buffer)

    def extra_bytes(self, seconds):
        """Bytes that arrive within `seconds` beyond what has been read (b"" if none, or closed)."""
        try:
            if not self.buffer:
                self._fill(seconds)
        except (socket.timeout, OSError):
            pass
        return bytes(self.buffer)

    def read_until_close(self, seconds):
        """Everything that arrives until the server closes; (bytes, "closed", "reset" or "timeout")."""
        deadline = time.monotonic() + seconds
        outcome = "timeout"
        try:
            while time.monotonic() < deadline:
                if not self._fill(max(0.01, deadline - time.monotonic())):
                    outcome = "reset" if self.reset else "closed"
                    break
        except socket.timeout:
            pass
        except OSError:
            outcome = "reset"
        return bytes(self.buffer), outcome

    def shutdown(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class _Replay:
    """A "socket" for http.client: the head we checked, then the rest of the stream."""

    def __init__(self, head, client):
        self.head = bytearray(head)
        self.client = client

    def makefile(self, *args, **kwargs):
        return self

    def readline(self, limit=-1):
        if self.head:
            end = self.head.find(b"\n") + 1
            line = bytes(self.head[:end])
            del self.head[:end]
            return line
        return self.client.readline(limit)

    def read(self, size=-1):
        assert not self.head, "http.client reads the body only after the whole head"
        return self.client.read(size)

    def readinto(self, target):
        return self.client.readinto(target)

    def close(self):
        pass
