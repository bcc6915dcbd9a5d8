"""Stage of chapter 09: a modest load, answered completely, without a crash.

Not a benchmark: 10 connections each send 50 keep-alive requests one after
another, all at once, and every answer must be right. A generous time limit
catches only a server that stalls, serialises clients or leaks until it dies.
"""

import threading
import time

from .failure import StageFailure
from .stage import expect_status, fail, stage

CONNECTIONS = 10
REQUESTS = 50
TIME_LIMIT = 30.0


@stage("09-load", f"{CONNECTIONS * REQUESTS} keep-alive requests over {CONNECTIONS} connections, "
                  f"all right, within {TIME_LIMIT:g} s",
       "RFC 9112 §9.3 (persistent connections) and §9 (concurrent connections)")
def modest_load(context):
    clients = [context.connect(label=f"load connection {number + 1}") for number in range(CONNECTIONS)]
    failures = []
    started = time.monotonic()

    def run(number, client):
        try:
            for request in range(REQUESTS):
                if time.monotonic() - started > TIME_LIMIT:
                    fail(f"connection {number}: only {request} of {REQUESTS} answers within {TIME_LIMIT:g} s",
                         expected=f"{REQUESTS} answers", client=client)
                word = f"load-{number}-{request}"
                expected = f"200 with body {word!r}, answer {request + 1} on connection {number}"
                _, response = context.request(f"/echo/{word}", client=client, expected=expected)
                expect_status(response, 200, client, expected)
                if response.body != word.encode():
                    fail(f"answer {request + 1} on connection {number} has body {response.body[:60]!r}",
                         expected=expected, client=client)
        except StageFailure as failure:
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(number + 1, client), daemon=True)
               for number, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIME_LIMIT + 2 * context.timeout)
    if failures:
        raise failures[0]
    if any(thread.is_alive() for thread in threads):
        fail(f"some connections were still waiting after {TIME_LIMIT:g} s", expected="every answer")
    # Still alive, and still answering a newcomer.
    expected = "a fresh connection answered after the load"
    client, response = context.request("/echo/after-load", expected=expected)
    expect_status(response, 200, client, expected)
