"""A GitHub Classroom assignment: the template repository students get, and the grading its workflow runs.

    python -m httpserver.classroom.github_classroom export [--out build/github-classroom] [--chapter NN]...
    python -m httpserver.classroom.github_classroom grade --course DIR --submission DIR [--output FILE]

`export` (`make github-classroom`) writes the template repository of an
assignment: the student copies of the chapters and my_server.py's skeleton,
and `.github/workflows/classroom.yml`. On every push to a student's repository
that workflow checks out the student's files and, beside them, the course (this
repository, at the commit the template was made from: the one setting
`[project.urls] Repository` in pyproject.toml says where), installs bubblewrap
and the course, and runs `grade`: the same sandboxed grader as `make grade`, as
root (root makes namespaces on every runner) so the student's code runs as a
user of its own. `grade` writes the result for GitHub Classroom's standard
reporter (classroom-resources/autograding-grading-reporter): one test per
exercise, per chapter's Build cell and per Build stage, each scored, as the
base64 JSON `result` output of the step, which the reporter reads from the
GRADER_RESULTS variable.

The workflow file sits in the student's own repository, where the student can
change it: its points are feedback. Grade the collected repositories with
`make grade` for marks that count.
"""

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .grade import grade_class
from .colab import project_url
from .student import write_student_copies

REPOSITORY = Path(__file__).resolve().parents[2]
RUNNER = "grader"  # the step's id: the reporter finds its result in GRADER_RESULTS

WORKFLOW = """\
# Grades this repository on every push: the course's grader, sandboxed, on your chapters and
# my_server.py. Written by `make github-classroom`; the points are also shown in GitHub Classroom.
name: Autograding Tests
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
env:
  COURSE_REPOSITORY: {repository}
  COURSE_REF: {ref}
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 20
    steps:
      - name: Your files
        uses: actions/checkout@v4
        with:
          path: submission
      - name: The course and its grader (outside the sandbox your code runs in)
        uses: actions/checkout@v4
        with:
          repository: ${{{{ env.COURSE_REPOSITORY }}}}
          ref: ${{{{ env.COURSE_REF }}}}
          path: course
          token: ${{{{ secrets.COURSE_TOKEN || github.token }}}}
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install bubblewrap and the course
        run: |
          sudo apt-get update
          sudo apt-get install -y bubblewrap
          python -m venv venv
          venv/bin/python -m pip install --quiet -e "course[notebooks]"
      - name: Grade
        id: {runner}
        run: sudo venv/bin/python -m httpserver.classroom.github_classroom grade --course course --submission submission --output "$GITHUB_OUTPUT"{chapters}
      - name: Report
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          {variable}: "${{{{ steps.{runner}.outputs.result }}}}"
        with:
          runners: {runner}
"""


def current_commit():
    """The course's commit the template is made from (its workflow grades with that one)."""
    try:
        return subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "main"


def workflow(chapters=None, ref=None):
    """The text of .github/workflows/classroom.yml."""
    slug = project_url().split("github.com/", 1)[-1].removesuffix(".git").strip("/")
    options = "".join(" --chapter %s" % chapter for chapter in chapters or [])
    return WORKFLOW.format(repository=slug, ref=ref or current_commit(), runner=RUNNER,
                           variable=RUNNER.upper() + "_RESULTS", chapters=options)


def export(out="build/github-classroom", chapters=None):
    """Write the template repository into `out`; return the workflow's path."""
    out = Path(out)
    with tempfile.TemporaryDirectory() as scratch:
        write_student_copies(REPOSITORY / "notebooks", scratch)
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(Path(scratch).iterdir()):
            if not chapters or path.suffix != ".ipynb" or path.name[:2] in chapters:
                (out / path.name).write_bytes(path.read_bytes())
    target = out / ".github" / "workflows" / "classroom.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(workflow(chapters), encoding="utf-8")
    return target


def result(class_result):
    """The reporter's runner result for a class of one: {version, status, max_score, tests}."""
    student = next(iter(class_result.grades))
    notes = "\n".join(class_result.notes.get(student) or [])
    tests = []
    for item in class_result.items:
        points, why = class_result.grades[student].get(item, (0, "not graded"))
        maximum = class_result.points.get(item, 1)
        tests.append({"name": item, "status": "pass" if points == maximum else "fail", "score": points,
                      "message": why, "test_code": "python -m httpserver.classroom.grade", "filename": "",
                      "line_no": 0, "duration": 0})
    if notes:
        tests[0]["message"] += "\n" + notes  # the reporter shows messages; the notes belong to the run
    maximum = sum(class_result.points.get(item, 1) for item in class_result.items)
    status = "pass" if all(test["status"] == "pass" for test in tests) else "fail"
    return {"version": 1, "status": status, "max_score": maximum, "tests": tests}


def grade(course, submission, output=None, chapters=None):
    """Grade `submission` with the course in `course`; append `result=<base64 JSON>` to `output`."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="httpserver-classroom-") as scratch:
        folder = Path(scratch) / "submissions" / "student"
        folder.mkdir(parents=True)
        for path in Path(submission).iterdir():
            if path.is_file() and not path.name.startswith("."):
                (folder / path.name).write_bytes(path.read_bytes())
        report = result(grade_class(folder.parent, Path(course) / "notebooks", jobs=None,
                                    chapters=chapters))
    encoded = base64.b64encode(json.dumps(report).encode("utf-8")).decode("ascii")
    if output:
        with open(output, "a", encoding="utf-8") as file:
            file.write("result=%s\n" % encoded)
    passed = sum(test["score"] for test in report["tests"])
    print("%g of %g points, graded in %.0f s" % (passed, report["max_score"], time.monotonic() - started))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m httpserver.classroom.github_classroom",
                                     description="A GitHub Classroom template, and the grading its workflow runs.")
    commands = parser.add_subparsers(dest="command", required=True)
    writing = commands.add_parser("export", help="write the assignment's template repository")
    writing.add_argument("--out", default="build/github-classroom")
    writing.add_argument("--chapter", action="append", dest="chapters", help="hand out only this chapter (e.g. 02)")
    grading = commands.add_parser("grade", help="grade one repository (what the workflow runs)")
    grading.add_argument("--course", required=True, help="a checkout of the course")
    grading.add_argument("--submission", required=True, help="a checkout of the student's repository")
    grading.add_argument("--output", help="where to append result=... (the workflow's $GITHUB_OUTPUT)")
    grading.add_argument("--chapter", action="append", dest="chapters")
    args = parser.parse_args(argv)
    if args.command == "export":
        print("wrote", export(args.out, args.chapters))
        return 0
    from . import sandbox
    why = sandbox.unavailable()
    if why:
        print("error: no sandbox here: %s" % why, file=sys.stderr)
        return 2
    grade(args.course, args.submission, args.output, args.chapters)
    return 0


if __name__ == "__main__":
    sys.exit(main())
