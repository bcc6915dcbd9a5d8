"""Stages of chapter 06: one connection, many requests; Connection: close in every form; HTTP/1.0.

These stages send several requests on one connection, so they catch what
one-request-per-connection stages cannot: a body left unread (its bytes then
look like the next request), a Content-Length that is off by a few bytes, a
head read that throws away bytes of the next request. `Connection` is a
comma-separated list of case-insensitive tokens, and a field may come more
than once (RFC 9110 §5.3, §7.6.1): each form a client sends is tried.

A connection that must stay open is proved open by answering a second request
on it, never by waiting: that keeps the stages fast.
"""

from .expectations import expect_closed
from .stage import expect_status, fail, hint_on_failure, stage

KEEP_ALIVE_RULE = "RFC 9112 §9.3 (HTTP/1.1 connections are persistent unless \"close\" is sent)"
KEEP_ALIVE_HINT = ("HTTP/1.1 connections stay open: loop over requests on the same socket until the client "
                   "sends \"Connection: close\" or closes; read every request's body (Content-Length bytes, "
                   "whatever the method) and keep the bytes after it for the next request, but start each "
                   "request's fields afresh.")
CLOSE_RULE = "RFC 9112 §9.6 (a server that receives the \"close\" option closes after its response, and says so)"
CONNECTION_TOKENS_HINT = ("Connection is a list: split every Connection field's value on \",\", strip each "
                          "token and compare it in lower case with \"close\".")


def connection_tokens(response):
    """The response's Connection options, lower case."""
    return {token.strip().lower() for token in (response.field("connection") or "").split(",") if token.strip()}


def expect_still_open(context, client, after, expected, rule, hint):
    """A second request on `client` is answered: the connection stayed open after `after`."""
    with hint_on_failure(hint, rule):
        _, response = context.request("/echo/still-open", client=client,
                                      expected=f"{expected}; the connection still open after {after}")
        expect_status(response, 200, client, expected)
        if response.body != b"still-open":
            fail(f"the second answer has body {response.body[:60]!r}", expected=expected, client=client,
                 rule=rule, hint=hint)


@stage("06-keep-alive", "several requests, with bodies, on one connection",
       "RFC 9112 §9.3 (HTTP/1.1 connections are persistent by default)")
def keep_alive(context):
    client = context.connect()
    body = b"stored on a kept-alive connection\n"
    # A GET may carry a body too: it means nothing to the route, but it is framed like any
    # other (RFC 9112 §6), so it must be read, or its bytes are taken for the next request.
    # Nothing of one request may carry over to the next: its fields (a User-Agent, an
    # Accept-Encoding) belong to it alone.
    steps = [("GET", "/echo/one", b"", 200, b"one", []),
             ("POST", "/files/kept.txt", body, 201, None, []),
             ("GET", "/files/kept.txt", b"", 200, body, []),
             ("GET", "/user-agent", b"", 200, b"first-agent/1.0", [("User-Agent", "first-agent/1.0")]),
             ("GET", "/user-agent", b"", 200, b"second-agent/2.0", [("User-Agent", "second-agent/2.0")]),
             ("GET", "/echo/two", b"GET /echo/hidden HTTP/1.1\r\n\r\n", 200, b"two", []),
             ("GET", "/echo/zipped", b"", 200, None, [("Accept-Encoding", "gzip")]),
             ("GET", "/echo/three", b"", 200, b"three", [("Connection", "keep-alive")])]
    with hint_on_failure(KEEP_ALIVE_HINT, KEEP_ALIVE_RULE):
        for number, (method, target, data, status, answer, fields) in enumerate(steps, start=1):
            expected = f"request {number} of {len(steps)} on the same connection answered {status}"
            _, response = context.request(target, method=method, body=data, fields=fields, client=client,
                                          expected=expected)
            expect_status(response, status, client, expected)
            if answer is not None and response.body != answer:
                fail(f"request {number}: the body is {response.body[:60]!r}, not {answer!r}",
                     expected=expected, client=client)
            if "close" in connection_tokens(response):
                fail(f"response {number} says Connection: close although the client asked for nothing "
                     "of the kind", expected=expected, client=client)


@stage("06-pipelining", "requests sent at once, bodies included, get their answers in order",
       "RFC 9112 §9.3.2 (a server answers pipelined requests in the order received)")
def pipelining(context):
    client = context.connect()
    body = b"pipelined body\r\n\r\nGET /echo/not-a-request HTTP/1.1\r\n\r\n"
    requests = [(context.request_bytes("/echo/first"), 200, b"first"),
                (context.request_bytes("/files/pipelined.txt", "POST", body=body), 201, None),
                (context.request_bytes("/echo/second"), 200, b"second"),
                (context.request_bytes("/files/pipelined.txt"), 200, body),
                (context.request_bytes("/echo/third"), 200, b"third")]
    client.send(b"".join(raw for raw, _, _ in requests), expected=f"{len(requests)} answers")
    with hint_on_failure("After answering one request, look for the next one in the bytes you already received "
                         "before calling recv() again; a body is exactly Content-Length bytes, whatever they "
                         "look like."):
        for number, (raw, status, answer) in enumerate(requests, start=1):
            method = raw.split(b" ", 1)[0].decode()
            expected = f"answer {number} of {len(requests)} ({raw.split(b' HTTP')[0].decode()}): status {status}"
            response = client.read_response(method, expected=expected)
            expect_status(response, status, client, expected)
            if answer is not None and response.body != answer:
                fail(f"answer {number} has body {response.body[:60]!r}, not {answer[:60]!r}",
                     expected=expected, client=client)


# Connection fields that ask to close, as clients write them: (field lines, what they show).
CLOSE_FORMS = [
    ([("Connection", "close")], "the plain form"),
    ([("Connection", "Close")], "a capital letter: tokens are case-insensitive"),
    ([("Connection", "CLOSE")], "capitals"),
    ([("Connection", "keep-alive, close")], "a list whose last token is close"),
    ([("Connection", "close, x-custom-option")], "a list whose first token is close"),
    ([("Connection", "x-custom-option ,close ")], "a list with spaces around the comma"),
    ([("Connection", "x-custom-option"), ("Connection", "close")], "two Connection fields, close in the second"),
]


@stage("06-connection-close", "Connection: close, in every form, is answered with close, then the server closes",
       CLOSE_RULE)
def connection_close(context):
    for fields, what in CLOSE_FORMS:
        sent = "; ".join(f"{name}: {value}" for name, value in fields)
        expected = f"200 saying Connection: close, then the server closes (the request sent {sent}; {what})"
        client, response = context.request("/echo/bye", fields=fields, expected=expected, keep_open=True)
        expect_status(response, 200, client, expected, rule=CLOSE_RULE)
        closed = client.closes_within(context.timeout)
        if closed is not True:
            fail(("the connection stayed open after the response" if closed is False
                  else "more bytes came after the response") + f" ({what})", expected=expected, client=client,
                 rule=CLOSE_RULE, hint=CONNECTION_TOKENS_HINT + " Then close the socket after the response.")
        if "close" not in connection_tokens(response):
            fail(f"the server closed, but its response did not say Connection: close ({what})",
                 expected=expected, client=client, rule=CLOSE_RULE,
                 hint="Add \"Connection: close\" to the response that ends the connection, so the client "
                      "knows not to send another request on it.")
        client.shutdown()
    # A token that only contains "close" is not "close".
    expected = "200, and the connection open for another request (Connection: x-do-not-close)"
    client, response = context.request("/echo/stay", fields=[("Connection", "x-do-not-close")], keep_open=True,
                                       expected=expected)
    expect_status(response, 200, client, expected, rule=CLOSE_RULE)
    expect_still_open(context, client, "Connection: x-do-not-close", expected, KEEP_ALIVE_RULE,
                      "Compare whole tokens, not substrings: x-do-not-close is not close.")


HTTP_1_0_RULE = ("RFC 9112 §9.3 (an HTTP/1.0 connection closes after the response unless the request asks "
                 "for keep-alive) and Appendix C.2.2 (keep-alive is then confirmed in the response)")


@stage("06-http-1-0", "HTTP/1.0: the connection closes after the answer unless the request asks for keep-alive",
       HTTP_1_0_RULE)
def http_1_0(context):
    expected = "200, then the server closes (HTTP/1.0 without Connection: keep-alive)"
    client, response = context.request("/echo/old-style", version="HTTP/1.0", keep_open=True, expected=expected)
    expect_status(response, 200, client, expected, rule=HTTP_1_0_RULE)
    expect_closed(client, expected, HTTP_1_0_RULE,
                  "Check the request's version: HTTP/1.0 closes after the response unless its Connection "
                  "field has the keep-alive token.")
    for value in ("keep-alive", "Keep-Alive"):
        expected = f"200 saying Connection: keep-alive, and the connection open (HTTP/1.0, Connection: {value})"
        client, response = context.request("/echo/kept", version="HTTP/1.0", fields=[("Connection", value)],
                                           keep_open=True, expected=expected)
        expect_status(response, 200, client, expected, rule=HTTP_1_0_RULE)
        if "keep-alive" not in connection_tokens(response):
            fail(f"the response to an HTTP/1.0 keep-alive request says Connection: {response.field('connection')}",
                 expected=expected, client=client, rule=HTTP_1_0_RULE,
                 hint="An HTTP/1.0 client assumes the connection closes unless the response says "
                      "\"Connection: keep-alive\".")
        expect_still_open(context, client, f"HTTP/1.0 with Connection: {value}", expected, HTTP_1_0_RULE,
                          "HTTP/1.0 with the keep-alive token (any case) keeps the connection open.")
