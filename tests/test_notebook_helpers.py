"""The helpers chapters use to show the package's real source."""

import sys

from httpserver import mime, negotiation
from httpserver.lab.notebook import show_source


def test_show_source_prints_a_decorated_function_with_its_file(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # outside Jupyter: plain text
    show_source(negotiation.accepts_gzip)  # wrapped by functools.lru_cache
    shown = capsys.readouterr().out
    assert shown.startswith("# httpserver/negotiation.py\n")
    assert "@remember_short()" in shown and "def accepts_gzip(accept_encoding):" in shown
    assert "coding.strip().lower()" in shown  # the function itself, not the cache's wrapper


def test_show_source_can_show_some_lines_only(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    show_source(mime.content_type, lines=(2, 2))
    assert capsys.readouterr().out == "# httpserver/mime.py\ndef content_type(path):\n"


def test_exchange_survives_a_server_that_answers_and_closes_mid_upload():
    # Like http.server with a huge header: it reads a little, answers, closes.
    # The client's send then fails; `exchange` must still return, not raise.
    import socket
    import threading

    from httpserver.lab.notebook import exchange

    listener = socket.create_server(("127.0.0.1", 0))

    def impatient_server():
        connection, _ = listener.accept()
        with connection:
            connection.recv(1000)
            connection.sendall(b"HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=impatient_server)
    thread.start()
    try:
        answer = exchange(listener.getsockname(), b"GET / HTTP/1.1\r\nCookie: " + b"a" * 8_000_000, timeout=5)
    finally:
        thread.join(10)
        listener.close()
    assert answer in (b"", b"HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n")  # a reset may eat it
