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
    os.chmod(tmp_path / "ca-key.pem", 0o600)
    os.chmod(tmp_path, 0o700)
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


# -- secrets kept as OpenSSH keeps them ------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and owners are POSIX")


def start_with_ca(folder, **options):
    from httpserver.background import make_server
    server = make_server(port=0, tls=True, ca_folder=str(folder), **options)
    server.close()
    return server


@posix_only
def test_a_ca_key_others_can_read_is_refused_and_left_alone(tmp_path):
    from httpserver.listener import StartupError
    folder = tmp_path / "ca"
    start_with_ca(folder)
    key = folder / "ca-key.pem"
    os.chmod(key, 0o644)
    before = key.read_bytes()
    with pytest.raises(StartupError, match=r"can be read or written by others \(mode 644\): chmod 600"):
        start_with_ca(folder)
    assert key.read_bytes() == before and stat.S_IMODE(key.stat().st_mode) == 0o644


@posix_only
@pytest.mark.parametrize("mode", [0o755, 0o770, 0o777])
def test_a_ca_folder_others_can_read_or_write_is_refused(tmp_path, mode):
    from httpserver.listener import StartupError
    folder = tmp_path / "ca"
    folder.mkdir()
    os.chmod(folder, mode)
    with pytest.raises(StartupError, match="chmod 700"):
        start_with_ca(folder)
    assert os.listdir(folder) == []  # nothing was written there


@posix_only
def test_a_key_without_its_certificate_is_never_overwritten(tmp_path):
    """An existing ca-key.pem (world-readable, say) used to receive the new key as it was."""
    from httpserver.listener import StartupError
    folder = tmp_path / "ca"
    folder.mkdir(mode=0o700)
    (folder / "ca-key.pem").write_text("someone else's key")
    with pytest.raises(StartupError, match="without ca.pem"):
        start_with_ca(folder)
    assert (folder / "ca-key.pem").read_text() == "someone else's key"


@posix_only
@pytest.mark.parametrize("planted", ["ca-key.pem", "ca.pem"])
def test_a_planted_symbolic_link_is_not_followed(tmp_path, planted):
    from httpserver.listener import StartupError
    folder = tmp_path / "ca"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, folder / planted)
    with pytest.raises(StartupError):
        start_with_ca(folder)
    assert victim.read_text() == "precious"


@posix_only
def test_a_symbolic_link_as_the_key_of_an_existing_ca_is_refused(tmp_path):
    from httpserver.listener import StartupError
    folder = tmp_path / "ca"
    start_with_ca(folder)
    os.replace(folder / "ca-key.pem", tmp_path / "moved-key.pem")
    os.symlink(tmp_path / "moved-key.pem", folder / "ca-key.pem")
    with pytest.raises(StartupError, match="not a plain file"):
        start_with_ca(folder)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_ca_folder_or_key_of_another_user_is_refused(tmp_path):
    from httpserver.listener import StartupError
    folder = tmp_path / "ca"
    start_with_ca(folder)
    os.chown(folder / "ca-key.pem", 65534, 65534)
    with pytest.raises(StartupError, match="belongs to another user"):
        start_with_ca(folder)
    os.chown(folder / "ca-key.pem", 0, 0)
    os.chown(folder, 65534, 65534)
    with pytest.raises(StartupError, match="belongs to another user"):
        start_with_ca(folder)


def test_certificates_are_the_servers_own_for_server_use_only(tmp_path):
    """Not "trustme" test certificates: our own CA's name, a CA limited to this
    computer's names, a server certificate for TLS servers only, sensible lifetimes."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    with serve_in_background(tls=True, ca_folder=str(tmp_path / "ca")) as running:
        pem = ssl.get_server_certificate(("127.0.0.1", running.port))
        authority = x509.load_pem_x509_certificate(open(running.ca_file, "rb").read())
    leaf = x509.load_pem_x509_certificate(pem.encode())
    issuer = authority.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert issuer == "httpserver local CA" and "trustme" not in authority.subject.rfc4514_string()
    assert leaf.issuer == authority.subject
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert 30 <= lifetime.days <= 200, lifetime  # a server certificate: days, not a millennium
    assert (authority.not_valid_after_utc - authority.not_valid_before_utc).days <= 3660
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]  # no code signing, no client auth
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    constraints = authority.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical and x509.DNSName("localhost") in constraints.value.permitted_subtrees
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


@posix_only
def test_an_existing_key_log_others_can_read_is_refused(tmp_path):
    from httpserver.listener import StartupError
    key_log = tmp_path / "keys.log"
    key_log.write_text("")
    os.chmod(key_log, 0o644)
    with pytest.raises(StartupError, match=r"key log .* can be read or written by others"):
        start_with_ca(tmp_path / "ca", keylog=str(key_log))
    os.chmod(key_log, 0o600)
    start_with_ca(tmp_path / "ca", keylog=str(key_log))  # the user's own, private: accepted


@posix_only
def test_a_key_log_that_is_a_symbolic_link_is_refused(tmp_path):
    from httpserver.listener import StartupError
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.chmod(victim, 0o600)
    os.symlink(victim, tmp_path / "keys.log")
    with pytest.raises(StartupError, match="symbolic link"):
        start_with_ca(tmp_path / "ca", keylog=str(tmp_path / "keys.log"))
    assert victim.read_text() == "precious"
