"""notebooks/my_server.py passes the CodeCrafters "Build your own HTTP server" stages.

The challenge's tester (codecrafters-io/http-server-tester) starts the program
with `--directory DIR` and nothing else (so no --root: GET / must answer 200
anyway), sends each request as Go's httputil.DumpRequest writes it (a Host field
always; User-Agent, Content-Type, Accept-Encoding and Connection only when the
stage sets them), and checks the status code, the reason phrase, the named
fields (values compared case-insensitively, so "text/plain" exactly, no charset),
the body, and that no bytes follow it. These tests replay its fourteen stages
(base, compression and persistence extensions) in the same way, over real
sockets on 127.0.0.1.

One difference is deliberate: the stage "Concurrent connections" shows its
request as `printf "GET / HTTP/1.1\\r\\n\\r\\n" | nc`, without Host, but the tester
sends Go requests, which carry Host; my_server.py refuses an HTTP/1.1 request
without Host with 400, as RFC 9112 §3.2 requires. These tests send what the
tester sends.
"""

import gzip
import re
import socket
import subprocess
import sys

import pytest

from conftest import REPOSITORY

REFERENCE = REPOSITORY / "notebooks" / "my_server.py"
RESPONSE_HEAD = re.compile(rb"HTTP/1\.1 (\d{3}) ([^\r\n]*)\r\n((?:[^\r\n]+\r\n)*)\r\n")


@pytest.fixture
def my_server(tmp_path):
    """my_server.py started as the challenge starts it: --directory only, from an empty folder."""
    directory = tmp_path / "data"
    directory.mkdir()
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    process = subprocess.Popen([sys.executable, str(REFERENCE), "--port", "0", "--directory", str(directory) + "/"],
                               cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "listening on http://127.0.0.1:PORT/"
    match = re.search(r":(\d+)/", line)
    if not match:
        process.kill()
        pytest.fail("my_server.py did not start: %r %r" % (line, process.communicate(timeout=5)))
    yield int(match.group(1)), directory
    process.terminate()
    process.communicate(timeout=10)


class Connection:
    """One TCP connection speaking as the challenge's tester does."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)  # the tester waits 2 s
        self.port = port
        self.unread = b""

    def send(self, method, path, fields=(), body=b""):
        # httputil.DumpRequest: request line, Host, the stage's own fields in order, the body.
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost:%d" % self.port]
        lines += ["%s: %s" % field for field in fields]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def response(self):
        """(status, reason, {lower-case name: value}, body), read by Content-Length."""
        while not RESPONSE_HEAD.match(self.unread):
            chunk = self.sock.recv(65536)
            assert chunk, "the connection closed before a whole response head: %r" % self.unread
            self.unread += chunk
        head = RESPONSE_HEAD.match(self.unread)
        fields = {}
        for line in head.group(3).decode("latin-1").split("\r\n")[:-1]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        length = int(fields.get("content-length", "0"))
        while len(self.unread) < head.end() + length:
            chunk = self.sock.recv(65536)
            assert chunk, "the connection closed inside the body"
            self.unread += chunk
        body = self.unread[head.end():head.end() + length]
        self.unread = self.unread[head.end() + length:]
        return int(head.group(1)), head.group(2).decode(), fields, body

    def nothing_unread(self):
        self.sock.settimeout(0.05)
        try:
            self.unread += self.sock.recv(65536)
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(2)
        return self.unread == b""

    def is_closed(self):
        self.sock.settimeout(1)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.sock.close()


def exchange(port, method, path, fields=(), body=b""):
    connection = Connection(port)
    try:
        connection.send(method, path, fields, body)
        answer = connection.response()
        assert connection.nothing_unread(), connection.unread
        return answer
    finally:
        connection.close()


def expect(answer, status, reason, fields=None, body=None):
    """The tester's HTTPResponseAssertion: status and reason exact, fields case-insensitive, body exact."""
    got_status, got_reason, got_fields, got_body = answer
    assert (got_status, got_reason) == (status, reason)
    for name, value in (fields or {}).items():
        assert got_fields.get(name.lower(), "").lower() == value.lower(), (name, got_fields)
    if body is not None:
        assert got_body == body


def test_at4_ia4_ih0_bind_respond_with_200_and_extract_the_path(my_server):
    port, _ = my_server
    expect(exchange(port, "GET", "/"), 200, "OK")
    expect(exchange(port, "GET", "/raspberry"), 404, "Not Found")
    expect(exchange(port, "GET", "/"), 200, "OK")


def test_cn2_fs3_echo_and_user_agent_are_text_plain_exactly(my_server):
    port, _ = my_server
    for word in ("abc", "pineapple", "grape/mango"):
        expect(exchange(port, "GET", "/echo/" + word), 200, "OK",
               {"Content-Type": "text/plain", "Content-Length": str(len(word))}, word.encode())
    agent = "foobar/1.2.3"
    expect(exchange(port, "GET", "/user-agent", [("User-Agent", agent)]), 200, "OK",
           {"Content-Type": "text/plain", "Content-Length": str(len(agent))}, agent.encode())


def test_ej5_concurrent_connections_answered_newest_first_then_again(my_server):
    port, _ = my_server
    for _ in range(2):  # then all closed, and new connections again
        connections = [Connection(port) for _ in range(3)]
        for connection in reversed(connections):
            connection.send("GET", "/")
            expect(connection.response(), 200, "OK")
            connection.close()


def test_ap6_qv8_files_read_and_posted(my_server):
    port, directory = my_server
    (directory / "foo").write_bytes(b"Hello, World!")
    expect(exchange(port, "GET", "/files/foo"), 200, "OK",
           {"Content-Type": "application/octet-stream", "Content-Length": "13"}, b"Hello, World!")
    expect(exchange(port, "GET", "/files/non_existant_file"), 404, "Not Found")
    content = b"raspberry pineapple strawberry"
    expect(exchange(port, "POST", "/files/file_123", [("Content-Length", str(len(content))),
                                                       ("Content-Type", "application/octet-stream")], content),
           201, "Created")
    assert (directory / "file_123").read_bytes() == content


def test_df4_ij8_cr8_gzip_when_accepted_and_only_then(my_server):
    port, _ = my_server
    for accept in ("gzip", "invalid-encoding-1, gzip, invalid-encoding-2"):
        status, reason, fields, body = exchange(port, "GET", "/echo/abc", [("Accept-Encoding", accept)])
        assert (status, reason, fields.get("content-encoding")) == (200, "OK", "gzip")
        assert fields["content-type"] == "text/plain" and fields["content-length"] == str(len(body))
        assert gzip.decompress(body) == b"abc"
    for accept in ("invalid-encoding", "invalid-encoding-1, invalid-encoding-2"):
        status, reason, fields, body = exchange(port, "GET", "/echo/abc", [("Accept-Encoding", accept)])
        assert (status, reason, body) == (200, "OK", b"abc") and "content-encoding" not in fields


def test_ag9_ul1_kh7_persistent_connections_until_connection_close(my_server):
    port, _ = my_server
    connection = Connection(port)  # ag9: two requests on one connection
    connection.send("GET", "/echo/banana")
    expect(connection.response(), 200, "OK", {"Content-Type": "text/plain"}, b"banana")
    connection.send("GET", "/user-agent", [("User-Agent", "blueberry/apple-blueberry")])
    expect(connection.response(), 200, "OK", {"Content-Length": "25"}, b"blueberry/apple-blueberry")
    connection.close()

    connections = [Connection(port) for _ in range(2)]  # ul1: two persistent connections, each used twice
    for _ in range(2):
        for number, connection in enumerate(reversed(connections)):
            connection.send("GET", "/echo/apple-%d" % number)
            expect(connection.response(), 200, "OK", body=b"apple-%d" % number)
    for connection in connections:
        connection.close()

    connection = Connection(port)  # kh7: Connection: close is answered with close, then closed
    connection.send("GET", "/echo/orange")
    expect(connection.response(), 200, "OK", body=b"orange")
    connection.send("GET", "/", [("Connection", "close")])
    expect(connection.response(), 200, "OK", {"Connection": "close"})
    assert connection.is_closed()
    connection.close()
