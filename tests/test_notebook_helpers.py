"""The helpers chapters use to show the package's real source."""

import sys

from httpserver import mime, negotiation
from httpserver.lab.notebook import show_source


def test_show_source_prints_a_decorated_function_with_its_file(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # outside Jupyter: plain text
    show_source(negotiation.accepts_gzip)  # wrapped by functools.lru_cache
    shown = capsys.readouterr().out
    assert shown.startswith("# httpserver/negotiation.py\n")
    assert "@functools.lru_cache" in shown and "def accepts_gzip(accept_encoding):" in shown


def test_show_source_can_show_some_lines_only(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    show_source(mime.content_type, lines=(2, 2))
    assert capsys.readouterr().out == "# httpserver/mime.py\ndef content_type(path):\n"
