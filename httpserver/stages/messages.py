"""Stages of chapters 01-03: accept, read a head, parse it, answer with routes.

Every check here uses one connection per request and reads the answer with
the strict reader of wire.py, so a bare LF or a malformed status line fails
whichever stage first meets it.
"""

import email.utils
import re
from datetime import datetime, timezone

from .stage import expect_status, fail, stage

CONTENT_LENGTH_RULE = "RFC 9110 §8.6 and RFC 9112 §6.3 (Content-Length is the exact size of the body)"


@stage("01-bind", "listen on --port, accept, answer GET / with HTTP/1.1 200",
       "RFC 9112 §4 (status-line = HTTP-version SP status-code SP [reason-phrase] CRLF)")
def bind_and_answer(context):
    expected = "a response whose status line is HTTP/1.1 200 (any reason phrase), ending with CRLF"
    client, response = context.request("/", expected=expected)
    expect_status(response, 200, client, expected,
                  hint="Answer \"HTTP/1.1 200 OK\\r\\n\\r\\n\" (or a full response) to GET /.")


@stage("01-read-head", "read until the blank line, however the request is split",
       "RFC 9112 §2.1 (the head ends with an empty line) and RFC 9293 §3.1 (TCP carries a byte stream)")
def read_until_blank_line(context):
    expected = "one answer, after the empty line that ends the request head"
    client = context.connect()
    pieces = [b"GET / HT", b"TP/1.1\r\nHost: " + context.authority.encode(), b"\r\nUser-Agent: pie",
              b"ces\r\n", b"\r\n"]
    for number, piece in enumerate(pieces[:-1], start=1):
        client.send(piece, expected=expected)
        early = client.extra_bytes(0.15)
        if early or client.at_eof:
            fail(f"the server {'answered' if early else 'closed the connection'} after piece {number} of "
                 f"{len(pieces)}, before the request head was complete", expected=expected, client=client,
                 hint="One recv() returns whatever has arrived, maybe part of a line. Keep calling recv() "
                      "and appending until the bytes contain b\"\\r\\n\\r\\n\".")
    client.send(pieces[-1], expected=expected)
    response = client.read_response(expected=expected)
    expect_status(response, 200, client, expected)
    extra = client.extra_bytes(0.2)
    if extra:
        fail("more bytes came after the response, as if the request had been answered twice",
             expected=expected, client=client,
             hint="Answer once per request head, not once per recv().")


@stage("02-request-line", "parse the request line: 200 for /, 404 for a path that does not exist",
       "RFC 9112 §3 (request-line = method SP request-target SP HTTP-version) and RFC 9110 §15.5.5 (404)")
def request_line(context):
    for target, status in (("/", 200), ("/no/such/page-8d1c", 404)):
        expected = f"status {status} for GET {target}"
        client, response = context.request(target, fields=[("Accept", "*/*")], expected=expected)
        expect_status(response, status, client, expected,
                      hint="Split the request line on spaces into method, target and version, "
                           "and choose the answer by the target.")


@stage("02-bad-request", "400 for a malformed request line and for a header line without a colon",
       "RFC 9112 §2.2 and §5 (a server answers 400 to a message that does not fit the grammar)")
def bad_request(context):
    cases = [
        (b"HELLO WORLD\r\n\r\n", "a request line without a version",
         "Check that the request line has exactly three parts and the third is HTTP/1.x."),
        (b"GET / HTTP/1.1 please\r\nHost: " + context.authority.encode() + b"\r\n\r\n",
         "a request line with four parts",
         "Check that the request line has exactly three parts separated by single spaces."),
        (b"GET / HTTP/1.1\r\nHost: " + context.authority.encode() + b"\r\nThis line has no colon\r\n\r\n",
         "a header line without a colon",
         "Every header line must contain \":\"; answer 400 (and close) when one does not."),
    ]
    for raw, what, hint in cases:
        expected = f"status 400 for {what}"
        client = context.connect()
        client.send(raw, expected=expected)
        response = client.read_response(expected=expected)
        expect_status(response, 400, client, expected, hint=hint)
        client.shutdown()


def expect_text(context, client, response, text, expected):
    """A 200 text/plain response whose body is exactly `text`, framed by Content-Length."""
    expect_status(response, 200, client, expected)
    if response.media_type() != "text/plain":
        fail(f"Content-Type is {response.field('content-type')!r}, not text/plain", expected=expected,
             client=client, rule="RFC 9110 §8.3 (Content-Type names the media type of the body)",
             hint="Send \"Content-Type: text/plain\\r\\n\" (a charset parameter is fine).")
    expect_framed(response, client, expected)
    if response.body != text.encode():
        fail(f"the body is {response.body[:200]!r}, not {text.encode()!r}", expected=expected, client=client,
             rule=CONTENT_LENGTH_RULE,
             hint="Content-Length must count the bytes of the body exactly, after encoding the text.")


def expect_framed(response, client, expected):
    """The body's end is announced (Content-Length or chunked), not left to the close."""
    if response.field("content-length") is None and response.field("transfer-encoding") is None:
        fail("the response has no Content-Length, so its body ends only when the connection closes",
             expected=expected, client=client, rule=CONTENT_LENGTH_RULE,
             hint="Send \"Content-Length: <number of body bytes>\\r\\n\"; without it no second "
                  "request can follow on the connection.")


@stage("03-echo", "GET /echo/{text} answers the text as text/plain with an exact Content-Length",
       CONTENT_LENGTH_RULE)
def echo(context):
    for text in ("strawberry", "a-much-longer-text-to-echo-back-1234567890"):
        expected = f"200, Content-Type: text/plain, Content-Length: {len(text)}, body {text!r}"
        client, response = context.request(f"/echo/{text}", expected=expected)
        expect_text(context, client, response, text, expected)


@stage("03-user-agent", "GET /user-agent answers the User-Agent field's value",
       "RFC 9110 §10.1.5 (User-Agent) and §5.1 (field names are case-insensitive)")
def user_agent(context):
    for name, agent in (("User-Agent", "stage-tester/1.0 (chapter 03)"), ("user-agent", "lower/case-name")):
        expected = f"200, text/plain, body {agent!r}"
        client, response = context.request("/user-agent", fields=[(name, agent)], expected=expected)
        expect_text(context, client, response, agent, expected)


IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT\Z")


def expect_date(response, client, expected):
    value = response.field("date")
    hint = ("Use email.utils.formatdate(usegmt=True), which writes e.g. "
            "\"Sun, 06 Nov 1994 08:49:37 GMT\".")
    if value is None:
        fail("the response has no Date field", expected=expected, client=client, hint=hint)
    if not IMF_FIXDATE.match(value):
        fail(f"Date {value!r} is not in IMF-fixdate form", expected=expected, client=client, hint=hint)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        fail(f"Date {value!r} is not a real date", expected=expected, client=client, hint=hint)
    skew = abs((when - datetime.now(timezone.utc)).total_seconds())
    if skew > 300:
        fail(f"Date {value!r} is {skew / 3600:.1f} hours away from now", expected=expected, client=client,
             hint="The Date is in GMT (UTC), not local time: " + hint)


@stage("03-date", "every response carries a Date in IMF-fixdate form, in GMT",
       "RFC 9110 §6.6.1 (an origin server with a clock sends Date) and §5.6.7 (IMF-fixdate)")
def date(context):
    for target in ("/echo/today", "/no/such/page-date"):
        expected = "a Date field such as \"Sun, 06 Nov 1994 08:49:37 GMT\", within minutes of now"
        client, response = context.request(target, expected=expected)
        expect_date(response, client, expected)


@stage("03-errors", "errors are complete responses: 404, a 4xx or 501 for an unknown method, Allow with 405",
       "RFC 9110 §15 (status codes), §9.1 (501 for an unknown method), §15.5.6 (405 with Allow) and §6.6.1 (Date)")
def error_responses(context):
    # Any client error, or 501, for the unknown method: 501 is what RFC 9110 §9.1
    # advises, but a 404 or 405 is no lie, while a 2xx would be.
    method_statuses = tuple(range(400, 500)) + (501,)
    cases = [("GET", "/no/such/page-e", (404,), "404", "Answer 404 Not Found when no route and no file match."),
             ("BREW", "/echo/coffee", method_statuses, "501 (or a 4xx)",
              "A method the server does not implement gets 501 Not Implemented (405 if the path "
              "allows other methods)."),
             ("DELETE", "/echo/coffee", method_statuses, "405 (or another 4xx)",
              "DELETE is a method servers know, and /echo/ does not take it: 405 Method Not Allowed.")]
    for method, target, statuses, wanted, hint in cases:
        expected = f"status {wanted}, a Content-Length and a Date"
        client, response = context.request(target, method=method, expected=expected, keep_open=True)
        expect_status(response, statuses, client, expected, hint=hint)
        expect_framed(response, client, expected)
        expect_date(response, client, expected)
        if response.status == 405 and response.field("allow") is None:
            fail("a 405 without an Allow field", expected="405 with Allow: the methods this path takes",
                 client=client, rule="RFC 9110 §15.5.6 (a 405 MUST carry Allow)",
                 hint="Send the methods the path does take, e.g. \"Allow: GET, HEAD\\r\\n\"; "
                      "a 405 raised as an error needs its fields carried to the response too.")
        extra = client.extra_bytes(0.1)
        if extra:
            fail(f"{len(extra)} bytes came after the body that Content-Length announced",
                 expected=expected, client=client, rule=CONTENT_LENGTH_RULE,
                 hint="Count the bytes of the encoded body, not the characters of the text.")
        client.shutdown()
