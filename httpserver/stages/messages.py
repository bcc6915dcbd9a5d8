"""Stages of chapters 01 and 02: accept, read a head however it is split, parse it, refuse bad ones.

Every check here uses one connection per request and reads the answer with
the strict reader of wire.py, so a bare LF or a malformed status line fails
whichever stage first meets it. The malformed requests of 02-bad-request each
carry the rule they break, and each is followed, in the same write, by a good
request that must go unanswered: after refusing a head, a server cannot know
where the next request would start.
"""

from .expectations import expect_nothing_more, refused
from .stage import expect_status, fail, stage

READ_HEAD_HINT = ("One recv() returns whatever has arrived, maybe part of a line. Keep calling recv() "
                  "and appending until the bytes contain b\"\\r\\n\\r\\n\".")


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
        early = client.extra_bytes(0.1)
        if early or client.at_eof:
            fail(f"the server {'answered' if early else client.ending()} after piece {number} of "
                 f"{len(pieces)}, before the request head was complete", expected=expected, client=client,
                 rule="RFC 9112 §2.1 (the head ends with an empty line) and RFC 9293 §3.1 (TCP carries a "
                      "byte stream)", hint=READ_HEAD_HINT)
    client.send(pieces[-1], expected=expected)
    response = client.read_response(expected=expected)
    expect_status(response, 200, client, expected)
    expect_nothing_more(client, expected)


@stage("02-request-line", "parse the request line: 200 for / (with or without a query), 404 for a missing path",
       "RFC 9112 §3 (request-line = method SP request-target SP HTTP-version) and RFC 9110 §15.5.5 (404)")
def request_line(context):
    for target, status, hint in (
            ("/", 200, "Split the request line on spaces into method, target and version, and choose the "
                       "answer by the target."),
            ("/?source=stage-tester", 200, "The target is a path and an optional query (RFC 9112 §3.2.1): "
                                           "route by the part before \"?\"."),
            ("/no/such/page-8d1c", 404, "Answer 404 Not Found when no route and no file match.")):
        expected = f"status {status} for GET {target}"
        client, response = context.request(target, fields=[("Accept", "*/*")], expected=expected)
        expect_status(response, status, client, expected, hint=hint)


# (what is wrong, the head's bytes, the statuses that refuse it, the rule, the hint);
# "{host}" stands for the Host line with its CRLF, "{host-lf}" for it with a bare LF.
MALFORMED = [
    ("a request line without a version", b"HELLO WORLD\r\n{host}\r\n", (400,),
     "RFC 9112 §3 (request-line = method SP request-target SP HTTP-version)",
     "Check that the request line has exactly three parts and the third is HTTP/1.x."),
    ("a request line with four parts", b"GET / HTTP/1.1 please\r\n{host}\r\n", (400,),
     "RFC 9112 §3 (request-line = method SP request-target SP HTTP-version)",
     "Check that the request line has exactly three parts separated by single spaces."),
    ("two spaces between method and target", b"GET  / HTTP/1.1\r\n{host}\r\n", (400,),
     "RFC 9112 §3 (the parts are separated by exactly one SP; §3 lets a server read any whitespace instead, "
     "but the course refuses that leniency, as chapter 02 explains)",
     "Split on b\" \" (one space), not with split() and no argument, and refuse empty parts."),
    ("a version in lower case", b"GET / http/1.1\r\n{host}\r\n", (400,),
     "RFC 9112 §2.3 (HTTP-version = HTTP-name \"/\" DIGIT \".\" DIGIT, and HTTP-name is case-sensitive)",
     "Compare the version exactly: it starts with \"HTTP/\" in capitals, then digit, dot, digit."),
    ("a method that is not a token", b"GE@T / HTTP/1.1\r\n{host}\r\n", (400,),
     "RFC 9112 §3.1 and RFC 9110 §9.1 (method = token)",
     "A method is one or more token characters: letters, digits and !#$%&'*+-.^_`|~."),
    ("a target with bytes that are not visible ASCII", b"GET /caf\xc3\xa9 HTTP/1.1\r\n{host}\r\n", (400,),
     "RFC 9112 §3.2 and RFC 3986 §2 (a request target is visible ASCII; other bytes are percent-encoded)",
     "Refuse a target with bytes outside 0x21-0x7E."),
    ("HTTP/2.0 on an HTTP/1.1 connection", b"GET / HTTP/2.0\r\n{host}\r\n", (505, 400),
     "RFC 9110 §15.6.6 (505 HTTP Version Not Supported for a major version the server does not speak)",
     "Answer 505 for a major version other than 1 (400 is acceptable too)."),
    ("lines ending with a bare LF", b"GET / HTTP/1.1\n{host-lf}\n", (400,),
     "RFC 9112 §2.2 (a line ends with CRLF; §2.2 lets a server accept a bare LF, but the course refuses it: "
     "two parsers that disagree on line ends let requests be smuggled)",
     "Read lines up to LF and refuse one whose LF has no CR before it: waiting for CRLF CRLF would hang."),
    ("a header line without a colon", b"GET / HTTP/1.1\r\n{host}This line has no colon\r\n\r\n", (400,),
     "RFC 9112 §5 (field-line = field-name \":\" OWS field-value OWS)",
     "Every header line must contain \":\"; answer 400 (and close) when one does not."),
    ("whitespace between a field name and its colon", b"GET / HTTP/1.1\r\n{host}Accept : */*\r\n\r\n", (400,),
     "RFC 9112 §5.1 (a server MUST reject whitespace between field name and colon with 400)",
     "Do not strip the name: \"Accept \" (with the space) is not a token, so the line is refused."),
]


@stage("02-bad-request", "400 for each malformed request line or header line, then the connection closes",
       "RFC 9112 §2.2, §3 and §5 (a server answers 400 to a message that does not fit the grammar)")
def bad_request(context):
    host = b"Host: " + context.authority.encode()
    follower = context.request_bytes("/after-the-bad-request")
    for what, template, statuses, rule, hint in MALFORMED:
        raw = (template.replace(b"{host-lf}", host + b"\n").replace(b"{host}", host + b"\r\n"))
        wanted = " or ".join(map(str, statuses))
        expected = f"status {wanted} for {what}"
        # Nothing behind the bare-LF head: its CRLF CRLF would end the head for a server
        # that waits for one, hiding that such a server hangs on this head.
        refused(context, raw, statuses, expected, rule, hint, then=None if b"{host-lf}" in template else follower)


@stage("02-host", "an HTTP/1.1 request needs exactly one Host: 400 without it or with two; HTTP/1.0 needs none",
       "RFC 9112 §3.2 (a server MUST answer 400 to an HTTP/1.1 request without Host, or with more than one)")
def host_field(context):
    rule = "RFC 9112 §3.2 (a server MUST answer 400 to an HTTP/1.1 request without Host, or with more than one)"
    follower = context.request_bytes("/after-the-bad-host")
    cases = [("no Host field", context.request_bytes("/", host=False),
              "After parsing the fields of an HTTP/1.1 request, answer 400 unless it has exactly one Host."),
             ("two Host fields", context.request_bytes("/", fields=[("Host", "example.com")]),
              "Keep every value of a field (a dict of lists): two Host fields are a 400, not \"the last one "
              "wins\".")]
    for what, raw, hint in cases:
        refused(context, raw, (400,), f"status 400 for an HTTP/1.1 request with {what}", rule, hint,
                then=follower)
    expected = "200 for GET / as HTTP/1.0 without Host (Host is required of HTTP/1.1 requests only)"
    client, response = context.request("/", version="HTTP/1.0", host=False, expected=expected)
    expect_status(response, 200, client, expected, rule=rule,
                  hint="An HTTP/1.0 request may leave Host out: ask for it only when the version is HTTP/1.1.")
