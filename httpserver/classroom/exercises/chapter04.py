"""Chapter 04's exercises, answered in my_server.py: a path that cannot escape, an atomic upload."""

import os
import posixpath
from urllib.parse import quote

from ..watch import FolderWatch
from . import exception_name, exercise, outcome_text, pick, raises_like, token

VALUE_ERROR = {"raised": ["builtins.ValueError"]}


def same_path_or_refused(case, observed, expected):
    """The reference's path (however spelled) or its ValueError; either, where both are right."""
    base = case["args"][0]
    value = observed.get("value")
    inside = isinstance(value, str) and (posixpath.normpath(value) + "/").startswith(base + "/")
    if case.get("either") and (raises_like(observed, VALUE_ERROR) or inside):
        return None
    if "raised" in expected:
        if raises_like(observed, expected):
            return None
        return "should raise %s (the path leaves base); it %s" % (exception_name(expected), outcome_text(observed))
    if isinstance(value, str) and posixpath.normpath(value) == posixpath.normpath(expected["value"]):
        return None
    return "should return the path %s; it %s" % (expected["value"], outcome_text(observed))


ESCAPES = [
    lambda rng: "/../" + token(rng),
    lambda rng: "/%2e%2e/" + token(rng),
    lambda rng: "/" + pick(rng, ".%2e", "%2e.", "%2E%2E") + "/" + token(rng),
    lambda rng: "/docs/" + "/".join(["%2e%2e"] * 2) + "/" + token(rng),
    lambda rng: "/..%2f" + token(rng),
    lambda rng: "/..%2fsite-" + token(rng) + "/key.pem",
    lambda rng: "/" + token(rng) + ".txt%00.png",
]


@exercise("ch04-safe_join-check", "safe_join", probe="base_folder", judge=same_path_or_refused)
def safe_join_cases(rng):
    base = "/tmp/join-%s/site" % token(rng, 12)
    cases = []
    for _ in range(5):
        parts = ["docs"] + [token(rng) for _ in range(rng.randint(0, 2))] + [token(rng) + ".txt"]
        cases.append({"args": (base, "/" + "/".join(parts))})
    name = token(rng) + " " + token(rng) + "é.txt"
    cases.append({"args": (base, "/docs/" + quote(name))})
    cases += [{"args": (base, escape(rng))} for escape in ESCAPES]
    cases.append({"args": (base, "/%2F" + token(rng) + "%2F" + token(rng)), "either": True})
    return rng.sample(cases, len(cases))


def judge_atomic_write(case, observed, expected):
    """From outside: the file holds the new bytes (or the old, if the upload broke), and was replaced
    by a rename, never written in place."""
    seen = observed.get("outside") or {}
    chunks, broken = case["chunks"], case.get("break_after") is not None
    if broken:
        if not raises_like(observed, {"raised": ["builtins.ConnectionResetError"]}):
            return ("when the chunks break off, should let the ConnectionResetError through "
                    "(clean up, then `raise`); it %s" % outcome_text(observed))
        if seen.get("content") != case.get("old"):
            return "the upload broke off, so the file must keep its old content; it changed"
        return None
    if observed.get("value") != sum(len(chunk) for chunk in chunks):
        return "should return the number of bytes written, %d; it %s" % (sum(map(len, chunks)), outcome_text(observed))
    if seen.get("content") != b"".join(chunks):
        return "afterwards the file must hold exactly the chunks, in order"
    events = seen.get("events")
    if case.get("old") is not None and events is not None:
        if "MODIFY" in events or "CLOSE_WRITE" in events or "MOVED_TO" not in events:
            return ("the file was written in place, so a reader could see half of it: write a temporary file "
                    "in the same folder, then os.replace it onto the path")
    return None


def nothing_left_over(cases, observations, outside, **reports):
    """Nothing but the uploaded files may be left in the folder."""
    expected = sorted(case["name"] for case in cases
                      if case.get("old") is not None or case.get("break_after") is None)
    if outside and outside.get("names") != expected:
        extra = sorted(set(outside.get("names", [])) - set(expected))
        return "left files behind in the folder (%s): remove the temporary file when something fails" % ", ".join(extra)
    return None


class UploadFolder:
    """The folder atomic_write writes in, prepared and watched from outside the sandbox."""

    def __init__(self, exchange, cases):
        self.folder, self.cases = os.path.join(exchange, "atomic"), cases

    def before(self):
        os.mkdir(self.folder)
        for case in self.cases:
            if case.get("old") is not None:
                with open(os.path.join(self.folder, case["name"]), "wb") as file:
                    file.write(case["old"])
        self.watch = FolderWatch(self.folder)

    def after(self):
        events = self.watch.events()
        per_case = []
        for case in self.cases:
            path = os.path.join(self.folder, case["name"])
            content = open(path, "rb").read() if os.path.isfile(path) else None
            per_case.append({"content": content,
                             "events": None if events is None else events.get(case["name"], [])})
        return per_case, {"names": sorted(os.listdir(self.folder))}


@exercise("ch04-atomic_write-check", "atomic_write", probe="atomic_write", judge=judge_atomic_write,
          outside=UploadFolder, overall=nothing_left_over, extra={"folder": "exchange/atomic"})
def atomic_write_cases(rng):
    def chunks():
        return [token(rng, rng.randint(1, 30)).encode() for _ in range(rng.randint(2, 5))]
    cases = [
        {"name": token(rng) + ".txt", "chunks": chunks()},                                   # a new file
        {"name": token(rng) + ".txt", "chunks": chunks(), "old": token(rng).encode()},       # replaced
        {"name": token(rng) + ".bin", "chunks": chunks(), "old": token(rng).encode(), "break_after": 1},
        {"name": token(rng) + ".txt", "chunks": chunks(), "break_after": 1},                 # a new file, broken
    ]
    return rng.sample(cases, len(cases))
