"""Inside the sandbox, the probes whose outcome the grader watches from outside.

The files atomic_write leaves (the grader reads them, and the kernel's record of
what happened to them), the answers its clients get from serve_in_thread, the TLS
handshakes its servers see: what the student's process reports here is only for
the message. Standard library only, like probe.py.
"""

import os
import socket
import threading
import time

from plain import call, decode, encode, raised

def probe_atomic_write(answer, home, job):
    """Each case writes a file in the exchange folder, which the grader watches from outside."""
    results = []
    for case in job["cases"]:
        chunks, break_after = decode(case["chunks"]), case.get("break_after")

        def arriving(chunks=chunks, break_after=break_after):
            for number, chunk in enumerate(chunks):
                if number == break_after:
                    raise ConnectionResetError("the client went away halfway through the upload")
                yield chunk
        results.append(call(answer, (os.path.join(job["folder"], case["name"]), arriving())))
    return results


def probe_concurrency(answer, home, job):
    """Serve the grader's clients: accept on a Unix socket, hand each connection to the answer.

    Each case is a trial, with a listening socket of its own. my_server's serve_one
    becomes a slow handler (a database would be here); the grader's clients, outside,
    time the answers they get.
    """
    slow = job["slow_seconds"]

    def slow_serve_one(connection, config=None):
        with connection:
            connection.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                head += chunk
            time.sleep(slow)
            body = b"you asked for " + head.split(b" ", 2)[1] + b"\n"
            connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                               % len(body) + body)

    home.serve_one = slow_serve_one
    results = []
    for trial in job["cases"]:
        if trial.get("places"):
            home.FREE_PLACES = threading.BoundedSemaphore(trial["places"])
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(os.path.join(job["folder"], trial["socket"]))
        listener.listen(16)
        listener.settimeout(15)
        calls, failure = [], None
        # Every client's request waits in the queue before the first is accepted, as in the chapter.
        go, deadline = os.path.join(job["folder"], trial["socket"] + ".go"), time.monotonic() + 15
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            for _ in range(trial["clients"]):
                connection, _ = listener.accept()
                started = time.perf_counter()
                observed = call(answer, (connection, None))
                calls.append(time.perf_counter() - started)
                if "raised" in observed:
                    connection.close()
                    failure = observed
                    break
        except OSError as error:
            failure = raised(error)
        finally:
            listener.close()
        results.append(failure or {"value": encode(calls)})
        if failure:  # the exercise has failed: no need to make the grader's clients wait
            return results
    wait_for_grader(job)
    return results


def wait_for_grader(job):
    """Stay alive (threads and all) until the grader has seen what it came for."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(job["folder"], "done.sock"))
    listener.listen(1)
    listener.settimeout(30)
    try:
        listener.accept()[0].close()
    except OSError:
        pass
    listener.close()


def probe_tls_context(answer, home, job):
    """answer(ca_file) makes a client context; shake hands with each of the grader's TLS servers."""
    import ssl

    results = []
    for case in job["cases"]:
        try:
            context = answer(case["ca_file"])
        except BaseException as error:
            results.append(raised(error))
            continue
        seen = {"is_context": isinstance(context, ssl.SSLContext)}
        if seen["is_context"]:
            seen.update(verify_mode=int(context.verify_mode), check_hostname=bool(context.check_hostname),
                        minimum_version=int(context.minimum_version))
        for server in case["servers"]:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            try:
                sock.connect(server)
                with context.wrap_socket(sock, server_hostname="localhost") as tls:
                    tls.sendall(b"hello")
                seen[server] = "handshake"
            except BaseException as error:
                seen[server] = type(error).__name__
            finally:
                sock.close()
        results.append({"value": encode(seen)})
    return results
