"""Stage of chapter 08: request smuggling. Ambiguous bodies are refused, never read two ways.

Each shape hides a request after a body whose length two parsers could read
differently (chapter 08, section 3). The server must refuse it (400, or 501 for
a coding it does not know) and close, so the hidden request is never answered;
for Content-Length beside Transfer-Encoding it may instead read the body by
Transfer-Encoding alone, and then close (RFC 9112 §6.1).
"""

from .stage import expect_status, fail, hint_on_failure, stage

CLOSE_HINT = ("When the body's length is ambiguous, answer 400 and close the connection: reading it one way while "
              "a proxy reads it another lets a request hide inside a body.")
LENGTH_HINT = ("Content-Length is digits only: check it with a pattern ([0-9]+) before int(), which also takes "
               "\"+5\", \" 5\" and \"5_0\".")
# (what, fields, body, statuses, rule, hint)
SMUGGLING_SHAPES = [
    ("Content-Length and Transfer-Encoding together",
     [("Content-Length", "4"), ("Transfer-Encoding", "chunked")], b"0\r\n\r\n", (400, 201, 200, 204),
     "RFC 9112 §6.1 (with both, a server rejects the request or uses Transfer-Encoding, and then closes)",
     CLOSE_HINT),
    ("two different Content-Length values",
     [("Content-Length", "5"), ("Content-Length", "6")], b"hello!", (400,),
     "RFC 9112 §6.3 item 5 (differing Content-Length values: 400 and close)",
     "Keep every Content-Length field: two that differ are a 400, whichever one you would have used."),
    ("a space before the colon of Content-Length",
     [("Content-Length ", "5")], b"hello", (400,),
     "RFC 9112 §5.1 (whitespace between field name and colon: 400)",
     "Do not strip the field name: \"Content-Length \" is not a token, so the request is a 400."),
    ("Content-Length with a sign, +5",
     [("Content-Length", "+5")], b"hello", (400,),
     "RFC 9110 §8.6 (Content-Length = 1*DIGIT) and RFC 9112 §6.3 item 5 (an invalid one: 400 and close)",
     LENGTH_HINT),
    ("Content-Length with an underscore, 5_0",
     [("Content-Length", "5_0")], b"hello", (400,),
     "RFC 9110 §8.6 (Content-Length = 1*DIGIT) and RFC 9112 §6.3 item 5 (an invalid one: 400 and close)",
     LENGTH_HINT),
    ("Transfer-Encoding whose last coding is not chunked",
     [("Transfer-Encoding", "chunked, identity")], b"5\r\nhello\r\n0\r\n\r\n", (400,),
     "RFC 9112 §6.3 item 4 (chunked must be the final coding, else 400 and close)",
     "Split Transfer-Encoding on commas: its last coding must be chunked, or the length is unknowable."),
    ("a Transfer-Encoding that only looks like chunked, xchunked",
     [("Transfer-Encoding", "xchunked")], b"5\r\nhello\r\n0\r\n\r\n", (400,),
     "RFC 9112 §6.3 item 4 (the final coding is not chunked: 400 and close)",
     "Compare whole codings, not substrings: \"xchunked\" is not chunked, so the body's length is "
     "unknowable: 400, then close."),
    ("an unknown coding before a final chunked, gzip, chunked",
     [("Transfer-Encoding", "gzip, chunked")], b"5\r\nhello\r\n0\r\n\r\n", (501, 400),
     "RFC 9112 §6.1 (a transfer coding the server does not understand: 501) and §6.3 item 4",
     "Every coding before the final chunked must be one you implement; one you do not gets 501 "
     "(Not Implemented), and the connection closes."),
]


@stage("08-smuggling", "ambiguous bodies are refused (400) and never answered as two requests",
       "RFC 9112 §6.1 and §6.3 (message body length) and §11.2 (request smuggling)")
def smuggling(context):
    smuggled = context.request_bytes("/echo/smuggled")
    for what, fields, body, statuses, rule, hint in SMUGGLING_SHAPES:
        head = (f"POST /files/smuggle.txt HTTP/1.1\r\nHost: {context.authority}\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n").encode()
        wanted = ("400, or a 2xx with the body read by Transfer-Encoding" if 201 in statuses
                  else " or ".join(map(str, statuses)))
        expected = f"{wanted} for {what}, then the connection closed"
        client = context.connect()
        with hint_on_failure(hint, rule):
            client.send(head + body + smuggled, expected=expected)
            response = client.read_response("POST", expected=expected)
            expect_status(response, statuses, client, expected)
        after, outcome = client.read_until_close(min(context.timeout, 2.0))
        if b"HTTP/" in after:
            fail(f"{what}: the hidden request after the body was answered too", expected=expected,
                 client=client, rule=rule, hint=CLOSE_HINT)
        if outcome == "timeout":
            fail(f"{what}: the connection stayed open after the answer", expected=expected, client=client,
                 rule=rule, hint=CLOSE_HINT)
