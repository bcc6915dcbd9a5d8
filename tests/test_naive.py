"""The naive resolvers of chapter 04 really escape, and `paths.resolve` refuses the same inputs.

If the naive ones ever stopped escaping, the chapter's demonstration would
silently stop demonstrating anything; if `resolve` let one through, the server
would have a hole.
"""

import os
from urllib.parse import quote

import pytest

from httpserver.errors import HTTPError
from httpserver.lab.naive import naive_resolve, reject_dotdot_join
from httpserver.paths import resolve

SECRET = "the secret outside the served folder\n"


@pytest.fixture
def playground(tmp_path):
    """tmp/www is served; tmp/secret.txt sits beside it, outside."""
    www = tmp_path / "www"
    (www / "docs").mkdir(parents=True)
    (www / "docs" / "page.txt").write_text("public\n")
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    return str(www), str(secret)


def attacks(secret):
    """URL paths that name the secret from inside www, each by a different trick."""
    return {
        "dot-dot": "/../secret.txt",
        "encoded dot-dot": "/%2e%2e/secret.txt",
        "encoded slash": "/..%2fsecret.txt",
        "deeper, encoded": "/docs/%2e%2e/%2e%2e/secret.txt",
        "encoded absolute path": "/" + quote(secret, safe=""),
    }


def read(path):
    with open(path, encoding="utf-8") as file:
        return file.read()


@pytest.mark.parametrize("trick", list(attacks("x")))
def test_the_naive_resolver_reads_the_secret(playground, trick):
    www, secret = playground
    path = naive_resolve(www, attacks(secret)[trick])
    assert read(path) == SECRET
    assert not os.path.realpath(path).startswith(os.path.realpath(www) + os.sep)


@pytest.mark.parametrize("trick", ["encoded dot-dot", "encoded slash", "deeper, encoded",
                                   "encoded absolute path"])
def test_refusing_a_literal_dotdot_is_not_enough(playground, trick):
    www, secret = playground
    with pytest.raises(ValueError):
        reject_dotdot_join(www, "/../secret.txt")
    assert read(reject_dotdot_join(www, attacks(secret)[trick])) == SECRET


@pytest.mark.parametrize("trick", list(attacks("x")))
def test_resolve_refuses_every_trick(playground, trick):
    www, secret = playground
    with pytest.raises(HTTPError) as refused:
        resolve(www, attacks(secret)[trick])
    assert 400 <= refused.value.status < 500


def test_resolve_refuses_a_nul_byte(playground):
    www, _ = playground
    with pytest.raises(HTTPError) as refused:
        resolve(www, "/secret.txt%00.html")
    assert refused.value.status == 400


def test_resolve_still_serves_ordinary_nested_paths(playground):
    www, _ = playground
    path = resolve(www, "/docs/page.txt")
    assert path == os.path.join(os.path.realpath(www), "docs", "page.txt")
    assert read(path) == "public\n"


def test_a_symlink_out_of_the_folder_fools_the_naive_resolver_not_resolve(playground):
    www, secret = playground
    link = os.path.join(www, "link.txt")
    try:
        os.symlink(secret, link)
    except (OSError, NotImplementedError) as error:
        pytest.skip(f"cannot create a symbolic link here: {error}")
    assert read(naive_resolve(www, "/link.txt")) == SECRET
    with pytest.raises(HTTPError) as refused:
        resolve(www, "/link.txt")
    assert refused.value.status == 404
