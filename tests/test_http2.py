"""HTTP/2 over TLS, over real sockets: curl, httpx and the h2 library as clients.

The oracle for meaning is the server's own HTTP/1.1: every route must answer
the same status and body over both protocols. The oracles for framing are
curl (nghttp2), httpx (h2) and the h2 library itself, each of which refuses a
server that breaks RFC 9113.
"""

import gzip
import os
import shutil
import ssl
import subprocess

import pytest

h2 = pytest.importorskip("h2")

from httpserver.lab.http2_client import HTTP2Client, open_tls  # noqa: E402
from h2.settings import SettingCodes  # noqa: E402

from conftest import MODELS  # noqa: E402

CURL = shutil.which("curl")


def curl_has_http2():
    if CURL is None:
        return False
    return "HTTP2" in subprocess.run([CURL, "-V"], capture_output=True, text=True).stdout


needs_curl_http2 = pytest.mark.skipif(not curl_has_http2(), reason="curl with HTTP/2 (nghttp2) is not installed")


@pytest.fixture(params=MODELS)
def h2_server(request, make_server):
    return make_server(model=request.param, tls=True, http2=True)


def curl(server, path, *options, version="--http2"):
    """(http version, status, body) of one curl request over TLS."""
    result = subprocess.run(
        [CURL, "-sS", version, "--cacert", server.ca_file, "-o", "-", "-w", "\n%{http_version} %{http_code}",
         *options, f"https://localhost:{server.port}{path}"],
        capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    body, _, summary = result.stdout.rpartition(b"\n")
    http_version, status = summary.decode().split()
    return http_version, int(status), body


ROUTES = [
    ("/echo/hello", ()),
    ("/echo/h%C3%A9llo", ()),
    ("/user-agent", ("-A", "curl-over-h2")),
    ("/", ()),
    ("/about.txt", ("-r", "0-9")),
    ("/about.txt", ("-r", "5-2")),  # unsatisfiable: 416
    ("/images/logo.png", ()),
    ("/", ("-H", "Accept-Encoding: gzip")),
    ("/no-such-file", ()),
    ("/no-such-file", ("-H", "Accept: text/html")),
    ("/files/sample.txt", ()),
    ("/files/missing", ()),
    ("/echo/x", ("-X", "POST", "--data-binary", "body")),  # 405
    ("/echo/x", ("-X", "BREW",)),  # 501
    ("/about.txt", ("-I",)),
    ("/about.txt", ("-X", "OPTIONS")),
    ("/images", ()),  # a folder without its slash: a redirect
    ("/%2e%2e/%2e%2e/etc/passwd", ()),
]


@needs_curl_http2
@pytest.mark.parametrize("path, options", ROUTES)
def test_every_route_answers_alike_over_http2_and_http1(make_server, path, options):
    server = make_server(tls=True, http2=True, model="select")
    version, status, body = curl(server, path, *options)
    old_version, old_status, old_body = curl(server, path, *options, version="--http1.1")
    assert (version, old_version) == ("2", "1.1")
    assert status == old_status
    if "-I" in options:  # the "body" is the header section: compare the fields that carry meaning
        body, old_body = header_fields(body), header_fields(old_body)
    assert body == old_body


def header_fields(head):
    lines = head.decode("latin-1").split("\r\n")[1:]
    fields = dict(line.split(": ", 1) for line in lines if line)
    return {name.lower(): value for name, value in fields.items() if name.lower() not in ("date", "connection")}


@needs_curl_http2
def test_curl_over_http2_on_every_model(h2_server):
    assert curl(h2_server, "/echo/model") == ("2", 200, b"model")
    version, status, body = curl(h2_server, "/", "--compressed")
    assert (version, status) == ("2", 200) and b"<html" in body.lower()


@needs_curl_http2
def test_uploads_over_http2_on_every_model(h2_server, tmp_path):
    data = os.urandom(300_000)  # past the spool's memory: it waits on disk
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    assert curl(h2_server, "/files/up.bin", "--data-binary", f"@{source}")[:2] == ("2", 201)
    assert curl(h2_server, "/files/up.bin") == ("2", 200, data)
    assert curl(h2_server, "/files/up.bin", "-X", "PUT", "--data-binary", "new")[:2] == ("2", 204)
    assert curl(h2_server, "/files/up.bin", "-X", "DELETE")[:2] == ("2", 204)
    assert curl(h2_server, "/files/up.bin")[1] == 404


def test_h2_client_many_streams_on_one_connection(h2_server):
    with HTTP2Client(h2_server) as client:
        assert client.protocol == "h2"
        ids = [client.send("GET", f"/echo/{n}") for n in range(30)]
        ids.append(client.send("GET", "/", [("accept-encoding", "gzip")]))
        answers = client.collect(ids)
    assert [a.body for a in answers[:30]] == [str(n).encode() for n in range(30)]
    assert all(a.status == 200 for a in answers)
    assert answers[-1].headers["content-encoding"] == "gzip" and b"<html" in gzip.decompress(answers[-1].body).lower()
    assert "connection" not in answers[0].headers  # RFC 9113 §8.2.2
    assert answers[0].headers["content-length"] == "1"


def test_the_server_respects_a_small_client_window(h2_server, tmp_path):
    """h2 raises FlowControlError if the server sends more than the window allows."""
    big = os.urandom(200_000)
    with open(os.path.join(h2_server.server.directory, "big.bin"), "wb") as file:
        file.write(big)
    with HTTP2Client(h2_server, settings={SettingCodes.INITIAL_WINDOW_SIZE: 1000}) as client:
        answers = client.collect([client.send("GET", "/files/big.bin"), client.send("GET", "/echo/small")])
        largest = max(len(event.data) for _, event in client.events if isinstance(event, h2.events.DataReceived))
    assert answers[0].body == big and answers[1].body == b"small"
    assert largest <= 1000


def test_httpx_speaks_http2_to_the_server(make_server):
    httpx = pytest.importorskip("httpx")
    server = make_server(tls=True, http2=True, model="select")
    with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=server.ca_file)) as client:
        url = f"https://localhost:{server.port}"
        responses = [client.get(url + path) for path in ("/echo/one", "/user-agent", "/about.txt", "/missing")]
        posted = client.post(url + "/files/httpx.txt", content=b"from httpx")
    assert {r.http_version for r in responses} == {"HTTP/2"}
    assert [r.status_code for r in responses] == [200, 200, 200, 404]
    assert responses[0].text == "one" and responses[1].text.startswith("python-httpx")
    assert posted.status_code == 201


@pytest.mark.parametrize("offered, expected", [(("http/1.1",), "http/1.1"), ((), None), (("h2", "http/1.1"), "h2")])
def test_negotiation_falls_back_to_http1_for_clients_without_h2(make_server, offered, expected):
    server = make_server(tls=True, http2=True, model="select")
    with open_tls(server, offered) as sock:
        assert sock.selected_alpn_protocol() == expected
        if expected != "h2":
            sock.sendall(b"GET /echo/one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")


def test_without_http2_only_http1_is_offered(make_server):
    server = make_server(tls=True, model="select")
    with open_tls(server, ("h2", "http/1.1")) as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"


def test_http2_needs_tls(make_server):
    from httpserver.listener import StartupError

    with pytest.raises(StartupError, match="--http2 needs --tls"):
        make_server(http2=True)


def test_the_command_line_says_in_one_line_what_http2_needs(tmp_path):
    import sys

    without_tls = subprocess.run([sys.executable, "-m", "httpserver", "--http2", "--port", "0"],
                                 capture_output=True, text=True, timeout=30)
    assert without_tls.returncode == 2 and without_tls.stderr.strip().splitlines() == [
        "httpserver: --http2 needs --tls (or --certfile): HTTP/2 is offered in the TLS handshake"]
    code = "import sys; sys.modules['h2'] = None; from httpserver.__main__ import main; sys.exit(main(sys.argv[1:]))"
    without_h2 = subprocess.run([sys.executable, "-c", code, "--http2", "--tls", "--port", "0", "--ca-dir",
                                 str(tmp_path / "ca")],
                                capture_output=True, text=True, timeout=30)
    assert without_h2.returncode == 2
    assert without_h2.stderr.strip().splitlines() == [
        'httpserver: --http2 needs the h2 package: pip install h2  (or: pip install -e ".[http2]")']


def test_small_answers_overtake_a_large_one_over_http2_only(make_server, tmp_path):
    from httpserver.lab.multiplexing import multiplexed_http2, pipelined_http1

    (tmp_path / "large.bin").write_bytes(os.urandom(1024 * 1024))
    server = make_server(tls=True, http2=True, root=str(tmp_path))
    paths = ["/large.bin"] + [f"/echo/{n}" for n in range(4)]
    over_http1, over_http2 = pipelined_http1(server, paths), multiplexed_http2(server, paths)
    assert [c.size for c in over_http1] == [c.size for c in over_http2] == [1024 * 1024, 1, 1, 1, 1]
    assert all(c.milliseconds >= over_http1[0].milliseconds for c in over_http1[1:])  # in order, always
    assert all(c.milliseconds < over_http2[0].milliseconds for c in over_http2[1:])   # interleaved
