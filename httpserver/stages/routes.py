"""Stages of chapter 03: responses and routes. /echo/, /user-agent, HEAD, Date, and errors.

The two text routes are the seed's and the CodeCrafters challenge's: `text/plain`
exactly for ASCII text, `text/plain; charset=utf-8` for any other (chapter 03,
section 5). Each case brings the rule it checks, so a wrong body is reported
against the route's own rule, and only a body cut short against Content-Length.
"""

from .expectations import (HEAD_RULE, expect_date, expect_framed, expect_head_like_get, expect_nothing_more,
                           expect_text)
from .stage import expect_status, fail, hint_on_failure, stage

ECHO_RULE = "RFC 3986 §2.1 (percent-encoding) and the route: GET /echo/{text} answers the decoded text"
ECHO_HINT = ("Answer the path after /echo/, percent-decoded (urllib.parse.unquote) and encoded as UTF-8; "
             "Content-Length counts those bytes.")
FIELD_RULE = ("RFC 9110 §5.1 (field names are case-insensitive) and RFC 9112 §5.1 (field-line = field-name "
              "\":\" OWS field-value OWS)")


@stage("03-echo", "GET /echo/{text}: the decoded text, text/plain (charset=utf-8 when not ASCII), exact length",
       "RFC 9110 §8.3 and §8.6 (Content-Type and Content-Length of the body)")
def echo(context):
    for target, text in (("strawberry", "strawberry"),
                         ("a-much-longer-text-to-echo-back-1234567890", "a-much-longer-text-to-echo-back-1234567890"),
                         ("hello%20world", "hello world"),
                         ("caf%C3%A9-na%C3%AFve", "café-naïve")):
        data = text.encode("utf-8")
        expected = (f"200, Content-Type: {'text/plain' if text.isascii() else 'text/plain; charset=utf-8'}, "
                    f"Content-Length: {len(data)}, body {text!r}")
        client, response = context.request(f"/echo/{target}", expected=expected, keep_open=True)
        expect_text(client, response, text, expected, ECHO_RULE, ECHO_HINT)
        client.shutdown()


@stage("03-user-agent", "GET /user-agent answers the User-Agent field's value, however the name is written",
       FIELD_RULE)
def user_agent(context):
    cases = [("User-Agent", "stage-tester/1.0 (chapter 03)", "stage-tester/1.0 (chapter 03)",
              "Find the field named User-Agent and answer its value."),
             ("user-agent", "lower/case-name", "lower/case-name",
              "Field names are case-insensitive: compare them in lower case (name.lower())."),
             ("USER-AGENT", "upper/case-name", "upper/case-name",
              "Field names are case-insensitive: compare them in lower case (name.lower())."),
             ("User-Agent", "curl/8.5.0 (x86_64; https://example.com:8443/path)",
              "curl/8.5.0 (x86_64; https://example.com:8443/path)",
              "The value is everything after the first colon: split the line once (line.split(\":\", 1) or "
              "partition), since a value may hold colons."),
             ("User-Agent", " padded/2.0\t ", "padded/2.0",
              "Strip spaces and tabs around the value (OWS is not part of it), but not inside it.")]
    for name, sent, agent, hint in cases:
        expected = f"200, Content-Type: text/plain, body {agent!r} (the field line was {name}: {sent!r})"
        client = context.connect()
        raw = (f"GET /user-agent HTTP/1.1\r\nHost: {context.authority}\r\nAccept: */*\r\n"
               f"{name}: {sent}\r\n\r\n").encode("latin-1")
        client.send(raw, expected=expected)
        response = client.read_response(expected=expected)
        expect_text(client, response, agent, expected, FIELD_RULE, hint)
        client.shutdown()


@stage("03-head", "HEAD gets GET's status and fields (Content-Length included) and no body", HEAD_RULE)
def head(context):
    for target in ("/echo/heads-or-tails", "/no/such/page-head"):
        expected = f"for HEAD {target}: the status and Content-Length of GET {target}, then no body"
        _, got = context.request(target, expected=f"the answer to GET {target}")
        expect_head_like_get(context, target, got, expected)


@stage("03-date", "every response carries a Date in IMF-fixdate form, in GMT",
       "RFC 9110 §6.6.1 (an origin server with a clock sends Date) and §5.6.7 (IMF-fixdate)")
def date(context):
    for target in ("/echo/today", "/no/such/page-date"):
        expected = "a Date field such as \"Sun, 06 Nov 1994 08:49:37 GMT\", within minutes of now"
        client, response = context.request(target, expected=expected)
        expect_date(response, client, expected)


@stage("03-errors", "errors are complete responses: 404, 501 (or a 4xx) for an unknown method, 405 with Allow",
       "RFC 9110 §15 (status codes), §15.6.2 (501), §15.5.6 (405 with Allow) and §6.6.1 (Date)")
def error_responses(context):
    # Any client error, or 501, for the unknown method: 501 is what RFC 9110 §9.1
    # advises (SHOULD), but a 404 or 405 is no lie, while a 2xx or a 500 would be.
    method_statuses = tuple(range(400, 500)) + (501,)
    cases = [("GET", "/no/such/page-e", (404,), "status 404", "RFC 9110 §15.5.5 (404 Not Found)",
              "Answer 404 Not Found when no route and no file match."),
             ("BREW", "/echo/coffee", method_statuses, "status 501 (or a 4xx)", "RFC 9110 §9.1 and §15.6.2 "
              "(a method the server does not implement: 501)", "A method the server does not implement gets 501 "
              "Not Implemented (405 if the path allows other methods), never a 2xx or a 500."),
             ("DELETE", "/echo/coffee", (405,), "status 405 with Allow", "RFC 9110 §15.5.6 (405: the method is "
              "known but the target does not take it)", "DELETE is a method servers know, and /echo/ does not "
              "take it: 405 Method Not Allowed, with Allow naming the methods it does take."),
             ("get", "/echo/coffee", method_statuses, "status 501 (or a 4xx), since get is not GET",
              "RFC 9110 §9.1 (the method token is case-sensitive)", "Compare the method exactly: \"get\" is an "
              "unknown method, not GET."),
             ("GET", "/echo/%FF%FE", tuple(range(200, 500)), "an answer (200 or 400), not a 500 or silence,",
              "RFC 9110 §15.5.1 (bad input gets a 4xx answer)", "Bytes that are not UTF-8 once percent-decoded "
              "must not crash the route: decode with errors=\"replace\", or answer 400.")]
    for method, target, statuses, wanted, rule, hint in cases:
        expected = f"{wanted} for {method} {target}, with a Content-Length and a Date"
        with hint_on_failure(hint, rule):
            client, response = context.request(target, method=method, expected=expected, keep_open=True)
            expect_status(response, statuses, client, expected)
        expect_framed(response, client, expected)
        expect_date(response, client, expected)
        if response.status == 405:
            allowed = {token.strip().upper() for token in (response.field("allow") or "").split(",")}
            if response.field("allow") is None:
                fail("a 405 without an Allow field", expected="405 with Allow: the methods this path takes",
                     client=client, rule="RFC 9110 §15.5.6 (a 405 MUST carry Allow)",
                     hint="Send the methods the path does take, e.g. \"Allow: GET, HEAD\\r\\n\"; "
                          "a 405 raised as an error needs its fields carried to the response too.")
            if "GET" not in allowed or method in allowed:
                fail(f"Allow: {response.field('allow')} for {method} {target}", client=client,
                     expected=f"an Allow list with GET and without {method}",
                     rule="RFC 9110 §10.2.1 (Allow lists the methods the target supports)",
                     hint="List the methods this path does take (GET, HEAD for /echo/), not the one refused.")
        expect_nothing_more(client, expected)
        client.shutdown()
