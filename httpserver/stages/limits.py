"""Stages of chapter 08: hostile input. Limits, a deadline for the head, smuggling.

The sizes are far beyond any sane limit (a 100 KiB request target, 100 KiB of
header fields, a 10 GB body), so any server with limits at all refuses them,
whatever its exact numbers. A server may close right after refusing; the
tester reads the refusal first.
"""

import time

from .failure import StageFailure
from .response import STATUS_LINE
from .stage import expect_status, fail, hint_on_failure, stage

HUGE = 100 * 1024
SLOWLORIS_BOUND = 20.0  # seconds a trickled head may last at most before the server cuts it
TRICKLE_EVERY = 0.25  # seconds between the bytes of the trickled head


def refused(context, raw, status, expected, hint, rule=None):
    """Send `raw` on a new connection; the answer must be `status`."""
    client = context.connect()
    with hint_on_failure(hint, rule):
        try:
            client.send(raw, expected=expected)
        except StageFailure:
            # A server may refuse and close before reading all we send; its
            # answer can still be waiting in our receive buffer.
            pass
        response = client.read_response(expected=expected)
        expect_status(response, status, client, expected)
    client.shutdown()
    return response


@stage("08-uri-too-long", f"414 for a request target of {HUGE // 1024} KiB",
       "RFC 9112 §3 and RFC 9110 §15.5.15 (414 URI Too Long)")
def uri_too_long(context):
    raw = context.request_bytes("/echo/" + "a" * HUGE)
    refused(context, raw, 414, "status 414", "Stop reading the request line past a limit (8 KiB is common) "
                                             "and answer 414 URI Too Long.")


@stage("08-header-too-large", f"431 for {HUGE // 1024} KiB of header fields",
       "RFC 6585 §5 (431 Request Header Fields Too Large)")
def header_too_large(context):
    fields = [(f"X-Filler-{number}", "b" * 500) for number in range(HUGE // 500)]
    raw = context.request_bytes("/echo/big-head", fields=fields)
    refused(context, raw, 431, "status 431", "Cap the size of the whole head (say 64 KiB) and the number "
                                             "of fields; past either, answer 431.")


@stage("08-body-too-large", "413 for a body declared as 10 GB, answered before any body is sent",
       "RFC 9110 §15.5.14 (413 Content Too Large)")
def body_too_large(context):
    raw = context.request_bytes("/files/huge.bin", "POST").replace(b"Content-Length: 0",
                                                                   b"Content-Length: 10000000000")
    refused(context, raw, 413, "status 413, without waiting for the body",
            "Compare Content-Length with your limit as soon as the head is read, and answer 413 "
            "before reading (or storing) any of the body.")
    if context.workspace.stored("huge.bin") is not None:
        fail("after the 413, --directory/huge.bin exists", expected="no file")


SMUGGLING_SHAPES = [
    ("Content-Length and Transfer-Encoding together",
     [("Content-Length", "4"), ("Transfer-Encoding", "chunked")], b"0\r\n\r\n", (400, 201, 200, 204),
     "RFC 9112 §6.1 (with both, a server rejects the request or uses Transfer-Encoding, and then closes)"),
    ("two different Content-Length values",
     [("Content-Length", "5"), ("Content-Length", "6")], b"hello!", (400,),
     "RFC 9112 §6.3 item 5 (differing Content-Length values: 400 and close)"),
    ("a space before the colon of Content-Length",
     [("Content-Length ", "5")], b"hello", (400,),
     "RFC 9112 §5.1 (whitespace between field name and colon: 400)"),
    ("Transfer-Encoding whose last coding is not chunked",
     [("Transfer-Encoding", "chunked, identity")], b"5\r\nhello\r\n0\r\n\r\n", (400, 501),
     "RFC 9112 §6.3 item 4 (chunked must be the final coding, else 400 and close)"),
    ("an unknown Transfer-Encoding",
     [("Transfer-Encoding", "xchunked")], b"5\r\nhello\r\n0\r\n\r\n", (400, 501),
     "RFC 9112 §6.1 (an unknown transfer coding: 501) and §6.3 item 4"),
]


@stage("08-smuggling", "ambiguous bodies are refused (400) and never answered as two requests",
       "RFC 9112 §6.1 and §6.3 (message body length) and §11.2 (request smuggling)")
def smuggling(context):
    smuggled = context.request_bytes("/echo/smuggled")
    for what, fields, body, statuses, rule in SMUGGLING_SHAPES:
        head = (f"POST /files/smuggle.txt HTTP/1.1\r\nHost: {context.authority}\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n").encode()
        wanted = ("400, or a 2xx with the body read by Transfer-Encoding" if 201 in statuses
                  else " or ".join(map(str, statuses)))
        expected = f"{wanted} for {what}, then the connection closed"
        client = context.connect()
        with hint_on_failure("When the body's length is ambiguous, answer 400 and close the connection: "
                             "reading it one way while a proxy reads it another lets a request hide "
                             "inside a body.", rule):
            client.send(head + body + smuggled, expected=expected)
            response = client.read_response("POST", expected=expected)
            expect_status(response, statuses, client, expected)
            after, outcome = client.read_until_close(min(context.timeout, 2.0))
            if b"HTTP/" in after:
                fail(f"{what}: the hidden request after the body was answered too", expected=expected,
                     client=client)
            if outcome == "timeout":
                fail(f"{what}: the connection stayed open after the answer", expected=expected, client=client)


@stage("08-slowloris", f"a head trickled a byte at a time is cut off within {SLOWLORIS_BOUND:g} s",
       "RFC 9112 §9.5 (a server may close idle or slow connections) and RFC 9110 §15.5.9 (408)")
def slowloris(context):
    expected = f"the server closes (or answers 408) within {SLOWLORIS_BOUND:g} s of the first byte"
    client = context.connect(label="trickling connection")
    trickle = context.request_bytes("/echo/slow")[:-2] + b"X-Padding: " + b"z" * 1000
    started = time.monotonic()
    for byte in trickle:
        if time.monotonic() - started > SLOWLORIS_BOUND:
            break
        try:
            client.send(bytes([byte]))
        except StageFailure:
            return  # the server has closed: the trickle is cut off
        answer = client.closes_within(TRICKLE_EVERY)
        if answer is True:
            return
        if answer:  # bytes came: fine if they refuse the head (408, or another 4xx) before closing
            status = STATUS_LINE.match(answer.split(b"\r\n", 1)[0])
            if status and status.group(2).startswith(b"4"):
                return
            fail(f"an answer came to a head that was never finished: {answer[:60]!r}",
                 expected=expected, client=client)
    fail(f"after {time.monotonic() - started:.0f} s the trickled head was still being accepted",
         expected=expected, client=client,
         hint="Give the whole head a deadline counted from its first byte (10 s is common), not only a "
              "timeout on each recv(): a byte every quarter second resets a per-recv timeout forever.")
