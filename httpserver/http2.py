"""One HTTP/2 connection, without I/O: frames in, frames out, the same application behind.

Contract: `HTTP2Connection` is a drop-in for `Connection` (connection.py), made
by `alpn.negotiated` once TLS has agreed on "h2": the model calls
`receive(data)`, sends what comes back (bytes only), calls `process()` while
`has_more`, runs `work` when one is left, `timed_out()` when its timer runs out
and `close()` at the end. The frames themselves are the h2 library's (python-
hyper's sans-I/O HTTP/2, as h11 is for HTTP/1.1): it decodes frames and HPACK,
keeps each stream's state and the flow-control windows, and raises
`ProtocolError` with the error code of the GOAWAY it has queued. This module
turns its events into `Request`s for `app.handle`, and `Response`s into HEADERS
and DATA frames.

What one client can cost stays bounded, as in HTTP/1.1 (chapter 08):
- streams: at most MAX_STREAMS open (SETTINGS_MAX_CONCURRENT_STREAMS, RFC 9113
  §5.1.2; h2 ends a connection that opens more);
- output: DATA leaves only as the peer's windows allow (§5.2), round-robin
  among streams, at most `output_budget` bytes and ANSWERS_PER_TURN answers per
  turn; the model reads no more from a client until its output has gone;
- header blocks: SETTINGS_MAX_HEADER_LIST_SIZE is `max_head`; a larger list gets
  431 on its stream, one past twice that ends the connection (h2's HPACK
  decoder), and h2 refuses a header block of more than 64 CONTINUATION frames;
- floods: streams the client resets (CVE-2023-44487, "rapid reset") and frames
  that ask for work but carry no request (PING, SETTINGS, PRIORITY, empty DATA,
  unknown types: CVE-2019-9512/9515/9518) each draw on a budget that refills
  with time; an empty budget ends the connection with GOAWAY ENHANCE_YOUR_CALM.
"""

import collections
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from .body import UNLIMITED
from .config import Limits
from .connection import ANSWERS_PER_TURN, storage_error
from .http2_streams import Allowance, FrameInput, Stream

MAX_STREAMS = 100  # concurrent streams a client may open (what most servers advertise)
MAX_UPLOADS = 8  # of which sending a body (each may hold a spool file); more are refused
STREAM_WINDOW = 256 * 1024  # how much of each request body may be in flight
CONNECTION_WINDOW = 1024 * 1024  # ...and of all of them together
RESETS = (100, 10.0)  # streams a client may cancel at once, and per second after that
DRAIN = 64 * 1024  # body bytes read and dropped after an early answer, before RST_STREAM
IDLE_FRAMES = (1000, 100.0)  # frames that carry no request: at once, and per second
READ_AHEAD = 256 * 1024  # a file answer's bytes read at once by a helper thread (select model)


class HTTP2Connection:
    """The HTTP/2 state of one connection: h2's, and each stream's request and answer."""

    def __init__(self, app, *, limits=Limits(), client=None, secure=True,
                 access_log=None, error_log=None, offload=False, storage=UNLIMITED):
        self.app, self.limits, self.client, self.secure = app, limits, client, secure
        self.access_log, self.error_log, self.offload = access_log, error_log, offload
        self.storage = storage  # the memory budget and disk floor all bodies share (body.py)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_inbound_headers=True))
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values={
            SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            SettingCodes.MAX_HEADER_LIST_SIZE: limits.max_head,
            SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
            SettingCodes.ENABLE_PUSH: 0})
        # Past our own 431 limit the request is answered; past twice that, h2 ends the connection.
        self.h2.decoder.max_header_list_size = 2 * limits.max_head
        self.h2.initiate_connection()  # our SETTINGS: the server's connection preface (§3.4)
        self.h2.increment_flow_control_window(CONNECTION_WINDOW - 65535)  # §6.9.2: 65,535 at first
        self.parser = FrameInput()  # the models ask `parser.eof`, as of an HTTP/1.1 connection
        self.output_budget = limits.output_budget or float("inf")
        self.answers_per_turn = ANSWERS_PER_TURN if limits.output_budget else float("inf")
        self.clock = time.monotonic
        self.resets = Allowance(*RESETS, self.clock)
        self.idle_frames = Allowance(*IDLE_FRAMES, self.clock)
        self.streams = {}  # stream id → Stream, until its answer has gone or it is reset
        self.ready = collections.deque()  # streams whose request is complete, in arrival order
        self.sending = collections.deque()  # streams with body left to send, round-robin
        self.disk = []  # disk steps (spills, file reads) waiting to be left in `work`
        self.work = None
        self.worked = False  # `work` has run since the last `process()`
        self.closing = False
        self.requests_served = 0
        self.quiet_since = self.clock()  # when the last stream ended: the idle timeout counts from here

    # -- the contract shared with Connection ------------------------------------

    def receive(self, data):
        """Feed bytes from the peer (b"" at end of stream); returns what to send."""
        if not data:
            self.parser.eof = self.closing = True
            return []
        if self.closing:
            return []  # GOAWAY has gone: what follows is read only to be dropped
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as error:
            # The peer broke the protocol: h2 has queued GOAWAY with the error's code
            # (§5.4.1), except for a wrong preface, which it refuses before any frame.
            closed = self.h2.state_machine.state is h2.connection.ConnectionState.CLOSED
            self._close_with(None if closed else error.error_code)
            return self._outgoing()
        for event in events:
            self._on_event(event)
            if self.closing:
                break
        return self.process()

    @property
    def idle(self):
        """True when no stream is open and nothing waits to be sent or run: closing
        the connection to make room for another client loses nothing."""
        return not (self.streams or self.ready or self.sending or self.disk or self.work or self.closing)

    @property
    def holds_files(self):
        """True when closing will delete a spooled body (a disk operation)."""
        return any(getattr(stream.spool, "path", None) is not None for stream in self.streams.values())

    @property
    def has_more(self):
        """True when `process()` may give more without new bytes from the peer."""
        if self.closing or self.work is not None:
            return False
        if self.ready or self.worked:  # a step run by the model may have left frames in h2
            return True
        if self.sending and self.h2.outbound_flow_control_window > 0:
            return any(self.h2.local_flow_control_window(stream.id) > 0 for stream in self.sending)
        return False

    def process(self):
        """Answer complete requests and send body data as windows allow; returns bytes to send."""
        budget, turns = self.output_budget, self.answers_per_turn
        self.worked = False
        while not self.closing and self.work is None and budget > 0:
            if self.disk:
                self.work = self._as_work(self._run_disk_steps)
                break
            if self.ready and turns:
                stream = self.ready.popleft()
                if stream.reset:
                    continue
                if self.offload and stream.response is None and not stream.answer_from_memory(
                        self.app, self.error_log, self.client):
                    self.work = self._as_work(lambda stream=stream: self._handle(stream))  # it may wait on a disk
                    break
                self._handle(stream)
                turns -= 1
                continue
            sent = self._send_bodies(budget)
            if not sent:
                break
            budget -= sent
        return self._outgoing()

    def timed_out(self):
        """The timer ran out: 408 on streams still waiting for their request, then GOAWAY."""
        for stream in list(self.streams.values()):
            if not stream.request_ended and not stream.queued:
                stream.refuse(408, "request not received in time")
                self._start_response(stream)
        self._send_bodies(self.output_budget)
        self._close_with(ErrorCodes.NO_ERROR)
        return self._outgoing()

    def deadline(self, now):
        """When the current wait ends (`now`: the time of the last bytes received)."""
        if any(not stream.request_ended for stream in self.streams.values()):
            return now + self.limits.body_timeout  # a request body is on its way
        if self.sending or self.ready:
            return now + self.limits.body_timeout  # the client must read (open its window) by then
        # Idle: PINGs and SETTINGS do not count as activity, so they cannot keep us waiting forever.
        return self.quiet_since + self.limits.idle_timeout

    def close(self):
        """The connection is over: drop bodies received and files not yet sent."""
        for stream in self.streams.values():
            stream.drop()
        self.streams.clear()
        self.sending.clear()
        self.ready.clear()

    # -- h2's events ---------------------------------------------------------------

    def _on_event(self, event):
        kind = type(event)
        if kind is h2.events.RequestReceived:
            self._request(event)
        elif kind is h2.events.DataReceived:
            self._data(event)
        elif kind is h2.events.StreamEnded:
            self._request_ended(event.stream_id)
        elif kind is h2.events.StreamReset:
            self._reset(event.stream_id)
        elif kind is h2.events.ConnectionTerminated:
            # The client's GOAWAY. h2 sends nothing after one (not even the answers to
            # streams it had opened before), so the connection ends here.
            self.closing = True
        elif kind in (h2.events.PingReceived, h2.events.RemoteSettingsChanged,
                      h2.events.PriorityUpdated, h2.events.UnknownFrameReceived):
            self._idle_frame()

    def _request(self, event):
        has_body = event.stream_ended is None  # END_STREAM on the HEADERS frame: no body
        if has_body and sum(1 for s in self.streams.values() if not s.request_ended) >= MAX_UPLOADS:
            # §8.7: REFUSED_STREAM tells the client nothing was done, so it may retry.
            self.h2.reset_stream(event.stream_id, ErrorCodes.REFUSED_STREAM)
            return
        self.quiet_since = None
        stream = Stream(event.stream_id)
        self.streams[stream.id] = stream
        stream.start(event.headers, self.limits, self.app, self.client, self.secure, has_body, self.storage)
        if stream.response is not None:
            self._queue(stream)  # refused from its head alone: answer now
        elif has_body and stream.request.expect_continue:
            self.h2.send_headers(stream.id, [(":status", "100")])  # RFC 9110 §10.1.1

    def _data(self, event):
        stream = self.streams.get(event.stream_id)
        # §6.9: received bytes count against the windows until we say we took them.
        self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        if not event.data and event.stream_ended is None:
            self._idle_frame()  # an empty DATA frame asks for work and brings nothing (CVE-2019-9518)
        if stream is None:
            return
        if stream.queued:  # answered already: the rest of the body is dropped...
            stream.received += len(event.data)
            if stream.done_sending and stream.received > stream.drain_limit:
                # ...up to a point; then §8.1: ask the client to stop sending it.
                self.h2.reset_stream(stream.id, ErrorCodes.NO_ERROR)
                self._forget(stream)
            return
        if not stream.body_data(event.data, self.limits):
            self._queue(stream)  # too large: answer 413 now
        elif stream.spool is not None and stream.spool.needs_spill:
            if self.offload:
                self.disk.append(lambda: self._spill(stream))
            else:
                self._spill(stream)

    def _request_ended(self, stream_id):
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.request_ended = True
            if not stream.queued:
                self._queue(stream)
            elif stream.done_sending:  # answered early, and now the request is over too
                self._forget(stream)

    def _queue(self, stream):
        stream.queued = True
        self.ready.append(stream)

    def _reset(self, stream_id):
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return
        stream.reset = True
        stream.drop()
        if stream in self.sending:
            self.sending.remove(stream)
        self._stream_over()
        if not self.resets.take():
            self._close_with(ErrorCodes.ENHANCE_YOUR_CALM)

    def _idle_frame(self):
        if not self.idle_frames.take():
            self._close_with(ErrorCodes.ENHANCE_YOUR_CALM)

    # -- answering -----------------------------------------------------------------

    def _handle(self, stream):
        if stream.response is None:
            stream.handle(self.app, self.error_log, self.client)
        self._start_response(stream)

    def _start_response(self, stream):
        """HEADERS now; the body is sent by `_send_bodies` as the windows open."""
        self.requests_served += 1
        fields, has_body = stream.response_head()
        if self.access_log is not None:
            self.access_log(self.client, stream.request, stream.response, stream.response.body_length)
        self.h2.send_headers(stream.id, fields, end_stream=not has_body)
        if has_body:
            self.sending.append(stream)
        else:
            self._sent_all(stream)

    def _send_bodies(self, budget):
        """DATA frames for streams with body left, one frame each in turn; returns bytes sent."""
        h2_connection, sent = self.h2, 0
        progress = True
        while progress and self.sending and sent < budget:
            progress = False
            for _ in range(len(self.sending)):
                stream = self.sending.popleft()
                room = min(h2_connection.local_flow_control_window(stream.id),
                           h2_connection.max_outbound_frame_size, budget - sent)
                if room <= 0:
                    self.sending.append(stream)
                    continue
                if self.offload and stream.needs_reading:  # a file's next bytes: read on a helper
                    self.sending.append(stream)
                    if not stream.reading:
                        stream.reading = True
                        self.disk.append(lambda stream=stream: stream.read_ahead(READ_AHEAD))
                    continue
                chunk = stream.take(room)
                h2_connection.send_data(stream.id, chunk, end_stream=stream.done_sending)
                sent += len(chunk)
                progress = True
                if stream.done_sending:
                    self._sent_all(stream)
                else:
                    self.sending.append(stream)
                if sent >= budget:
                    break
        return sent

    def _sent_all(self, stream):
        if stream.request_ended:
            self._forget(stream)
        else:
            # Answered before the request was over (a 405, a 413): the rest of the body is
            # read and dropped, up to DRAIN bytes more, so a client that sends a short body
            # anyway ends its stream normally (curl counts an early RST_STREAM as a failure).
            stream.drain_limit = stream.received + DRAIN

    def _forget(self, stream):
        stream.drop()
        self.streams.pop(stream.id, None)
        self._stream_over()

    def _stream_over(self):
        if not self.streams:
            self.quiet_since = self.clock()

    # -- disk work, and the end ----------------------------------------------------

    def _spill(self, stream):
        if stream.reset or stream.spool is None:
            return
        try:
            stream.spool.spill()
        except OSError as error:  # a full disk: refuse this upload, keep the others
            stream.refuse_with(storage_error(error))
            if not stream.queued:
                self._queue(stream)

    def _run_disk_steps(self):
        steps, self.disk = self.disk, []
        for step in steps:
            step()

    def _as_work(self, step):
        def work():
            self.work = None
            step()
            self.worked = True
        return work

    def _close_with(self, error_code):
        """Queue GOAWAY with `error_code` (None: h2 has queued one already) and stop.
        What is left to send is collected by whoever returns to the model."""
        if error_code == ErrorCodes.ENHANCE_YOUR_CALM:
            # A flood: drop the answers h2 has queued to it in this batch (PING and SETTINGS ACKs).
            self.h2.clear_outbound_data_buffer()
        if error_code is not None and self.h2.state_machine.state is not h2.connection.ConnectionState.CLOSED:
            self.h2.close_connection(error_code, last_stream_id=self.h2.highest_inbound_stream_id)
        self.closing = True

    def _outgoing(self):
        data = self.h2.data_to_send()
        return [data] if data else []

