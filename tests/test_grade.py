"""Grading a class: a mock class of honest and cheating students, each exercise on its own,
planted bugs, and what the summary tells the instructor."""

import csv
import subprocess
import time

import pytest

from conftest import REPOSITORY
from httpserver.classroom import answers, sandbox
from httpserver.classroom.exercises import EXERCISES, fresh_rng
from httpserver.classroom.grade import Grader, grade_class, main
from httpserver.classroom.student import write_student_copies
from mock_submissions import (CUSTOM_EXC, HANGING, MARKER, NOTEBOOKS, PATCH_CHECKERS, RIGHT, WRONG_GET_REQUEST, digest,
                              instructor_sources, mock_class, submission, write)

nbformat = pytest.importorskip("nbformat")
needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None,
                                   reason="no sandbox here: %s" % sandbox.unavailable())


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    write_student_copies(NOTEBOOKS, folder)
    return folder


def read_grades(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def perfect_hand_in(folder, chapters, answers_changed=(), server=None):
    """The instructor's chapters (every answer right), some answers replaced; my_server.py too."""
    for chapter in chapters:
        notebook = submission(NOTEBOOKS / chapter, chapter, answers=dict(answers_changed))
        write(notebook, folder / chapter)
    (folder / "my_server.py").write_text(server or (NOTEBOOKS / "my_server.py").read_text(encoding="utf-8"))


@needs_sandbox
@pytest.mark.timeout(600)
def test_a_mock_class_every_cheat_scores_0_and_the_honest_student_full_marks(copies, tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    expected = mock_class(submissions, copies)
    before = {"chapters": digest(NOTEBOOKS), "class": digest(submissions)}

    started = time.monotonic()
    status = main([str(submissions), "--out", str(out), "--jobs", "2", "--chapter", "00", "--chapter", "02",
                   "--chapter", "03"])
    took = time.monotonic() - started

    assert status == 0
    rows = read_grades(out)
    items = [name for name in rows["perfect"] if name not in ("student", "total")]
    assert len(items) > 30 and any(item.startswith("stage-") for item in items)
    assert all(float(rows["perfect"][item]) > 0 for item in items), rows["perfect"]
    for student, total in expected.items():
        if total is not None:
            assert float(rows[student]["total"]) == total, (student, rows[student])
    # Nothing outside each sandbox was read, written or left running.
    assert digest(NOTEBOOKS) == before["chapters"] and digest(submissions) == before["class"]
    assert sorted(path.name for path in out.iterdir()) == ["details.json", "grades.csv", "results.png", "summary.md"]
    time.sleep(1)
    assert not (REPOSITORY / "notebooks").joinpath("sabotaged").exists()
    assert not __import__("os").path.exists(MARKER)
    assert subprocess.run(["pgrep", "-f", "sleep 3600"], capture_output=True).stdout == b""
    print("graded %d students in %.0f s" % (len(rows), took))


@needs_sandbox
@pytest.mark.timeout(300)
def test_a_hang_a_crash_or_a_limit_costs_its_own_exercise_only(tmp_path):
    crash = "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    hog = "hog = [bytearray(1024 ** 2) for _ in range(4096)]\n"
    perfect_hand_in(tmp_path / "submissions" / "unlucky", ["00_start_here.ipynb", "03_responses_and_routes.ipynb"],
                    {"ch03-status_class": HANGING, "ch00-build_get_request": crash, "ch03-ReverseApplication": hog})
    out = tmp_path / "grades"
    started = time.monotonic()
    assert main([str(tmp_path / "submissions"), "--out", str(out), "--chapter", "00", "--chapter", "03",
                 "--no-stages", "--timeout", "5", "--jobs", "2"]) == 0
    assert time.monotonic() - started < 120
    row = read_grades(out)["unlucky"]
    assert float(row["ch03-status_class-check"]) == 0
    assert float(row["ch00-build_get_request-check"]) == 0
    assert float(row["ch03-ReverseApplication-check"]) == 0
    assert float(row["ch03-build_response-check"]) == 1  # the answers that ran still count
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "hang: `ch03-status_class-check` stopped after" in summary
    assert "crash: `ch00-build_get_request-check`: killed by SIGSEGV" in summary
    assert "limit hit: `ch03-ReverseApplication-check`: memory limit" in summary


@needs_sandbox
@pytest.mark.timeout(300)
def test_the_summary_names_tampered_checks_unknown_files_and_unreadable_notebooks(copies, tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    chapter, check = "00_start_here.ipynb", "ch00-build_get_request-check"
    write(submission(copies / chapter, chapter, answers={"ch00-build_get_request": RIGHT},
                     edited_checks={check: "print('✓ all cases pass')"}), submissions / "editor" / chapter)
    write(submission(copies / chapter, chapter, answers={"ch00-build_get_request": RIGHT}, deleted_checks={check}),
          submissions / "deleter" / chapter)
    (submissions / "messy").mkdir()
    (submissions / "messy" / chapter).write_text("{ this is not JSON")
    (submissions / "messy" / "notes.txt").write_text("my notes")
    (submissions / "messy" / "00_start_here (1).ipynb").write_text("{}")
    write(submission(copies / chapter, chapter, answers={"ch00-build_get_request": WRONG_GET_REQUEST}),
          submissions / "wrong" / chapter)

    assert main([str(submissions), "--out", str(out), "--chapter", "00", "--no-stages"]) == 0
    rows = read_grades(out)
    assert all(float(rows[student][check]) == 0 for student in rows)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "check cell `%s` edited: it scores 0" % check in summary
    assert "check cell `%s` deleted: it scores 0" % check in summary
    assert "unreadable notebook `00_start_here.ipynb`: not a notebook" in summary
    assert "unrecognised file `notes.txt`: not graded" in summary
    assert "unrecognised file `00_start_here (1).ipynb`: not graded (the grader reads 00_start_here.ipynb)" in summary
    details = (out / "details.json").read_text(encoding="utf-8")
    assert "should return b'GET " in details  # the wrong answer's reason names what was expected


# Each a mistake a learner makes; each must cost its exercise, and only it.
PLANTED_BUGS = {
    "ch02-parse_request_line-check": ("my_server", "text = line[:-2]", "text = line.strip()"),
    # The size read the way int(text, 16) reads it: 0x5, +5, 5_0 and " 5" all pass.
    "ch02-decode_chunked-check": ("my_server", 'rb"([0-9A-Fa-f]{1,16})', 'rb"\\s*([+-]?(?:0x)?[0-9A-Fa-f_]+)\\s*'),
    "ch04-atomic_write-check": ("my_server", "descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=\".part-\")",
                                "descriptor, temporary = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), path"),
    "ch05-handing_over_with-check": ("my_server", "threading.Thread(target=serve_then_free, daemon=True).start()",
                                     "serve_then_free()"),
    "ch06-accepts-check": ("my_server", "return named > 0", "return True"),
    "ch08-framing-check": ("my_server", 'not re.fullmatch(r"[0-9]+", lengths[0])', "not lengths[0].strip().isdigit()"),
    "ch03-status_class-check": ("ch03-status_class", "if not 100 <= code <= 599:", "if not 100 <= code < 599:"),
    "ch05-percentile-check": ("ch05-percentile", "ordered = sorted(latencies)", "ordered = latencies\n    ordered.sort()"),
    "ch07-make_client_context-check": ("ch07-make_client_context", "context.minimum_version = ssl.TLSVersion.TLSv1_2",
                                       "context.check_hostname = False\n    context.verify_mode = ssl.CERT_NONE"),
    "ch09-hottest_own_code-check": ("ch09-hottest_own_code", "if package not in folders:", "if package not in path:"),
    "ch11-read_frame_header-check": ("ch11-read_frame_header", ' & 0x7FFFFFFF', ""),
    "ch11-decode_integer-check": ("ch11-decode_integer", "if value < limit:", "if value <= limit:"),
    "ch06-reuse_verdict-check": ("ch06-reuse_verdict", 'if "no-store" in found or (shared and "private" in found):',
                                 'if "no-store" in found:'),
    "ch07-basic_credentials-check": ("ch07-basic_credentials", "validate=True", "validate=False"),
    "ch01-segments_per_round-check": ("ch01-segments_per_round", "s.source == sender and s.payload",
                                      "s.source == sender"),
    "ch10-client_address-check": ("ch10-client_address", "for address in reversed(forwarded_for):",
                                  "for address in forwarded_for:"),
}


@needs_sandbox
@pytest.mark.timeout(300)
@pytest.mark.parametrize("check", sorted(PLANTED_BUGS))
def test_a_planted_bug_costs_its_exercise(check, tmp_path):
    where, right, wrong = PLANTED_BUGS[check]
    chapter = next(path.name for path in NOTEBOOKS.glob(check[2:4] + "_*.ipynb"))
    if where == "my_server":
        source = (NOTEBOOKS / "my_server.py").read_text(encoding="utf-8")
        assert right in source
        perfect_hand_in(tmp_path / "submissions" / "buggy", [chapter], server=source.replace(right, wrong))
    else:
        source = instructor_sources(chapter)[where]
        assert right in source
        perfect_hand_in(tmp_path / "submissions" / "buggy", [chapter], {where: source.replace(right, wrong)})
    out = tmp_path / "grades"
    assert main([str(tmp_path / "submissions"), "--out", str(out), "--chapter", check[2:4], "--no-stages"]) == 0
    row = read_grades(out)["buggy"]
    assert float(row[check]) == 0, row
    others = [item for item in row if item not in ("student", "total", check)]
    assert all(float(row[item]) > 0 for item in others), row  # the chapter's other exercises still pass


def test_cases_are_drawn_anew_for_each_run_and_replayed_by_seed():
    for exercise in EXERCISES.values():
        assert exercise.cases(fresh_rng(7)) == exercise.cases(fresh_rng(7))
    changed = [check for check, exercise in EXERCISES.items()
               if exercise.cases(fresh_rng(1)) != exercise.cases(fresh_rng(2))]
    assert len(changed) == len(EXERCISES)


def test_every_exercise_of_every_chapter_has_a_grading_rule():
    for chapter in answers.chapters_in(NOTEBOOKS).values():
        for check in chapter.checks:
            assert check.endswith("-build") or check in EXERCISES, "%s: no rule in httpserver/classroom/exercises" % check


@needs_sandbox
@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", [1, 2])
def test_the_instructors_answers_pass_every_exercise_on_fresh_cases(seed, tmp_path):
    grader = Grader(NOTEBOOKS, 2, None, False, True, seed, 20)
    try:
        done = grader.run([])
        problems = {check: grader.reference_problem(check, done.get(("reference", check)))
                    for check in grader.exercises}
    finally:
        grader.close()
    assert {check: why for check, why in problems.items() if why} == {}


@needs_sandbox
@pytest.mark.timeout(300)
def test_build_stages_are_graded_one_item_each_against_the_students_server(copies, tmp_path):
    pytest.importorskip("httpserver.stages", reason="the stage tester (httpserver/stages) is not in this tree")
    correct_server = REPOSITORY / "tests" / "stage_servers" / "tiny_server.py"
    submissions = tmp_path / "submissions"
    for student in ("builder", "no-server", "broken-server"):
        write(submission(copies / "01_sockets_and_tcp.ipynb", "01_sockets_and_tcp.ipynb"),
              submissions / student / "01_sockets_and_tcp.ipynb")
    (submissions / "builder" / "my_server.py").write_bytes(correct_server.read_bytes())
    (submissions / "broken-server" / "my_server.py").write_text("raise SystemExit('not built yet')\n")
    result = grade_class(submissions, NOTEBOOKS, jobs=2, chapters=["01"])
    stages = [item for item in result.items if item.startswith("stage-")]
    assert len(stages) > 10  # one item per stage, chapters 01 to 09
    assert all(result.grades["builder"][item][0] == 1 for item in stages)
    assert result.grades["builder"]["ch01-build"][0] == 1  # every stage of chapter 01 passed
    assert all(result.grades[student][item][0] == 0 for student in ("no-server", "broken-server")
               for item in stages + ["ch01-build"])


@needs_sandbox
@pytest.mark.timeout(300)
def test_a_new_chapter_without_a_rule_is_graded_by_its_own_check_cell_outside_the_answers_reach(tmp_path):
    from httpserver.classroom.nbgrader_meta import annotate

    code, markdown = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    chapter = annotate(nbformat.v4.new_notebook(cells=[
        markdown("# A chapter written after the grader"),
        code("from httpserver.lab.checks import Case, check"),
        code("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        code("check(double, [Case(2, 4), Case(5, 10), Case(-1, -2)])"),
    ]), "12_later.ipynb")
    notebooks = tmp_path / "notebooks"
    write(chapter, notebooks / "12_later.ipynb")
    (notebooks / "my_server.py").write_bytes((NOTEBOOKS / "my_server.py").read_bytes())
    copies = tmp_path / "copies"
    write_student_copies(notebooks, copies)
    answers_by_student = {
        "right": "def double(x):\n    return x + x\n",
        "wrong": "def double(x):\n    return x * 3\n",
        "patched": PATCH_CHECKERS + "def double(x):\n    return 0\n",
        "custom-exc": CUSTOM_EXC + "def double(x):\n    return 0\n",
        "patched-deeper": "import httpserver.lab.checks as c\nc.run_case = lambda *a, **k: None\n"
                          "c.same_value = lambda *a: True\ndef double(x):\n    return 0\n",
        "blank": None,
    }
    for student, source in answers_by_student.items():
        notebook = nbformat.read(str(copies / "12_later.ipynb"), as_version=4)
        for cell in notebook.cells:
            if source and cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ch12-double":
                cell.source = source
        write(notebook, tmp_path / "submissions" / student / "12_later.ipynb")
    result = grade_class(tmp_path / "submissions", notebooks, jobs=2, with_stages=False)
    scores = {student: result.grades[student]["ch12-double-check"][0] for student in answers_by_student}
    assert scores == {"right": 1, "wrong": 0, "patched": 0, "custom-exc": 0, "patched-deeper": 0, "blank": 0}, \
        result.grades
    assert any("`ch12-double-check` has no rule with fresh cases" in warning for warning in result.warnings)


@pytest.mark.timeout(300)
def test_without_a_sandbox_it_grades_when_told_to_and_says_so(tmp_path, capsys):
    perfect_hand_in(tmp_path / "submissions" / "trusted", ["03_responses_and_routes.ipynb"])
    out = tmp_path / "grades"
    assert main([str(tmp_path / "submissions"), "--out", str(out), "--chapter", "03", "--no-sandbox",
                 "--jobs", "2"]) == 0
    assert "warning: --no-sandbox" in capsys.readouterr().err
    row = read_grades(out)["trusted"]
    assert all(float(row[item]) > 0 for item in row if item not in ("student", "total")), row
    assert "WITHOUT a sandbox" in (out / "summary.md").read_text(encoding="utf-8")
