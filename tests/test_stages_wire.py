"""The stage tester's response reader, checked against h11 on the same bytes.

What h11 accepts as a response, the reader must accept with the same status,
fields and body; what breaks the RFC 9112 grammar, the reader must refuse with
a StageFailure that names the rule. Bytes travel over a real socket pair.
"""

import socket
import time

import h11
import pytest

from httpserver.stages import StageFailure
from httpserver.stages.wire import Client

VALID = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 404 \r\ncontent-length: 0\r\n\r\n",  # empty reason phrase, lowercase name
    b"HTTP/1.1 200 Fine, thanks\r\nX-Spaces:   padded value  \r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
]

INVALID = [
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "bare LF"),
    (b"HTTP 200 OK\r\nContent-Length: 0\r\n\r\n", "does not read"),
    (b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", "does not read"),
    (b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", "is not a header field"),
    (b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "is not a header field"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", "not one decimal number"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "both Content-Length and Transfer-Encoding"),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "says HTTP/1.0"),
    (b"<html>oops</html>\r\n", "does not begin with a status line"),
]


def read_with_h11(raw, method="GET"):
    """(status, [(name, value)], body) of the final response, as h11 reads it."""
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(raw)
    body, response = b"", None
    while True:
        event = connection.next_event()
        if isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) or event is h11.NEED_DATA:
            break
    fields = [(name.decode(), value.decode()) for name, value in response.headers]
    return response.status_code, fields, body


def read_with_client(raw, method="GET"):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(raw)
        response = Client(ours, time.perf_counter(), timeout=2.0).read_response(method)
    return response


@pytest.mark.parametrize("raw", VALID)
def test_reader_agrees_with_h11_on_valid_responses(raw):
    status, fields, body = read_with_h11(raw)
    response = read_with_client(raw)
    assert response.status == status
    assert [(name.lower(), value) for name, value in response.fields] == fields
    assert response.body == body


@pytest.mark.parametrize("raw, words", INVALID)
def test_reader_refuses_heads_that_break_the_grammar(raw, words):
    with pytest.raises(StageFailure) as failure:
        read_with_client(raw)
    assert words in failure.value.problem
    assert failure.value.client.received_bytes() == raw  # the message can show every byte


def test_head_response_has_no_body_even_with_content_length():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    assert read_with_client(raw, method="HEAD").body == b""
    assert read_with_h11(raw, method="HEAD")[2] == b""


def test_two_responses_in_one_read_come_out_one_at_a_time():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                       b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
        client = Client(ours, time.perf_counter(), timeout=2.0)
        assert [client.read_response().body, client.read_response().body] == [b"one", b"two"]
        assert client.extra_bytes(0.05) == b""


def test_interim_responses_are_read_apart_or_collected_before_the_final_one():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        client = Client(ours, time.perf_counter(), timeout=2.0)
        assert client.read_interim() == 100
        theirs.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        interim = []
        assert client.read_response("POST", interim=interim).status == 201 and interim == [100]


@pytest.mark.parametrize("sent, words", [
    (b"", "no answer within 0.3 s: the connection stayed open and nothing came back"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "an answer began (27 bytes) but its head did not end within 0.3 s"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", "Content-Length announced 9 bytes of body, but only 5"),
])
def test_a_server_that_stops_sending_is_told_apart_by_what_it_sent(sent, words):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(sent)
        with pytest.raises(StageFailure) as failure:
            Client(ours, time.perf_counter(), timeout=0.3).read_response()
    assert words in failure.value.problem


def test_a_close_before_the_answer_is_told_from_a_close_in_the_middle_of_it():
    for sent, words in ((b"", "the server closed the connection without answering"),
                        (b"HTTP/1.1 200 OK\r\n",
                         "the server closed the connection in the middle of the response head")):
        ours, theirs = socket.socketpair()
        with ours:
            theirs.sendall(sent)
            theirs.close()
            with pytest.raises(StageFailure) as failure:
                Client(ours, time.perf_counter(), timeout=2.0).read_response()
        assert failure.value.problem == words
