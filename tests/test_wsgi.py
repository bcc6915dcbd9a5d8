"""The WSGI gateway against PEP 3333, over real sockets, on every server model.

Every application here is wrapped in `wsgiref.validate.validator`, the standard
library's PEP 3333 checker: it asserts on the environ, start_response, write(),
the input and error streams and the iterable, from the application's side, so
a gateway that breaks a rule fails the request (a 500) instead of passing.
"""

import hashlib
import http.client
import socket
import threading
import time
from wsgiref.validate import validator

import pytest
import requests

from conftest import exchange, parse_responses, read_until_closed
from httpserver import serve_in_background
from httpserver.exchange import check_head
from httpserver.wsgi import WSGIGateway, load_application

MODELS = ["iterative", "thread", "pool", "select"]


@pytest.fixture(params=MODELS)
def model(request):
    return request.param


@pytest.fixture
def wsgi_server():
    """Start servers of a WSGI application (validated); all stopped after the test."""
    started = []

    def start(app, validate=True, **options):
        running = serve_in_background(app=validator(app) if validate else app, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def environ_app(environ, start_response):
    """Answers with the environ's CGI and wsgi values, one per line."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    lines = [f"{key}={value}" for key, value in sorted(environ.items())
             if key.isupper() or key in ("wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess",
                                         "wsgi.run_once", "wsgi.version")]
    lines.append(f"body-sha256={hashlib.sha256(body).hexdigest()}")
    payload = "\n".join(lines).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain; charset=latin-1"),
                              ("Content-Length", str(len(payload)))])
    return [payload]


def as_dict(body):
    return dict(line.split("=", 1) for line in body.decode("latin-1").splitlines())


# -- the environ ----------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True])
def test_environ_follows_pep_3333(wsgi_server, model, tls):
    server = wsgi_server(environ_app, model=model, tls=tls)
    response = requests.post(server.url + "/caf%C3%A9/a%2Fb?x=1&y=%20", data=b"form=1",
                             headers={"X-Custom": "one", "Content-Type": "application/x-www-form-urlencoded"},
                             verify=server.ca_file if tls else True, timeout=10)
    assert response.status_code == 200, response.text
    environ = as_dict(response.content)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == ""
    # PEP 3333: PATH_INFO is decoded, its bytes carried as Latin-1 characters ("é" is two).
    assert environ["PATH_INFO"] == "/café/a/b".encode("utf-8").decode("latin-1")
    assert environ["QUERY_STRING"] == "x=1&y=%20"  # not decoded
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "6"
    assert environ["HTTP_X_CUSTOM"] == "one"
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", str(server.port))
    assert environ["REMOTE_ADDR"] == "127.0.0.1" and environ["REMOTE_PORT"].isdigit()
    assert environ["wsgi.url_scheme"] == ("https" if tls else "http")
    assert (environ.get("HTTPS") == "on") == tls
    assert environ["wsgi.version"] == "(1, 0)"
    assert environ["wsgi.multithread"] == str(model != "iterative")
    assert environ["wsgi.multiprocess"] == "False" and environ["wsgi.run_once"] == "False"
    assert environ["body-sha256"] == hashlib.sha256(b"form=1").hexdigest()


def test_repeated_fields_are_joined_and_underscores_dropped(wsgi_server):
    server = wsgi_server(environ_app, model="select")
    data = exchange(server, b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\nCookie: x=1\r\n"
                            b"Cookie: y=2\r\nX-Forwarded-For: 10.0.0.1\r\nX_Forwarded_For: 6.6.6.6\r\n"
                            b"Connection: close\r\n\r\n")
    [(status, _, body)] = parse_responses(data)
    environ = as_dict(body)
    assert status == 200
    assert environ["HTTP_ACCEPT"] == "a, b"  # RFC 9110 §5.3
    assert environ["HTTP_COOKIE"] == "x=1; y=2"  # RFC 6265 §5.4
    assert environ["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"  # the underscore spelling cannot pose as it


def test_chunked_upload_has_its_length_and_large_bodies_wait_on_disk(wsgi_server, model):
    server = wsgi_server(environ_app, model=model)
    payload = bytes(range(256)) * 12_000  # 3 MiB: past the 1 MiB kept in memory

    def pieces():
        for start in range(0, len(payload), 100_000):
            yield payload[start:start + 100_000]
    response = requests.post(server.url + "/upload", data=pieces(), timeout=20)  # chunked
    environ = as_dict(response.content)
    assert environ["CONTENT_LENGTH"] == str(len(payload))
    assert "HTTP_TRANSFER_ENCODING" not in environ  # the gateway de-chunked it
    assert environ["body-sha256"] == hashlib.sha256(payload).hexdigest()


def test_script_name_and_absolute_form(wsgi_server):
    server = wsgi_server(environ_app, model="thread", script_name="/app")
    data = exchange(server, b"GET http://example.test:8080/app/page?q HTTP/1.1\r\nHost: ignored\r\n"
                            b"Connection: close\r\n\r\n")
    environ = as_dict(parse_responses(data)[0][2])
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/page")
    assert environ["HTTP_HOST"] == "example.test:8080"  # RFC 9112 §3.2.2


# -- the response: framing ------------------------------------------------------


def streaming_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def pieces():
        for n in range(3):
            yield f"piece {n}\n".encode()
            yield b""  # PEP 3333 allows empty pieces: they must not end the body
    return pieces()


def test_a_body_without_length_is_chunked_on_http_11(wsgi_server, model):
    server = wsgi_server(streaming_app, model=model)
    data = exchange(server, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert body == b"8\r\npiece 0\n\r\n8\r\npiece 1\n\r\n8\r\npiece 2\n\r\n0\r\n\r\n"


def test_a_body_without_length_ends_with_the_connection_on_http_10(wsgi_server, model):
    server = wsgi_server(streaming_app, model=model)
    data = exchange(server, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert body == b"piece 0\npiece 1\npiece 2\n"


def test_keep_alive_goes_on_after_a_chunked_answer(wsgi_server, model):
    server = wsgi_server(streaming_app, model=model)
    data = exchange(server, b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
                            b"GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    responses = parse_responses(data, methods=["GET", "HEAD", "GET"])
    assert [status for status, _, _ in responses] == [200, 200, 200]
    assert [body for _, _, body in responses] == [b"piece 0\npiece 1\npiece 2\n", b"", b"piece 0\npiece 1\npiece 2\n"]


def length_app(environ, start_response):
    """Content-Length from the application: honoured, never exceeded."""
    declared = {"/exact": 5, "/long": 3, "/short": 10}[environ["PATH_INFO"]]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(declared))])
    return iter([b"hel", b"lo"])


def test_content_length_is_honoured(wsgi_server, model):
    server = wsgi_server(length_app, model=model, validate=False)  # the validator refuses /long itself
    [(status, headers, body)] = parse_responses(exchange(server, b"GET /exact HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
    assert (status, headers["Content-Length"], body) == (200, "5", b"hello")
    data = exchange(server, b"GET /long HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert data.endswith(b"\r\n\r\nhel")  # PEP 3333: never more than Content-Length
    # Fewer bytes than promised: the connection closes, so the client sees the cut.
    data = exchange(server, b"GET /short HTTP/1.1\r\nHost: h\r\n\r\n", timeout=3)
    assert data.endswith(b"\r\n\r\nhello") and b"Content-Length: 10" in data
    assert any("short of its Content-Length" in line for line in server.errors)


def test_head_sends_no_body_and_the_length_get_would_send(wsgi_server, model):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"twelve bytes"]
    server = wsgi_server(app, model=model)
    data = exchange(server, b"HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert data.endswith(b"Content-Length: 12\r\nConnection: close\r\n\r\n")


def test_write_callable_output_comes_first(wsgi_server, model):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"twice, ")
        return [b"then returned"]
    server = wsgi_server(app, model=model)
    response = requests.get(server.url + "/", timeout=10)
    assert response.text == "written twice, then returned"


def test_write_leaves_before_the_application_returns(wsgi_server, model):
    """PEP 3333: write() must not return before its bytes are on their way."""
    release = threading.Event()

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"early")
        release.wait(10)
        return [b" late"]
    server = wsgi_server(app, model=model)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        received = b""
        while b"early" not in received:
            received += sock.recv(4096)  # arrives while the application still runs
        release.set()
        received += read_until_closed(sock)
    assert received.endswith(b"5\r\nearly\r\n5\r\n late\r\n0\r\n\r\n")


def test_status_reason_date_and_server_of_the_application_are_kept(wsgi_server):
    def app(environ, start_response):
        start_response("299 Fine Indeed", [("Server", "my-app/2"), ("Content-Type", "text/plain")])
        return [b"ok"]
    server = wsgi_server(app, model="select")
    data = exchange(server, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 299 Fine Indeed\r\n")
    assert data.count(b"Server:") == 1 and b"Server: my-app/2" in data and data.count(b"Date:") == 1


# -- errors -------------------------------------------------------------------


def test_an_exception_is_a_500_logged_once_and_the_server_goes_on(wsgi_server, model):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise ZeroDivisionError("on purpose")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fine"]
    server = wsgi_server(app, model=model)
    response = requests.get(server.url + "/boom", timeout=10)
    assert response.status_code == 500 and "ZeroDivisionError" not in response.text  # no traceback on the wire
    assert [line for line in server.errors if "ZeroDivisionError" in line] == [server.errors[0]]
    assert requests.get(server.url + "/after", timeout=10).text == "fine"


def test_exc_info_replaces_the_head_before_it_is_sent(wsgi_server, model):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("changed its mind")
        except ValueError:
            import sys
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"sorry"]
    server = wsgi_server(app, model=model)
    response = requests.get(server.url + "/", timeout=10)
    assert (response.status_code, response.text) == (503, "sorry")


def test_an_exception_midway_cuts_the_answer_and_closes(wsgi_server, model):
    closed = []

    class Body:
        def __iter__(self):
            yield b"first part, "
            raise KeyError("midway")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()
    server = wsgi_server(app, model=model, validate=False)  # the validator re-wraps close()
    data = exchange(server, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", timeout=3)
    assert data.endswith(b"c\r\nfirst part, \r\n")  # no last chunk: the client knows it is cut
    assert closed == [True]
    assert sum("KeyError" in line for line in server.errors) == 1


def test_start_response_refuses_what_pep_3333_forbids():
    for status, headers in [("200", []), (200, []), ("99 Low", []), ("200 OK", ()),
                            ("200 OK", [("Connection", "close")]), ("200 OK", [("X", "a\r\nb")]),
                            ("200 OK", [("Bad Name", "v")]), ("200 OK", [("X", "ü€")]),
                            ("200 OK", [("Content-Length", "-1")])]:
        with pytest.raises((ValueError, TypeError)):
            check_head(status, headers)
    assert check_head("200 OK", [("Content-Length", "3")])[2] == 3


def test_iterable_is_closed_when_the_client_leaves(wsgi_server, model):
    closed = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def endless():
            try:
                while True:
                    yield b"x" * 65536
            finally:
                closed.set()
        return endless()
    server = wsgi_server(app, model=model, validate=False)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        sock.recv(65536)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    assert closed.wait(10)


# -- files --------------------------------------------------------------------


def test_file_wrapper_sends_the_file(wsgi_server, model, tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4000)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        file = open(path, "rb")
        file.seek(1000)  # PEP 3333: transmission starts where the file is
        return environ["wsgi.file_wrapper"](file, 8192)
    server = wsgi_server(app, model=model, validate=False)  # the validator hides the wrapper's type
    response = requests.get(server.url + "/", timeout=10)
    assert response.content == path.read_bytes()[1000:]
    assert response.headers["Content-Length"] == str(256 * 4000 - 1000)


def test_file_wrapper_of_a_real_file_is_a_file_body(tmp_path):
    """The gateway hands a real file to the connection as a FileBody (sendfile)."""
    from httpserver.events import Request
    from httpserver.headers import Headers
    from httpserver.response import FileBody
    path = tmp_path / "f.txt"
    path.write_bytes(b"0123456789")

    def app(environ, start_response):
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](open(path, "rb"))
    request = Request("GET", "/", "/", "", "HTTP/1.1", Headers([("Host", "h")]))
    response = WSGIGateway(app).handle(request)
    assert isinstance(response.body, FileBody) and response.body.length == 10
    response.body.close()


# -- threads, the loop and back-pressure --------------------------------------


def test_the_application_never_runs_on_the_event_loops_thread(wsgi_server):
    threads = []

    def app(environ, start_response):
        threads.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"a"
        threads.append(threading.current_thread().name)
        yield b"b"
    server = wsgi_server(app, model="select", threads=2)
    assert requests.get(server.url + "/", timeout=10).text == "ab"
    assert threads and all(name.startswith("select-disk-") for name in threads), threads


def test_a_client_that_does_not_read_holds_no_application_thread(wsgi_server, model):
    """One application thread, a client that never reads a 100 MB answer: the
    next client is still served, and the application was asked for only a few
    pieces (back-pressure), not all of them."""
    if model in ("iterative", "thread"):
        pytest.skip("the connection's own thread runs its application: that is these models")
    produced = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ["PATH_INFO"] == "/big":
            def pieces():
                for n in range(1600):
                    produced.append(n)
                    yield b"y" * 65536
            return pieces()
        return [b"small"]
    server = wsgi_server(app, model=model, threads=1, validate=False)
    with socket.create_connection((server.host, server.port), timeout=5) as hog:
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        hog.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        time.sleep(1.0)  # the socket buffers fill; the application must stop being asked
        started = time.monotonic()
        assert requests.get(server.url + "/small", timeout=10).text == "small"
        assert time.monotonic() - started < 2
        assert len(produced) < 200, f"{len(produced)} pieces of 64 KiB produced for a client that reads nothing"


def test_load_application_from_a_spec(tmp_path, monkeypatch):
    (tmp_path / "myapp.py").write_text("def app(e, s):\n    pass\n\ndef make():\n    return app\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_application("myapp:app").__name__ == "app"
    assert load_application("myapp").__name__ == "app"
    assert load_application("myapp:make()").__name__ == "app"
    for bad in ["nope_no_such_module:app", "myapp:missing", "my-app:app"]:
        with pytest.raises(ValueError):
            load_application(bad)


def test_expect_continue_then_the_application_reads(wsgi_server, model):
    server = wsgi_server(environ_app, model=model)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Length", "5")
    connection.putheader("Expect", "100-continue")
    connection.endheaders()
    connection.sock.settimeout(5)
    assert connection.sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
    connection.send(b"hello")
    environ = as_dict(connection.getresponse().read())
    assert environ["body-sha256"] == hashlib.sha256(b"hello").hexdigest()
    connection.close()
