"""Shared fixtures: a private copy of the site, servers of every model, raw I/O.

Every server here is started with `serve_in_background` on 127.0.0.1, port 0,
and stopped by leaving its `with` block, so no test leaves a port or a thread.
"""

import http.client
import io
import shutil
import socket
import time
from pathlib import Path

import pytest

from httpserver import serve_in_background

REPOSITORY = Path(__file__).resolve().parent.parent
DATA = REPOSITORY / "data"
MODELS = ["iterative", "thread", "pool", "select"]
CONCURRENT_MODELS = ["thread", "pool", "select"]


@pytest.fixture
def site(tmp_path):
    """Fresh copies of data/www and data/files, so tests may write freely."""
    root = tmp_path / "www"
    directory = tmp_path / "files"
    shutil.copytree(DATA / "www", root)
    shutil.copytree(DATA / "files", directory)
    return root, directory


@pytest.fixture(params=MODELS)
def model(request):
    return request.param


@pytest.fixture(params=CONCURRENT_MODELS)
def concurrent_model(request):
    return request.param


@pytest.fixture
def server(site, model):
    """A running server of each model, on a private copy of the site."""
    root, directory = site
    with serve_in_background(root=str(root), directory=str(directory), model=model) as running:
        yield running


@pytest.fixture
def make_server(site):
    """Start servers with custom options; all are stopped after the test."""
    started = []

    def start(**options):
        root, directory = site
        options.setdefault("root", str(root))
        options.setdefault("directory", str(directory))
        running = serve_in_background(**options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def exchange(server, data, *, timeout=5.0, half_close=False):
    """Send raw bytes, then read until the server closes (or `timeout` passes)."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock, timeout)


def read_until_closed(sock, timeout=5.0):
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except OSError:  # a timeout, a reset, or TLS ending without its goodbye
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


class _UnclosableBytes(io.BytesIO):
    """http.client closes its stream after a response; we read on past it."""

    def close(self):
        pass


class _BytesSocket:
    """Just enough of a socket for http.client.HTTPResponse to read from bytes."""

    def __init__(self, stream):
        self.stream = stream

    def makefile(self, mode):
        return self.stream


def parse_responses(data, methods=None):
    """Every response in `data`, parsed by http.client (our oracle), in order.

    Returns a list of (status, headers as a case-insensitive message, body).
    `methods` lists the request methods, so HEAD responses are read without a body.
    """
    stream = _UnclosableBytes(data)
    responses = []
    index = 0
    while stream.tell() < len(data):
        method = methods[index] if methods and index < len(methods) else "GET"
        response = http.client.HTTPResponse(_BytesSocket(stream), method=method)
        response.begin()
        body = response.read()
        responses.append((response.status, response.headers, body))
        index += 1
    return responses


def request(server, method, path, *, body=None, headers=None):
    """One request with http.client: returns (status, headers, body)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def pytest_terminal_summary(terminalreporter):
    """The stage tester's mutation score: of the bugs planted in tests/stage_servers (one per
    test of test_stages_mutants_*.py), how many the stage aimed at each caught, naming its rule."""
    verdicts = [value for reports in terminalreporter.stats.values() for report in reports
                if getattr(report, "when", None) == "call"
                for name, value in getattr(report, "user_properties", ()) if name == "planted-bug"]
    if verdicts:
        caught = verdicts.count("caught")
        terminalreporter.write_line(
            f"stage tester mutation score: {caught} of {len(verdicts)} planted bugs caught by the stage aimed "
            f"at them, naming the rule ({100 * caught / len(verdicts):.0f}%); "
            f"{verdicts.count('misreported')} misreported, {verdicts.count('missed')} missed")
