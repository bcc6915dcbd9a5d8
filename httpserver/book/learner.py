"""The learner's view of an executed chapter: what the book shows a reader.

Contract: `learners_view(notebook, number, pages, sections)` takes a chapter executed from
the instructor's copy (answers in place, so every later cell could run) and
returns a new notebook for the book, changed the way a student copy is, plus
folding for a reader who looks rather than runs:

- instructor-only cells are dropped; every answer region becomes the student
  copy's placeholder, and the outputs of cells that held one are dropped (an
  answer must not show through what it printed);
- check cells (nbgrader's graded cells) lose their outputs, which graded the
  instructor's answers, and are folded behind a one-line summary;
- the Colab set-up cell and the code that draws each figure are folded (shown on
  request); so are a long listing from `show_source` (with its file and length), the
  code of a long experiment (what it printed stays in view) and a long printout;
- each figure gets "Figure NN.k" before its caption (from the cell's `mystnb`
  metadata: `figure.caption`, `image.alt`; a figure without them is reported),
  and the code that draws it says which figure it draws;
- "chapter 05" and "section 3" in the prose become links (`crossrefs`).

Nothing is executed and the given notebook is not changed.
"""

import copy
import re

from . import crossrefs

from ..classroom.student import CODE_PLACEHOLDER, MARKDOWN_PLACEHOLDER, is_hidden, strip_solutions  # the student-copy rules

LONG_LISTING = 25  # lines: a listing longer than this is folded
LONG_CODE = 30  # lines: a cell's code longer than this is folded; what it printed stays in view
LONG_OUTPUT = 40  # lines: printed text longer than this is folded
SOURCE_LISTING = re.compile(r"```python\n# (\S+)\n")  # what show_source displays
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")


def is_check(cell):
    """A graded cell: it checks an answer (or the learner's server) and says what is wrong."""
    return cell.cell_type == "code" and bool(cell.metadata.get("nbgrader", {}).get("grade"))


def is_colab_setup(cell):
    """The first code cell of a chapter, which does its work on Google Colab only."""
    return cell.cell_type == "code" and '"google.colab" in sys.modules' in cell.source


def draws_figure(cell):
    """True when the cell's outputs hold an image."""
    return any(kind in output.get("data", {}) for output in cell.get("outputs", ()) for kind in IMAGE_TYPES)


def fold(cell, prompt, what="hide-input"):
    """Tag `cell` to be folded behind `prompt` (MyST-NB's hide-input or hide-output)."""
    tags = cell.metadata.setdefault("tags", [])
    if what not in tags:
        tags.append(what)
    cell.metadata.setdefault("mystnb", {})["code_prompt_show"] = prompt
    cell.metadata["mystnb"]["code_prompt_hide"] = "Hide " + prompt[0].lower() + prompt[1:]


def lines_of(text):
    return len(text.rstrip("\n").splitlines())


def long_listing(cell):
    """(file, lines) of a long `show_source` listing among the cell's outputs, or None."""
    for output in cell.get("outputs", ()):
        markdown = output.get("data", {}).get("text/markdown", "")
        match = SOURCE_LISTING.match(markdown)
        if match and lines_of(markdown) - 3 > LONG_LISTING:  # less the fences and the file line
            return match.group(1), lines_of(markdown) - 3
    return None


def is_image(output):
    return any(kind in output.get("data", {}) for kind in IMAGE_TYPES)


def split_at_figure(cell):
    """[cell] or [cell, rest]: MyST-NB would put the figure's caption on every rich output of
    the cell (a table shown after the plot, say), so what follows the image moves to a
    cell of its own, with no input, right after it."""
    outputs = cell.get("outputs", [])
    first = next(index for index, output in enumerate(outputs) if is_image(output))
    if first == len(outputs) - 1:
        return [cell]
    rest = copy.deepcopy(cell)
    rest.source, rest.outputs, rest.metadata = "", outputs[first + 1:], {"tags": ["remove-input"]}
    if "id" in rest:
        rest.id = (cell.id + "-more")[-64:]  # ids are unique in a notebook
    cell.outputs = outputs[:first + 1]
    return [cell, rest]


def printed_lines(cell):
    """How many lines of text the cell printed (0 for a Markdown cell)."""
    return sum(lines_of(output.get("text", "")) for output in cell.get("outputs", ()) if output.get("output_type") == "stream")


def number_figure(cell, label):
    """Put `label` ("Figure 05.2") before the cell's caption; returns what is missing, or None."""
    settings = cell.metadata.setdefault("mystnb", {})
    caption = settings.setdefault("figure", {}).get("caption", "").strip()
    alt = settings.get("image", {}).get("alt", "").strip()
    settings["figure"]["caption"] = f"**{label}.** {caption or '(no caption yet)'}"
    if not caption or not alt:
        return f"{label} has no {'caption' if not caption else 'alt text'} (the cell's mystnb metadata)"
    return None


def learners_view(notebook, number, pages, sections):
    """The book's copy of chapter `number` ("05"), and a list of what is wrong with it
    (figures without a caption); `pages` and `sections` as `crossrefs.link` takes them."""
    view = copy.deepcopy(notebook)
    cells, figures, problems = [], 0, []
    for index, cell in enumerate(view.cells):
        if is_hidden(cell):
            continue
        where = f"chapter {number}, cell {index}"
        placeholder = CODE_PLACEHOLDER if cell.cell_type == "code" else MARKDOWN_PLACEHOLDER
        cell.source, answers = strip_solutions(cell.source, placeholder, where)
        if cell.cell_type == "markdown":
            cell.source = crossrefs.link(cell.source, number, pages, sections)
        elif answers:
            cell.outputs = []
        elif is_check(cell):
            cell.outputs = []
            fold(cell, f"Show the check ({lines_of(cell.source)} lines; run it in your own copy)")
        elif is_colab_setup(cell):
            fold(cell, "Show the set-up cell for Google Colab (it does nothing elsewhere)")
        elif draws_figure(cell):
            figures += 1
            label = f"Figure {number}.{figures}"
            problems.append(number_figure(cell, label))
            fold(cell, f"Show the code behind {label}")
            cell, *rest = split_at_figure(cell)
            if rest and draws_figure(rest[0]):
                problems.append(f"the cell of {label} draws a second figure: one figure per cell, each captioned")
            cells.append(cell)
            cells.extend(rest)
            continue
        elif long_listing(cell):
            name, length = long_listing(cell)
            fold(cell, f"Show the source of {name} ({length} lines)", what="hide-output")
        elif lines_of(cell.source) > LONG_CODE:
            fold(cell, f"Show the code of this experiment ({lines_of(cell.source)} lines)")
        elif printed_lines(cell) > LONG_OUTPUT:
            fold(cell, f"Show what it printed ({printed_lines(cell)} lines)", what="hide-output")
        cells.append(cell)
    view.cells = cells
    return view, [problem for problem in problems if problem]
