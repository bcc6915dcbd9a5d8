"""Stages of chapter 07: HTTPS with the certificate the tester made.

For these stages the program is started again with `--certfile F --keyfile F`
appended: a certificate for localhost signed by a throwaway CA that only the
tester trusts. A server that makes its own certificate, or none, fails the
chain check, as a browser would refuse it.
"""

from .failure import StageFailure
from .response import STATUS_LINE
from .stage import expect_status, fail, stage

TLS_RULE = "RFC 9110 §4.2.2 and §4.3.4 (https: TLS, and a certificate that verifies for the host)"


@stage("07-https", "HTTPS with the given certificate: the chain verifies, requests are answered, a silent "
       "client holds up no one",
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
    # A client that connects and never starts its handshake must not hold up the next one's.
    silent = context.connect(tls=False, label="a connection that never speaks")
    try:
        other = context.connect(label="a second client, while the first one says nothing")
        _, response = context.request("/echo/beside-a-silent-one", client=other,
                                      expected="200 over TLS while another connection stays silent")
    except StageFailure as failure:
        failure.problem = ("while one connection said nothing, a second client got no service: "
                           + failure.problem)
        failure.rule = "RFC 9112 §9 (connections are independent; a TLS handshake is one connection's business)"
        failure.hint = ("Run each TLS handshake in the connection's own thread, with a timeout, never in the "
                        "loop that accepts: a client that connects and sends nothing holds the handshake "
                        "until it gives up.")
        raise
    expect_status(response, 200, other, "200 over TLS while another connection stays silent")
    silent.shutdown()


PLAIN_RULE = ("RFC 9110 §15.5.1 (400 Bad Request) and RFC 8446 §6.2 (a TLS server does not go on with a "
              "handshake it cannot parse): plain HTTP on the HTTPS port gets a plain-text 400, then the close")


@stage("07-plain-on-tls", "plain HTTP sent to the HTTPS port gets a plain-text 400 and a close, not a hang",
       PLAIN_RULE, tls=True)
def plain_http_on_tls_port(context):
    expected = "a plain-text HTTP/1.1 400 answer saying to use https://, then the connection closed"
    hint = ("Peek at the first byte (recv(1, socket.MSG_PEEK)): a TLS handshake starts with 0x16; for anything "
            "else send a plain 400 that says the port speaks HTTPS, and close. Give the peek a timeout.")
    client = context.connect(tls=False, label="plain connection to the HTTPS port")
    client.send(context.request_bytes("/echo/plain"), expected=expected)
    data, outcome = client.read_until_close(context.timeout)
    first_line = data.split(b"\r\n", 1)[0]
    status = STATUS_LINE.match(first_line)
    if status and status.group(2) == b"400":
        if outcome == "timeout":
            fail("the 400 came, but the connection stayed open", expected=expected, client=client,
                 rule=PLAIN_RULE, hint=hint)
        return
    if status:
        fail(f"the server answered {first_line!r} over plain HTTP on its HTTPS port", expected=expected,
             client=client, rule=PLAIN_RULE, hint=hint)
    if outcome == "timeout":
        fail(f"no answer and no close within {context.timeout:g} s: the connection hangs", expected=expected,
             client=client, rule=PLAIN_RULE, hint=hint)
    fail(f"the server {'reset' if outcome == 'reset' else 'closed'} the connection "
         + (f"after sending {data[:20]!r} (a TLS alert?)" if data else "without a word")
         + ": the client is left guessing why", expected=expected, client=client, rule=PLAIN_RULE, hint=hint)
