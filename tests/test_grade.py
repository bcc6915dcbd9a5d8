"""Grading a class: mock submissions (right, wrong, blank, tampered, hanging) scored by id."""

import csv
import time

import pytest

from conftest import REPOSITORY
from httpserver.classroom.grade import main, notebook_to_grade
from httpserver.classroom.student import write_student_copies
from mock_submissions import HANGING, NOTEBOOKS, RIGHT, WRONG_GET_REQUEST, submission, write

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

CHAPTER = "00_start_here.ipynb"
ANSWER, CHECK = "ch00-build_get_request", "ch00-build_get_request-check"
CHEAT = "def check(*args, **kwargs):\n    print('✓ all cases pass')\n"


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    write_student_copies(NOTEBOOKS, folder)
    return folder / CHAPTER


def test_the_instructor_checks_run_whatever_the_student_changed(student_copy):
    handed_in = submission(student_copy, CHAPTER, answers={ANSWER: "def build_get_request(p, h): return b''"},
                           edited_checks={CHECK: CHEAT}, extra_cells=[CHEAT])
    instructor = nbformat.read(str(NOTEBOOKS / CHAPTER), as_version=4)
    graded, broken = notebook_to_grade(instructor, handed_in)
    sources = [cell.source for cell in graded.cells]
    assert CHEAT not in sources                      # neither the edited check nor an added cell runs
    assert broken == {CHECK: "edited"}
    assert "def build_get_request(p, h): return b''" in sources  # the student's answer does


@pytest.mark.timeout(120)
def test_an_answer_that_defines_its_own_check_is_still_checked(tmp_path):
    from httpserver.classroom.grade import grade_chapter
    from httpserver.classroom.nbgrader_meta import annotate

    code = nbformat.v4.new_code_cell
    instructor = annotate(nbformat.v4.new_notebook(cells=[
        code("from httpserver.lab.checks import Case, check"),
        code("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION"),
        code("check(answer, [Case((), 42)])"),
    ]), "05_example.ipynb")
    nbformat.write(instructor, str(tmp_path / "instructor.ipynb"))
    cheat = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata)
                                            for cell in instructor.cells])
    cheat.cells[2].source = "def answer():\n    return 0\n\n\n" + CHEAT  # wrong, and `check` replaced
    nbformat.write(cheat, str(tmp_path / "cheat.ipynb"))
    right = nbformat.read(str(tmp_path / "instructor.ipynb"), as_version=4)
    nbformat.write(right, str(tmp_path / "right.ipynb"))

    assert grade_chapter(tmp_path / "instructor.ipynb", tmp_path / "cheat.ipynb", tmp_path, 30) == \
        {"ch05-answer-check": (0, "CheckFailed: answer: case 1 of 1 failed")}
    assert grade_chapter(tmp_path / "instructor.ipynb", tmp_path / "right.ipynb", tmp_path, 30) == \
        {"ch05-answer-check": (1, "passed")}


@pytest.mark.timeout(240)
def test_a_class_is_graded_by_id_and_a_hang_costs_only_its_own_time(student_copy, tmp_path):
    submissions = tmp_path / "submissions"
    expected = {  # student: (their notebook, the points they deserve)
        "right": (submission(student_copy, CHAPTER, answers={ANSWER: RIGHT}), 1),
        "wrong": (submission(student_copy, CHAPTER, answers={ANSWER: WRONG_GET_REQUEST}), 0),
        "blank": (submission(student_copy, CHAPTER), 0),
        "tampered": (submission(student_copy, CHAPTER, answers={ANSWER: WRONG_GET_REQUEST},
                                edited_checks={CHECK: CHEAT}), 0),
        "deleted-check": (submission(student_copy, CHAPTER, answers={ANSWER: RIGHT}, deleted_checks={CHECK}), 0),
        "hanging": (submission(student_copy, CHAPTER, answers={ANSWER: HANGING}), 0),
    }
    for student, (notebook, _) in expected.items():
        write(notebook, submissions / student / CHAPTER)
    (submissions / "absent").mkdir()  # handed in nothing
    out = tmp_path / "grades"

    started = time.monotonic()
    status = main([str(submissions), "--notebooks", str(NOTEBOOKS), "--out", str(out), "--chapter", "00",
                   "--no-stages", "--jobs", "2", "--timeout", "25", "--cell-timeout", "5"])
    elapsed = time.monotonic() - started

    assert status == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert set(rows) == set(expected) | {"absent"}
    for student, (_, points) in expected.items():
        assert float(rows[student][CHECK]) == points, student
        assert float(rows[student]["total"]) == points, student
    assert float(rows["absent"][CHECK]) == 0
    # The hanging student cost their own 25 s limit; the other six ran beside it.
    assert elapsed < 25 + 60
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| `%s` | 1 of 7 | 14 %% |" % CHECK in summary
    assert (out / "results.png").read_bytes().startswith(b"\x89PNG")
    details = (out / "details.json").read_text(encoding="utf-8")
    assert "timed out" in details and "check cell edited" in details and "check cell deleted" in details


@pytest.mark.timeout(300)
def test_build_stages_are_graded_one_item_each_against_the_students_server(student_copy, tmp_path):
    pytest.importorskip("httpserver.stages", reason="the stage tester (httpserver/stages) is not in this tree")
    correct_server = REPOSITORY / "tests" / "stage_servers" / "tiny_server.py"
    submissions = tmp_path / "submissions"
    for student in ("builder", "no-server", "broken-server"):
        write(submission(student_copy, CHAPTER), submissions / student / CHAPTER)
    (submissions / "builder" / "my_server.py").write_bytes(correct_server.read_bytes())
    (submissions / "broken-server" / "my_server.py").write_text("raise SystemExit('not built yet')\n")
    out = tmp_path / "grades"

    assert main([str(submissions), "--notebooks", str(NOTEBOOKS), "--out", str(out), "--chapter", "00",
                 "--jobs", "2", "--timeout", "240"]) == 0

    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    stages = [item for item in rows["builder"] if item.startswith("stage-")]
    assert len(stages) > 10  # one item per stage, chapters 01 to 09
    assert all(float(rows["builder"][item]) == 1 for item in stages)
    assert all(float(rows["no-server"][item]) == 0 for item in stages)
    assert all(float(rows["broken-server"][item]) == 0 for item in stages)
