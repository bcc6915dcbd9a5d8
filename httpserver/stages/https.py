"""Stages of chapter 07: HTTPS with the certificate the tester made.

For these stages the program is started again with `--certfile F --keyfile F`
appended: a certificate for localhost signed by a throwaway CA that only the
tester trusts. A server that makes its own certificate, or none, fails the
chain check, as a browser would refuse it.
"""

from .stage import expect_status, fail, stage
from .response import STATUS_LINE

TLS_RULE = "RFC 9110 §4.2.2 and §4.3.4 (https: TLS, and a certificate that verifies for the host)"


@stage("07-https", "HTTPS with the given certificate: the chain verifies, requests are answered",
       TLS_RULE, tls=True)
def https(context):
    client = context.connect()  # verifies the chain against the tester's CA, and the name
    for target, body in (("/echo/secure", b"secure"), ("/echo/still-secure", b"still-secure")):
        expected = f"200 over TLS with body {body!r}"
        _, response = context.request(target, client=client, expected=expected)
        expect_status(response, 200, client, expected,
                      hint="After the handshake, read and write the SSL socket exactly like a plain one.")
        if response.body != body:
            fail(f"the body is {response.body[:60]!r}", expected=expected, client=client)


@stage("07-plain-on-tls", "plain HTTP sent to the HTTPS port gets a 4xx or a close, not a hang",
       "RFC 8446 §6.2 (a TLS server aborts a handshake it cannot parse) and RFC 9110 §15.5.1 (400)", tls=True)
def plain_http_on_tls_port(context):
    expected = "an HTTP 4xx response, a TLS alert, or the connection closed, within the timeout"
    client = context.connect(tls=False, label="plain connection to the HTTPS port")
    client.send(context.request_bytes("/echo/plain"), expected=expected)
    data, outcome = client.read_until_close(context.timeout)
    first_line = data.split(b"\r\n", 1)[0]
    status = STATUS_LINE.match(first_line)
    if status and not 400 <= int(status.group(2)) < 500:
        fail(f"the server answered {first_line!r} over plain HTTP on its HTTPS port", expected=expected,
             client=client, hint="Wrap every accepted socket in TLS before reading a request from it.")
    if outcome == "timeout" and not status:
        fail(f"no answer and no close within {context.timeout:g} s: the connection hangs", expected=expected,
             client=client, hint="A failed handshake raises ssl.SSLError: catch it and close the socket "
                                 "(and give the handshake a timeout).")
