"""The student-copy generator: notebooks with the answers taken out.

    python -m httpserver.classroom.student [notebooks_dir] [out_dir]

reads every `*.ipynb` in notebooks_dir (default `notebooks`) and writes a copy of
each to out_dir (default `build/student`), changed in three ways:

- In a code cell, every region from a line containing `### BEGIN SOLUTION` to
  the line containing `### END SOLUTION`, both included, becomes one line
  `raise NotImplementedError`, indented like the BEGIN line. (In a Markdown
  cell it becomes "*Your answer here.*") These are nbgrader's markers, so
  instructors who use nbgrader can keep using it.
- A cell of instructor-only notes is dropped: one whose first line is
  `### HIDDEN`, or a `### BEGIN SOLUTION` line that says HIDDEN, as in
  `### BEGIN SOLUTION (HIDDEN: instructor notes)`. (The second form is the one
  the chapters use: nbgrader releases it as an empty answer box.)
- Outputs and execution counts are cleared.

Every `*.py` file beside the notebooks (the learner's server, `my_server.py`) is
copied the same way: each region becomes one line
`raise NotImplementedError("not built yet (chapter 04, stage 04-files)")`,
taking the words in parentheses from its BEGIN line, so the skeleton still runs
and every missing part says where it is taught.

A BEGIN without its END, an END without a BEGIN, or a BEGIN inside a region
raises `SolutionMarkerError` naming the notebook and the cell index (counted
from 0), and nothing is written. Nothing here runs the notebooks.
"""

import argparse
import copy
import re
import sys
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HIDDEN = "### HIDDEN"
CODE_PLACEHOLDER = "raise NotImplementedError"
MARKDOWN_PLACEHOLDER = "*Your answer here.*"


class SolutionMarkerError(ValueError):
    """The solution markers in a cell do not pair up."""


def strip_solutions(source, placeholder=CODE_PLACEHOLDER, where="this cell"):
    """Replace each BEGIN...END SOLUTION region of `source` with `placeholder`.

    `placeholder` is a string, or a function from the BEGIN line to the string.
    Returns the new source and the number of regions replaced.
    """
    kept = []
    begin_line = None  # the line number of the open BEGIN marker, while inside a region
    regions = 0
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        if line.strip().startswith(BEGIN):  # a marker is a line of its own, not prose
            if begin_line is not None:
                raise SolutionMarkerError(
                    "%s: `%s` on line %d comes before the `%s` of the region opened on line %d"
                    % (where, BEGIN, number, END, begin_line))
            begin_line = number
            indent = line[:len(line) - len(line.lstrip())]
            kept.append(indent + (placeholder(line) if callable(placeholder) else placeholder))
        elif line.strip().startswith(END):
            if begin_line is None:
                raise SolutionMarkerError("%s: `%s` on line %d has no `%s` before it"
                                          % (where, END, number, BEGIN))
            begin_line = None
            regions += 1
            # The END line's own line break (none on a last line) ends the placeholder.
            kept.append(line[len(line.rstrip("\r\n")):])
        elif begin_line is None:
            kept.append(line)
    if begin_line is not None:
        raise SolutionMarkerError("%s: `%s` on line %d has no `%s` after it"
                                  % (where, BEGIN, begin_line, END))
    return "".join(kept), regions


def not_built_yet(begin_line):
    """The skeleton's line for a region of a .py file: what is missing, and where it is taught."""
    where = re.search(r"\((.*)\)", begin_line)
    return 'raise NotImplementedError("not built yet%s")' % (" (%s)" % where.group(1) if where else "")


def make_student_script(source, name="script"):
    """The skeleton of a Python file: each region raises NotImplementedError("not built yet (...)").

    Returns the new source and the number of parts removed; SyntaxError if the skeleton
    would not even compile (a region that does not make up whole statements).
    """
    skeleton, parts = strip_solutions(source, not_built_yet, where=name)
    compile(skeleton, name, "exec")
    return skeleton, parts


def is_hidden(cell):
    """True for instructor-only notes (`### HIDDEN`, or a BEGIN SOLUTION line saying HIDDEN): never in a copy."""
    first_line = cell.source.split("\n", 1)[0].strip()
    return first_line == HIDDEN or (first_line.startswith(BEGIN) and "HIDDEN" in first_line[len(BEGIN):])


def make_student_copy(notebook, name="notebook"):
    """A student copy of an nbformat notebook (the original is left unchanged).

    Returns the copy, the number of answers removed and the number of hidden cells dropped.
    """
    student = copy.deepcopy(notebook)
    cells = []
    answers = 0
    for index, cell in enumerate(student.cells):
        if is_hidden(cell):
            continue
        where = "%s, cell %d" % (name, index)  # the index in the instructor's notebook
        placeholder = CODE_PLACEHOLDER if cell.cell_type == "code" else MARKDOWN_PLACEHOLDER
        cell.source, regions = strip_solutions(cell.source, placeholder, where)
        answers += regions
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    student.cells = cells
    return student, answers, len(notebook.cells) - len(cells)


def write_student_copies(notebooks_dir="notebooks", out_dir="build/student"):
    """Write a student copy of every notebook in notebooks_dir to out_dir; return their paths.

    Every notebook is converted before any is written, so a marker error writes nothing.
    """
    import nbformat

    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    if not notebooks_dir.is_dir():
        raise FileNotFoundError("no notebooks folder at %s" % notebooks_dir)
    if out_dir.resolve() == notebooks_dir.resolve():
        # Writing over the originals would delete every answer for good.
        raise ValueError("the output folder must not be the notebooks folder (%s)" % out_dir)

    copies = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        copies.append((path.name,) + make_student_copy(notebook, name=str(path)))
    scripts = [(path.name,) + make_student_script(path.read_text(encoding="utf-8"), name=str(path))
               for path in sorted(notebooks_dir.glob("*.py"))]

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, student, answers, hidden in copies:
        target = out_dir / file_name
        nbformat.write(student, str(target))
        print("wrote %s (%d answer%s removed, %d hidden cell%s dropped)"
              % (target, answers, "" if answers == 1 else "s", hidden, "" if hidden == 1 else "s"))
        written.append(target)
    for file_name, skeleton, parts in scripts:
        target = out_dir / file_name
        target.write_text(skeleton, encoding="utf-8")
        print("wrote %s (%d part%s removed)" % (target, parts, "" if parts == 1 else "s"))
        written.append(target)
    if not written:
        print("no notebooks in %s" % notebooks_dir)
    return written


def main(argv=None):
    """The command line; returns the exit status (0 when every copy was written)."""
    parser = argparse.ArgumentParser(
        prog="python -m httpserver.classroom.student",
        description="Write student copies of the notebooks, with the answers removed.")
    parser.add_argument("notebooks_dir", nargs="?", default="notebooks")
    parser.add_argument("out_dir", nargs="?", default="build/student")
    args = parser.parse_args(argv)
    try:
        write_student_copies(args.notebooks_dir, args.out_dir)
    except (ValueError, OSError, SyntaxError) as error:
        # Marker errors, a missing folder, a notebook that is not JSON: one line, no traceback.
        print("error: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
