"""A student's hand-in as the grader reads it: chapters, answers by nbgrader id, what is amiss.

Contract: `chapters_in(notebooks)` finds the instructor's chapters by their name
(`NN_topic.ipynb`, any NN), so a chapter added later is graded with no change
here. `read_hand_in(folder, chapters)` reads one student's folder and returns a
`HandIn`: their notebooks, their `my_server.py`, the check cells they edited or
deleted, and the problems worth telling the instructor (a notebook that is not
JSON, a file the grader does not know). `answer_code(...)` is the code that
defines one answer of a notebook: what the chapter's earlier cells define that
the answer uses (imports, helpers), the student's earlier answers it calls, and
their answer cell, read from the student's notebook by its nbgrader id.
"""

import ast
import builtins
import json
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .student import strip_solutions

CHAPTER_NAME = re.compile(r"^(\d\d)_\w+\.ipynb$")
SERVER_FILE = "my_server.py"
COLAB_CELL_ID = "colab-setup"


def grader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell):
    return grader_meta(cell).get("grade_id")


def is_check(cell):
    """A locked, autograded test cell (an exercise's check, or a chapter's Build cell)."""
    meta = grader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer(cell):
    meta = grader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("solution"))


def same_code(first, second):
    """Equal but for trailing spaces and blank lines at either end."""
    def lines(text):
        return [line.rstrip() for line in text.strip().splitlines()]
    return lines(first) == lines(second)


@dataclass
class Chapter:
    """One of the instructor's chapters: its notebook and the items its check cells score."""

    file: str
    notebook: object
    checks: List[str]   # the grade ids of the check cells, in order

    @property
    def number(self):
        return self.file[:2]


def chapters_in(notebooks_dir, only=None):
    """{file name: Chapter} for every `NN_topic.ipynb` in the folder (only those starting with `only`)."""
    import nbformat

    chapters = {}
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        if not CHAPTER_NAME.match(path.name) or (only and not any(path.name.startswith(o) for o in only)):
            continue
        notebook = nbformat.read(str(path), as_version=4)
        chapters[path.name] = Chapter(path.name, notebook, [grade_id(cell) for cell in notebook.cells
                                                            if is_check(cell)])
    return chapters


@dataclass
class HandIn:
    """What one student handed in, and what the instructor should hear about it."""

    student: str
    folder: Path
    notebooks: Dict[str, object] = field(default_factory=dict)   # chapter file -> their notebook
    unreadable: Dict[str, str] = field(default_factory=dict)     # chapter file -> why
    server: Optional[Path] = None
    broken: Dict[str, str] = field(default_factory=dict)         # check id -> "edited" or "deleted"
    notes: List[str] = field(default_factory=list)               # one line each, for summary.md

    def answer_cell(self, chapter_file, answer_id):
        """The student's answer cell of that id, or None."""
        notebook = self.notebooks.get(chapter_file)
        cells = notebook.cells if notebook is not None else []
        return next((cell for cell in cells if grade_id(cell) == answer_id and is_answer(cell)), None)


def read_hand_in(folder, chapters):
    """Read one student's folder (see the module's contract)."""
    import nbformat

    folder = Path(folder)
    hand_in = HandIn(folder.name, folder)
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "__")):
            continue  # .ipynb_checkpoints, __pycache__: left by Jupyter and Python
        if path.name == SERVER_FILE and path.is_file():
            hand_in.server = path
            continue
        if path.name not in chapters or not path.is_file():
            near = [name for name in chapters if name[:3] == path.name[:3]]
            hint = " (the grader reads %s)" % near[0] if near else ""
            hand_in.notes.append("unrecognised file `%s`: not graded%s" % (path.name, hint))
            continue
        try:
            hand_in.notebooks[path.name] = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        except (ValueError, UnicodeDecodeError, KeyError, AttributeError, TypeError) as error:
            why = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            hand_in.unreadable[path.name] = why
            hand_in.notes.append("unreadable notebook `%s`: not a notebook (%s); its exercises score 0"
                                 % (path.name, why))
    for name, chapter in chapters.items():
        if name in hand_in.notebooks:
            theirs = {grade_id(cell): cell for cell in hand_in.notebooks[name].cells if grade_id(cell)}
            for cell in chapter.notebook.cells:
                check = grade_id(cell)
                if not is_check(cell):
                    continue
                if check not in theirs:
                    hand_in.broken[check] = "deleted"
                elif not same_code(theirs[check].get("source", ""), cell.source):
                    hand_in.broken[check] = "edited"
    for check, how in sorted(hand_in.broken.items()):
        hand_in.notes.append("check cell `%s` %s: it scores 0 (the check must be the one handed out)" % (check, how))
    return hand_in


# ------------------------------------------------------------------ the code that defines an answer

def python_of(source):
    """A cell's text as plain Python: IPython's %magics and !commands turned into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # text IPython cannot read either: let compile() say what is wrong
        return source


def free_names(source):
    """The names `source` uses without defining them (builtins left out); None if it does not parse."""
    try:
        table = symtable.symtable(source, "cell", "exec")
    except SyntaxError:
        return None
    free = set()

    def visit(scope):
        for symbol in scope.get_symbols():
            if scope.get_type() == "module":
                if symbol.is_referenced() and not (symbol.is_assigned() or symbol.is_imported()
                                                   or symbol.is_namespace()):
                    free.add(symbol.get_name())
            elif symbol.is_global() and symbol.is_referenced():
                free.add(symbol.get_name())
        for child in scope.get_children():
            visit(child)
    visit(table)
    return free - set(dir(builtins))


def defined_names(source):
    """The names a top-level statement binds."""
    try:
        table = symtable.symtable(source, "statement", "exec")
    except SyntaxError:
        return set()
    return {symbol.get_name() for symbol in table.get_symbols()
            if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace()}


def statements(source):
    """The top-level statements of a cell, each as its own text (decorators included)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found = []
    for node in tree.body:
        first = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])
        found.append("\n".join(lines[first - 1:node.end_lineno]))
    return found


def answer_code(chapter, hand_in, answer_id):
    """The steps that define the answer of cell `answer_id`: [("chapter" or "student", code)], in order.

    "chapter" steps are the chapter's own code (trusted): the statements of earlier cells
    that define a name the answer uses, directly or through another step. "student" steps
    are the student's answer cells: the earlier ones whose names this answer uses, and
    this one, last. Raises LookupError when the notebook handed in has no such answer cell.
    """
    index = next(number for number, cell in enumerate(chapter.notebook.cells) if grade_id(cell) == answer_id)
    theirs = hand_in.answer_cell(chapter.file, answer_id)
    if theirs is None:
        raise LookupError("the answer cell %s is missing from the notebook handed in" % answer_id)
    own = python_of(theirs.source)
    return steps_before(chapter, hand_in, index, own) + [("student", own)]


def check_code(chapter, hand_in, check_id):
    """The steps that run the check cell `check_id` itself on the student's answers, the check last."""
    index = next(number for number, cell in enumerate(chapter.notebook.cells) if grade_id(cell) == check_id)
    check = python_of(chapter.notebook.cells[index].source)
    return steps_before(chapter, hand_in, index, check) + [("check", check)]


def steps_before(chapter, hand_in, index, target):
    """What the cells before cell `index` define that `target` uses, directly or not, in order."""
    candidates = []  # (whose, the names it defines, the names it uses, its text)
    for cell in chapter.notebook.cells[:index]:
        if cell.cell_type != "code" or cell.get("id") == COLAB_CELL_ID or is_check(cell):
            continue
        if is_answer(cell):
            student_cell = hand_in.answer_cell(chapter.file, grade_id(cell))
            text = python_of(student_cell.source) if student_cell is not None else strip_solutions(cell.source)[0]
            candidates.append(("student", defined_names(text), free_names(text) or set(), text))
            continue
        for statement in statements(python_of(cell.source)):
            candidates.append(("chapter", defined_names(statement), free_names(statement) or set(), statement))
    needed = set(free_names(target) or ())
    chosen = set()
    for number in range(len(candidates) - 1, -1, -1):
        _, defined, used, _ = candidates[number]
        if defined & needed:
            chosen.add(number)
            needed = (needed - defined) | used
    return [(whose, text) for number, (whose, _, _, text) in enumerate(candidates) if number in chosen]


def notebook_json_problem(path):
    """Why the file at `path` is not a readable notebook, or None (used by the exports)."""
    try:
        json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        return str(error)
    return None
