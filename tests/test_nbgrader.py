"""nbgrader, end to end, on the chapters as committed and with no configuration file.

What an instructor does (the README's commands): copy chapters into
`source/<assignment>/`, `nbgrader generate_assignment`, collect the students'
notebooks into `submitted/<student>/<assignment>/`, `nbgrader autograde`. Two small
chapters keep it fast: 00 (one exercise) and 03 (three).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from httpserver.classroom.student import strip_solutions
from mock_submissions import NOTEBOOKS, RIGHT, instructor_sources, submission, write

pytest.importorskip("nbgrader", reason="nbgrader is in the `teach` extra: pip install -e '.[teach]'")
nbformat = pytest.importorskip("nbformat")

ASSIGNMENT = "chapters"
CHAPTERS = ["00_start_here.ipynb", "03_responses_and_routes.ipynb"]


def ids(chapter, wanted):
    """The nbgrader ids of the chapter's cells that `wanted(metadata)` picks, in order."""
    notebook = nbformat.read(str(NOTEBOOKS / chapter), as_version=4)
    return [cell.metadata.nbgrader["grade_id"] for cell in notebook.cells
            if cell.cell_type == "code" and "nbgrader" in cell.metadata and wanted(cell.metadata.nbgrader)]


def answers_in(chapter):
    return ids(chapter, lambda meta: meta["solution"])


def checks_in(chapter):
    return ids(chapter, lambda meta: meta["grade"] and not meta["solution"])


def wrong(chapter, answer_id):
    """The instructor's answer with every solution region raising an error: a wrong answer."""
    return strip_solutions(instructor_sources(chapter)[answer_id], 'raise RuntimeError("a wrong answer")')[0]


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
    first, second = CHAPTERS
    assert len(answers_in(second)) >= 2, "chapter 03 should have two exercises answered in the notebook"
    right, wrongly = answers_in(second)[:2]
    # One submission with an exercise right, one wrong, the others untouched.
    write(submission(release / first, first, answers={"ch00-build_get_request": RIGHT}),
          submitted / "mixed" / ASSIGNMENT / first)
    write(submission(release / second, second, answers={right: RIGHT, wrongly: wrong(second, wrongly)}),
          submitted / "mixed" / ASSIGNMENT / second)
    # A right answer whose check cell was deleted; an untouched chapter.
    write(submission(release / first, first, answers={"ch00-build_get_request": RIGHT},
                     deleted_checks={"ch00-build_get_request-check"}),
          submitted / "deleter" / ASSIGNMENT / first)
    write(submission(release / second, second), submitted / "deleter" / ASSIGNMENT / second)

    nbgrader(released, "autograde", ASSIGNMENT)

    passing = {"mixed": {"ch00-build_get_request-check", right + "-check"}, "deleter": set()}
    with Gradebook("sqlite:///" + str(released / "gradebook.db")) as gradebook:
        for student, passed in passing.items():
            scores = {}
            for chapter in CHAPTERS:
                graded = gradebook.find_submission_notebook(Path(chapter).stem, ASSIGNMENT, student)
                scores.update({grade.name: grade.score for grade in graded.grades if grade.name in checks_in(chapter)})
            assert scores == {check: (1 if check in passed else 0) for chapter in CHAPTERS
                              for check in checks_in(chapter)}, student
    # The learner's "not attempted yet" message survives into the graded notebook.
    autograded = (released / "autograded" / "deleter" / ASSIGNMENT / second).read_text(encoding="utf-8")
    assert "not attempted yet" in autograded
