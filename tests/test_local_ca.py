"""HTTPS a browser can keep trusting: a CA kept across restarts, nothing left
in the temporary folder, a key log for Wireshark, and a TLS goodbye."""

import os
import re
import socket
import ssl
import stat
import sys
import tempfile
import time

import pytest
import requests

from conftest import MODELS
from httpserver import serve_in_background
from httpserver.tls import default_ca_folder
from test_cli import RunningServer

TEMPORARY_PREFIX = "httpserver-ca-"


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith(TEMPORARY_PREFIX))


def get_over_tls(server, ca_file, path="/echo/ok"):
    return requests.get(f"https://localhost:{server.port}{path}", verify=ca_file, timeout=10)


def test_the_ca_is_kept_and_trusted_after_a_restart(site, tmp_path):
    root, directory = site
    ca_folder = tmp_path / "ca"
    with serve_in_background(root=str(root), directory=str(directory), tls=True,
                             ca_folder=str(ca_folder)) as first:
        trusted = tmp_path / "trusted-by-the-browser.pem"  # what a browser was told to trust
        trusted.write_bytes(open(first.ca_file, "rb").read())
        first_certificate = ssl.get_server_certificate(("127.0.0.1", first.port))
    with serve_in_background(root=str(root), directory=str(directory), tls=True,
                             ca_folder=str(ca_folder)) as second:
        assert get_over_tls(second, str(trusted)).text == "ok"
        second_certificate = ssl.get_server_certificate(("127.0.0.1", second.port))
    assert first_certificate != second_certificate  # the leaf is new; the CA that signs it is not
    assert sorted(os.listdir(ca_folder)) == ["ca-key.pem", "ca.pem"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_ca_key_is_readable_by_its_owner_only(tmp_path):
    with serve_in_background(tls=True, ca_folder=str(tmp_path / "ca")):
        pass
    assert stat.S_IMODE(os.stat(tmp_path / "ca" / "ca-key.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "ca").st_mode) == 0o700


def test_a_damaged_ca_is_one_clear_line(tmp_path):
    from httpserver.listener import StartupError
    (tmp_path / "ca.pem").write_text("not a certificate")
    (tmp_path / "ca-key.pem").write_text("not a key")
    with pytest.raises(StartupError, match="delete that folder"):
        serve_in_background(tls=True, ca_folder=str(tmp_path))


@pytest.fixture
def private_temp(tmp_path, monkeypatch):
    """A temporary folder of our own, so we see exactly what a server leaves there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("model", MODELS)
def test_a_throwaway_ca_is_deleted_when_the_server_stops(private_temp, model):
    with serve_in_background(tls=True, model=model) as running:
        assert len(leftovers(private_temp)) == 1  # the CA lives there while we serve
        assert os.path.isfile(running.ca_file)
    assert leftovers(private_temp) == []


def test_a_throwaway_ca_is_deleted_even_if_the_server_never_ran(private_temp):
    from httpserver.background import make_server
    server = make_server(port=0, tls=True)
    server.close()
    del server  # garbage-collected: the finalizer removes the folder
    assert leftovers(private_temp) == []


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child is not Ctrl-C on Windows")
def test_command_line_keeps_its_ca_in_the_user_data_folder(tmp_path):
    data_home = tmp_path / "data-home"
    environment = {"XDG_DATA_HOME": str(data_home), "HOME": str(tmp_path / "home"),
                   "LOCALAPPDATA": str(data_home), "TMPDIR": str(tmp_path)}
    first = RunningServer("--tls", "--quiet", env=environment)
    try:
        first_ca = re.search(r"--cacert (\S+)", first.banner).group(1)
        assert get_over_tls(first, first_ca).text == "ok"
    finally:
        status, _ = first.stop()
    second = RunningServer("--tls", "--quiet", env=environment)
    try:
        ca_file = re.search(r"--cacert (\S+)", second.banner).group(1)
        if sys.platform.startswith("linux"):
            assert ca_file == str(data_home / "httpserver" / "ca" / "ca.pem")
        assert first_ca == ca_file
        assert get_over_tls(second, ca_file).text == "ok"
    finally:
        assert second.stop()[0] == status == 0
    assert leftovers(tmp_path) == []


def test_default_ca_folder_follows_the_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    folder = default_ca_folder()
    if sys.platform == "darwin":
        assert folder.endswith(os.path.join("Library", "Application Support", "httpserver", "ca"))
    else:
        assert folder == os.path.join(str(tmp_path), "httpserver", "ca")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers needs SO_REUSEPORT spreading (Linux)")
def test_workers_certificate_files_are_deleted_on_ctrl_c(tmp_path):
    server = RunningServer("--tls", "--workers", "2", "--quiet", "--ca-dir", str(tmp_path / "ca"),
                           env={"TMPDIR": str(tmp_path)})
    try:
        [folder] = leftovers(tmp_path)  # the certificate and key every worker loads
        assert sorted(os.listdir(tmp_path / folder)) == ["cert.pem", "key.pem"]
        ca_file = str(tmp_path / "ca" / "ca.pem")
        for _ in range(4):  # new connections, spread over both processes
            assert get_over_tls(server, ca_file).text == "ok"
    finally:
        status, log = server.stop()
    assert status == 0 and "Traceback" not in log
    assert leftovers(tmp_path) == []


# -- the key log ------------------------------------------------------------------------


def key_log_labels(path):
    return {line.split()[0] for line in open(path, encoding="ascii") if line.strip() and not line.startswith("#")}


def test_the_server_writes_a_key_log(tmp_path):
    key_log = tmp_path / "keys.log"
    with serve_in_background(tls=True, keylog=str(key_log), model="select") as running:
        assert get_over_tls(running, running.ca_file).text == "ok"
    # TLS 1.3 secrets, in the NSS key log format Wireshark reads
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"} <= key_log_labels(key_log)
    if os.name == "posix":  # secrets: for the owner's eyes only
        assert stat.S_IMODE(os.stat(key_log).st_mode) == 0o600


def test_sslkeylogfile_is_honoured(tmp_path, monkeypatch):
    key_log = tmp_path / "from-the-environment.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(key_log))
    with serve_in_background(tls=True, model="thread") as running:
        get_over_tls(running, running.ca_file)
    assert "CLIENT_TRAFFIC_SECRET_0" in key_log_labels(key_log)


# -- close_notify ------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_the_server_ends_tls_with_close_notify(model, tmp_path):
    """A client that refuses a bare TCP close (suppress_ragged_eofs=False) reads the
    whole response and then a clean end: the server's close_notify arrived."""
    with serve_in_background(tls=True, model=model) as running:
        context = ssl.create_default_context(cafile=running.ca_file)
        with socket.create_connection((running.host, running.port), timeout=10) as tcp:
            with context.wrap_socket(tcp, server_hostname="localhost", suppress_ragged_eofs=False) as tls:
                tls.sendall(b"GET /echo/bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                received, deadline = b"", time.monotonic() + 10
                while time.monotonic() < deadline:
                    chunk = tls.recv(4096)  # raises SSLEOFError on a close without close_notify
                    if not chunk:
                        break
                    received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n") and received.endswith(b"\r\n\r\nbye")
