"""Black-box tests over real sockets, run against every server model.

Clients: raw sockets (exact bytes), http.client and requests (trusted oracles).
"""

import gzip
import hashlib
import os
import socket
import threading
import time

import pytest
import requests

from conftest import exchange, parse_responses, read_until_closed, request


# -- the seed's routes --------------------------------------------------------


def test_root_serves_index_html(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"It works." in body
    assert int(headers["Content-Length"]) == len(body)
    assert headers["Date"].endswith("GMT") and headers["Server"].startswith("httpserver")


def test_echo_and_user_agent(server):
    status, headers, body = request(server, "GET", "/echo/hello%20world")
    assert (status, body, headers["Content-Type"]) == (200, b"hello world", "text/plain")
    status, _, body = request(server, "GET", "/user-agent", headers={"User-Agent": "foobar/1.2.3"})
    assert (status, body) == (200, b"foobar/1.2.3")


def test_every_response_with_a_body_forbids_type_sniffing(server):
    """/echo reflects its input: browsers must take text/plain as given (Fetch: nosniff)."""
    for method, path in [("GET", "/echo/%3Cscript%3Ealert(1)%3C%2Fscript%3E"), ("GET", "/"),
                         ("GET", "/no/such/page"), ("BREW", "/"), ("HEAD", "/about.txt")]:
        status, headers, _ = request(server, method, path)
        assert headers["X-Content-Type-Options"] == "nosniff", (method, path, status)
    status, headers, body = request(server, "GET", "/echo/%3Cb%3Ehi%3C%2Fb%3E")
    assert (status, headers["Content-Type"], body) == (200, "text/plain", b"<b>hi</b>")
    status, headers, _ = request(server, "DELETE", "/files/never-there")
    assert status == 404 and headers["X-Content-Type-Options"] == "nosniff"


def test_codecrafters_exact_bytes(server):
    """The byte-level answers the CodeCrafters 'build your own HTTP server' stages check."""
    [(status, headers, body)] = parse_responses(exchange(server, b"GET /echo/abc HTTP/1.1\r\nHost: localhost:4221\r\nConnection: close\r\n\r\n"))
    assert (status, headers["Content-Length"], body) == (200, "3", b"abc")
    [(status, _, _)] = parse_responses(exchange(server, b"GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
    assert status == 404


def test_unknown_path_is_404_with_a_reason(server):
    status, headers, body = request(server, "GET", "/no-such-page")
    assert status == 404 and headers["Content-Type"].startswith("text/plain")
    assert body.startswith(b"404 ")


def test_static_types_and_folders(server):
    assert request(server, "GET", "/style.css")[1]["Content-Type"] == "text/css; charset=utf-8"
    status, headers, body = request(server, "GET", "/images/logo.png")
    assert (status, headers["Content-Type"], body[:8]) == (200, "image/png", b"\x89PNG\r\n\x1a\n")
    status, headers, _ = request(server, "GET", "/images")
    assert status == 301 and headers["Location"] == "/images/"
    status, _, body = request(server, "GET", "/images/")
    assert status == 200 and b"logo.png" in body  # a listing, since there is no index.html


# -- methods -----------------------------------------------------------------


def test_head_is_get_without_a_body(server):
    data = exchange(server, b"HEAD /about.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and rest == b""
    length = os.path.getsize(os.path.join(server.server.root, "about.txt"))
    assert b"Content-Length: %d" % length in head


def test_options_and_405_list_allowed_methods(server):
    status, headers, _ = request(server, "OPTIONS", "/files/x")
    assert status == 204 and headers["Allow"] == "GET, HEAD, POST, PUT, DELETE, OPTIONS"
    status, headers, body = request(server, "DELETE", "/index.html")
    assert status == 405 and headers["Allow"] == "GET, HEAD, OPTIONS" and b"not allowed" in body
    status, headers, _ = request(server, "OPTIONS", "*")
    assert status == 204 and "GET" in headers["Allow"]


def test_unknown_method_is_501(server):
    assert request(server, "BREW", "/")[0] == 501
    assert request(server, "PATCH", "/files/x", body=b"x")[0] == 501


# -- /files/ -------------------------------------------------------------------


def test_file_upload_lifecycle(server):
    folder = server.server.directory
    status, headers, _ = request(server, "POST", "/files/new.bin", body=b"\x00\x01binary")
    assert status == 201 and headers["Location"] == "/files/new.bin"
    with open(os.path.join(folder, "new.bin"), "rb") as file:
        assert file.read() == b"\x00\x01binary"
    status, headers, body = request(server, "GET", "/files/new.bin")
    assert (status, headers["Content-Type"], body) == (200, "application/octet-stream", b"\x00\x01binary")
    assert request(server, "PUT", "/files/new.bin", body=b"replaced")[0] == 204
    assert request(server, "GET", "/files/new.bin")[2] == b"replaced"
    assert request(server, "DELETE", "/files/new.bin")[0] == 204
    assert request(server, "GET", "/files/new.bin")[0] == 404
    assert request(server, "DELETE", "/files/new.bin")[0] == 404
    assert [name for name in os.listdir(folder) if name.startswith(".upload-")] == []


def test_chunked_upload(server):
    data = (b"POST /files/chunky HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n1;note=yes\r\n \r\n5\r\nworld\r\n0\r\n\r\n")
    [(status, _, _)] = parse_responses(exchange(server, data))
    assert status == 201
    assert request(server, "GET", "/files/chunky")[2] == b"hello world"


def test_aborted_upload_leaves_nothing(server):
    """The client sends half its body and disconnects: no file, no temporary file."""
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(b"POST /files/half HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 400)
        time.sleep(0.2)
    time.sleep(0.3)
    assert os.listdir(server.server.directory) == ["sample.txt"]
    assert request(server, "GET", "/files/half")[0] == 404


def test_expect_100_continue(server):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"PUT /files/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        interim = sock.recv(1024)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"body")
        sock.shutdown(socket.SHUT_WR)
        [(status, _, _)] = parse_responses(read_until_closed(sock))
    assert status == 201


def test_large_body_refused_before_it_is_sent(make_server, model):
    server = make_server(model=model, max_body=1000)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"PUT /files/big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
        [(status, headers, body)] = parse_responses(read_until_closed(sock))
    assert status == 413 and headers["Connection"] == "close"


# -- persistent connections ------------------------------------------------------


def test_keep_alive_and_pipelining(server):
    data = (b"GET /echo/one HTTP/1.1\r\nHost: x\r\n\r\n"
            b"HEAD /echo/two HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /echo/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    responses = parse_responses(exchange(server, data), methods=["GET", "HEAD", "GET"])
    assert [(status, body) for status, _, body in responses] == [(200, b"one"), (200, b""), (200, b"three")]
    assert responses[2][1]["Connection"] == "close"


def test_pipelined_requests_in_single_bytes(server):
    data = b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        for byte in data:
            sock.send(bytes([byte]))
        responses = parse_responses(read_until_closed(sock))
    assert [body for _, _, body in responses] == [b"a", b"b"]


def test_http10_closes_unless_asked(server):
    [(status, headers, body)] = parse_responses(exchange(server, b"GET /echo/x HTTP/1.0\r\n\r\n"))
    assert (status, body, headers["Connection"]) == (200, b"x", "close")
    data = b"GET /echo/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /echo/b HTTP/1.0\r\n\r\n"
    responses = parse_responses(exchange(server, data))
    assert [h["Connection"] for _, h, _ in responses] == ["keep-alive", "close"]


def test_one_connection_serves_many_requests_quickly(server):
    """No Nagle stall: 50 requests on one keep-alive connection take well under 40 ms each."""
    with requests.Session() as session:
        session.trust_env = False
        start = time.perf_counter()
        for index in range(50):
            assert session.get(f"{server.url}/echo/{index}").text == str(index)
        elapsed = time.perf_counter() - start
    assert elapsed < 50 * 0.040


def test_protocol_error_closes_the_connection(server):
    data = b"GET / HTTP/1.1\r\nHost : x\r\n\r\nGET /echo/never HTTP/1.1\r\nHost: x\r\n\r\n"
    responses = parse_responses(exchange(server, data))
    assert len(responses) == 1
    status, headers, body = responses[0]
    assert status == 400 and headers["Connection"] == "close" and b"colon" in body


@pytest.mark.parametrize("codings, status", [
    ("xchunked", 400), ("chunked, identity", 400), ("gzip", 400),  # RFC 9112 §6.3 item 4
    ("gzip, chunked", 501),  # RFC 9112 §6.1: framing understood, coding not implemented
])
def test_transfer_codings_not_ending_in_chunked_are_400_and_close(server, codings, status):
    data = (f"POST /files/te.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {codings}\r\n\r\n"
            "5\r\nhello\r\n0\r\n\r\nGET /echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    responses = parse_responses(exchange(server, data))
    assert [response[0] for response in responses] == [status]  # the smuggled GET is never answered
    assert responses[0][1]["Connection"] == "close"


# -- timeouts ------------------------------------------------------------------------


def test_head_deadline_stops_a_trickling_client(make_server, model):
    server = make_server(model=model, head_timeout=0.5)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        start = time.monotonic()
        received = b""
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            sock.settimeout(0.05)
            try:
                received += sock.recv(4096)
            except socket.timeout:
                pass
            if received:
                break
        received += read_until_closed(sock, timeout=3)
        elapsed = time.monotonic() - start
    assert received.startswith(b"HTTP/1.1 408 ")
    assert elapsed < 3


def trickle_body(server, rate, seconds, length=100_000):
    """PUT a `length`-byte body at about `rate` bytes/s, never silent for long;
    (what the server answered, seconds until it answered or `seconds` ran out)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"PUT /files/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % length)
        start = time.monotonic()
        sent, received = 0, b""
        sock.settimeout(0.1)
        while time.monotonic() - start < seconds and sent < length and not received:
            piece = min(length - sent, max(1, int(rate * 0.1)))
            try:
                sock.sendall(b"x" * piece)
                sent += piece
                received += sock.recv(4096)  # waits 0.1 s: our pace
            except socket.timeout:
                pass
            except OSError:
                break
        elapsed = time.monotonic() - start
        received += read_until_closed(sock, timeout=3)
    return received, elapsed


def test_a_body_that_trickles_too_slowly_is_cut_off(make_server, model):
    # Never silent for long (body_timeout), but on average slower than min_body_rate:
    # after body_timeout of grace, the deadline grows only by 1 s per 100 bytes received.
    server = make_server(model=model, body_timeout=1.0, min_body_rate=100)
    received, elapsed = trickle_body(server, rate=30, seconds=6)
    assert received.startswith(b"HTTP/1.1 408 "), received[:60]
    assert 1.0 < elapsed < 4.5  # by the rule, near 1 s + 30 t / 100 = t, so t ≈ 1.4 s


def test_a_slow_but_steady_body_is_accepted(make_server, model):
    server = make_server(model=model, body_timeout=1.0, min_body_rate=100)
    received, _ = trickle_body(server, rate=2000, seconds=6, length=3000)
    assert received.startswith(b"HTTP/1.1 201 "), received[:60]


def test_idle_keep_alive_connection_is_closed(make_server, model):
    server = make_server(model=model, idle_timeout=0.3)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n")
        start = time.monotonic()
        data = read_until_closed(sock, timeout=4)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"a")  # no 408 for an idle one
    assert time.monotonic() - start < 3


# -- many clients ----------------------------------------------------------------------


def test_slow_client_does_not_block_others(concurrent_model, make_server):
    server = make_server(model=concurrent_model)
    slow = socket.create_connection((server.host, server.port))
    try:
        slow.sendall(b"GET / HTTP/1.1\r\n")  # and then nothing
        start = time.monotonic()
        status, _, body = request(server, "GET", "/echo/fast")
        assert (status, body) == (200, b"fast")
        assert time.monotonic() - start < 1
    finally:
        slow.close()


def test_many_simultaneous_clients(concurrent_model, make_server):
    server = make_server(model=concurrent_model)
    results, errors = [], []
    barrier = threading.Barrier(100)

    def client(index):
        try:
            with socket.create_connection((server.host, server.port), timeout=10) as sock:
                barrier.wait(timeout=10)
                sock.sendall(b"GET /echo/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % index)
                [(status, _, body)] = parse_responses(read_until_closed(sock, timeout=10))
                results.append((status, body == str(index).encode()))
        except Exception as error:  # collected, so the assertion below shows it
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert results.count((200, True)) == 100


def test_concurrent_uploads_never_interleave(concurrent_model, make_server):
    server = make_server(model=concurrent_model)
    bodies = [bytes([65 + n]) * 300_000 for n in range(8)]

    statuses = []

    def upload(body):
        statuses.append(requests.put(server.url + "/files/contested", data=body, timeout=20).status_code)

    threads = [threading.Thread(target=upload, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    final = request(server, "GET", "/files/contested")[2]
    assert final in bodies  # exactly one whole upload, never a mixture
    # RFC 9110 §9.3.4: 201 for the one upload that created the file, 204 for the rest.
    assert sorted(statuses) == [201] + [204] * (len(bodies) - 1), statuses


# -- bodies: gzip, conditional requests, ranges, large files -----------------------------


def test_gzip_negotiation(server):
    status, headers, body = request(server, "GET", "/echo/abc", headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == b"abc"
    assert headers["Vary"] == "Accept-Encoding"
    _, headers, body = request(server, "GET", "/echo/abc", headers={"Accept-Encoding": "invalid-encoding-1, gzip, invalid-encoding-2"})
    assert headers["Content-Encoding"] == "gzip"
    for refused in ("invalid-encoding", "gzip;q=0", "br, deflate", "identity"):
        _, headers, body = request(server, "GET", "/echo/abc", headers={"Accept-Encoding": refused})
        assert "Content-Encoding" not in headers and body == b"abc", refused
    _, headers, body = request(server, "GET", "/", headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.5"})
    assert headers["Content-Encoding"] == "gzip" and b"It works." in gzip.decompress(body)
    _, headers, _ = request(server, "GET", "/images/logo.png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in headers  # a PNG is compressed already


def test_conditional_get(server):
    _, headers, _ = request(server, "GET", "/about.txt")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    status, headers304, body = request(server, "GET", "/about.txt", headers={"If-None-Match": etag})
    assert (status, body, headers304["ETag"]) == (304, b"", etag)
    assert request(server, "GET", "/about.txt", headers={"If-None-Match": '"other", ' + etag})[0] == 304
    assert request(server, "GET", "/about.txt", headers={"If-None-Match": '"other"'})[0] == 200
    assert request(server, "GET", "/about.txt", headers={"If-Modified-Since": modified})[0] == 304
    assert request(server, "GET", "/about.txt", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0] == 200
    assert request(server, "GET", "/about.txt", headers={"If-Modified-Since": "not a date"})[0] == 200


def test_ranges(server):
    full = request(server, "GET", "/about.txt")[2]
    status, headers, body = request(server, "GET", "/about.txt", headers={"Range": "bytes=0-14"})
    assert (status, body) == (206, b"About this site")
    assert headers["Content-Range"] == f"bytes 0-14/{len(full)}"
    assert request(server, "GET", "/about.txt", headers={"Range": "bytes=-5"})[2] == full[-5:]
    assert request(server, "GET", "/about.txt", headers={"Range": "bytes=10-"})[2] == full[10:]
    status, headers, _ = request(server, "GET", "/about.txt", headers={"Range": f"bytes={len(full)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(full)}"
    assert request(server, "GET", "/about.txt", headers={"Range": "bytes=0-1,4-5"})[0] == 200  # ignored
    assert request(server, "GET", "/about.txt", headers={"Range": "bytes=0-1", "If-Range": '"stale"'})[0] == 200


def test_large_file_is_sent_whole_and_in_ranges(server):
    data = os.urandom(3 * 1024 * 1024 + 17)
    with open(os.path.join(server.server.root, "big.bin"), "wb") as file:
        file.write(data)
    # Connection: close, since the iterative model serves no one else while
    # requests keeps a connection open in its pool.
    response = requests.get(server.url + "/big.bin", headers={"Connection": "close"}, timeout=20)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(data).digest()
    response = requests.get(server.url + "/big.bin", headers={"Range": "bytes=1000000-1000009", "Connection": "close"}, timeout=20)
    assert response.status_code == 206 and response.content == data[1000000:1000010]
    status, _, body = request(server, "HEAD", "/big.bin")
    assert status == 200 and body == b""


# -- safety -----------------------------------------------------------------------------


TRAVERSALS = [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/images/../../secret.txt",
    "/.%2e/secret.txt", "/files/../../secret.txt", "/files/%2e%2e/%2e%2e/secret.txt",
    "/secret.txt%00.html", "//..//secret.txt", "/files/..%2f..%2fsecret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_folders_is_read(make_server, site, path):
    root, _ = site
    (root.parent / "secret.txt").write_text("TOP SECRET")
    server = make_server(model="thread")
    data = exchange(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode("latin-1"))
    assert b"TOP SECRET" not in data
    assert data.startswith(b"HTTP/1.1 4")


def test_absolute_form_target_cannot_escape(make_server, site):
    root, _ = site
    (root.parent / "secret.txt").write_text("TOP SECRET")
    server = make_server(model="thread")
    data = exchange(server, b"GET http://x/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"TOP SECRET" not in data and data.startswith(b"HTTP/1.1 4")
    data = exchange(server, b"GET http://x/echo/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.endswith(b"\r\n\r\nok")


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlink_out_of_the_root_is_refused(make_server, site):
    root, directory = site
    (root.parent / "secret.txt").write_text("TOP SECRET")
    os.symlink(root.parent / "secret.txt", root / "link.txt")
    os.symlink(root.parent, directory / "outside")
    os.symlink(root / "about.txt", root / "inside.txt")  # a link that stays inside is fine
    server = make_server(model="thread")
    assert request(server, "GET", "/link.txt")[0] == 404
    assert request(server, "GET", "/files/outside/secret.txt")[0] == 404
    assert request(server, "PUT", "/files/outside/planted.txt", body=b"x")[0] == 404
    assert not (root.parent / "planted.txt").exists()
    assert request(server, "GET", "/inside.txt")[0] == 200


def test_uploads_cannot_escape(server):
    for path in ("/files/../evil", "/files/%2e%2e/evil", "/files/..%2fevil", "/files/a%00b"):
        assert request(server, "PUT", path, body=b"x")[0] == 400, path
    assert not os.path.exists(os.path.join(os.path.dirname(server.server.directory), "evil"))


def test_garbage_never_takes_the_server_down(server):
    for junk in (b"\x00" * 100, b"\x16\x03\x01\x02\x00" + os.urandom(300), b"GET", os.urandom(2000),
                 b"\r\n" * 50 + b"G", b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 200 + b"\r\n"):
        exchange(server, junk, timeout=2, half_close=True)
    assert request(server, "GET", "/echo/alive")[2] == b"alive"
