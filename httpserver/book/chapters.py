"""Finding the chapters and running them, as the book needs them.

Contract: `find_chapters(folder, numbers)` lists the chapter notebooks
(`NN_name.ipynb`), all or those numbered in `numbers`. `execute(notebook,
folder, timeout)` runs every cell in place, in `folder` (so relative paths
behave as in JupyterLab), with figures drawn as SVG, and returns None or the
first error's one-line summary; the cells after a failing one are left
unexecuted. `title(notebook)` is the first heading's text. The notebooks on
disk are never written to. nbclient is imported inside `execute`.
"""

import re
from pathlib import Path
from typing import List, NamedTuple, Optional

# Run before the chapter's first cell and removed afterwards: vector figures, sharp at
# any zoom, whose text stays the size the plotting code chose.
FIGURES_AS_SVG = ('%config InlineBackend.figure_formats = ["svg"]\n'
                  'import matplotlib\nmatplotlib.rcParams["svg.hashsalt"] = "book"  # the same ids every build\n')
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Chapter(NamedTuple):
    """One chapter notebook: its number ("05"), its file and its stem ("05_many_clients")."""

    number: str
    path: Path

    @property
    def stem(self):
        return self.path.stem


def find_chapters(folder: Path, numbers: Optional[List[str]] = None) -> List[Chapter]:
    """The chapters in `folder`, in order; only those numbered in `numbers` when given."""
    chapters = [Chapter(path.name[:2], path) for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))]
    if numbers:
        chapters = [chapter for chapter in chapters if chapter.number in numbers]
        if not chapters:
            raise SystemExit(f"no chapter numbered {' or '.join(numbers)} in {folder}")
    return chapters


def title(notebook) -> str:
    """The text of the first Markdown heading, e.g. '05 Many clients at once'."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "(untitled)"


def execute(notebook, folder: Path, timeout: int) -> Optional[str]:
    """Run every cell in place (see the module); None, or the first error in one line."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook.cells.insert(0, nbformat.v4.new_code_cell(FIGURES_AS_SVG))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as failure:
        lines = ANSI.sub("", str(failure)).strip().splitlines()
        error = lines[-1] if lines else "a cell raised an error"
    finally:
        del notebook.cells[0]
    return error
