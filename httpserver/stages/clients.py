"""Stages of chapter 05: many clients at once, and a slow one holding up nobody.

A server that serves one connection at a time passes every earlier stage,
because those open one connection after another. These stages open several
together and finish them in the "wrong" order: the newest first.
"""

from .stage import fail, hint_on_failure, stage

CLIENTS = 10
CONCURRENCY_HINT = ("Serve each accepted connection in its own thread (threading.Thread(target=..., "
                    "daemon=True).start()), so accept() is called again at once.")


@stage("05-concurrent", f"{CLIENTS} connections open at once are all answered, the newest first",
       "RFC 9112 §9 (a server serves many connections concurrently)")
def concurrent_clients(context):
    clients = []
    for number in range(CLIENTS):
        client = context.connect(label=f"connection {number + 1}")
        # Every head but its final empty line: the server must wait on all of them at once.
        head = context.request_bytes(f"/echo/client-{number + 1}")
        client.send(head[:-2], expected="nothing yet: the head is not finished")
        clients.append((number + 1, client, head[-2:]))
    for number, client, rest in reversed(clients):
        with hint_on_failure(CONCURRENCY_HINT):
            check_answer(number, client, rest)


def check_answer(number, client, rest):
    """Finish connection `number`'s head and check its answer."""
    expected = f"the answer to connection {number} while connections 1-{number - 1} are still open"
    client.send(rest, expected=expected)
    response = client.read_response(expected=expected)
    if response.status != 200 or response.body != f"client-{number}".encode():
        fail(f"connection {number} got status {response.status} and body {response.body[:60]!r}",
             expected=expected + f": 200, body 'client-{number}'", client=client)


@stage("05-slow-client", "a client that sends half a request and stalls does not hold up others",
       "RFC 9112 §9 (connections are independent)")
def slow_client(context):
    stalled = context.connect(label="stalled connection")
    stalled.send(b"GET /echo/slow HTTP/1.1\r\nHo", expected="nothing yet")
    for number in range(1, 4):
        expected = f"an answer to request {number} on its own connection, while another client stalls"
        with hint_on_failure(CONCURRENCY_HINT):
            client, response = context.request(f"/echo/quick-{number}", expected=expected)
        if response.status != 200:
            fail(f"status {response.status}", expected=expected, client=client, hint=CONCURRENCY_HINT)
    # The stalled client finishes at last, and is answered too.
    expected = "the stalled client's answer once it finishes its head"
    stalled.send(b"st: " + context.authority.encode() + b"\r\n\r\n", expected=expected)
    response = stalled.read_response(expected=expected)
    if response.status != 200 or response.body != b"slow":
        fail(f"status {response.status}, body {response.body[:60]!r}", expected=expected, client=stalled)
