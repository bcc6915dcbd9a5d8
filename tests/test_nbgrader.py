"""nbgrader, end to end, on the chapters as committed and with no configuration file.

What an instructor does (the README's commands): copy chapters into
`source/<assignment>/`, `nbgrader generate_assignment`, collect the students'
notebooks into `submitted/<student>/<assignment>/`, `nbgrader autograde`. Two small
chapters keep it fast: 00 (one exercise) and 02 (three).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mock_submissions import NOTEBOOKS, RIGHT, submission, write

pytest.importorskip("nbgrader", reason="nbgrader is in the `teach` extra: pip install -e '.[teach]'")
nbformat = pytest.importorskip("nbformat")

ASSIGNMENT = "chapters"
CHAPTERS = ["00_start_here.ipynb", "02_http_messages.ipynb"]
WRONG_HEADERS = "def parse_headers(lines):\n    return {}\n"


def nbgrader(course, *args):
    # nbgrader runs `alembic` as a program: the environment's scripts must be on PATH,
    # as they are once the virtual environment is activated.
    environment = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    finished = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=environment,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    for chapter in CHAPTERS:
        shutil.copy(NOTEBOOKS / chapter, course / "source" / ASSIGNMENT / chapter)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def test_the_release_has_no_answers_and_no_instructor_notes(released):
    for chapter in CHAPTERS:
        text = (released / "release" / ASSIGNMENT / chapter).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text
        assert "Instructor notes" not in text
        assert "raise NotImplementedError" in text


@pytest.mark.timeout(600)
def test_autograde_scores_each_exercise_by_its_check_cell(released):
    from nbgrader.api import Gradebook

    release = released / "release" / ASSIGNMENT
    submitted = released / "submitted"
    # Right, wrong and untouched exercises in one submission.
    write(submission(release / CHAPTERS[0], CHAPTERS[0], answers={"ch00-build_get_request": RIGHT}),
          submitted / "mixed" / ASSIGNMENT / CHAPTERS[0])
    write(submission(release / CHAPTERS[1], CHAPTERS[1],
                     answers={"ch02-parse_request_line": RIGHT, "ch02-parse_headers": WRONG_HEADERS}),
          submitted / "mixed" / ASSIGNMENT / CHAPTERS[1])
    # A right answer whose check cell was deleted; an untouched chapter.
    write(submission(release / CHAPTERS[0], CHAPTERS[0], answers={"ch00-build_get_request": RIGHT},
                     deleted_checks={"ch00-build_get_request-check"}),
          submitted / "deleter" / ASSIGNMENT / CHAPTERS[0])
    write(submission(release / CHAPTERS[1], CHAPTERS[1]), submitted / "deleter" / ASSIGNMENT / CHAPTERS[1])

    nbgrader(released, "autograde", ASSIGNMENT)

    expected = {
        "mixed": {"ch00-build_get_request-check": 1, "ch02-parse_request_line-check": 1,
                  "ch02-parse_headers-check": 0, "ch02-decode_chunked-check": 0},
        "deleter": {"ch00-build_get_request-check": 0, "ch02-parse_request_line-check": 0,
                    "ch02-parse_headers-check": 0, "ch02-decode_chunked-check": 0},
    }
    with Gradebook("sqlite:///" + str(released / "gradebook.db")) as gradebook:
        for student, wanted in expected.items():
            scores = {}
            for chapter in CHAPTERS:
                graded = gradebook.find_submission_notebook(Path(chapter).stem, ASSIGNMENT, student)
                scores.update({grade.name: grade.score for grade in graded.grades
                               if grade.name.endswith("-check")})
            assert scores == wanted, student
    # The learner's "not attempted yet" message survives into the graded notebook.
    autograded = (released / "autograded" / "deleter" / ASSIGNMENT / CHAPTERS[1]).read_text(encoding="utf-8")
    assert "not attempted yet" in autograded
