"""Stage of chapter 08: slowloris. A head trickled a byte at a time is cut off by a deadline.

The tester sends a head one byte every quarter second, never finishing it. A
server with only a timeout per recv() waits forever (each byte resets it); one
with a deadline for the whole head cuts it, with a 408 or a plain close. The
stage lasts as long as the server's deadline: 10 s for the reference.
"""

import time

from .failure import StageFailure
from .response import STATUS_LINE
from .stage import fail, stage

SLOWLORIS_BOUND = 20.0  # seconds a trickled head may last at most before the server cuts it
TRICKLE_EVERY = 0.25  # seconds between the bytes of the trickled head
SLOWLORIS_RULE = "RFC 9112 §9.5 (a server may close idle or slow connections) and RFC 9110 §15.5.9 (408)"


@stage("08-slowloris", f"a head trickled a byte at a time is cut off within {SLOWLORIS_BOUND:g} s", SLOWLORIS_RULE)
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
                 expected=expected, client=client, rule="RFC 9112 §2.1 (a request head ends with an empty line)",
                 hint="Answer only once the head's empty line has arrived.")
    fail(f"after {time.monotonic() - started:.0f} s the trickled head was still being accepted",
         expected=expected, client=client, rule=SLOWLORIS_RULE,
         hint="Give the whole head a deadline counted from its first byte (10 s is common), not only a "
              "timeout on each recv(): a byte every quarter second resets a per-recv timeout forever.")
