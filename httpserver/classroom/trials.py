"""One trial: one answer, in a sandbox, on the cases of one exercise; what it did, seen from outside.

Contract: `Answer` says where an answer lives (the student's my_server.py, or
steps of notebook code from answers.answer_code). `run_trial(exercise, cases,
answer, limits, folder)` lays out a home folder under `folder` (the job, the
files, an exchange folder when the exercise watches from outside), starts the
exercise's outside observer, runs probe.py in a sandbox with the answer, and
returns a `Trial`: the probe's report (None if it never came), the sandbox's
Outcome, and what the observer saw. Nothing here judges.
"""

import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from . import sandbox
from .plain import Opaque, decode, encode

REPORT_LIMIT = 8 * 1024 * 1024  # a probe's report may not be larger


@dataclass
class Answer:
    """Where one answer lives."""

    source: str                       # "my_server" or "cell"
    server: Optional[Path] = None     # the my_server.py to import
    steps: List[tuple] = field(default_factory=list)  # [("chapter" or "student", code)] for a cell


@dataclass
class Trial:
    """What happened when one answer met the cases."""

    report: Optional[dict]
    outcome: sandbox.Outcome
    outside: list = None        # the observer's view of each case, or None
    outside_all: dict = None    # its view of the whole trial

    def observations(self, count):
        """One observation per case (None where the probe said nothing), with the outside's view added."""
        cases = (self.report or {}).get("cases") or []
        observed = [decoded(cases[index]) if index < len(cases) and isinstance(cases[index], dict) else None
                    for index in range(count)]
        for index, seen in enumerate(self.outside or []):
            if observed[index] is not None:
                observed[index]["outside"] = seen
        return observed


def decoded(observed):
    """An observation with its values turned back from plain data (see probe.encode)."""
    observed = dict(observed)
    for key in ("value", "args_after", "unread"):
        if key in observed:
            try:
                observed[key] = decode(observed[key])
            except (ValueError, TypeError, KeyError, AttributeError):  # the student's process wrote it
                observed[key] = Opaque("?", "unreadable")
    if isinstance(observed.get("again"), dict):
        observed["again"] = decoded(observed["again"])
    return observed


def read_all(descriptor, into):
    with os.fdopen(descriptor, "rb") as pipe:
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                return
            if sum(map(len, into)) < REPORT_LIMIT:
                into.append(chunk)


def run_trial(exercise, cases, answer, limits, folder, confined=True):
    """Run one trial (see the module's contract)."""
    home = Path(folder) / "home"
    exchange = home / "exchange"
    exchange.mkdir(parents=True)
    job = {"source": answer.source, "name": exercise.name, "probe": exercise.probe,
           "cases": [{key: encode(value) for key, value in case.items()} for case in cases], **exercise.extra}
    files = {"job.json": home / "job.json"}
    if answer.server is not None:
        shutil.copyfile(answer.server, home / "my_server.py")
        files["my_server.py"] = home / "my_server.py"
        job["path"] = "my_server.py"
    if answer.source != "my_server":
        job["steps"] = answer.steps
    (home / "job.json").write_text(json.dumps(job), encoding="utf-8")
    observer = exercise.outside(str(exchange), cases) if exercise.outside else None
    if observer:
        observer.before()
    course = answer.source != "my_server"
    reading, writing = os.pipe()
    received = []
    reader = threading.Thread(target=read_all, args=(reading, received), daemon=True)
    reader.start()
    interpreter = [sandbox.python_for(course)] + (["-s"] if course else ["-S", "-s"])
    program = interpreter + [sandbox.tool("probe.py", confined), "job.json", str(writing)]
    view = sandbox.View(course=course, files=files, exchange=str(exchange))
    limits = sandbox.Limits(**{**limits.__dict__, "wall_seconds": exercise.seconds}) if limits else None
    try:
        outcome = sandbox.run(program, view, limits, pass_fds=(writing,), home=str(home), confined=confined)
    finally:
        os.close(writing)
    reader.join(10)
    outside, outside_all = observer.after() if observer else (None, None)
    try:
        report = json.loads(b"".join(received).decode("utf-8")) if received else None
        report = report if isinstance(report, dict) else None
    except (ValueError, UnicodeDecodeError):
        report = None
    return Trial(report, outcome, outside, outside_all)
