"""Hostile conditions, third round: processes that die. `--workers` must
replace a worker that dies, stop when workers keep dying, never outlive its
parent, never answer beside another generation of itself, and leave no
temporary certificate behind. (Linux: SO_REUSEPORT, /proc, signals.)"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from attacks import alive, child_pids, wait_until
from conftest import REPOSITORY
from test_cli import RunningServer, free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers shares a port with SO_REUSEPORT")


def serves(port, scheme="http", ca=None):
    try:
        return requests.get(f"{scheme}://localhost:{port}/echo/up", timeout=5,
                            verify=ca if ca else True).text == "up"
    except requests.RequestException:
        return False


def test_a_dead_worker_is_replaced(tmp_path):
    """Finding 8: a killed worker was not replaced; the parent left a zombie."""
    server = RunningServer("--workers", "3", "--quiet")
    try:
        workers = child_pids(server.process.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        assert wait_until(lambda: len(child_pids(server.process.pid)) == 2
                          and workers[0] not in child_pids(server.process.pid), 5)
        assert not alive(workers[0])  # reaped: no zombie
        assert all(serves(server.port) for _ in range(20))
        said = f"worker {workers[0]} exited with status -9"
        assert wait_until(lambda: said in "".join(server.rest), 10), server.rest
    finally:
        status, log = server.stop()
    assert status == 0


def test_workers_that_keep_dying_stop_the_server_with_an_error():
    server = RunningServer("--workers", "2", "--quiet")
    deadline = time.monotonic() + 30
    while server.process.poll() is None and time.monotonic() < deadline:
        for pid in child_pids(server.process.pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    status, log = server.stop()
    assert status == 1, log
    assert "workers died within" in log


@pytest.mark.parametrize("tls", [False, True])
def test_workers_stop_when_their_parent_is_killed(tmp_path, tls):
    """Finding 8: a killed parent left its workers serving the port for ever,
    and its temporary certificate files behind."""
    options = ("--tls", "--ca-dir", str(tmp_path / "ca")) if tls else ()
    server = RunningServer("--workers", "3", "--quiet", *options, env={"TMPDIR": str(tmp_path)})
    workers = child_pids(server.process.pid)
    assert len(workers) == 2
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    assert wait_until(lambda: not any(alive(pid) for pid in workers), 10), "workers outlived their parent"
    assert not serves(server.port, "https" if tls else "http", str(tmp_path / "ca" / "ca.pem") if tls else None)
    assert [name for name in os.listdir(tmp_path) if name.startswith("httpserver-")] == []
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", server.port))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_second_server_on_the_same_port_is_refused(workers):
    """Finding 8: a new server bound beside an old one with SO_REUSEPORT, and two
    generations answered on one port."""
    first = RunningServer("--workers", "2", "--quiet")
    try:
        second = subprocess.run([sys.executable, "-m", "httpserver", "--port", str(first.port),
                                 "--workers", workers, "--quiet"],
                                capture_output=True, text=True, timeout=20, cwd=REPOSITORY)
        assert second.returncode == 2 and "already in use" in second.stderr, second.stderr
        assert serves(first.port)
    finally:
        first.stop()


def test_a_restarted_server_binds_its_port_again():
    """(SO_REUSEADDR still lets a server restart on a port in TIME_WAIT.)"""
    port = free_port()
    for _ in range(2):
        server = subprocess.Popen([sys.executable, "-m", "httpserver", "--port", str(port), "--workers", "2",
                                   "--quiet"], stderr=subprocess.PIPE, text=True, cwd=REPOSITORY)
        try:
            assert wait_until(lambda: serves(port), 15)
        finally:
            server.send_signal(signal.SIGINT)
            assert server.wait(15) == 0
