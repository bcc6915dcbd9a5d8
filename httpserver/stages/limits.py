"""Stages of chapter 08: limits on what a client may send, and refusing a body before it comes.

The sizes are far beyond any sane limit (a 100 KiB request target, 100 KiB of
header fields or 2,000 of them, a 10 GB body), so any server with limits at
all refuses them, whatever its exact numbers. A server may close right after
refusing; the tester reads the refusal first.
"""

from .expectations import refused
from .stage import expect_status, fail, hint_on_failure, stage

HUGE = 100 * 1024
MANY_FIELDS = 2000
EXPECT_RULE = ("RFC 9110 §10.1.1 (a server that receives Expect: 100-continue sends 100 Continue, or a final "
               "status, before reading the body)")
EXPECT_HINT = ("After the head, if Expect is 100-continue (case-insensitive) and the body is one you will read, "
               "send \"HTTP/1.1 100 Continue\\r\\n\\r\\n\" before the first recv() of the body: the client waits "
               "for it.")


@stage("08-uri-too-long", f"414 for a request target of {HUGE // 1024} KiB",
       "RFC 9112 §3 and RFC 9110 §15.5.15 (414 URI Too Long)")
def uri_too_long(context):
    refused(context, context.request_bytes("/echo/" + "a" * HUGE), (414,), "status 414",
            "RFC 9112 §3 and RFC 9110 §15.5.15 (414 URI Too Long)",
            "Stop reading the request line past a limit (8 KiB is common) and answer 414 URI Too Long.")


@stage("08-header-too-large", f"431 for {HUGE // 1024} KiB of header fields, and for {MANY_FIELDS:,} of them",
       "RFC 6585 §5 (431 Request Header Fields Too Large)")
def header_too_large(context):
    rule = "RFC 6585 §5 (431 Request Header Fields Too Large: too many bytes of fields, or too many fields)"
    fields = [(f"X-Filler-{number}", "b" * 500) for number in range(HUGE // 500)]
    refused(context, context.request_bytes("/echo/big-head", fields=fields), (431,),
            f"status 431 for {HUGE // 1024} KiB of header fields", rule,
            "Cap the size of the whole head (say 64 KiB); past it, answer 431.")
    fields = [(f"X-{number}", "1") for number in range(MANY_FIELDS)]
    refused(context, context.request_bytes("/echo/many-fields", fields=fields), (431,),
            f"status 431 for {MANY_FIELDS:,} header fields of a few bytes each", rule,
            "Cap the number of fields too (100 is common): each costs memory and work however short it is.")


@stage("08-body-too-large", "413 for a body declared as 10 GB, answered before any body is sent",
       "RFC 9110 §15.5.14 (413 Content Too Large)")
def body_too_large(context):
    rule = "RFC 9110 §15.5.14 (413 Content Too Large) and §10.1.1 (no 100 Continue for a body that is refused)"
    hint = ("Compare Content-Length with your limit as soon as the head is read, and answer 413 before reading "
            "(or storing) any of the body, and before any 100 Continue.")
    for fields in ([], [("Expect", "100-continue")]):
        raw = context.request_bytes("/files/huge.bin", "POST", fields=fields).replace(
            b"Content-Length: 0", b"Content-Length: 10000000000")
        with_expect = " (the client waits with Expect: 100-continue)" if fields else ""
        refused(context, raw, (413,), f"status 413, without waiting for the body{with_expect}", rule, hint,
                method="POST")
        if context.workspace.stored("huge.bin") is not None:
            fail("after the 413, --directory/huge.bin exists", expected="no file", rule=rule, hint=hint)


@stage("08-expect-continue", "Expect: 100-continue gets 100 Continue before the body is sent, then the answer",
       EXPECT_RULE)
def expect_continue(context):
    for number, value in enumerate(("100-continue", "100-Continue"), start=1):
        name = f"expected-{number}.txt"
        body = b"sent only after 100 Continue\n"
        expected = f"HTTP/1.1 100 Continue after the head (Expect: {value}), then 201 once the body is sent"
        client = context.connect()
        head = context.request_bytes(f"/files/{name}", "POST", fields=[("Expect", value)], body=body)
        client.send(head[:-len(body)], expected=expected)
        with hint_on_failure(EXPECT_HINT, EXPECT_RULE):
            interim = client.read_interim(expected=expected)
        if interim != 100:
            fail(f"the first answer to the head is {interim}, not 100 Continue", expected=expected, client=client,
                 rule=EXPECT_RULE, hint=EXPECT_HINT)
        client.send(body, expected=expected)
        response = client.read_response("POST", expected=expected)
        expect_status(response, 201, client, expected, rule=EXPECT_RULE,
                      hint="After 100 Continue, read the body as usual and answer it.")
        if context.workspace.stored(name) != body:
            fail(f"--directory/{name} does not hold the body sent after 100 Continue", expected=expected,
                 client=client, rule=EXPECT_RULE, hint="After 100 Continue, read the body as usual.")
        client.shutdown()
