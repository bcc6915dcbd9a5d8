"""Two benchmark rows about hostile clients: what one of them costs everyone else.

Contract: each function starts the named model with `python -m httpserver` in a
child process on a free port, measures, and stops it; `make bench` reports both.

- `pipelining_memory(site, model)`: one client pipelines 2,520 GETs of a 256 KiB
  file (64 KiB of requests asking for 630 MiB of answers) on a socket with a
  small receive buffer, and never reads. Returns the server's memory growth
  in KiB (Linux: from /proc), or None where it cannot be read.
- `upload_delay(site, model)`: one client uploads 64 MiB while another sends a
  small GET every 10 ms; returns the other client's median and worst latency
  in ms during the upload, next to its median when nothing else happens.
"""

import http.client
import os
import socket
import sys
import threading
import time

PIPELINED = 2520
PIPELINED_FILE = "k256.bin"
UPLOAD_SIZE = 64 * 1024 * 1024


def _server(site, model):
    from .bench import ServerProcess, free_port, pin  # bench imports us: import late
    port = free_port()
    command = [sys.executable, "-m", "httpserver", "--quiet", "--port", str(port), "--root", str(site),
               "--directory", str(site), "--model", model]
    return ServerProcess(model, pin(command, 0), port)


def pipelining_memory(site, model):
    """KiB the server grew while one client pipelined and never read (None: unknown)."""
    path = site / PIPELINED_FILE
    if not path.exists():
        path.write_bytes(os.urandom(256 * 1024))
    server = _server(site, model)
    try:
        request = f"GET /{PIPELINED_FILE} HTTP/1.1\r\nHost: bench\r\n\r\n".encode("ascii")
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as warm:
            warm.sendall(request)  # the file is cached before we measure
            time.sleep(0.2)
        time.sleep(0.2)
        before = server.rss_kib()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.settimeout(1.0)
        try:
            sock.sendall(request * PIPELINED)
        except OSError:
            pass  # the server stopped reading: back-pressure
        time.sleep(1.0)
        after = server.rss_kib()
        sock.close()
        return after - before if before and after else None
    finally:
        server.stop()


def _latencies(port, stop, out):
    """Time one small GET every 10 ms on a keep-alive connection until `stop` is set."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        while not stop.is_set():
            start = time.perf_counter()
            connection.request("GET", "/1k.txt")
            connection.getresponse().read()
            out.append((time.perf_counter() - start) * 1000)
            time.sleep(0.01)
    finally:
        connection.close()


def upload_delay(site, model):
    """{"quiet_ms", "median_ms", "max_ms", "upload_s"}: another client's latency during a 64 MiB upload."""
    server = _server(site, model)
    try:
        quiet, during = [], []
        stop = threading.Event()
        probe = threading.Thread(target=_latencies, args=(server.port, stop, quiet))
        probe.start()
        time.sleep(0.5)
        stop.set()
        probe.join()
        stop = threading.Event()
        probe = threading.Thread(target=_latencies, args=(server.port, stop, during))
        probe.start()
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(b"PUT /files/upload.bin HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n" % UPLOAD_SIZE)
            block = b"u" * (1024 * 1024)
            for _ in range(UPLOAD_SIZE // len(block)):
                sock.sendall(block)
            sock.recv(4096)  # the answer: the file is on disk
        upload_seconds = time.perf_counter() - start
        time.sleep(0.1)
        stop.set()
        probe.join()
        quiet.sort()
        during.sort()
        return {"quiet_ms": quiet[len(quiet) // 2], "median_ms": during[len(during) // 2],
                "max_ms": during[-1], "upload_s": upload_seconds}
    finally:
        server.stop()
        try:
            os.remove(site / "upload.bin")
        except OSError:
            pass
