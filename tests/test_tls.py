"""HTTPS: a trustme CA, verification, TLS 1.2 minimum, and clients that misbehave."""

import http.client
import socket
import ssl
import threading
import time

import pytest
import requests
import trustme

from conftest import read_until_closed


def client_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    return context


def test_https_with_the_generated_ca(make_server, model):
    server = make_server(model=model, tls=True)
    assert server.url.startswith("https://") and server.ca_file
    response = requests.get(server.url + "/echo/secure", verify=server.ca_file, timeout=10,
                            headers={"Connection": "close"})
    assert (response.status_code, response.text) == (200, "secure")
    connection = http.client.HTTPSConnection("localhost", server.port, context=client_context(server.ca_file), timeout=10)
    try:
        for text in ("one", "two", "three"):  # keep-alive over one TLS connection
            connection.request("GET", f"/echo/{text}")
            response = connection.getresponse()
            assert response.read() == text.encode()
    finally:
        connection.close()


def test_untrusted_certificate_is_rejected_by_the_client(make_server):
    server = make_server(model="thread", tls=True)
    other_ca = trustme.CA()
    context = ssl.create_default_context()
    other_ca.configure_trust(context)
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname="localhost")


def test_tls_below_1_2_is_refused(make_server):
    server = make_server(model="thread", tls=True)
    context = client_context(server.ca_file)
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    try:
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises((ssl.SSLError, OSError)):
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname="localhost")


def test_certificate_files_from_the_command_line_options(make_server, tmp_path):
    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", "127.0.0.1")
    certfile, keyfile, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    authority.cert_pem.write_to_path(str(cafile))
    server = make_server(model="select", certfile=str(certfile), keyfile=str(keyfile))
    response = requests.get(server.url + "/echo/files", verify=str(cafile), timeout=10)
    assert response.text == "files"


def test_plain_http_on_the_tls_port_gets_a_clear_answer(make_server, model):
    server = make_server(model=model, tls=True)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 400 ") and b"Content-Type: text/plain" in data
    # the request named the address: the answer gives it back with the right scheme
    assert data.endswith(b"\r\n\r\n400 this port speaks HTTPS: use https://localhost/\n")


def test_a_browser_on_the_tls_port_with_http_gets_a_page_with_the_https_link(make_server, model):
    server = make_server(model=model, tls=True)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET /a/b.html?x=1 HTTP/1.1\r\nHost: localhost:%d\r\n"
                     b"Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n\r\n" % server.port)
        data = read_until_closed(sock, timeout=5)
    head, _, page = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"Content-Type: text/html; charset=utf-8" in head
    link = b"https://localhost:%d/a/b.html?x=1" % server.port
    assert b'<a href="%s">%s</a>' % (link, link) in page


@pytest.mark.parametrize("host", [b'evil"><script>', b"a b", b"", b"x.example:99999999"])
def test_a_host_field_that_is_not_a_host_is_never_echoed_into_the_link(host):
    from httpserver.response import plain_http_answer

    answer = plain_http_answer(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nAccept: text/html\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"https://" in answer
    assert b"<script>" not in answer and b"href" not in answer


@pytest.mark.parametrize("model", ["thread", "pool", "select"])
def test_stalled_handshakes_block_no_one(make_server, model):
    server = make_server(model=model, tls=True)
    stalled = []
    try:
        for _ in range(20):  # more than the pool has workers
            sock = socket.create_connection((server.host, server.port))
            sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then silence
            stalled.append(sock)
        start = time.monotonic()
        response = requests.get(server.url + "/echo/through", verify=server.ca_file, timeout=10)
        assert response.text == "through"
        assert time.monotonic() - start < 2
    finally:
        for sock in stalled:
            sock.close()


def test_handshake_deadline_closes_stalled_clients(make_server):
    server = make_server(model="select", tls=True, handshake_timeout=0.5)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01")
        start = time.monotonic()
        assert read_until_closed(sock, timeout=4) == b""
        assert time.monotonic() - start < 3


def test_many_tls_clients_at_once(make_server):
    server = make_server(model="select", tls=True)
    results = []

    def fetch(index):
        response = requests.get(f"{server.url}/echo/{index}", verify=server.ca_file, timeout=20,
                                headers={"Connection": "close"})
        results.append(response.text == str(index))

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count(True) == 30
