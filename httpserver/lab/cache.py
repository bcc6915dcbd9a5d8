"""A shared HTTP cache, small enough to read: what a proxy or a CDN does (RFC 9111).

Contract: `SharedCache(origin)` answers `request(path, headers)` from its store when
it may, and asks `origin` otherwise; `origin(method, path, headers)` returns
(status, [(name, value)], body). Each answer says what the cache did (`outcome`:
"miss", "hit", "revalidated", "refetched" or "passed") and every message between
client, cache and origin is written to `exchanges`, in order, for a ladder. It
follows the rules a learner meets first, with their sections: what may be stored
(§3, §3.5), the freshness lifetime (§4.2.1) and the current age (§4.2.3), `Vary`
(§4.1), validation with a 304 (§4.3) and `Age` on every stored answer (§5.1). It
leaves out what a real cache needs beyond that (heuristic freshness, Expires,
partial content, invalidation after unsafe methods, `stale-while-revalidate`).
`origin_at(server)` makes an origin of a running package server. Lab code: the
package's server does not use it.
"""

import http.client
import math
import time
from email.utils import parsedate_to_datetime
from typing import NamedTuple

OUTCOMES = ("miss", "hit", "revalidated", "refetched", "passed")


class Exchange(NamedTuple):
    """One message on the ladder: when (clock seconds), who sent it to whom, what."""

    time: float
    sender: str
    receiver: str
    label: str


class Answer(NamedTuple):
    """What the client got: status, fields (a dict by lower-case name), body, and how."""

    status: int
    headers: dict
    body: bytes
    outcome: str


def directives(value):
    """Cache-Control directives as {name: argument or None}; names lower-case (RFC 9111 §5.2)."""
    found = {}
    for element in (value or "").split(","):
        name, equals, argument = element.strip().partition("=")
        if name:
            found[name.strip().lower()] = argument.strip().strip('"') if equals else None
    return found


def seconds(argument):
    """A delta-seconds argument, or None when it is not one (RFC 9111 §1.2.2)."""
    return int(argument) if argument is not None and argument.isascii() and argument.isdigit() else None


class Stored:
    """A response in the store, with what its age is computed from (RFC 9111 §4.2.3)."""

    def __init__(self, status, headers, body, request_headers, request_time, response_time):
        self.status, self.headers, self.body = status, headers, body
        self.request_headers = request_headers  # for Vary: what this variant was chosen by
        self.request_time, self.response_time = request_time, response_time

    def freshness_lifetime(self, shared):
        """§4.2.1: s-maxage (shared caches only), else max-age; 0 when neither is valid."""
        control = directives(self.headers.get("cache-control"))
        if shared and seconds(control.get("s-maxage")) is not None:
            return seconds(control["s-maxage"])
        return seconds(control.get("max-age")) or 0

    def current_age(self, now):
        """§4.2.3: the age the response had when it arrived, plus its time in the store."""
        date = self.headers.get("date")
        date_value = parsedate_to_datetime(date).timestamp() if date else self.response_time
        apparent_age = max(0.0, self.response_time - date_value)
        age_value = seconds(self.headers.get("age")) or 0
        corrected_age_value = age_value + (self.response_time - self.request_time)
        corrected_initial_age = max(apparent_age, corrected_age_value)
        return corrected_initial_age + (now - self.response_time)

    def matches(self, request_headers):
        """§4.1: every field named by Vary has the value the stored request had."""
        vary = [name.strip().lower() for name in self.headers.get("vary", "").split(",") if name.strip()]
        if "*" in vary:
            return False
        return all(request_headers.get(name) == self.request_headers.get(name) for name in vary)


class SharedCache:
    """A cache in front of `origin`; `shared=False` makes it a private (browser) cache."""

    def __init__(self, origin, *, shared=True, clock=time.time):
        self.origin = origin
        self.shared = shared
        self.clock = clock
        self.store = {}  # path -> [Stored], one per variant (Vary)
        self.exchanges = []
        self.name = "shared cache" if shared else "private cache"

    def _note(self, sender, receiver, label):
        self.exchanges.append(Exchange(self.clock(), sender, receiver, label))

    def may_store(self, status, headers, request_headers):
        """§3: a 200 to a GET, not no-store, not private in a shared cache, not
        for an Authorization request unless the response allows it (§3.5)."""
        control = directives(headers.get("cache-control"))
        request_control = directives(request_headers.get("cache-control"))
        if status != 200 or "no-store" in control or "no-store" in request_control:
            return False
        if self.shared and "private" in control:
            return False
        if self.shared and "authorization" in request_headers and not (
                {"public", "s-maxage", "must-revalidate"} & set(control)):
            return False
        return "max-age" in control or "s-maxage" in control or "etag" in headers

    def request(self, path, headers=None):
        """Answer GET `path` with request `headers`, from the store or the origin."""
        headers = {name.lower(): value for name, value in (headers or {}).items()}
        self._note("client", "cache", f"GET {path}")
        now = self.clock()
        variants = self.store.get(path, [])
        stored = next((entry for entry in variants if entry.matches(headers)), None)
        if stored is None:
            return self._fetch(path, headers, "miss")
        request_control = directives(headers.get("cache-control"))
        response_control = directives(stored.headers.get("cache-control"))
        age = stored.current_age(now)
        fresh = age < stored.freshness_lifetime(self.shared)
        if fresh and "no-cache" not in response_control and "no-cache" not in request_control:
            return self._answer(stored, now, "hit")
        return self._validate(path, headers, stored)

    def _validate(self, path, headers, stored):
        """§4.3: ask the origin whether the stored response is still good."""
        conditional = dict(headers)
        if "etag" in stored.headers:
            conditional["if-none-match"] = stored.headers["etag"]
        elif "last-modified" in stored.headers:
            conditional["if-modified-since"] = stored.headers["last-modified"]
        else:
            return self._fetch(path, headers, "refetched")
        condition = "If-None-Match" if "if-none-match" in conditional else "If-Modified-Since"
        request_time = self.clock()
        self._note("cache", "origin", f"GET {path} ({condition})")
        status, fields, body = self.origin("GET", path, conditional)
        response_time = self.clock()
        self._note("origin", "cache", f"{status}")
        if status != 304:
            return self._keep(path, headers, status, fields, body, request_time, response_time, "refetched")
        # §4.3.4: a 304 refreshes the stored fields, and the age starts again.
        stored.headers.update({name.lower(): value for name, value in fields})
        stored.request_time, stored.response_time = request_time, response_time
        return self._answer(stored, response_time, "revalidated")

    def _fetch(self, path, headers, outcome):
        request_time = self.clock()
        self._note("cache", "origin", f"GET {path}")
        status, fields, body = self.origin("GET", path, headers)
        response_time = self.clock()
        self._note("origin", "cache", f"{status}")
        return self._keep(path, headers, status, fields, body, request_time, response_time, outcome)

    def _keep(self, path, headers, status, fields, body, request_time, response_time, outcome):
        response_headers = {name.lower(): value for name, value in fields}
        if not self.may_store(status, response_headers, headers):
            self._note("cache", "client", f"{status} (not stored)")
            return Answer(status, response_headers, body, "passed")
        entry = Stored(status, response_headers, body, headers, request_time, response_time)
        variants = [old for old in self.store.get(path, []) if not old.matches(headers)]
        self.store[path] = variants + [entry]
        return self._answer(entry, response_time, outcome)

    def _answer(self, stored, now, outcome):
        # §5.1: a response from the store says how old it is, in whole seconds.
        age = math.floor(stored.current_age(now))
        headers = dict(stored.headers, age=str(age))
        self._note("cache", "client", f"{stored.status} ({outcome}, Age: {age})")
        return Answer(stored.status, headers, stored.body, outcome)


def origin_at(server, timeout=5):
    """An origin for `SharedCache`: each call is one request to a running server."""

    def fetch(method, path, headers):
        connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    return fetch
