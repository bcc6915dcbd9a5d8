"""A small HTTP/2 client for the chapter and the tests: the h2 library on the client's side.

Contract: `HTTP2Client(server)` opens a TLS connection to a running server,
offering only "h2" in ALPN (`protocols=` changes that), and speaks HTTP/2 with
h2 as the oracle: a server that breaks a rule of RFC 9113 (more DATA than a
window allows, a bad frame) makes h2 raise. `send(...)` starts a request and
returns its stream id; `collect(stream_ids)` reads until those answers are
complete and returns them as `Answer`s, each with the time it completed.
Every byte sent and received is kept, with times (`sent`, `received`), so a
chapter can decode the frames itself (`http2_frames.split_frames`).
`read_delay` reads at most `read_size` bytes per read and sleeps that long
between reads: a slow link, for measuring head-of-line blocking.
`open_tls(server, protocols)` is the raw TLS socket alone, for frames written by hand.
"""

import socket
import ssl
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.settings

from .http2_frames import PREFACE, split_frames


def open_tls(server, protocols=("h2",), timeout=5.0, keylog=None):
    """A TLS socket to `server` (anything with host, port and ca_file), ALPN offering `protocols`."""
    context = ssl.create_default_context(cafile=server.ca_file)
    context.set_alpn_protocols(list(protocols))
    if keylog:
        context.keylog_filename = str(keylog)
    tcp = socket.create_connection((server.host, server.port), timeout=timeout)
    tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as browsers and curl do
    try:
        return context.wrap_socket(tcp, server_hostname="localhost")
    except BaseException:
        tcp.close()
        raise


@dataclass
class Answer:
    """One response: status, header fields (names lower case), body, and when it completed."""

    stream_id: int
    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    completed: float = 0.0  # time.perf_counter() when END_STREAM arrived
    reset: str = ""  # the error code's name, if the server reset the stream


class HTTP2Client:
    """A blocking HTTP/2 client over TLS; see the module docstring."""

    def __init__(self, server, *, protocols=("h2",), settings=None, timeout=5.0, keylog=None,
                 read_size=65536, read_delay=0.0):
        self.sock = open_tls(server, protocols, timeout, keylog)
        self.protocol = self.sock.selected_alpn_protocol()
        self.authority = f"localhost:{server.port}"
        self.timeout = timeout
        self.read_size, self.read_delay = read_size, read_delay
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        if settings:  # e.g. {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1024}
            self.h2.local_settings = h2.settings.Settings(client=True, initial_values=settings)
        self.sent, self.received = [], []  # (time.perf_counter(), bytes)
        self.events = []  # (time.perf_counter(), h2 event)
        self.answers = {}  # stream id → Answer
        self.closed_by_server = None  # the ConnectionTerminated event, if the server sent GOAWAY
        if self.protocol == "h2":
            self.h2.initiate_connection()
            self.flush()

    def send(self, method, path, headers=(), body=b"", flush=True):
        """Start a request; returns its stream id. With flush=False its frames wait for
        the next `flush()`, so that several requests leave in one write."""
        stream_id = self.h2.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", "https"), (":authority", self.authority),
                  (":path", path), *headers]
        if body:
            fields.append(("content-length", str(len(body))))
        self.h2.send_headers(stream_id, fields, end_stream=not body)
        if body:
            self._send_body(stream_id, body)
        self.answers[stream_id] = Answer(stream_id)
        if flush:
            self.flush()
        return stream_id

    def _send_body(self, stream_id, body):
        view = memoryview(body)
        while view:
            room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
            if room == 0:
                self.flush()
                self.read_once()  # wait for the server to open its window
                continue
            self.h2.send_data(stream_id, bytes(view[:room]), end_stream=len(view) <= room)
            view = view[room:]

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sent.append((time.perf_counter(), data))
            self.sock.sendall(data)

    def read_once(self):
        """One read from the socket, fed to h2; False once the server has closed."""
        if self.read_delay:
            time.sleep(self.read_delay)
        data = self.sock.recv(self.read_size)
        now = time.perf_counter()
        if not data:
            return False
        self.received.append((now, data))
        for event in self.h2.receive_data(data):
            self.events.append((now, event))
            self._on_event(now, event)
        self.flush()
        return True

    def _on_event(self, now, event):
        answer = self.answers.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived):
            answer.headers = {name.decode(): value.decode() for name, value in event.headers}
            answer.status = int(answer.headers[":status"])
        elif isinstance(event, h2.events.DataReceived):
            answer.body += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            answer.completed = now
        elif isinstance(event, h2.events.StreamReset) and answer is not None:
            answer.reset, answer.completed = event.error_code.name, now
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.closed_by_server = event

    def collect(self, stream_ids=None, timeout=None):
        """Read until the answers on `stream_ids` (default: all sent) are complete; returns them."""
        wanted = list(self.answers) if stream_ids is None else list(stream_ids)
        deadline = time.monotonic() + (timeout or self.timeout)
        while not all(self.answers[i].completed for i in wanted):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete answer on streams {wanted} in time")
            if self.closed_by_server is not None or not self.read_once():
                break
        return [self.answers[i] for i in wanted]

    def get(self, path, headers=()):
        """One GET, its `Answer`."""
        return self.collect([self.send("GET", path, headers)])[0]

    def timeline(self):
        """Every frame, both ways, in time order: (ms since the first byte sent, from_client, Frame).
        A frame's time is when its last byte was sent or received."""
        rows = []
        for from_client, chunks in ((True, self.sent), (False, self.received)):
            data, ends = b"", []
            for moment, chunk in chunks:
                data += chunk
                ends.append((len(data), moment))
            offset = len(PREFACE) if from_client and data.startswith(PREFACE) else 0
            for frame in split_frames(data):
                offset += 9 + frame.length
                rows.append((next(moment for end, moment in ends if end >= offset), from_client, frame))
        start = min(moment for moment, _ in self.sent)
        rows.sort(key=lambda row: row[0])
        return [((moment - start) * 1000, from_client, frame) for moment, from_client, frame in rows]

    def close(self):
        try:
            if self.protocol == "h2":
                self.h2.close_connection()
                self.flush()
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
