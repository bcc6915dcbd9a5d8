"""Mock submissions for the grading tests: a chapter notebook as a student might hand it in."""

import nbformat

from conftest import REPOSITORY

NOTEBOOKS = REPOSITORY / "notebooks"

RIGHT = "instructor's answer"  # stands for the answer in the instructor's notebook
WRONG_GET_REQUEST = 'def build_get_request(path, host):\n    return b"GET / HTTP/1.0\\r\\n\\r\\n"\n'
# A hang that ignores the kernel's interrupt: only killing the process ends it.
HANGING = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def instructor_sources(chapter_file):
    notebook = nbformat.read(str(NOTEBOOKS / chapter_file), as_version=4)
    return {grade_id(cell): cell.source for cell in notebook.cells if grade_id(cell)}


def submission(start, chapter_file, answers=(), edited_checks=(), deleted_checks=(), extra_cells=()):
    """The notebook `start` (a student copy or an nbgrader release) with answers filled in.

    answers maps a solution cell's id to its new source (RIGHT for the instructor's);
    edited_checks maps a check cell's id to new source; deleted_checks lists check ids.
    """
    answers, edited_checks = dict(answers), dict(edited_checks)
    instructor = instructor_sources(chapter_file)
    notebook = nbformat.read(str(start), as_version=4)
    for cell in notebook.cells:
        cell_id = grade_id(cell)
        if cell_id in answers:
            cell.source = instructor[cell_id] if answers[cell_id] == RIGHT else answers[cell_id]
        if cell_id in edited_checks:
            cell.source = edited_checks[cell_id]
    notebook.cells = [cell for cell in notebook.cells if grade_id(cell) not in deleted_checks]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    return notebook


def write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
