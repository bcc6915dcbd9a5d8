"""What the stages expect of a response, each expectation with the rule and hint of its own.

Contract: every function here either returns (the response, or what came
after it) or raises `StageFailure` naming the RFC rule that the response broke
and a hint for that rule only, so a report never shows one check's rule beside
another check's hint.

    expect_framed(response, client, expected)     Content-Length or chunked, not "until close"
    expect_date(response, client, expected)       Date in IMF-fixdate, in GMT, near now
    expect_text(client, response, text, expected, rule, hint)
                                                  200, text/plain (charset=utf-8 when not ASCII), the text
    expect_head_like_get(context, target, got, expected)   HEAD: GET's status and fields, no body
    expect_nothing_more(client, expected, seconds)   no bytes beyond the response's body
    expect_closed(client, expected, rule, hint)   the server closes the connection after its answer
    refused(context, raw, statuses, expected, rule, hint, then=None)
                                                  a request refused with one of `statuses`, then closed
"""

import email.utils
import re
from datetime import datetime, timezone

from .failure import StageFailure
from .stage import expect_status, fail, hint_on_failure
from .wire import CONTENT_LENGTH_RULE

TEXT_RULE = ("RFC 9110 §8.3 (Content-Type) and RFC 2046 §4.1.2 (text/plain without charset means US-ASCII); "
             "the course's contract, as in CodeCrafters: text/plain exactly for ASCII text")
TEXT_HINT = ("Send \"Content-Type: text/plain\" for ASCII text, and \"text/plain; charset=utf-8\" only when "
             "the text has other characters (text.isascii() tells).")
DATE_RULE = "RFC 9110 §6.6.1 (an origin server with a clock sends Date) and §5.6.7 (IMF-fixdate)"
DATE_HINT = "Use email.utils.formatdate(usegmt=True), which writes e.g. \"Sun, 06 Nov 1994 08:49:37 GMT\"."
IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT\Z")
CLOSE_AFTER_ERROR_RULE = ("RFC 9112 §6.3 (after a message it cannot frame, a server answers 400 and closes: "
                          "it cannot know where the next request would start)")


def expect_framed(response, client, expected):
    """The body's end is announced (Content-Length or chunked), not left to the close."""
    if response.field("content-length") is None and response.field("transfer-encoding") is None:
        fail("the response has no Content-Length, so its body ends only when the connection closes",
             expected=expected, client=client, rule=CONTENT_LENGTH_RULE,
             hint="Send \"Content-Length: <number of body bytes>\\r\\n\"; without it no second "
                  "request can follow on the connection.")


def expect_date(response, client, expected):
    """A Date field in IMF-fixdate, in GMT, within five minutes of the tester's clock."""
    value = response.field("date")
    if value is None:
        fail("the response has no Date field", expected=expected, client=client, rule=DATE_RULE, hint=DATE_HINT)
    if not IMF_FIXDATE.match(value):
        fail(f"Date {value!r} is not in IMF-fixdate form", expected=expected, client=client, rule=DATE_RULE,
             hint=DATE_HINT)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        fail(f"Date {value!r} is not a real date", expected=expected, client=client, rule=DATE_RULE,
             hint=DATE_HINT)
    skew = abs((when - datetime.now(timezone.utc)).total_seconds())
    if skew > 300:
        fail(f"Date {value!r} is {skew / 3600:.1f} hours away from now", expected=expected, client=client,
             rule=DATE_RULE, hint="The Date is in GMT (UTC), not local time: " + DATE_HINT)


def text_type(text):
    """The Content-Type the course's contract asks for `text`."""
    return "text/plain" if text.isascii() else "text/plain; charset=utf-8"


def expect_text(client, response, text, expected, rule, hint):
    """A 200 text/plain response whose body is exactly `text` in UTF-8, framed by Content-Length.

    `rule` and `hint` are the route's own, for a body that holds the wrong text; a body
    cut short, its rest following on the wire, is the Content-Length rule's. The
    connection must still be open (the rest of a body cut short is read from it).
    """
    expect_status(response, 200, client, expected, rule=rule, hint=hint)
    wanted_type = text_type(text)
    got_type = response.field("content-type")
    if got_type is None or got_type.replace(" ", "").lower() != wanted_type.replace(" ", ""):
        fail(f"Content-Type is {got_type!r}, not {wanted_type!r}", expected=expected, client=client,
             rule=TEXT_RULE, hint=TEXT_HINT)
    expect_framed(response, client, expected)
    data = text.encode("utf-8")
    if response.body == data:
        return
    # A Content-Length that is too small leaves the rest of the body on the wire, where it
    # follows at once; only then is the short body Content-Length's fault, not the route's.
    rest = client.extra_bytes(0.2) if data.startswith(response.body) else b""
    if rest and data[len(response.body):].startswith(rest[:len(data) - len(response.body)]):
        fail(f"the body is {response.body[:200]!r}: Content-Length ({response.field('content-length')}) "
             f"is {len(data) - len(response.body)} short of the {len(data)} bytes of {text!r}, which followed",
             expected=expected, client=client, rule=CONTENT_LENGTH_RULE,
             hint="Count the bytes of the encoded body (len(body) after .encode()), not the characters of "
                  "the text.")
    fail(f"the body is {response.body[:200]!r}, not {data[:200]!r}", expected=expected, client=client,
         rule=rule, hint=hint)


HEAD_RULE = ("RFC 9110 §9.3.2 (HEAD: the status and fields GET would get, and no body) and §8.6 (a HEAD "
             "response's Content-Length is the length GET's body would have)")


def expect_head_like_get(context, target, got, expected):
    """HEAD `target` answers the status, Content-Length and Content-Type of `got` (GET's
    response) and no body. It asks to close, so a correct server ends the exchange at once."""
    client = context.connect()
    client.send(context.request_bytes(target, "HEAD", fields=[("Connection", "close")]), expected=expected)
    head = client.read_response("HEAD", expected=expected)
    expect_status(head, got.status, client, expected, rule=HEAD_RULE,
                  hint="Route HEAD like GET (a 501 or 405 for HEAD means it went down another path), "
                       "then leave the body out.")
    for name in ("content-length", "content-type"):
        if head.field(name) != got.field(name):
            fail(f"HEAD says {name.title()}: {head.field(name)}, GET says {got.field(name)}",
                 expected=expected, client=client, rule=HEAD_RULE,
                 hint="Build the whole GET response, fields and all, then drop only the body: "
                      "Content-Length says how long the body would be.")
    after, _ = client.read_until_close(0.3)
    if after:
        fail(f"{len(after)} bytes of body ({after[:20]!r}) came after the head of a HEAD response",
             expected=expected, client=client, rule=HEAD_RULE,
             hint="Send the status line and fields for HEAD, but not the body.")
    client.shutdown()


def expect_nothing_more(client, expected, seconds=0.1):
    """No bytes beyond the response just read arrive within `seconds`."""
    extra = client.extra_bytes(seconds)
    if not extra:
        return
    if extra.startswith(b"HTTP/"):
        fail("a second response came after the first, to a single request", expected=expected, client=client,
             rule="RFC 9112 §9.3 (one response for each request, in order)",
             hint="Answer once per request head (after its empty line), not once per recv().")
    fail(f"{len(extra)} bytes ({extra[:20]!r}) came after the body that Content-Length announced",
         expected=expected, client=client, rule=CONTENT_LENGTH_RULE,
         hint="Send exactly Content-Length bytes after the head and nothing else: no CRLF after the body "
              "(the next bytes on the connection are read as the start of the next response).")


def expect_closed(client, expected, rule, hint, seconds=None):
    """The server closes (or resets) the connection soon after its answer, sending nothing more."""
    outcome = client.closes_within(client.timeout if seconds is None else seconds)
    if outcome is True:
        return
    if outcome is False:
        fail(f"the connection stayed open for {client.timeout if seconds is None else seconds:g} s after the "
             "answer", expected=expected, client=client, rule=rule, hint=hint)
    if outcome.startswith(b"HTTP/"):
        fail("another response came after the answer, instead of the close", expected=expected, client=client,
             rule=rule, hint=hint)
    fail(f"{len(outcome)} more bytes ({outcome[:20]!r}) came after the answer, instead of the close",
         expected=expected, client=client, rule=CONTENT_LENGTH_RULE,
         hint="Send exactly Content-Length bytes of body, then close.")


def refused(context, raw, statuses, expected, rule, hint, then=None, method="GET"):
    """Send `raw` (and the request `then` right behind it, in the same write) on a new connection:
    the answer must be one of `statuses`, and the server must then close without answering `then`."""
    client = context.connect()
    with hint_on_failure(hint, rule):
        try:
            client.send(raw + (then or b""), expected=expected)
        except StageFailure:
            # A server may refuse and close before reading all we send; its
            # answer can still be waiting in our receive buffer.
            pass
        response = client.read_response(method, expected=expected)
        expect_status(response, statuses, client, expected)
    if then is not None:
        expect_closed(client, expected + ", then the connection closed (the request behind it unanswered)",
                      CLOSE_AFTER_ERROR_RULE,
                      "After answering a request you could not read (400, 413, 431...), close the connection: "
                      "the bytes that follow cannot be trusted to start a request.", seconds=min(context.timeout, 2))
    client.shutdown()
    return response
