"""IPv6 and dual stack, over real sockets on ::1 and 127.0.0.1, on every model.

The default stays 127.0.0.1 only; `--host ::1` listens on IPv6 loopback alone, and
`--host ::` on one dual-stack socket that IPv4 clients reach as ::ffff:127.0.0.1.
"""

import errno
import shutil
import socket
import subprocess

import pytest
import requests

from conftest import parse_responses, read_until_closed


def ipv6_loopback_works():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback (::1) on this machine")


def get(address, port, path="/echo/hi", host=None):
    """One raw GET to (address, port); the responses as http.client parsed them."""
    with socket.create_connection((address, port), timeout=5) as sock:
        authority = host or (f"[{address}]:{port}" if ":" in address else f"{address}:{port}")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n".encode())
        return parse_responses(read_until_closed(sock))


def test_ipv6_loopback_only(make_server, model):
    server = make_server(host="::1", model=model)
    assert server.url == f"http://[::1]:{server.port}"
    [(status, _, body)] = get("::1", server.port)
    assert (status, body) == (200, b"hi")
    with pytest.raises(OSError) as refused:  # nobody listens on the IPv4 side of that port
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    assert refused.value.errno in (errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", -1))
    assert server.access_log[-1].startswith("::1 - - [")


@pytest.mark.skipif(not socket.has_dualstack_ipv6(), reason="no dual-stack sockets here")
def test_dual_stack_takes_both_families(make_server, model):
    server = make_server(host="::", model=model)
    [(status6, _, body6)] = get("::1", server.port)
    [(status4, _, body4)] = get("127.0.0.1", server.port)
    assert (status6, body6) == (status4, body4) == (200, b"hi")
    clients = [line.split(" ", 1)[0] for line in server.access_log]
    assert clients == ["::1", "::ffff:127.0.0.1"]  # IPv4 arrives IPv4-mapped (RFC 4291 §2.5.5.2)


def test_requests_reaches_a_bracketed_ipv6_url(make_server):
    server = make_server(host="::1")
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(f"http://[::1]:{server.port}/user-agent", headers={"User-Agent": "v6/1"})
    assert (response.status_code, response.text) == (200, "v6/1")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_over_ipv6(make_server):
    server = make_server(host="::1")
    result = subprocess.run(["curl", "-sS", "-g", "--noproxy", "*", "-i", f"http://[::1]:{server.port}/echo/six"],
                            capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n") and result.stdout.endswith(b"\r\n\r\nsix")


def test_an_ipv6_host_field_is_valid_and_a_broken_one_is_not(make_server):
    server = make_server(host="::1")
    [(status, _, _)] = get("::1", server.port, host=f"[::1]:{server.port}")
    assert status == 200
    [(status, _, _)] = get("::1", server.port, host="[::1")  # RFC 3986 §3.2.2: brackets close
    assert status == 400


def test_the_default_is_ipv4_loopback_only(make_server):
    server = make_server()
    assert server.host == "127.0.0.1"
    with pytest.raises(OSError):
        socket.create_connection(("::1", server.port), timeout=2).close()
