"""What a person sees in a browser: charsets, caching, the favicon, error pages
and folder listings, over real sockets, with the Accept fields real clients send."""

import io
import shutil
import subprocess
import time
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests

from conftest import exchange, parse_responses, request
from httpserver.negotiation import preferred_type

# What Chromium sends for a page it navigates to, and what curl sends.
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                  "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
CURL_ACCEPT = "*/*"


class PageReader(HTMLParser):
    """The links and the first <h1> text of a page, as a browser would find them."""

    def __init__(self, page):
        super().__init__()
        self.links, self.heading, self._in_h1 = [], None, False
        self.feed(page)

    def handle_starttag(self, tag, attributes):
        if tag == "a":
            self.links.append(dict(attributes)["href"])
        self._in_h1 = tag == "h1" and self.heading is None

    def handle_data(self, data):
        if self._in_h1:
            self.heading = data
            self._in_h1 = False


def get(server, path, accept=None, **headers):
    """GET with http.client on a connection of its own, closed after the answer
    (the iterative model serves one connection at a time)."""
    if accept is not None:
        headers["Accept"] = accept
    return request(server, "GET", path, headers=headers)


# -- text/plain and its charset ---------------------------------------------------


def test_ascii_echo_is_exactly_text_plain(server):
    status, headers, body = request(server, "GET", "/echo/hello")
    assert (status, headers["Content-Type"], body) == (200, "text/plain", b"hello")


def test_non_ascii_echo_names_its_charset(concurrent_model, make_server):
    running = make_server(model=concurrent_model)
    response = requests.get(running.url + "/echo/h%C3%A9llo%20%E2%9C%93", timeout=10)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text == "héllo ✓"  # requests decodes with the charset the server named


def test_user_agent_is_text_plain(server):
    status, headers, body = request(server, "GET", "/user-agent", headers={"User-Agent": "probe/1.0"})
    assert (status, headers["Content-Type"], body) == (200, "text/plain", b"probe/1.0")


# -- Cache-Control ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/style.css", "/", "/images/logo.png", "/files/sample.txt"])
def test_files_must_be_revalidated_by_default(server, path):
    status, headers, _ = get(server, path)
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    status, again, _ = get(server, path, **{"If-None-Match": headers["ETag"]})
    # RFC 9110 §15.4.5: the 304 carries the Cache-Control its 200 would.
    assert status == 304 and again["Cache-Control"] == "no-cache"


def test_echo_has_no_cache_control(server):
    assert "Cache-Control" not in get(server, "/echo/x")[1]


def test_cache_control_is_configurable(make_server):
    cached = make_server(model="select", cache_control="max-age=60")
    assert requests.get(cached.url + "/style.css", timeout=10).headers["Cache-Control"] == "max-age=60"
    silent = make_server(model="select", cache_control=None)
    assert "Cache-Control" not in requests.get(silent.url + "/style.css", timeout=10).headers


@pytest.mark.parametrize("model", ["thread", "select"])
def test_an_edited_file_is_seen_within_a_second(make_server, site, model):
    """A file answered a moment ago is kept ready and checked against the disk at
    most once a second (file_check_interval), as nginx's open file cache does."""
    root, _ = site
    running = make_server(model=model)
    with requests.Session() as browser:
        old = browser.get(running.url + "/style.css", timeout=10)
        edited = time.monotonic()
        (root / "style.css").write_text("body { color: red; }\n")
        while True:
            new = browser.get(running.url + "/style.css", headers={"If-None-Match": old.headers["ETag"]},
                              timeout=10)
            if new.status_code == 200 or time.monotonic() - edited > 3:
                break
            time.sleep(0.05)
    assert new.status_code == 200 and new.text == "body { color: red; }\n"
    assert time.monotonic() - edited < 1.0 + 0.5  # (the half second: a loaded machine's headroom)


def test_with_no_check_interval_an_edited_file_is_seen_on_the_next_request(make_server, site):
    root, _ = site
    running = make_server(model="select", file_check_interval=0)
    with requests.Session() as browser:
        old = browser.get(running.url + "/style.css", timeout=10)
        (root / "style.css").write_text("body { color: red; }\n")
        new = browser.get(running.url + "/style.css", headers={"If-None-Match": old.headers["ETag"]}, timeout=10)
    assert new.status_code == 200 and new.text == "body { color: red; }\n"


@pytest.mark.parametrize("model", ["thread", "select"])
def test_a_change_made_through_the_server_is_seen_at_once(make_server, model):
    running = make_server(model=model)
    with requests.Session() as browser:
        assert browser.put(running.url + "/files/note.txt", data=b"one", timeout=10).status_code == 201
        assert browser.get(running.url + "/files/note.txt", timeout=10).content == b"one"
        assert browser.put(running.url + "/files/note.txt", data=b"two!", timeout=10).status_code == 204
        assert browser.get(running.url + "/files/note.txt", timeout=10).content == b"two!"
        assert browser.delete(running.url + "/files/note.txt", timeout=10).status_code == 204
        assert browser.get(running.url + "/files/note.txt", timeout=10).status_code == 404


# -- the favicon ----------------------------------------------------------------------


def test_the_site_has_a_real_favicon(server):
    status, headers, body = request(server, "GET", "/favicon.ico")
    assert status == 200 and headers["Content-Type"] == "image/vnd.microsoft.icon"
    image = pytest.importorskip("PIL.Image")  # Pillow comes with matplotlib
    icon = image.open(io.BytesIO(body))
    assert icon.format == "ICO" and (16, 16) in icon.info["sizes"] and (32, 32) in icon.info["sizes"]


# -- error pages ------------------------------------------------------------------------


def test_a_browser_gets_an_html_error_page_with_a_way_home(server):
    status, headers, body = get(server, "/no-such-page", BROWSER_ACCEPT)
    assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = PageReader(body.decode("utf-8"))
    assert page.heading == "404 Not Found" and "/" in page.links


def test_curl_gets_one_plain_line(server):
    status, headers, body = get(server, "/no-such-page", CURL_ACCEPT)
    assert (status, headers["Content-Type"], body) == (404, "text/plain; charset=utf-8", b"404 not found\n")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_itself_gets_plain_text(make_server):
    running = make_server(model="select")
    result = subprocess.run(["curl", "-s", "-i", running.url + "/no-such-page"],
                            capture_output=True, timeout=20)
    assert b"\r\nContent-Type: text/plain; charset=utf-8\r\n" in result.stdout
    assert result.stdout.endswith(b"\r\n\r\n404 not found\n")


@pytest.mark.parametrize("accept, chosen", [
    (None, "text/plain"),
    ("*/*", "text/plain"),  # a tie: plain text wins
    ("text/*", "text/plain"),
    ("text/html", "text/html"),
    (BROWSER_ACCEPT, "text/html"),
    ("text/html;q=0.5, text/plain", "text/plain"),
    ("text/html;q=0, */*", "text/plain"),
    ("TEXT/HTML ; q=0.9, text/plain;q=0.1", "text/html"),
    ("image/png", "text/plain"),  # nothing acceptable: send plain text anyway
])
def test_error_format_follows_accept_and_its_q_values(accept, chosen):
    assert preferred_type(accept, ("text/plain", "text/html")) == chosen


def test_html_error_keeps_its_status_and_fields(server):
    status, headers, body = request(server, "PUT", "/echo/x", body=b"", headers={"Accept": "text/html"})
    assert status == 405 and headers["Allow"] == "GET, HEAD, OPTIONS"
    assert headers["Content-Type"] == "text/html; charset=utf-8" and b"405 Method Not Allowed" in body


def test_head_of_an_html_error_has_the_length_but_no_body(server):
    head = b"HEAD /no-such-page HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    get = head.replace(b"HEAD", b"GET", 1)
    raw_head = exchange(server, head)
    [(status, headers, body)] = parse_responses(raw_head, methods=["HEAD"])
    [(_, _, full_body)] = parse_responses(exchange(server, get))
    assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(full_body) > 0
    assert raw_head.endswith(b"\r\n\r\n") and body == b""  # nothing after the head


def test_error_page_escapes_what_it_shows():
    from httpserver.pages import error_page
    page = error_page(400, "bad <script>alert(1)</script> & more").decode("utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; more" in page


def test_a_malformed_request_gets_plain_text(server):
    # The head could not be read, so nothing says the client wants HTML.
    [(status, headers, _)] = parse_responses(exchange(server, b"GARBAGE\r\n\r\n"))
    assert status == 400 and headers["Content-Type"] == "text/plain; charset=utf-8"


# -- folder listings -----------------------------------------------------------------


@pytest.fixture
def odd_folder(site):
    root, _ = site
    folder = root / "sub dir"
    (folder / "inner").mkdir(parents=True)
    (folder / "a <b>&'q\".txt").write_text("odd name\n")
    (folder / "é.txt").write_text("accent\n")
    return folder


def test_listing_has_a_readable_heading_a_way_up_and_working_links(server, odd_folder):
    status, headers, body = get(server, "/sub%20dir/", BROWSER_ACCEPT)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode("utf-8")
    page = PageReader(text)
    assert page.heading == "Index of /sub dir/"
    assert page.links[0] == "../"
    assert "a <b>&'q\".txt" not in text  # names are escaped in the text
    for link in page.links:  # and every link leads somewhere
        assert get(server, urljoin("/sub%20dir/", link))[0] == 200, link
    assert get(server, urljoin("/sub%20dir/", page.links[1]))[2] == b"odd name\n"


def test_listing_of_the_top_folder_has_no_way_up(make_server, site):
    root, _ = site
    (root / "index.html").unlink()
    running = make_server(model="select")
    page = PageReader(requests.get(running.url + "/", timeout=10).text)
    assert page.heading == "Index of /" and "../" not in page.links and "style.css" in page.links


def test_listing_looks_like_the_site(server, odd_folder):
    text = get(server, "/sub%20dir/")[2].decode("utf-8")
    assert "font-family:system-ui" in text and 'name="viewport"' in text


# -- the index page -----------------------------------------------------------------------


def test_index_page_says_where_the_course_is(server):
    text = get(server, "/")[2].decode("utf-8")
    assert "notebooks/" in text and "make lab" in text and "README.md" in text
    assert 'rel="icon" href="/favicon.ico"' in text
