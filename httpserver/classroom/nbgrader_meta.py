"""nbgrader metadata for the chapters, written from what each cell says.

    python -m httpserver.classroom.nbgrader_meta [notebooks_dir] [--check]

rewrites every `*.ipynb` in notebooks_dir (default `notebooks`) so that nbgrader
(`nbgrader generate_assignment`, `nbgrader autograde`) works on it as it is. A
cell's role follows from its text, so the metadata never has to be edited by hand
and a rerun after any change to the chapters gives the same answer:

- a code cell with a `### BEGIN SOLUTION` line is a *solution cell*: the
  learner's answer (id `ch02-parse_headers`, from the first name it defines);
- a code cell that calls a checker (`check(`, `check_equal(`) is a locked,
  autograded *test cell* worth `POINTS`, with an id made of the chapter and the
  exercise it checks (`ch02-parse_headers-check`: the solution cell just before
  it, else the function it checks, which may live in `my_server.py`); a cell that
  calls `check_my_server(` is the chapter's Build cell, `ch05-build`. Editing a
  cell does not change its id. A cell that catches `CheckFailed` is a lesson
  showing a wrong answer fail, not a check;
- a Markdown cell with a `### BEGIN SOLUTION` line (a written answer, or the
  instructor's notes on the discussion questions, whose BEGIN line says HIDDEN)
  is an answer cell that the instructor grades by hand;
- every other code cell is locked read-only (nbgrader puts it back as it was when
  it grades); Markdown prose gets no metadata.

Prose must not quote a marker: nbgrader looks for the words anywhere in a line,
so a sentence naming them breaks `generate_assignment`. Such a cell raises
`MarkerInProse` naming the notebook and the cell, and nothing is written. So
does a hidden cell that nbgrader would hand out as it is (`HiddenCellShown`):
its notes must sit between the solution markers. Notes written the older way,
a `### HIDDEN` line above the region, are rewritten as `NOTES_BEGIN` (the
HIDDEN line stayed in nbgrader's answer box, above "YOUR ANSWER HERE"), so a
released answer box starts clean.

It also writes the notebook-level metadata Jupyter would add on opening (kernel
and language), and keeps one set-up cell for Google Colab as each chapter's first
code cell (`colab_cell_source`): on Colab it fetches the package and data only,
never the instructor's chapters, and works from the student copies that the
project publishes on its `student-copies` branch (see .github/workflows). `--check` writes nothing and exits with status 1
when a notebook is not what this module would write.
"""

import argparse
import copy
import re
import sys
from pathlib import Path

from httpserver.classroom.colab import COLAB_CELL_ID, DEFAULT_PROJECT_URL, project_url, with_colab_cell
from httpserver.classroom.student import BEGIN, HIDDEN, is_hidden, strip_solutions

# The words nbgrader's preprocessors search for in every line of every cell.
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                "END HIDDEN TESTS", "BEGIN MARK SCHEME", "END MARK SCHEME")
# A checker call, and the name of the function it checks when there is one.
CHECK_CALL = re.compile(r"^\s*(?:\w+\s*=\s*)?(check|check_equal|check_my_server)\(\s*(\w*)", re.MULTILINE)
DEFINED_NAME = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)
POINTS = 1
SCHEMA_VERSION = 3  # nbgrader 0.9's cell metadata format

NOTES_BEGIN = "### BEGIN SOLUTION (HIDDEN: instructor notes, dropped from student copies)"

# What Jupyter writes for a Python 3 kernel. The Python version is left out on
# purpose: it differs from one learner's machine to the next.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


class MarkerInProse(ValueError):
    """A cell mentions a grading marker other than on a marker line of its own."""


class HiddenCellShown(ValueError):
    """A `### HIDDEN` cell that nbgrader would hand out to students as it is."""


def clean_notes(cell):
    """Instructor notes in the older form (a `### HIDDEN` line above the region) in the released one."""
    lines = cell.source.split("\n")
    if cell.cell_type == "markdown" and lines[0].strip() == HIDDEN and len(lines) > 1 \
            and lines[1].strip() == BEGIN:
        cell.source = "\n".join([NOTES_BEGIN] + lines[2:])
    return cell


def chapter_of(path):
    """`ch02` for `02_http_messages.ipynb`: the prefix of every id in that chapter."""
    match = re.match(r"(\d+)", Path(path).name)
    return "ch" + match.group(1) if match else re.sub(r"\W+", "-", Path(path).stem)


def has_marker_line(source):
    """True when a line of its own starts with `### BEGIN SOLUTION` (student.py's rule)."""
    return any(line.strip().startswith(BEGIN) for line in source.splitlines())


def marker_problem(cell):
    """Why this cell's mention of a marker would break nbgrader, or None."""
    for number, line in enumerate(cell.source.splitlines(), start=1):
        for word in MARKER_WORDS:
            if word not in line:
                continue
            # A marker line may go on, as in "### BEGIN SOLUTION (chapter 04)": student.py's rule.
            is_marker_line = line.strip().startswith("### " + word)
            if not (is_marker_line and word in ("BEGIN SOLUTION", "END SOLUTION")):
                return "line %d mentions %r (nbgrader treats any line containing it as a marker)" % (number, word)
    return None


def solution_name(source, fallback):
    """The first name a solution cell defines (`parse_headers`), else `fallback`."""
    match = DEFINED_NAME.search(source)
    return match.group(1) if match else fallback


def checked_name(source, exercise, first):
    """The name in a check cell's id, or None when the cell checks no exercise.

    A cell that catches CheckFailed shows a wrong answer failing: it is part of the
    lesson, not a check. Otherwise a cell that calls a checker checks an exercise: the
    one whose solution cell came just before it (`first`: its first check), else the
    function it passes to the checker (an answer written in `my_server.py`, say).
    """
    if "except CheckFailed" in source:
        return None
    calls = [match.groups() for match in CHECK_CALL.finditer(source) if match.group(1) != "check_my_server"]
    if not calls:
        return None
    if exercise and first:
        return exercise
    return next((checked for _, checked in calls if checked), exercise or "exercise")


def checks_server(source):
    """True when the cell runs the stage tester on the learner's server (a Build cell)."""
    return any(match.group(1) == "check_my_server" for match in CHECK_CALL.finditer(source))


def grader(grade_id, *, grade=False, solution=False, locked=False):
    """One cell's nbgrader metadata, in nbgrader's own format."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if grade:
        meta["points"] = POINTS
    return meta


def unique(grade_id, taken):
    """`grade_id`, or `grade_id-2`, `-3`... when a cell of this notebook already has it."""
    candidate, count = grade_id, 1
    while candidate in taken:
        count += 1
        candidate = "%s-%d" % (grade_id, count)
    taken.add(candidate)
    return candidate


def refuse_markers_in_prose(notebook, name="notebook"):
    """Raise MarkerInProse for the first marker quoted where nbgrader would trip on it."""
    for index, cell in enumerate(notebook.cells):
        problem = marker_problem(cell)
        if problem:
            raise MarkerInProse("%s, cell %d: %s; write the marker words apart in prose"
                                % (name, index, problem))


def refuse_shown_hidden_cells(notebook, name="notebook"):
    """Raise HiddenCellShown for a hidden cell whose text nbgrader would release.

    student.py drops these cells; nbgrader does not know them. It hides only what sits
    in a solution region of a Markdown answer cell, so that is where the notes must go.
    """
    for index, cell in enumerate(notebook.cells):
        if not is_hidden(cell):
            continue
        body = [line for line in strip_solutions(cell.source, "", "%s, cell %d" % (name, index))[0].splitlines()
                if line.strip()]
        if cell.cell_type != "markdown" or body:
            raise HiddenCellShown(
                "%s, cell %d: nbgrader would show this hidden cell to students; make it a Markdown cell "
                "whose whole text lies between `%s` and `### END SOLUTION`" % (name, index, NOTES_BEGIN))


def cell_roles(notebook, name="notebook"):
    """(cell, nbgrader metadata or None) for every cell, in order."""
    chapter = chapter_of(name)
    taken = set()
    exercise = None  # the name of the last solution cell: what the next check cell checks
    checked = set()  # the exercises whose check cell has been seen
    roles = []
    for index, cell in enumerate(notebook.cells):
        source = cell.source
        hidden = is_hidden(cell)
        answer = has_marker_line(source)
        if cell.cell_type == "markdown":
            if not answer:
                meta = None
            elif hidden:
                meta = grader(unique(chapter + "-discussion", taken), grade=True, solution=True)
            else:
                meta = grader(unique(chapter + "-answer", taken), grade=True, solution=True)
        elif cell.cell_type != "code":
            meta = None
        elif cell.get("id") == COLAB_CELL_ID:
            meta = grader(chapter + "-colab-setup", locked=True)
        elif answer:
            exercise = solution_name(source, "exercise-%d" % index)
            meta = grader(unique("%s-%s" % (chapter, exercise), taken), solution=True)
        elif not hidden and checked_name(source, exercise, exercise not in checked):
            name_in_id = checked_name(source, exercise, exercise not in checked)
            checked.add(exercise)
            meta = grader(unique("%s-%s-check" % (chapter, name_in_id), taken), grade=True, locked=True)
        elif checks_server(source) and not hidden:
            meta = grader(unique(chapter + "-build", taken), grade=True, locked=True)
        else:
            # The cell's own id (nbformat 4.5) does not change when its text does.
            meta = grader(unique("%s-cell-%s" % (chapter, cell.get("id", index)), taken), locked=True)
        roles.append((cell, meta))
    return roles


def annotate(notebook, name="notebook", url=DEFAULT_PROJECT_URL):
    """A copy of the notebook with nbgrader metadata, notebook metadata and the Colab cell."""
    refuse_markers_in_prose(notebook, name)  # cell numbers as the author sees them
    notebook = copy.deepcopy(notebook)
    notebook.cells = [clean_notes(cell) for cell in notebook.cells]
    refuse_shown_hidden_cells(notebook, name)
    notebook = with_colab_cell(notebook, url)
    for cell, meta in cell_roles(notebook, name):
        if meta is None:
            cell.metadata.pop("nbgrader", None)
        else:
            cell.metadata["nbgrader"] = meta
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = copy.deepcopy(LANGUAGE_INFO)
    return notebook


def annotate_folder(notebooks_dir="notebooks", check=False, url=None):
    """Annotate every notebook in the folder; return the paths that were (or would be) changed.

    Every notebook is annotated before any is written, so an error writes nothing.
    """
    import nbformat

    notebooks_dir = Path(notebooks_dir)
    url = url or project_url()
    changed = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        before = path.read_text(encoding="utf-8")
        notebook = nbformat.reads(before, as_version=4)
        after = nbformat.writes(annotate(notebook, str(path), url)) + "\n"
        if after != before:
            changed.append((path, after))
    if not check:
        for path, text in changed:
            path.write_text(text, encoding="utf-8", newline="\n")
    return [path for path, _ in changed]


def main(argv=None):
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m httpserver.classroom.nbgrader_meta",
                                     description="Write nbgrader metadata into the chapters.")
    parser.add_argument("notebooks_dir", nargs="?", default="notebooks")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    try:
        changed = annotate_folder(args.notebooks_dir, check=args.check)
    except (ValueError, OSError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    for path in changed:
        print("%s %s" % ("out of date:" if args.check else "updated", path))
    if args.check and changed:
        print("run `python -m httpserver.classroom.nbgrader_meta %s` to update them" % args.notebooks_dir,
              file=sys.stderr)
        return 1
    if not changed:
        print("every notebook in %s is up to date" % args.notebooks_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
