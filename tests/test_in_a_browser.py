"""The site in a real browser: headless Chromium, when it is installed.

Each test reads the page as Chromium built it (`--dump-dom`: after its scripts
ran and its decoding chose a charset). Chromium runs with a fresh profile and,
for HTTPS, a fresh certificate store of its own (on Linux Chromium reads
trusted authorities from $HOME/.pki/nssdb; `certutil` fills it), so nothing
of the machine's own browser is touched.
"""

import os
import shutil
import subprocess
import sys

import pytest

from httpserver import serve_in_background

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed")


def page_in_browser(url, home):
    """The DOM of `url` as headless Chromium shows it, with `home` as its home
    folder, and what Chromium logged (where it says why a page failed)."""
    profile = home / "profile"
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HOME": str(home)})
    return result.stdout, result.stderr


@pytest.fixture
def home(tmp_path):
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def test_index_shows_the_address_it_was_served_from(home):
    with serve_in_background(model="select") as server:
        dom, _ = page_in_browser(server.url + "/", home)
    assert "It works." in dom
    # the page's script put this server's own address into the curl examples
    assert f'curl -i <span class="origin">{server.url}</span>/echo/hi' in dom
    assert "127.0.0.1:4221" not in dom
    # and says which port it answers on, not the default one it is not using
    assert f"this server is answering on port {server.port} (the default is 4221" in dom


def test_non_ascii_text_is_decoded_as_utf8(home):
    with serve_in_background(model="select") as server:
        dom, _ = page_in_browser(server.url + "/echo/h%C3%A9llo%20%E2%9C%93", home)
    assert "héllo ✓" in dom and "Ã©" not in dom


def test_a_missing_page_is_an_html_page_with_a_link_home(home):
    with serve_in_background(model="select") as server:
        dom, _ = page_in_browser(server.url + "/no-such-page", home)
    assert "<h1>404 Not Found</h1>" in dom and '<a href="/">' in dom
    assert "Nothing at <code>/no-such-page</code>." in dom


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("certutil") is None,
                    reason="needs Linux Chromium's NSS store and certutil (libnss3-tools)")
def test_a_trusted_ca_is_still_trusted_after_a_restart(home, tmp_path):
    ca_folder = str(tmp_path / "ca")
    with serve_in_background(model="select", tls=True, ca_folder=ca_folder) as first:
        ca_file = first.ca_file
    # Told once, between the two runs, to trust ca.pem (README: "HTTPS in a browser").
    nss = home / ".pki" / "nssdb"
    nss.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-N", "--empty-password"], check=True, timeout=30)
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-A", "-t", "C,,", "-n", "httpserver local CA",
                    "-i", ca_file], check=True, timeout=30)
    untrusted_home = tmp_path / "untrusted-home"  # a browser never told
    untrusted_home.mkdir()
    with serve_in_background(model="select", tls=True, ca_folder=ca_folder) as second:  # the restart
        url = f"https://localhost:{second.port}/"
        trusted, _ = page_in_browser(url, home)
        untrusted, log = page_in_browser(url, untrusted_home)
    assert "It works." in trusted
    assert "It works." not in untrusted and "ERR_CERT_AUTHORITY_INVALID" in log


def test_http_typed_for_the_https_port_gets_a_page_with_the_https_link(home):
    with serve_in_background(model="select", tls=True) as server:
        dom, _ = page_in_browser(f"http://localhost:{server.port}/echo/hi", home)
    link = f"https://localhost:{server.port}/echo/hi"
    assert "This port speaks HTTPS" in dom and f'<a href="{link}">{link}</a>' in dom
