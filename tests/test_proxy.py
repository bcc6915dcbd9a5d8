"""Forwarded / X-Forwarded-For believed only from trusted proxies (RFC 7239)."""

import json

import pytest
import requests

from conftest import exchange, parse_responses
from httpserver.events import Request
from httpserver.headers import Headers
from httpserver.proxy import TrustedProxies, parse_forwarded, parse_node


def client_app(environ, start_response):
    body = json.dumps({"remote_addr": environ["REMOTE_ADDR"], "scheme": environ["wsgi.url_scheme"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def ask(server, *fields):
    head = "".join(f"{field}\r\n" for field in fields)
    data = exchange(server, f"GET / HTTP/1.1\r\nHost: h\r\n{head}Connection: close\r\n\r\n".encode())
    [(status, _, body)] = parse_responses(data)
    assert status == 200
    return json.loads(body)


def test_forwarded_headers_are_ignored_unless_the_peer_is_trusted(make_server):
    server = make_server(app=client_app, model="select")  # no --trusted-proxy
    assert ask(server, "X-Forwarded-For: 203.0.113.9", "Forwarded: for=198.51.100.1;proto=https") == {
        "remote_addr": "127.0.0.1", "scheme": "http"}


@pytest.mark.parametrize("model", ["thread", "select"])
def test_a_trusted_proxy_names_the_client_for_the_app_and_the_log(make_server, model):
    server = make_server(app=client_app, model=model, trusted_proxies=["127.0.0.1"])
    assert ask(server, "X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https") == {
        "remote_addr": "203.0.113.9", "scheme": "https"}
    assert ask(server, 'Forwarded: for="[2001:db8::17]:4711";proto=https') == {
        "remote_addr": "2001:db8::17", "scheme": "https"}
    assert any(line.startswith("203.0.113.9 - - [") for line in server.access_log)


def test_only_the_hops_after_trusted_proxies_count(make_server):
    # A client that writes its own X-Forwarded-For cannot choose its address: the
    # trusted proxy appended the real one, and the walk stops there.
    server = make_server(app=client_app, model="pool", trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    assert ask(server, "X-Forwarded-For: 6.6.6.6, 192.0.2.44, 10.1.2.3")["remote_addr"] == "192.0.2.44"
    assert ask(server, "Forwarded: for=6.6.6.6, for=192.0.2.44", "Forwarded: for=10.1.2.3")["remote_addr"] == "192.0.2.44"
    # Every hop trusted: the leftmost is as far as we can see.
    assert ask(server, "X-Forwarded-For: 10.9.9.9")["remote_addr"] == "10.9.9.9"
    # Forwarded wins over X-Forwarded-For when both are there (RFC 7239 is the standard).
    assert ask(server, "Forwarded: for=192.0.2.1", "X-Forwarded-For: 192.0.2.2")["remote_addr"] == "192.0.2.1"
    # "unknown" or an obfuscated node: the proxy that said so is the client we know.
    assert ask(server, "Forwarded: for=unknown")["remote_addr"] == "127.0.0.1"
    assert ask(server, "Forwarded: for=_hidden, for=10.0.0.5")["remote_addr"] == "10.0.0.5"


def test_forwarded_grammar():
    assert parse_forwarded(['for=192.0.2.43, for="[2001:db8:cafe::17]";proto=https', 'For="a;b,c";by=x']) == [
        {"for": "192.0.2.43"}, {"for": "[2001:db8:cafe::17]", "proto": "https"}, {"for": "a;b,c", "by": "x"}]
    assert parse_forwarded(['for="unterminated']) == [{}]
    assert parse_forwarded(["garbage"]) == [{}]
    assert parse_node("192.0.2.60:4711") == ("192.0.2.60", 4711)
    assert parse_node("[2001:db8::1]:80") == ("2001:db8::1", 80)
    assert parse_node("2001:db8::1") == ("2001:db8::1", 0)
    for bad in ["unknown", "_obf", "999.1.1.1", "[::1", "example.com"]:
        assert parse_node(bad) is None


def test_trusted_proxies_parse_and_refuse():
    proxies = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert proxies.trusts("10.200.3.4") and proxies.trusts("::ffff:127.0.0.1") and proxies.trusts("::1")
    assert not proxies.trusts("192.168.0.1") and not proxies.trusts("nonsense")
    with pytest.raises(ValueError):
        TrustedProxies(["not-an-address"])
    request = Request("GET", "/", "/", "", "HTTP/1.1", Headers([("X-Forwarded-For", "198.51.100.7")]))
    assert proxies.client_of(request, ("127.0.0.1", 5000)) == (("198.51.100.7", 0), None)
    assert proxies.client_of(request, ("192.0.2.1", 5000)) == (("192.0.2.1", 5000), None)


def test_the_static_server_logs_the_forwarded_client_too(make_server):
    server = make_server(model="thread", trusted_proxies=["127.0.0.1"])
    response = requests.get(server.url + "/echo/hi", headers={"X-Forwarded-For": "198.51.100.20"}, timeout=10)
    assert response.text == "hi"
    assert server.access_log[-1].startswith("198.51.100.20 - - [")
