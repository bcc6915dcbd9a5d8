"""A Gradescope autograder for the course, graded by the same sandboxed grader as `make grade`.

    python -m httpserver.classroom.gradescope export [--out build/gradescope] [--chapter NN]...
    python -m httpserver.classroom.gradescope run [--autograder /autograder]

`export` (what `make gradescope` runs) writes `autograder.zip`, the file an
instructor uploads to a Gradescope programming assignment. Gradescope unpacks it
into /autograder/source: `setup.sh` (run once, as root, when Gradescope builds
the image: installs Python, bubblewrap and the project in /autograder/venv),
`run_autograder` (run for each submission), and the project itself, the
instructor's chapters included: they stay in /autograder/source, outside every
sandbox the student's code runs in.

`run` (what run_autograder does) grades /autograder/submission (the files the
student uploaded: chapters and my_server.py, at the top or in one folder) as a
class of one, and writes /autograder/results/results.json in Gradescope's
format: one test per exercise, per chapter's Build cell and per Build stage,
each with its score, its maximum and the reason, and the notes for the
student (edited check cells, hangs, files not recognised) as the output.
Set the AUTOGRADER environment variable to run it on a folder laid out like
/autograder, as the tests do.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from . import sandbox
from .grade import RISKS, grade_class, stdlib_sandbox_leaks

REPOSITORY = Path(__file__).resolve().parents[2]
PROJECT_FILES = ["pyproject.toml", "README.md", "LICENSE", "httpserver", "data", "notebooks"]
SKIPPED = ("__pycache__", ".ipynb_checkpoints", ".pyc")

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu).
# bubblewrap makes the sandboxes students' code runs in; the project goes in a virtual
# environment outside /usr, so that the standard-library sandbox cannot import it.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --no-cache-dir --upgrade pip
/autograder/venv/bin/python -m pip install --no-cache-dir -e "/autograder/source[notebooks]"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission in sandboxes and
# write /autograder/results/results.json. AUTOGRADER=folder runs it on a copy of that layout.
set -euo pipefail
AUTOGRADER="${AUTOGRADER:-/autograder}"
cd "$AUTOGRADER/source"
exec "$AUTOGRADER/venv/bin/python" -m httpserver.classroom.gradescope run --autograder "$AUTOGRADER"
"""


def copy_project(target):
    """This project's files, as Gradescope will find them in /autograder/source."""
    def ignore(folder, names):
        return [name for name in names if name.endswith(SKIPPED) or name in SKIPPED]
    for name in PROJECT_FILES:
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)


def export(out="build/gradescope", chapters=None, timeout=20):
    """Write `out`/autograder.zip (and its unpacked folder beside it); return the zip's path."""
    out = Path(out)
    folder = out / "autograder"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    copy_project(folder)
    (folder / "setup.sh").write_text(SETUP, encoding="utf-8")
    (folder / "run_autograder").write_text(RUN_AUTOGRADER, encoding="utf-8")
    (folder / "gradescope.json").write_text(json.dumps({"chapters": chapters, "timeout": timeout}), encoding="utf-8")
    for script in ("setup.sh", "run_autograder"):
        (folder / script).chmod(0o755)
    archive = out / "autograder.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
                with open(path, "rb") as file:
                    zipped.writestr(info, file.read(), zipfile.ZIP_DEFLATED)
    return archive


def submitted_folder(submission):
    """Where the student's files are: the submission, or the one folder they zipped them in."""
    entries = [path for path in Path(submission).iterdir() if not path.name.startswith((".", "__"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return Path(submission)


def results_json(result, seconds):
    """Gradescope's results.json for a class of one."""
    student = next(iter(result.grades))
    tests = []
    for number, item in enumerate(result.items, start=1):
        points, why = result.grades[student].get(item, (0, "not graded"))
        maximum = result.points.get(item, 1)
        tests.append({"name": item, "number": str(number), "score": points, "max_score": maximum,
                      "status": "passed" if points == maximum else "failed", "output": why,
                      "tags": ["stage" if item.startswith("stage-") else "chapter " + item[2:4]],
                      "visibility": "visible"})
    notes = result.notes.get(student) or []
    output = "Graded %s; cases drawn for this run (seed %s)." % (result.how, result.seed)
    if notes or result.warnings:
        output += "\n\n" + "\n".join("- " + line for line in result.warnings + notes)
    return {"score": sum(test["score"] for test in tests), "execution_time": round(seconds),
            "output": output, "stdout_visibility": "hidden", "tests": tests}


def run(autograder="/autograder"):
    """Grade the submission in `autograder`/submission; write `autograder`/results/results.json."""
    autograder = Path(autograder)
    source, results = autograder / "source", autograder / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads((source / "gradescope.json").read_text(encoding="utf-8"))
    started = time.monotonic()
    why = sandbox.unavailable() or (stdlib_sandbox_leaks() and "the project is importable from the "
                                                              "standard-library sandbox: install it in a virtual environment")
    if why:
        message = ("Not graded: no sandbox could be made on this machine (%s), and the grader does not run "
                   "students' code without one. %s" % (why, RISKS))
        results.write_text(json.dumps({"score": 0, "output": message, "tests": []}), encoding="utf-8")
        print(message, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="httpserver-gradescope-") as scratch:
        class_folder = Path(scratch) / "submissions"
        shutil.copytree(submitted_folder(autograder / "submission"), class_folder / "submission")
        result = grade_class(class_folder, source / "notebooks", jobs=None,
                             chapters=settings.get("chapters"), timeout=settings.get("timeout", 20))
    results.write_text(json.dumps(results_json(result, time.monotonic() - started), indent=1), encoding="utf-8")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m httpserver.classroom.gradescope",
                                     description="Write a Gradescope autograder, or run it.")
    commands = parser.add_subparsers(dest="command", required=True)
    writing = commands.add_parser("export", help="write autograder.zip for Gradescope")
    writing.add_argument("--out", default="build/gradescope")
    writing.add_argument("--chapter", action="append", dest="chapters", help="grade only this chapter (e.g. 02)")
    writing.add_argument("--timeout", type=float, default=20, help="seconds one exercise may take")
    running = commands.add_parser("run", help="grade one submission (what run_autograder does)")
    running.add_argument("--autograder", default=os.environ.get("AUTOGRADER", "/autograder"))
    args = parser.parse_args(argv)
    if args.command == "export":
        print("wrote", export(args.out, args.chapters, args.timeout))
        return 0
    return run(args.autograder)


if __name__ == "__main__":
    sys.exit(main())
