"""The lenient splitter of chapter 08 really smuggles, and our parser refuses the same bytes.

If these fail, the chapter's smuggling demo has silently stopped demonstrating.
"""

import pytest

from httpserver import HTTPError
from httpserver.lab.lenient import SMUGGLED, cl_te_attack, frame_body, lenient_split, te_cl_attack
from httpserver.parser import RequestParser


def paths(requests):
    return [request.path for request in requests]


def first_event_status(data):
    parser = RequestParser()
    parser.receive_data(data)
    with pytest.raises(HTTPError) as caught:
        parser.next_event()
    return caught.value.status


def test_cl_te_smuggles_under_transfer_encoding_only():
    attack = cl_te_attack()
    by_length = lenient_split(attack, prefer="content-length")
    by_chunked = lenient_split(attack, prefer="transfer-encoding")
    assert paths(by_length) == ["/"]
    assert by_length[0].body.endswith(SMUGGLED)  # the front end forwards it as a body
    assert paths(by_chunked) == ["/", "/admin"]  # the back end sees a second request
    assert by_chunked[1].method == "GET"


def test_te_cl_smuggles_under_content_length_only():
    attack = te_cl_attack()
    assert paths(lenient_split(attack, prefer="transfer-encoding")) == ["/"]
    assert paths(lenient_split(attack, prefer="content-length")) == ["/", "/admin"]


@pytest.mark.parametrize("attack", [cl_te_attack(), te_cl_attack()])
def test_our_parser_refuses_the_attacks(attack):
    assert first_event_status(attack) == 400


def test_a_plain_request_splits_the_same_under_both_policies():
    data = (b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    for prefer in ("content-length", "transfer-encoding"):
        assert lenient_split(data, prefer) == [("POST", "/a", b"abc"), ("GET", "/b", b"")]


def test_frame_body_is_sloppy_where_the_chapter_says():
    assert frame_body({"content-length": "+3"}, b"abcdef") == (b"abc", b"def")
    assert frame_body({"transfer-encoding": "xchunked"}, b"0x2\r\nab\r\n0\r\n\r\nrest") == (b"ab", b"rest")


def test_lenient_split_stops_on_incomplete_or_garbage():
    assert lenient_split(b"GET / HTTP/1.1\r\nHost: x\r\n") == []
    garbage = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    assert lenient_split(garbage) == []
    with pytest.raises(ValueError):
        lenient_split(b"", prefer="neither")
