"""The request parser on bytes alone: no sockets, any split of the input."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpserver.config import Limits
from httpserver.errors import HTTPError
from httpserver.parser import (
    CONNECTION_CLOSED, END_OF_MESSAGE, NEED_DATA, PAUSED, Data, Request, RequestParser,
)


def events_of(data, *, split=None, limits=Limits(), eof=False):
    """Feed `data` (in pieces of `split` bytes if given) and collect every event."""
    parser = RequestParser(limits)
    pieces = [data] if split is None else [data[i : i + split] for i in range(0, len(data), split)]
    events = []
    for piece in pieces + ([b""] if eof else []):
        parser.receive_data(piece)
        while True:
            event = parser.next_event()
            if event is NEED_DATA or event is CONNECTION_CLOSED:
                break
            if event is PAUSED:
                parser.start_next_request()
                continue
            events.append(event)
    return events


def requests_of(data, **options):
    """[(request, body)] for every complete request in `data`."""
    result, body = [], b""
    for event in events_of(data, **options):
        if isinstance(event, Request):
            current, body = event, b""
        elif isinstance(event, Data):
            body += event.data
        elif event is END_OF_MESSAGE:
            result.append((current, body))
    return result


def status_of(data, **options):
    with pytest.raises(HTTPError) as caught:
        events_of(data, **options)
    return caught.value.status


SIMPLE = b"GET /echo/abc?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\nX-A: 1\r\nx-a: 2\r\n\r\n"


def test_a_simple_request_is_parsed():
    [(request, body)] = requests_of(SIMPLE)
    assert (request.method, request.path, request.query, request.version) == ("GET", "/echo/abc", "x=1", "HTTP/1.1")
    assert request.headers.get("HOST") == "localhost"
    assert request.headers.get_all("x-a") == ["1", "2"]  # repeated fields kept, in order
    assert request.keep_alive and body == b""


@pytest.mark.parametrize("split", [1, 2, 3, 7, 64])
def test_any_split_gives_the_same_requests(split):
    data = SIMPLE + b"POST /files/a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + \
        b"PUT /files/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
    whole = [(r.method, r.path, b) for r, b in requests_of(data)]
    pieces = [(r.method, r.path, b) for r, b in requests_of(data, split=split)]
    assert whole == pieces == [("GET", "/echo/abc", b""), ("POST", "/files/a", b"hello"), ("PUT", "/files/b", b"abcde")]


def test_parser_waits_for_more_and_reports_clean_close():
    parser = RequestParser()
    parser.receive_data(b"GET / HTTP/1.1\r\nHo")
    assert parser.next_event() is NEED_DATA
    assert parser.waiting_for == "head"
    parser.receive_data(b"st: x\r\n\r\n")
    assert isinstance(parser.next_event(), Request)
    assert parser.next_event() is END_OF_MESSAGE
    assert parser.next_event() is PAUSED  # until the response to this one is out
    parser.start_next_request()
    assert parser.waiting_for == "idle"
    parser.receive_data(b"")
    assert parser.next_event() is CONNECTION_CLOSED


def test_leading_empty_lines_are_ignored():
    [(request, _)] = requests_of(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert request.path == "/"


def test_http10_keep_alive_only_when_asked():
    [(plain, _)] = requests_of(b"GET / HTTP/1.0\r\n\r\n")
    [(asked, _)] = requests_of(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    [(closing, _)] = requests_of(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n")
    assert (plain.keep_alive, asked.keep_alive, closing.keep_alive) == (False, True, False)


def test_absolute_form_and_asterisk_form():
    [(absolute, _)] = requests_of(b"GET http://example.com/a/b?q HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert (absolute.path, absolute.query) == ("/a/b", "q")
    [(star, _)] = requests_of(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
    assert star.path == "*"


def test_expect_100_continue_is_noticed():
    [(request, body)] = requests_of(b"PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok")
    [(_, chunked)] = requests_of(b"PUT /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"2 ; name=value\r\nok\r\n0\r\n\r\n")
    assert chunked == b"ok"  # whitespace before an extension's ";" is allowed (BWS)
    assert request.expect_continue and body == b"ok"


@pytest.mark.parametrize("data, status", [
    (b"GET / HTTP/1.1\nHost: x\n\n", 400),  # bare LF (RFC 9112 §2.2)
    (b"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400),  # bare CR
    (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host in HTTP/1.1
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),  # an IP literal's brackets close (RFC 3986 §3.2.2)
    (b"GET / HTTP/1.1\r\nHost: a]b:80\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", 400),  # one port at most
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),  # whitespace before colon
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),  # obs-fold
    (b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n", 400),
    (b"GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
    (b"GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
    (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411),
    (b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n", 411),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nx", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    # RFC 9112 §6.3 item 4: codings that do not end in chunked leave the length unknown: 400.
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400),
    # RFC 9112 §6.1: an unknown coding under a final chunked is understood framing, unknown content: 501.
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked, chunked\r\n\r\n0\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n", 400),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 417),
])
def test_malformed_requests_get_the_right_status(data, status):
    assert status_of(data) == status
    assert status_of(data, split=1) == status  # found the same way byte by byte


@pytest.mark.parametrize("data, reason", [
    # The fast patterns refuse these; the slow path must still name the rule broken.
    (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "malformed request line"),
    (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "invalid method name"),
    (b"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", "invalid characters in the request target"),
    (b"GET /\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", "invalid characters in the request target"),
    (b"GET /a{b} HTTP/1.1\r\nHost: x\r\n\r\n", "invalid characters in the request target"),  # not in RFC 3986
    (b"GET /a|b HTTP/1.1\r\nHost: x\r\n\r\n", "invalid characters in the request target"),
    (b"GET / http/1.1\r\nHost: x\r\n\r\n", "malformed HTTP version"),
    (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", "HTTP/3.0 is not supported"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "obsolete line folding"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", "without a colon"),
    (b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", "whitespace between a header name and its colon"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nA(b: 1\r\n\r\n", "invalid header field name"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", "invalid header field name"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\x7f\r\n\r\n", "control character in a header field value"),
])
def test_errors_name_the_rule_that_was_broken(data, reason):
    with pytest.raises(HTTPError) as caught:
        events_of(data)
    assert reason in caught.value.reason


def test_field_values_keep_obs_text_and_lose_only_surrounding_whitespace():
    data = b"GET / HTTP/1.1\r\nHost: x\r\nX-Name: \t caf\xe9 au lait \t\r\n\r\n"
    [(request, _)] = requests_of(data)
    assert request.headers.get("x-name") == "caf\xe9 au lait"  # Latin-1: byte 0xE9 is "é"


def test_size_limits():
    limits = Limits(max_request_line=100, max_head=1000, max_fields=5, max_body=10)
    assert status_of(b"GET /" + b"a" * 200, limits=limits) == 414  # before the line even ends
    assert status_of(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", limits=limits) == 414
    assert status_of(b"GET / HTTP/1.1\r\nHost: x\r\nA: " + b"b" * 2000, limits=limits) == 431
    many = b"".join(b"F%d: v\r\n" % i for i in range(6))
    assert status_of(b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n", limits=limits) == 431
    # A declared body over the limit is refused before one byte of it is read.
    assert status_of(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits=limits) == 413
    assert status_of(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n", limits=limits) == 413


def test_end_of_stream_inside_a_request_is_an_error():
    assert status_of(b"GET / HTTP/1.1\r\nHost: x\r\n", eof=True) == 400
    assert status_of(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab", eof=True) == 400


def test_pipelined_requests_wait_their_turn():
    parser = RequestParser()
    parser.receive_data(SIMPLE + SIMPLE)
    assert isinstance(parser.next_event(), Request)
    assert parser.next_event() is END_OF_MESSAGE
    assert parser.next_event() is PAUSED
    parser.start_next_request()
    assert isinstance(parser.next_event(), Request)


def test_agrees_with_h11_on_valid_requests():
    """h11, an independent parser, reads the same method, target, headers and body."""
    h11 = pytest.importorskip("h11")
    data = (b"POST /files/x?y=1 HTTP/1.1\r\nHost: example\r\nContent-Type: a/b\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n")
    theirs = h11.Connection(h11.SERVER)
    theirs.receive_data(data)
    head = theirs.next_event()
    their_body = b""
    while True:
        event = theirs.next_event()
        if isinstance(event, h11.Data):
            their_body += event.data
        else:
            break
    [(ours, our_body)] = requests_of(data)
    assert ours.method.encode() == head.method and ours.target.encode() == head.target
    assert [(n.lower(), v) for n, v in ours.headers] == [(n.decode(), v.decode()) for n, v in head.headers]
    assert our_body == their_body == b"wikipedia"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=50))
def test_arbitrary_bytes_never_crash_or_hang(data, split):
    """Whatever arrives, the parser ends in an event or an HTTPError, in bounded steps."""
    parser = RequestParser(Limits(max_request_line=200, max_head=400, max_body=300))
    try:
        for start in range(0, len(data) + 1, split):
            parser.receive_data(data[start : start + split] or b"")
            for _ in range(1000):  # far more steps than 600 bytes can need
                event = parser.next_event()
                if event is NEED_DATA or event is CONNECTION_CLOSED:
                    break
                if event is PAUSED:
                    parser.start_next_request()
            else:
                pytest.fail("parser looped without asking for data")
    except HTTPError as error:
        assert 400 <= error.status < 600


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    b"GET / HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n", b"Content-Length: 3\r\n", b"abc",
    b"Transfer-Encoding: chunked\r\n", b"3\r\n", b"0\r\n", b"POST /f HTTP/1.1\r\n", b" ", b"\n", b":",
]), max_size=30))
def test_fragments_of_http_never_crash(fragments):
    try:
        events_of(b"".join(fragments), split=5, eof=True)
    except HTTPError as error:
        assert 400 <= error.status < 600


def test_body_bytes_are_not_checked_as_head_lines():
    """A body may hold bare LFs; only the head must use CRLF."""
    [(request, body)] = requests_of(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\na\nb\n\nc")
    assert body == b"a\nb\n\nc"
    [(request, body)] = requests_of(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n\n\n", split=1)
    assert body == b"\n\n"
