"""The nbgrader metadata generator: roles from markers, stable ids, up-to-date chapters."""

import shutil
import subprocess
import sys

import pytest

from httpserver.classroom import colab
from httpserver.classroom.nbgrader_meta import (COLAB_CELL_ID, NOTES_BEGIN, HiddenCellShown, MarkerInProse, annotate,
                                                annotate_folder, main)
from httpserver.classroom.student import make_student_copy
from mock_submissions import NOTEBOOKS

nbformat = pytest.importorskip("nbformat")
code, markdown = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell

SOLUTION = "def parse(line):\n    ### BEGIN SOLUTION\n    return line.split()\n    ### END SOLUTION\n"
CHECK = "check(parse, [Case(b'a b', [b'a', b'b'])])"
DEMONSTRATION = "try:\n    check(wrong_parse, cases)\nexcept CheckFailed as verdict:\n    print(verdict)"


def chapter(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def roles(notebook, name="04_files.ipynb"):
    annotated = annotate(notebook, name)
    return [(cell.cell_type, cell.metadata.get("nbgrader")) for cell in annotated.cells
            if cell.get("id") != COLAB_CELL_ID]


def test_each_cell_gets_the_role_its_text_says():
    found = roles(chapter(
        markdown("## Exercises"),
        code(DEMONSTRATION),                      # a chapter showing a wrong answer fail: not graded
        code(SOLUTION),
        code("cases = []"),
        code(CHECK),
        code("check_equal(parse(b'x'), [b'x'])"),  # a second check of the same exercise
        code("check_my_server(upto=4)"),
        markdown("Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        markdown("## Questions for discussion\n\n1. Why?"),
        markdown(NOTES_BEGIN + "\nNotes.\n### END SOLUTION"),
    ))
    ids = [meta and meta["grade_id"] for _, meta in found]
    assert ids[0] is None and ids[8] is None  # prose has no metadata
    assert ids[2:8] == ["ch04-parse", "ch04-cell-" + ids[3].split("-cell-")[1], "ch04-parse-check",
                        "ch04-parse-check-2", "ch04-build", "ch04-answer"]
    assert ids[9] == "ch04-discussion"
    kinds = [meta and (meta["grade"], meta["solution"], meta["locked"]) for _, meta in found]
    assert kinds[1] == kinds[3] == (False, False, True)               # read-only code
    assert kinds[2] == (False, True, False)                          # the answer
    assert kinds[4] == kinds[5] == kinds[6] == (True, False, True)   # locked, autograded checks
    assert kinds[7] == kinds[9] == (True, True, False)               # answers graded by hand
    assert all(meta["points"] == 1 for _, meta in found if meta and meta["grade"])


def test_a_check_keeps_its_id_when_its_text_changes():
    before = roles(chapter(code(SOLUTION), code(CHECK)))
    after = roles(chapter(markdown("New text."), code(SOLUTION), code("# edited\n" + CHECK + "\nprint(1)")))
    assert before[1][1]["grade_id"] == after[2][1]["grade_id"] == "ch04-parse-check"


@pytest.mark.parametrize("prose", [
    "Put your answer between the `### BEGIN SOLUTION` and `### END SOLUTION` lines.",
    "Comment lines that say BEGIN SOLUTION and END SOLUTION.",
    "print('### BEGIN HIDDEN TESTS')",
])
def test_a_marker_quoted_in_prose_is_refused_and_nothing_is_written(tmp_path, prose):
    nbformat.write(chapter(markdown("# Fine")), str(tmp_path / "00_fine.ipynb"))
    nbformat.write(chapter(markdown("# Title"), markdown(prose)), str(tmp_path / "01_bad.ipynb"))
    before = (tmp_path / "00_fine.ipynb").read_text(encoding="utf-8")
    with pytest.raises(MarkerInProse, match=r"01_bad.ipynb, cell 1: line 1 mentions"):
        annotate_folder(tmp_path)
    assert (tmp_path / "00_fine.ipynb").read_text(encoding="utf-8") == before
    assert main([str(tmp_path)]) == 1


@pytest.mark.parametrize("hidden", [
    code("### HIDDEN\nprint('for the instructor')"),
    markdown("### HIDDEN\nNotes outside the markers.\n### BEGIN SOLUTION\nMore.\n### END SOLUTION"),
    markdown(NOTES_BEGIN + "\nNotes.\n### END SOLUTION\nMore notes after the region."),
])
def test_a_hidden_cell_nbgrader_would_show_is_refused(hidden):
    with pytest.raises(HiddenCellShown, match="cell 0: nbgrader would show"):
        annotate(chapter(hidden), "04_files.ipynb")


def test_the_committed_chapters_are_up_to_date():
    assert main([str(NOTEBOOKS), "--check"]) == 0


def test_check_fails_on_an_out_of_date_chapter_and_a_rerun_mends_it(tmp_path, capsys):
    shutil.copy(NOTEBOOKS / "02_http_messages.ipynb", tmp_path)
    notebook = nbformat.read(str(tmp_path / "02_http_messages.ipynb"), as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    nbformat.write(notebook, str(tmp_path / "02_http_messages.ipynb"))
    assert main([str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path), "--check"]) == 0
    assert (tmp_path / "02_http_messages.ipynb").read_bytes() == (NOTEBOOKS / "02_http_messages.ipynb").read_bytes()


def chapters():
    return [(path.name, nbformat.read(str(path), as_version=4)) for path in sorted(NOTEBOOKS.glob("*.ipynb"))]


def test_every_chapter_has_kernel_metadata_and_the_same_colab_cell_first():
    sources = set()
    for name, notebook in chapters():
        assert notebook.metadata["kernelspec"]["name"] == "python3", name
        assert notebook.metadata["language_info"]["name"] == "python", name
        first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
        assert first_code.get("id") == COLAB_CELL_ID, name
        sources.add(first_code.source)
    assert len(sources) == 1


def test_the_colab_cell_does_nothing_outside_colab(tmp_path):
    source = colab.colab_cell_source("https://invalid.example/never-fetched")
    # PATH is empty, so a `git` or `pip` call could not even start: it would fail the run.
    finished = subprocess.run([sys.executable, "-c", source + "\nimport os; print(os.getcwd())"],
                              cwd=tmp_path, capture_output=True, text=True, env={"PATH": ""}, timeout=30)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == str(tmp_path)


def test_every_discussion_has_instructor_notes_that_student_copies_drop():
    for name, notebook in chapters():
        cells = notebook.cells
        questions = [index for index, cell in enumerate(cells) if "## Questions for discussion" in cell.source]
        assert len(questions) == 1, name
        notes = cells[questions[0] + 1]
        assert notes.source.startswith(NOTES_BEGIN + "\n") and "Instructor notes" in notes.source, name
        assert notes.source.count("\n1. ") == 1 and "\n2. " in notes.source, name  # one note per question
        student, _, _ = make_student_copy(notebook, name)
        assert not any("Instructor notes" in cell.source for cell in student.cells), name


def test_notes_written_the_older_way_are_rewritten_so_the_released_box_starts_clean():
    older = markdown("### HIDDEN\n### BEGIN SOLUTION\nNotes.\n### END SOLUTION")
    cell = next(cell for cell in annotate(chapter(older), "04_files.ipynb").cells if cell.cell_type == "markdown")
    assert cell.source == NOTES_BEGIN + "\nNotes.\n### END SOLUTION"
    assert cell.metadata["nbgrader"]["grade_id"] == "ch04-discussion"
