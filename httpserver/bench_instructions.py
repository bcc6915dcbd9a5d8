"""Instructions per request: the speed measurement that load on the machine cannot disturb.

    python -m httpserver.bench_instructions [--tls] [--path /1k.txt] [--model select]
    python -m httpserver.bench_instructions --cmd "python my_server.py --port {port} --root {root} --directory {directory}"

Requests per second swing with whatever else the machine is doing; the number
of machine instructions a request costs does not. This runs the server and one
keep-alive client in one process twice under valgrind's callgrind (which counts
every instruction executed), once with few requests and once with many, and
prints the difference divided by the difference in requests: the start-up and
the shutdown cancel out, and what is left is one request's cost, server and
client together (the client's part is small and the same for every version of
the server, so a change of the server shows as a change of this number).

With `--cmd`, the server is any program (yours: chapter 09's Build section): it
runs under callgrind on its own, and the client sends from this process, so the
count is the server's alone. The program must stop cleanly on Ctrl-C (SIGINT),
as callgrind writes its count when the program exits.

It needs valgrind (apt install valgrind); `--child N` is the run itself. To see
where the instructions go, profile the Python side with cProfile (chapter 09).
"""

import argparse
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

SMALL = b"0123456789abcdef" * 64  # the 1 KiB file of `make bench`


def child(count, tls, path, model, folder):
    """Serve `count` keep-alive GETs of `path` to one client in this process."""
    from .background import serve_in_background

    with serve_in_background(model=model, root=folder, directory=folder, tls=tls, log_access=False) as server:
        sock = socket.create_connection((server.host, server.port))
        if tls:
            context = ssl.create_default_context(cafile=server.ca_file)
            sock = context.wrap_socket(sock, server_hostname="localhost")
        request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
        buffer = bytearray(65536)
        for _ in range(count):
            sock.sendall(request)
            received = 0
            while True:  # the whole answer: a head of under 400 bytes and the 1 KiB body
                received += sock.recv_into(memoryview(buffer)[received:])
                if received >= 1024 and buffer.find(b"\r\n\r\n", 0, received) != -1:
                    head_end = buffer.find(b"\r\n\r\n", 0, received) + 4
                    if received - head_end >= 1024:
                        break
        sock.close()


def instructions(count, tls, path, model, folder, keep=None):
    """Instructions callgrind counted for one run of `count` requests."""
    output = keep or os.path.join(folder, f"callgrind.{count}.out")
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}", sys.executable,
               "-m", "httpserver.bench_instructions", "--child", str(count), "--path", path,
               "--model", model, "--folder", folder] + (["--tls"] if tls else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"callgrind failed: {result.stderr[-2000:]}")
    return int(found.group(1))


def client_requests(port, count, path, tls=False, timeout=60):
    """Send `count` keep-alive GETs of `path` to 127.0.0.1:`port`; read each answer whole."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        context = ssl._create_unverified_context()  # (a count of instructions trusts anything)
        sock = context.wrap_socket(sock)
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    with sock:
        for _ in range(count):
            sock.sendall(request)
            received = b""
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            while len(body) < length:
                body += sock.recv(65536)


def program_instructions(command, count, path, folder, tls=False):
    """Instructions of the server `command` (a template with {port} {root} {directory})
    while it answers `count` requests, from start to a Ctrl-C."""
    import shlex
    import signal
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    words = [word.format(port=port, root=folder, directory=folder) for word in shlex.split(command)]
    if words and words[0] in ("python", "python3"):
        words[0] = sys.executable  # this Python, not a launcher script valgrind would count instead
    output = os.path.join(folder, f"callgrind.program.{count}.out")
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}", *words],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120  # valgrind starts a program about fifty times slower
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"the program did not start: {server.communicate()[1][-2000:]}")
            time.sleep(0.5)
    try:
        client_requests(port, count, path, tls)
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=300)
    found = re.search(r"Collected : (\d+)", errors)
    if not found:
        raise RuntimeError(f"callgrind counted nothing (did the program stop on Ctrl-C?): {errors[-2000:]}")
    return int(found.group(1))


def per_request(tls=False, path="/1k.txt", model="select", few=1000, many=4000, command=None):
    """(instructions per request, the two totals) for GET `path` on `model`."""
    with tempfile.TemporaryDirectory(prefix="httpserver-instructions-") as folder:
        Path(folder, path.lstrip("/")).write_bytes(SMALL)
        if command:
            low = program_instructions(command, few, path, folder, tls)
            high = program_instructions(command, many, path, folder, tls)
        else:
            low = instructions(few, tls, path, model, folder)
            high = instructions(many, tls, path, model, folder)
    return (high - low) / (many - few), low, high


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m httpserver.bench_instructions", description=__doc__.split("\n")[0])
    parser.add_argument("--tls", action="store_true", help="over TLS (the local CA of --tls)")
    parser.add_argument("--path", default="/1k.txt", help="what to GET (default: a 1 KiB file)")
    parser.add_argument("--model", default="select")
    parser.add_argument("--requests", default="1000,4000", help="the two run lengths (default 1000,4000)")
    parser.add_argument("--cmd", help="measure this server program instead: a command with {port}, {root} "
                                      "and {directory} (the client's part is then not counted)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child is not None:
        child(arguments.child, arguments.tls, arguments.path, arguments.model, arguments.folder)
        return 0
    if shutil.which("valgrind") is None:
        print("this needs valgrind (apt install valgrind, brew install valgrind)", file=sys.stderr)
        return 2
    few, many = (int(number) for number in arguments.requests.split(","))
    value, low, high = per_request(arguments.tls, arguments.path, arguments.model, few, many, arguments.cmd)
    what = f"`{arguments.cmd}`" if arguments.cmd else arguments.model
    print(f"{what}{' TLS' if arguments.tls else ''} GET {arguments.path}: "
          f"{value / 1000:.1f}k instructions per request ({low:,} for {few} requests, {high:,} for {many})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
