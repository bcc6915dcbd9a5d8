"""Hostile HTTP/2 frames, written by hand: each ends in the right GOAWAY or RST_STREAM,
or the right status, and the server goes on serving everyone else."""

import time

import pytest

pytest.importorskip("h2")

import hpack  # noqa: E402  (installed with h2)

from httpserver.lab.http2_client import HTTP2Client, open_tls  # noqa: E402
from httpserver.lab.http2_frames import PREFACE, describe, frame_bytes, split_frames  # noqa: E402

from conftest import CONCURRENT_MODELS, read_until_closed  # noqa: E402

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4
CANCEL = (8).to_bytes(4, "big")


def request_block(path="/echo/x", extra=()):
    return hpack.Encoder().encode([(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
                                   (":path", path), *extra])


def hostile(server, frames, timeout=5.0):
    """Send the preface, an empty SETTINGS and `frames` in one write; the frames received until close."""
    with open_tls(server, ("h2",), timeout=timeout) as sock:
        assert sock.selected_alpn_protocol() == "h2"
        sock.sendall(PREFACE + frame_bytes(SETTINGS, 0, 0) + b"".join(frames))
        return split_frames(read_until_closed(sock, timeout))


def frames_until(sock, wanted, timeout=5.0):
    """Frames read from `sock` until one satisfies `wanted` (or the server closes, or time runs out)."""
    received, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            piece = sock.recv(65536)
        except OSError:
            break
        if not piece:
            break
        received += piece
        if any(wanted(frame) for frame in split_frames(received)):
            break
    return split_frames(received)


def goaway(frames):
    """The description of the last GOAWAY received (the connection's end), or None."""
    found = [describe(frame) for frame in frames if frame.type == GOAWAY]
    return found[-1] if found else None


def assert_still_serving(server):
    with HTTP2Client(server) as client:
        assert client.get("/echo/alive").body == b"alive"


@pytest.fixture(params=CONCURRENT_MODELS)
def server(request, make_server):
    return make_server(model=request.param, tls=True, http2=True, max_head=4096)


def test_rapid_reset_ends_in_enhance_your_calm(server):
    """CVE-2023-44487: open a stream and cancel it at once, 1000 times."""
    frames = []
    for number in range(1000):
        stream_id = 2 * number + 1
        frames.append(frame_bytes(HEADERS, END_STREAM | END_HEADERS, stream_id, request_block()))
        frames.append(frame_bytes(RST_STREAM, 0, stream_id, CANCEL))
    received = hostile(server, frames)
    assert goaway(received).endswith("ENHANCE_YOUR_CALM")
    answered = sum(1 for line in server.access_log if "/echo/x HTTP/2" in line)
    assert answered < 150  # cancelled streams were never answered, and the budget ran out early
    assert_still_serving(server)


def test_more_streams_than_advertised_ends_the_connection(server):
    """RFC 9113 §5.1.2: SETTINGS_MAX_CONCURRENT_STREAMS is 100; the 101st open stream is an error."""
    frames = [frame_bytes(HEADERS, END_STREAM | END_HEADERS, 2 * n + 1, request_block()) for n in range(101)]
    received = hostile(server, frames)
    assert goaway(received).endswith("PROTOCOL_ERROR")
    assert_still_serving(server)


def test_a_large_header_list_gets_431_and_a_huge_one_ends_the_connection(server):
    big = request_block(extra=[("x-big", "a" * 5000)])  # past max_head=4096
    with open_tls(server, ("h2",)) as sock:
        sock.sendall(PREFACE + frame_bytes(SETTINGS, 0, 0) + frame_bytes(HEADERS, END_STREAM | END_HEADERS, 1, big))
        received = frames_until(sock, lambda frame: frame.type == HEADERS)
    statuses = [hpack.Decoder().decode(f.payload) for f in received if f.type == HEADERS]
    assert statuses and dict(statuses[0])[":status"] == "431"
    huge = request_block(extra=[("x-huge", "a" * 9000)])  # past twice max_head: h2 refuses to decode it
    assert goaway(hostile(server, [frame_bytes(HEADERS, END_STREAM | END_HEADERS, 1, huge)])).endswith(
        "ENHANCE_YOUR_CALM")
    assert_still_serving(server)


def test_a_continuation_flood_ends_the_connection(server):
    """CVE-2024-27316 class: a header block that never ends."""
    block = request_block()
    frames = [frame_bytes(HEADERS, END_STREAM, 1, block[:5])]
    frames += [frame_bytes(CONTINUATION, 0, 1, b"\x00") for _ in range(200)]
    assert goaway(hostile(server, frames)).endswith("PROTOCOL_ERROR")
    assert_still_serving(server)


@pytest.mark.parametrize("kind, payload", [(PING, bytes(8)), (SETTINGS, b"")], ids=["ping", "settings"])
def test_control_frame_floods_end_in_enhance_your_calm(server, kind, payload):
    """CVE-2019-9512 and -9515: every PING and SETTINGS asks for an answer."""
    received = hostile(server, [frame_bytes(kind, 0, 0, payload)] * 3000)
    assert goaway(received).endswith("ENHANCE_YOUR_CALM")
    acks = sum(1 for frame in received if frame.type == kind and frame.flags & 0x1)
    assert acks < 1500  # answered until the budget ran out, not 3,000 times
    assert_still_serving(server)


def test_window_update_overflow_is_a_flow_control_error(server):
    """RFC 9113 §6.9.1: a window above 2^31-1 is FLOW_CONTROL_ERROR, for the connection..."""
    received = hostile(server, [frame_bytes(WINDOW_UPDATE, 0, 0, (2 ** 31 - 1).to_bytes(4, "big"))])
    assert goaway(received).endswith("FLOW_CONTROL_ERROR")
    # ...and for a stream (a stream error: RST_STREAM on that stream, §5.4.2).
    big_file = request_block("/images/logo.png")
    received = hostile(server, [frame_bytes(HEADERS, END_STREAM | END_HEADERS, 1, big_file),
                                frame_bytes(WINDOW_UPDATE, 0, 1, (2 ** 31 - 1).to_bytes(4, "big"))])
    errors = [describe(f) for f in received if f.type in (RST_STREAM, GOAWAY)]
    assert errors and errors[0].endswith("FLOW_CONTROL_ERROR")
    assert_still_serving(server)


def test_http1_bytes_after_choosing_h2_end_in_goaway(server):
    with open_tls(server, ("h2",)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        frames = split_frames(read_until_closed(sock, 5))
    assert goaway(frames).endswith("PROTOCOL_ERROR")
    assert_still_serving(server)


@pytest.mark.parametrize("model", CONCURRENT_MODELS)
def test_an_idle_http2_connection_gets_goaway_no_error(make_server, model):
    server = make_server(model=model, tls=True, http2=True, idle_timeout=1)
    started = time.monotonic()
    with open_tls(server, ("h2",)) as sock:
        sock.sendall(PREFACE + frame_bytes(SETTINGS, 0, 0))
        frames = split_frames(read_until_closed(sock, 8))
    assert goaway(frames).endswith("NO_ERROR")
    assert 0.9 < time.monotonic() - started < 6


@pytest.mark.parametrize("model", CONCURRENT_MODELS)
def test_pings_do_not_keep_an_idle_connection_open(make_server, model):
    server = make_server(model=model, tls=True, http2=True, idle_timeout=1)
    started = time.monotonic()
    with open_tls(server, ("h2",)) as sock:
        sock.sendall(PREFACE + frame_bytes(SETTINGS, 0, 0))
        received = b""
        while time.monotonic() - started < 8:
            time.sleep(0.2)  # a PING every 0.2 s: far below the flood limit, and no request
            try:
                sock.sendall(frame_bytes(PING, 0, 0, bytes(8)))
                sock.settimeout(0.3)
                piece = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not piece:
                break
            received += piece
    assert goaway(split_frames(received)).endswith("NO_ERROR")
    assert time.monotonic() - started < 6


def test_too_many_uploads_at_once_are_refused_streams(make_server):
    """Each upload may hold a file: past 8 at once, RST_STREAM REFUSED_STREAM (safe to retry, §8.7)."""
    server = make_server(model="select", tls=True, http2=True)
    post = hpack.Encoder().encode([(":method", "POST"), (":scheme", "https"), (":authority", "localhost"),
                                   (":path", "/files/up")])
    frames = [frame_bytes(HEADERS, END_HEADERS, 2 * n + 1, post) for n in range(10)]
    with open_tls(server, ("h2",)) as sock:
        sock.sendall(PREFACE + frame_bytes(SETTINGS, 0, 0) + b"".join(frames))
        received = frames_until(sock, lambda frame: frame.stream_id == 19, timeout=3)
    refused = [f.stream_id for f in received if describe(f).endswith("REFUSED_STREAM")]
    assert refused == [17, 19]
    assert_still_serving(server)
