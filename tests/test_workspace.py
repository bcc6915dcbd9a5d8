"""The learner's workspace: created once, never overwritten, refreshed beside the learner's files."""

import shutil
import subprocess

import pytest

from conftest import REPOSITORY
from httpserver.classroom.workspace import describe, main, refresh
from mock_submissions import NOTEBOOKS

nbformat = pytest.importorskip("nbformat")

CHAPTER = "02_http_messages.ipynb"


@pytest.fixture
def course(tmp_path):
    """A private copy of the instructor's chapters (a test may change them) and a workspace path."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, notebooks)
    return notebooks, tmp_path / "workspace"


def learner_answers(path):
    """Answer the first exercise of the chapter at `path`, as a learner would, and save."""
    notebook = nbformat.read(str(path), as_version=4)
    cell = next(cell for cell in notebook.cells if "raise NotImplementedError" in cell.source)
    cell.source = cell.source.replace("raise NotImplementedError", "return 'my own answer'")
    nbformat.write(notebook, str(path))
    return path.read_bytes()


def test_the_first_run_writes_student_copies_of_every_chapter(course):
    notebooks, workspace = course
    changes = refresh(notebooks, workspace)
    names = {path.name for _, path in changes}
    assert {path.name for path in notebooks.glob("*.ipynb")} <= names
    for path in workspace.glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "Instructor notes" not in text, path.name
    assert "raise NotImplementedError" in (workspace / CHAPTER).read_text(encoding="utf-8")


def test_a_rerun_leaves_the_learners_work_alone(course, capsys):
    notebooks, workspace = course
    assert main(["--notebooks", str(notebooks), "--into", str(workspace)]) == 0
    mine = learner_answers(workspace / CHAPTER)
    assert main(["--notebooks", str(notebooks), "--into", str(workspace)]) == 0
    assert (workspace / CHAPTER).read_bytes() == mine
    assert not list(workspace.glob("*.new*"))
    assert "up to date" in capsys.readouterr().out.splitlines()[-1]


def test_a_changed_chapter_is_written_beside_and_a_missing_one_is_added(course):
    notebooks, workspace = course
    refresh(notebooks, workspace)
    mine = learner_answers(workspace / CHAPTER)
    (workspace / "00_start_here.ipynb").unlink()  # the learner deleted a chapter
    # The project changes chapter 02 (a git pull, say).
    chapter = nbformat.read(str(notebooks / CHAPTER), as_version=4)
    chapter.cells.append(nbformat.v4.new_markdown_cell("A new paragraph."))
    nbformat.write(chapter, str(notebooks / CHAPTER))

    changes = refresh(notebooks, workspace)

    assert (workspace / CHAPTER).read_bytes() == mine                       # untouched
    new_version = workspace / "02_http_messages.new.ipynb"
    assert "A new paragraph." in new_version.read_text(encoding="utf-8")    # beside it
    assert (workspace / "00_start_here.ipynb").exists()                     # added again
    assert sorted(what for what, _ in changes) == ["added", "new version beside"]
    message = describe(changes, workspace)
    assert "new version is %s" % new_version in message and "untouched" in message
    assert refresh(notebooks, workspace) == []                              # and then quiet again


def test_a_new_version_the_learner_edited_is_not_overwritten_either(course):
    notebooks, workspace = course
    refresh(notebooks, workspace)
    for text in ("First change.", "Second change."):
        chapter = nbformat.read(str(notebooks / CHAPTER), as_version=4)
        chapter.cells.append(nbformat.v4.new_markdown_cell(text))
        nbformat.write(chapter, str(notebooks / CHAPTER))
        refresh(notebooks, workspace)
        if text == "First change.":
            learner_answers(workspace / "02_http_messages.new.ipynb")  # the learner moved to it
    assert "my own answer" in (workspace / "02_http_messages.new.ipynb").read_text(encoding="utf-8")
    assert "Second change." in (workspace / "02_http_messages.new-2.ipynb").read_text(encoding="utf-8")


def test_the_workspace_is_never_the_instructors_folder(course):
    notebooks, _ = course
    with pytest.raises(ValueError):
        refresh(notebooks, notebooks)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make (not on Windows)")
def test_make_clean_keeps_the_workspace_and_the_grades(tmp_path):
    shutil.copy(REPOSITORY / "Makefile", tmp_path / "Makefile")
    for folder in ("workspace", "grades", "build/student"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "work.txt").write_text("keep?")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "workspace" / "work.txt").exists()
    assert (tmp_path / "grades" / "work.txt").exists()
    assert not (tmp_path / "build").exists()
