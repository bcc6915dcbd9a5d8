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
from conftest import REPOSITORY
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


def readme_recipe():
    """The command lines of the README's nbgrader recipe, comments left out."""
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### nbgrader"):]
    start = section.index("```sh") + len("```sh")
    block = section[start:section.index("```", start)]
    return [line.split("  #")[0].strip() for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def chapter02(tmp_path_factory):
    """The README's recipe, line by line, with three hand-ins collected where it says so."""
    makefile = (REPOSITORY / "Makefile").read_text(encoding="utf-8")
    assert "$(BIN)/python -m httpserver.classroom.workspace --notebooks notebooks --into build/student" in makefile
    root = tmp_path_factory.mktemp("recipe")
    os.symlink(NOTEBOOKS, root / "notebooks")
    where, course = root, root / "course"
    chapter = "02_http_messages.ipynb"
    checks = checks_in(chapter)
    for line in readme_recipe():
        if line.startswith("nbgrader autograde"):
            collect(course, chapter, checks)
        for command in line.split(" && "):
            if command == "make student":  # the Makefile's recipe for it, checked above
                subprocess.run([sys.executable, "-m", "httpserver.classroom.workspace", "--notebooks", "notebooks",
                                "--into", "build/student"], cwd=where, check=True, capture_output=True)
            elif command.startswith("cd "):
                where = where / command[3:]
            elif command.startswith("nbgrader "):
                nbgrader(where, *command.split()[1:])
            else:
                subprocess.run(["bash", "-c", command], cwd=where, check=True)
    assert (course / "grades.csv").exists()  # nbgrader export ran
    return course, checks


def collect(course, chapter, checks):
    """What `nbgrader collect` would gather: a perfect, a blank and a tampered hand-in."""
    release = course / "release" / "ch02"
    skeleton = (release / "my_server.py").read_text(encoding="utf-8")
    tampered = {check: "print('✓ all cases pass')" for check in checks}
    hand_ins = {
        "perfect": (submission(release / chapter, chapter), (NOTEBOOKS / "my_server.py").read_text(encoding="utf-8")),
        "blank": (submission(release / chapter, chapter), skeleton),
        "tampered": (submission(release / chapter, chapter, edited_checks=tampered), skeleton),
    }
    for student, (notebook, server) in hand_ins.items():
        write(notebook, course / "submitted" / student / "ch02" / chapter)
        (course / "submitted" / student / "ch02" / "my_server.py").write_text(server, encoding="utf-8")


def test_the_released_chapter_02_has_the_skeleton_and_a_clean_answer_box(chapter02):
    course, _ = chapter02
    release = course / "release" / "ch02"
    text = (release / "02_http_messages.ipynb").read_text(encoding="utf-8")
    assert "HIDDEN" not in text and "Instructor notes" not in text
    notebook = nbformat.read(str(release / "02_http_messages.ipynb"), as_version=4)
    box = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "ch02-discussion")
    assert box.source.strip() == "YOUR ANSWER HERE"
    assert 'raise NotImplementedError("not built yet' in (release / "my_server.py").read_text(encoding="utf-8")


@pytest.mark.timeout(900)
def test_autograde_keeps_each_students_my_server_py_and_scores_it(chapter02):
    from nbgrader.api import Gradebook

    course, checks = chapter02
    assert "ch02-build" in checks and len(checks) == 4
    expected = {"perfect": 1, "blank": 0, "tampered": 0}  # nbgrader puts the edited checks back
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gradebook:
        for student, points in expected.items():
            graded = gradebook.find_submission_notebook("02_http_messages", "ch02", student)
            scores = {grade.name: grade.score for grade in graded.grades if grade.name in checks}
            assert scores == {check: points for check in checks}, student
    autograded = course / "autograded" / "perfect" / "ch02" / "my_server.py"
    assert autograded.read_bytes() == (NOTEBOOKS / "my_server.py").read_bytes()
