"""The chapters as a static web site, executed, with their figures: `make book`.

Contract: `build_book(notebooks, out)` executes each chapter notebook in its
folder (so relative paths behave as in JupyterLab), renders it to
`out/NN_name.html` with nbconvert's "lab" template, writes every figure as a
PNG file under `out/NN_name_files/`, adds links to the previous chapter, the
contents and the next chapter, and writes `out/index.html` listing the chapters.
A chapter whose cell fails is still rendered, up to and including the failing
cell's error, and marked in the contents; `main` then exits with status 1.
The notebooks themselves are never written to (they stay without outputs).

    python -m httpserver.lab.book [--notebooks notebooks] [--out build/book] [--chapters 01 05]

nbconvert and nbclient (the `book` extra) are imported inside the functions.
"""

import argparse
import datetime
import html
import json
import re
import sys
import time
from pathlib import Path
from typing import List, NamedTuple, Optional

from ..background import REPOSITORY

STYLE = """<style>
nav.book { font-family: sans-serif; font-size: 15px; padding: 10px 24px; background: #f4f4f4;
           border-bottom: 1px solid #ccc; display: flex; justify-content: space-between; }
nav.book a { color: #0072B2; text-decoration: none; }
nav.book a:hover { text-decoration: underline; }
</style>"""

INDEX_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HTTP from sockets: the chapters</title>
<style>
body {{ font-family: sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; line-height: 1.5;
       color: #222; }}
h1 {{ color: #0072B2; }}
ul.chapters {{ list-style: none; padding-left: 0; }}
li {{ margin: 0.6em 0; }}
a {{ color: #0072B2; }}
.note {{ color: #555; font-size: 0.9em; }}
.failed {{ color: #D55E00; font-weight: bold; }}
</style></head>
<body>
<h1>HTTP from sockets</h1>
<p>Learn how the web works by building it: an HTTP/1.1 and HTTPS server written from raw sockets
in Python, taught chapter by chapter. These pages are the chapters as they ran on one machine,
with every output and figure; to run them yourself, clone the repository and run
<code>make lab</code>.</p>
<h2>Chapters</h2>
<ul class="chapters">
{items}
</ul>
<p class="note">Built {built} with Python {python}; each chapter executed from top to bottom
({seconds:.0f} s in all). Timings and benchmark numbers are those of that machine and that run.</p>
</body></html>
"""


class Chapter(NamedTuple):
    """One rendered chapter: its page, its title, its figures, and an error if a cell failed."""

    page: str
    title: str
    figures: List[str]
    error: Optional[str]
    seconds: float


def chapter_title(notebook) -> str:
    """The text of the first Markdown heading, e.g. '05 Many clients at once'."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "(untitled)"


def execute(notebook, folder: Path, timeout: int) -> Optional[str]:
    """Run every cell in place; None, or the first error's one-line summary."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellExecutionError as error:
        summary = str(error).strip().splitlines()
        return summary[-1] if summary else "a cell raised an error"
    return None


def navigation(previous: Optional[Chapter], following: Optional[Chapter]) -> str:
    """The bar at the top and bottom of each page."""
    def link(chapter, arrow_first):
        if chapter is None:
            return "<span></span>"
        text = html.escape(chapter.title)
        return f'<a href="{chapter.page}">{"← " + text if arrow_first else text + " →"}</a>'
    return (f'<nav class="book">{link(previous, True)}<a href="index.html">Contents</a>'
            f"{link(following, False)}</nav>")


def render(notebook, stem: str, out: Path) -> List[str]:
    """Write out/stem.html and its figures; returns the figures' paths relative to out."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.ExtractOutputPreprocessor"]
    exporter = HTMLExporter(config=config, template_name="lab")
    body, resources = exporter.from_notebook_node(notebook, resources={"output_files_dir": f"{stem}_files"})
    figures = []
    for name, data in sorted(resources.get("outputs", {}).items()):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
        figures.append(name)
    for name in figures:  # nbconvert leaves alt "No description...": say what the figure shows
        index = int(re.search(r"output_(\d+)_\d+\.", name).group(1))
        alt = html.escape(figure_description(notebook.cells[index].source), quote=True)
        tag = re.compile(r'<img\b[^>]*\bsrc="%s"[^>]*>' % re.escape(name))
        body = tag.sub(lambda match: re.sub(r'\balt="[^"]*"', lambda _: f'alt="{alt}"', match.group(0)), body)  # noqa: B023 (called at once)
    (out / f"{stem}.html").write_text(body, encoding="utf-8")
    return figures


def figure_description(source: str) -> str:
    """Alt text for a figure: the title its cell gives the plot, else a plain pointer to the code."""
    match = re.search(r'(?:title=|title\()f?"([^"]+)"', source) or re.search(r"(?:title=|title\()f?'([^']+)'", source)
    if not match:
        return "A figure drawn by the code cell above it"
    return "Figure: " + re.sub(r"\{[^}]*\}", "…", match.group(1))


def add_navigation(page: Path, bar: str) -> None:
    """Put the bar right after <body ...> and right before </body>."""
    text = page.read_text(encoding="utf-8")
    start = text.index("<body")
    start = text.index(">", start) + 1
    end = text.rindex("</body>")
    text = text[:start] + STYLE + bar + text[start:end] + bar + text[end:]
    page.write_text(text, encoding="utf-8")


def build_book(notebooks: Path, out: Path, chapters: Optional[List[str]] = None,
               timeout: int = 900, log=print) -> List[Chapter]:
    """Execute and render the chosen chapters (all when None); returns what was built."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    paths = sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))
    if chapters:
        paths = [path for path in paths if path.name[:2] in chapters]
        if not paths:
            raise SystemExit(f"no chapter matches {chapters} in {notebooks}")
    built, started = [], time.perf_counter()
    for path in paths:
        chapter_started = time.perf_counter()
        notebook = nbformat.read(path, as_version=4)
        log(f"{path.name}: executing", flush=True)
        error = execute(notebook, path.parent, timeout)
        figures = render(notebook, path.stem, out)
        seconds = time.perf_counter() - chapter_started
        built.append(Chapter(f"{path.stem}.html", chapter_title(notebook), figures, error, seconds))
        log(f"{path.name}: {len(figures)} figures, {seconds:.0f} s" + (f"; FAILED: {error}" if error else ""),
            flush=True)
    for index, chapter in enumerate(built):
        previous = built[index - 1] if index else None
        following = built[index + 1] if index + 1 < len(built) else None
        add_navigation(out / chapter.page, navigation(previous, following))
    write_index(built, out, time.perf_counter() - started)
    return built


def write_index(built: List[Chapter], out: Path, seconds: float) -> None:
    items = []
    for chapter in built:
        failed = (f' <span class="failed">(stopped at an error: {html.escape(chapter.error)})</span>'
                  if chapter.error else "")
        figures = f"{len(chapter.figures)} figure{'s' if len(chapter.figures) != 1 else ''}"
        items.append(f'<li><a href="{chapter.page}">{html.escape(chapter.title)}</a> '
                     f'<span class="note">({figures})</span>{failed}</li>')
    page = INDEX_PAGE.format(items="\n".join(items), python=sys.version.split()[0], seconds=seconds,
                             built=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    (out / "index.html").write_text(page, encoding="utf-8")
    summary = [{"page": c.page, "title": c.title, "figures": c.figures, "error": c.error,
                "seconds": round(c.seconds, 1)} for c in built]
    (out / "book.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m httpserver.lab.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", default=str(REPOSITORY / "notebooks"), help="the chapters' folder")
    parser.add_argument("--out", default=str(REPOSITORY / "build" / "book"), help="where the site goes")
    parser.add_argument("--chapters", nargs="*", help="chapter numbers to build, e.g. 01 05 (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one cell may run (default 900)")
    arguments = parser.parse_args(argv)
    built = build_book(Path(arguments.notebooks), Path(arguments.out), arguments.chapters, arguments.timeout)
    print(f"open {Path(arguments.out).resolve() / 'index.html'}")
    return 1 if any(chapter.error for chapter in built) else 0


if __name__ == "__main__":
    sys.exit(main())
