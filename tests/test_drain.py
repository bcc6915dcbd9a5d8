"""A graceful stop (drain.py): nothing new, everything under way answered, then exit."""

import http.client
import socket
import sys
import threading
import time

import pytest


MODELS = ["iterative", "thread", "pool", "select"]


def slow_app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.6)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]


@pytest.mark.parametrize("model", MODELS)
def test_graceful_stop_answers_what_is_under_way_and_closes_the_idle(make_server, model):
    server = make_server(app=slow_app, model=model)
    idle = http.client.HTTPConnection(server.host, server.port, timeout=5)
    idle.request("GET", "/")
    assert idle.getresponse().read() == b"done"  # now a keep-alive connection between requests
    busy = http.client.HTTPConnection(server.host, server.port, timeout=5)
    answers = {}

    def slow_request():
        busy.request("GET", "/slow")
        response = busy.getresponse()
        answers["slow"] = (response.status, response.getheader("Connection"), response.read())
    requester = threading.Thread(target=slow_request)
    requester.start()
    time.sleep(0.2)  # the slow request is under way
    started = time.monotonic()
    stopper = threading.Thread(target=lambda: answers.setdefault("stopped", server.server.graceful_stop(10)))
    stopper.start()
    idle.sock.settimeout(3)
    assert idle.sock.recv(100) == b""  # closed, cleanly, without an answer to nothing
    requester.join(10)
    stopper.join(10)
    assert answers["slow"] == (200, "close", b"done")  # answered, and told the connection ends
    assert answers["stopped"] is True and time.monotonic() - started < 5
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1)  # nothing listens any more
    idle.close()
    busy.close()


def test_a_connection_accepted_but_silent_is_served_not_dropped(make_server):
    server = make_server(app=slow_app, model="select")
    fresh = socket.create_connection((server.host, server.port), timeout=5)
    time.sleep(0.2)  # accepted, no request yet: its client is about to send one
    stopper = threading.Thread(target=server.server.graceful_stop, args=(10,))
    stopper.start()
    time.sleep(0.3)
    fresh.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    answer = fresh.recv(1000)
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in answer
    stopper.join(10)
    fresh.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT hand-over: Linux")
def test_a_restart_under_load_loses_no_request(tmp_path):
    """Server A serves a bounded keep-alive load; B starts on the same port
    (SO_REUSEPORT); A gets SIGTERM and drains. Every request gets its 200."""
    from httpserver.lab.restart import graceful_restart
    result = graceful_restart(clients=8, duration=4.0, restart_at=1.5, path="/slow?ms=20")
    assert result.failed == 0, result.failures[:5]
    assert result.completed > 200
    assert result.first_exit_code == 0 and result.drain_seconds < 5
    assert result.served_by_new > 0 and result.served_by_old > 0  # the load really moved over


@pytest.mark.skipif(not __import__("shutil").which("nginx"), reason="nginx is not installed")
def test_a_rolling_restart_behind_nginx_loses_no_request():
    from httpserver.lab.proxying import restart_behind_nginx
    result = restart_behind_nginx(clients=6, duration=6.0)
    assert result.failed == 0, result.failures[:5]
    served = {result.pids[pid] for _, pid in result.answers}
    assert served == {"first server", "second server", "first server, restarted", "second server, restarted"}
