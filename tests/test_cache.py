"""The lab's shared cache (RFC 9111): against a scripted origin on a hand-moved clock,
and in front of the real package server."""

from email.utils import formatdate

import pytest

from httpserver import serve_in_background
from httpserver.lab.cache import SharedCache, directives, origin_at
from httpserver.lab.proxyladder import plot_message_ladder


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


class ScriptedOrigin:
    """An origin whose answers a test sets; it keeps every request it got."""

    def __init__(self, clock, cache_control=None, vary=None, etag='"v1"', extra=()):
        self.clock, self.cache_control, self.vary, self.etag = clock, cache_control, vary, etag
        self.extra = list(extra)
        self.requests = []

    def __call__(self, method, path, headers):
        self.requests.append(dict(headers))
        fields = [("Date", formatdate(self.clock(), usegmt=True)), ("ETag", self.etag), *self.extra]
        if self.cache_control:
            fields.append(("Cache-Control", self.cache_control))
        if self.vary:
            fields.append(("Vary", self.vary))
        if headers.get("if-none-match") == self.etag:
            return 304, fields, b""
        body = b"gzip:" if "gzip" in headers.get("accept-encoding", "") else b""
        return 200, fields, body + path.encode()


def test_directives_are_case_insensitive_and_take_quoted_arguments():
    assert directives('No-Store, MAX-AGE="60", private') == {"no-store": None, "max-age": "60", "private": None}
    assert directives(None) == {}


def test_fresh_then_stale_then_revalidated_with_age():
    clock = Clock()
    origin = ScriptedOrigin(clock, "max-age=60")
    cache = SharedCache(origin, clock=clock)
    assert cache.request("/a").outcome == "miss"
    clock.now += 59
    hit = cache.request("/a")
    assert (hit.outcome, hit.headers["age"], hit.body) == ("hit", "59", b"/a")
    clock.now += 2
    again = cache.request("/a")  # 61 s old: stale, so ask the origin, which says 304
    assert (again.outcome, again.headers["age"], again.body) == ("revalidated", "0", b"/a")
    assert origin.requests[-1]["if-none-match"] == '"v1"' and len(origin.requests) == 2


def test_age_from_upstream_counts(tmp_path):
    clock = Clock()
    origin = ScriptedOrigin(clock, "max-age=60", extra=[("Age", "50")])
    cache = SharedCache(origin, clock=clock)
    cache.request("/a")
    clock.now += 9
    assert cache.request("/a").headers["age"] == "59"  # §4.2.3: 50 upstream + 9 here
    clock.now += 2
    assert cache.request("/a").outcome == "revalidated"


@pytest.mark.parametrize("control, shared_outcome, private_outcome", [
    ("no-store", "passed", "passed"),
    ("private, max-age=60", "passed", "hit"),
    ("max-age=0, s-maxage=60", "hit", "revalidated"),  # s-maxage is for shared caches only
    ("no-cache", "revalidated", "revalidated"),
])
def test_who_may_store_and_reuse(control, shared_outcome, private_outcome):
    for shared, expected in ((True, shared_outcome), (False, private_outcome)):
        clock = Clock()
        cache = SharedCache(ScriptedOrigin(clock, control), shared=shared, clock=clock)
        cache.request("/a")
        clock.now += 1
        assert cache.request("/a").outcome == expected, (control, shared)


def test_vary_keeps_variants_apart():
    clock = Clock()
    origin = ScriptedOrigin(clock, "max-age=60", vary="Accept-Encoding")
    cache = SharedCache(origin, clock=clock)
    assert cache.request("/a").body == b"/a"
    zipped = cache.request("/a", {"Accept-Encoding": "gzip"})
    assert (zipped.outcome, zipped.body) == ("miss", b"gzip:/a")  # never the plain copy
    assert cache.request("/a", {"Accept-Encoding": "gzip"}).outcome == "hit"
    assert cache.request("/a").body == b"/a" and len(cache.store["/a"]) == 2
    star = SharedCache(ScriptedOrigin(clock, "max-age=60", vary="*"), clock=clock)
    star.request("/a")
    assert star.request("/a").outcome != "hit"  # Vary: * matches no later request (§4.1)


def test_authorization_is_not_shared_unless_allowed():
    clock = Clock()
    for control, outcome in (("max-age=60", "passed"), ("public, max-age=60", "hit")):
        cache = SharedCache(ScriptedOrigin(clock, control), clock=clock)
        cache.request("/a", {"Authorization": "Bearer x"})
        assert cache.request("/a", {"Authorization": "Bearer x"}).outcome == outcome


def test_in_front_of_the_package_server(tmp_path):
    (tmp_path / "page.txt").write_text("cached page\n")
    with serve_in_background(root=str(tmp_path), directory=str(tmp_path), cache_control="max-age=30") as fresh, \
            serve_in_background(root=str(tmp_path), directory=str(tmp_path)) as revalidating:
        cache = SharedCache(origin_at(fresh))
        outcomes = [cache.request("/page.txt").outcome for _ in range(3)]
        assert outcomes == ["miss", "hit", "hit"] and len(fresh.access_log) == 1
        cache = SharedCache(origin_at(revalidating))  # the default Cache-Control is no-cache
        answers = [cache.request("/page.txt") for _ in range(3)]
        assert [answer.outcome for answer in answers] == ["miss", "revalidated", "revalidated"]
        assert all(answer.body == b"cached page\n" for answer in answers)
        assert [line.split('" ')[1].split()[0] for line in revalidating.access_log] == ["200", "304", "304"]
        figure = plot_message_ladder(cache.exchanges, ["client", "cache", "origin"], title="test")
        drawn = [text.get_text() for text in figure.axes[0].texts if text.get_text()]
        assert drawn == [exchange.label for exchange in cache.exchanges]
