"""The command line, run as a user runs it: a real process, real signals."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import DATA, REPOSITORY

PYTHON = sys.executable


def run(*arguments, timeout=20):
    return subprocess.run([PYTHON, "-m", "httpserver", *arguments], capture_output=True,
                          text=True, timeout=timeout, cwd=REPOSITORY)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningServer:
    """`python -m httpserver` in a child process; stopped with Ctrl-C (SIGINT)."""

    def __init__(self, *arguments, env=None, program=(PYTHON, "-m", "httpserver")):
        self.port = free_port()
        self.process = subprocess.Popen(
            [*program, "--port", str(self.port), *arguments],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPOSITORY,
            env=None if env is None else {**os.environ, **env})
        self.banner = ""
        self.rest = []  # stderr after the banner, read as it comes (a full pipe would stall the server)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the banner's last line says it is ready
            line = self.process.stderr.readline()
            if not line:
                break
            self.banner += line
            if "Ctrl-C" in line:
                self.reader = threading.Thread(target=self._read_the_rest, daemon=True)
                self.reader.start()
                return
        self.reader = None
        self.stop()
        raise AssertionError(f"server did not start: {self.banner}")

    def _read_the_rest(self):
        for line in self.process.stderr:  # the same buffered stream as the banner: nothing is lost
            self.rest.append(line)

    def stop(self):
        """Ctrl-C, then wait; returns (exit status, rest of stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.reader is not None:
            self.reader.join(10)
        else:
            self.rest.append(self.process.stderr.read())
        return self.process.returncode, "".join(self.rest)


def test_help_lists_every_option():
    result = run("--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--root", "--directory", "--model", "--tls", "--certfile", "--keyfile", "--quiet",
                   "--ca-dir", "--keylog", "--cache-control", "--wsgi", "--app", "--threads", "--script-name",
                   "--trusted-proxy", "--graceful-timeout"):
        assert option in result.stdout


def test_readme_shows_the_wsgi_options_of_help():
    """The README's "Run your Flask app" names each WSGI option that --help lists."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Run your Flask app", 1)[1].split("\n### ", 1)[0]
    help_text = run("--help").stdout
    for option in ("--wsgi", "--threads", "--script-name", "--trusted-proxy", "--graceful-timeout", "--workers"):
        assert option in help_text and option in section, option


def test_missing_root_is_one_line():
    result = run("--port", "0", "--root", "no/such/folder")
    assert result.returncode == 2
    assert result.stderr.strip() == "httpserver: root folder not found: no/such/folder"


def test_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))
    assert result.returncode == 2
    assert "already in use" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_certificate_is_one_line(tmp_path):
    bogus = tmp_path / "cert.pem"
    bogus.write_text("not a certificate")
    result = run("--port", "0", "--certfile", str(bogus), "--keyfile", str(bogus))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "certificate" in result.stderr
    result = run("--port", "0", "--certfile", str(tmp_path / "missing.pem"))
    assert result.returncode == 2 and "not found" in result.stderr


def test_bad_model_and_port_are_refused():
    assert run("--model", "magic").returncode == 2
    assert run("--port", "70000").returncode == 2


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child is not Ctrl-C on Windows")
def test_serves_logs_and_stops_on_ctrl_c(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    server = RunningServer("--directory", str(files))
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert "Serving" in server.banner
        assert requests.get(base + "/echo/cli", timeout=5).text == "cli"
        assert requests.post(base + "/files/up.txt", data=b"data", timeout=5).status_code == 201
        assert (files / "up.txt").read_bytes() == b"data"
    finally:
        status, log = server.stop()
    assert status == 0 and "Traceback" not in log
    assert re.search(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /echo/cli HTTP/1\.1" 200 \d+', log)


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child is not Ctrl-C on Windows")
def test_quiet_and_tls_from_the_command_line(tmp_path):
    server = RunningServer("--tls", "--quiet", "--model", "select", "--ca-dir", str(tmp_path / "ca"))
    try:
        match = re.search(r"--cacert (\S+)", server.banner)
        assert match, server.banner
        response = requests.get(f"https://127.0.0.1:{server.port}/echo/tls", verify=match.group(1), timeout=10)
        assert response.text == "tls"
    finally:
        status, log = server.stop()
    assert status == 0 and '"GET' not in log  # --quiet: no access log


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child is not Ctrl-C on Windows")
def test_curl_as_a_client(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    upload = tmp_path / "upload.bin"
    upload.write_bytes(os.urandom(100_000))
    server = RunningServer("--directory", str(files), "--quiet")
    base = f"http://127.0.0.1:{server.port}"

    def curl(*arguments):
        return subprocess.run(["curl", "--silent", "--show-error", "--max-time", "10", *arguments],
                              capture_output=True, timeout=20)

    try:
        assert curl(base + "/echo/curl").stdout == b"curl"
        head = curl("--head", base + "/").stdout.decode()
        assert head.startswith("HTTP/1.1 200 OK") and "content-type: text/html" in head.lower()
        assert curl("--compressed", base + "/about.txt").stdout == (DATA / "www" / "about.txt").read_bytes()
        written = curl("--write-out", "%{http_code}", "--data-binary", f"@{upload}", base + "/files/copy.bin")
        assert written.stdout == b"201"
        assert (files / "copy.bin").read_bytes() == upload.read_bytes()
        assert curl(base + "/files/copy.bin").stdout == upload.read_bytes()
        assert curl("--range", "0-9", base + "/files/copy.bin").stdout == upload.read_bytes()[:10]
        # Two URLs in one curl: the second reuses the connection (keep-alive).
        both = curl("--verbose", base + "/echo/a", base + "/echo/b")
        assert both.stdout == b"ab"
        assert b"Re-using existing connection" in both.stderr or b"Reusing" in both.stderr
        missing = curl("--write-out", "%{http_code}", "--output", os.devnull, base + "/missing")
        assert missing.stdout == b"404"
    finally:
        server.stop()


def child_pids(pid):
    return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()


def echo_on_new_connections(port, count):
    """`count` requests, each on a new connection, each answered right."""
    for index in range(count):
        response = requests.get(f"http://127.0.0.1:{port}/echo/{index}", headers={"Connection": "close"}, timeout=5)
        assert response.text == str(index)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers needs SO_REUSEPORT spreading (Linux)")
def test_workers_share_the_port_and_stop_together():
    server = RunningServer("--workers", "2", "--model", "select", "--quiet")
    try:
        assert "2 processes" in server.banner
        children = child_pids(server.process.pid)
        assert len(children) == 1  # the parent serves too
        echo_on_new_connections(server.port, 20)  # the kernel spreads them
    finally:
        status, _ = server.stop()
    assert status == 0
    time.sleep(0.5)
    for child in children:
        assert not os.path.exists(f"/proc/{child}") or "zombie" in open(f"/proc/{child}/status").read().lower()


def socket_inodes(pid):
    """The socket inodes process `pid` has open (Linux /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target)
    return inodes


@pytest.mark.skipif(os.name != "posix", reason="workers inherit the listening socket on POSIX systems")
@pytest.mark.parametrize("model", ["select", "thread"])
def test_workers_can_inherit_the_listening_socket(model):
    # How macOS shares the port (its SO_REUSEPORT does not spread connections), forced here.
    server = RunningServer("--workers", "3", "--worker-sharing", "inherit", "--model", model, "--quiet")
    try:
        assert "3 processes" in server.banner
        children = child_pids(server.process.pid)
        assert len(children) == 2
        if os.path.isdir("/proc"):  # one listening socket, open in all three processes
            shared = socket_inodes(server.process.pid)
            for child in children:
                shared &= socket_inodes(child)
            assert len(shared) == 1, shared
        echo_on_new_connections(server.port, 30)  # whichever process is free takes each
    finally:
        status, _ = server.stop()
    assert status == 0
    with socket.socket() as probe:  # every copy of the listener is closed: the port is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, not past a listener
        probe.bind(("127.0.0.1", server.port))
        probe.listen()


def test_listener_fd_that_is_not_a_socket_is_one_line(tmp_path):
    result = run("--listener-fd", "987")
    assert result.returncode == 2
    assert result.stderr.startswith("httpserver: no listening socket to inherit as file descriptor 987")
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="SIGTERM to a child: POSIX")
def test_wsgi_app_from_the_command_line_and_a_graceful_sigterm():
    server = RunningServer("--wsgi", "httpserver.lab.apps:whoami", "--quiet", "--graceful-timeout", "10")
    try:
        assert "Serving the WSGI application httpserver.lab.apps:whoami" in server.banner
        url = f"http://127.0.0.1:{server.port}"
        assert requests.get(url + "/", timeout=10).text == f"pid {server.process.pid}\n"
        answers = {}

        def slow():
            answers["slow"] = requests.get(url + "/slow?ms=800", timeout=10)
        requester = threading.Thread(target=slow)
        requester.start()
        time.sleep(0.3)  # the slow request is under way
        server.process.send_signal(signal.SIGTERM)
        requester.join(10)
        assert answers["slow"].status_code == 200  # finished, not cut
        assert answers["slow"].headers["Connection"] == "close"
        server.process.wait(15)  # it ends by itself
        status, rest = server.stop()
        assert status == 0 and "finishing the requests under way" in rest and "Traceback" not in rest
    finally:
        server.stop()


def test_wsgi_errors_are_one_line():
    result = run("--wsgi", "no_such_module_here:app", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "httpserver: cannot import 'no_such_module_here' for --wsgi: No module named 'no_such_module_here'"
    result = run("--threads", "2", "--port", "0")
    assert result.returncode == 2 and "--threads and --script-name go with --wsgi" in result.stderr
    result = run("--wsgi", "httpserver.lab.apps:hello", "--trusted-proxy", "not-an-address", "--port", "0")
    assert result.returncode == 2 and result.stderr.strip().endswith("is not an IP address or network")
