"""`make book`: execute, turn into the learner's view, write the Sphinx project, build.

See the package's docstring. `build_book` returns one `Built` per chapter;
`out/book.json` says the same for other programs (the tests read it).
"""

import argparse
import datetime
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import List, NamedTuple, Optional

from ..background import REPOSITORY
from . import chapters as chapter_files
from . import crossrefs, learner, site

from ..classroom.colab import STUDENT_BRANCH  # where the project's workflow publishes the student copies
from ..classroom.student import make_student_copy, make_student_script  # the student-copy rules


class Built(NamedTuple):
    """One chapter of the book: its page, title, number of figures, and what went wrong."""

    page: str
    title: str
    figures: int
    error: Optional[str]
    problems: List[str]
    seconds: float


def repository_url(repository: Path = REPOSITORY) -> str:
    """[project.urls] Repository of pyproject.toml: the one place the address is kept."""
    import re

    text = (repository / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1)


def all_sections(notebooks: Path) -> dict:
    """Every chapter's numbered sections, for the cross-references: {"02": {"3", "4.1"}}."""
    import nbformat

    sections = {}
    for chapter in chapter_files.find_chapters(notebooks):
        notebook = nbformat.read(chapter.path, as_version=4)
        sections[chapter.number] = set().union(*(crossrefs.headings(cell.source) for cell in notebook.cells
                                                 if cell.cell_type == "markdown"))
    return sections


def write_student_copies(notebooks: Path, chosen, folder: Path) -> None:
    """The copies the launch menu downloads: the chosen chapters and the my_server.py skeleton."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    for chapter in chosen:
        copy, _, _ = make_student_copy(nbformat.read(chapter.path, as_version=4), name=chapter.path.name)
        nbformat.write(copy, str(folder / chapter.path.name))
    for script in sorted(notebooks.glob("*.py")):
        skeleton, _ = make_student_script(script.read_text(encoding="utf-8"), name=script.name)
        (folder / script.name).write_text(skeleton, encoding="utf-8")


def front_page(built: List[Built], seconds: float) -> str:
    """index.md: what the book is, how to read it, the chapters."""
    lines = ["# HTTP from sockets", "",
             "Learn how the web works by building it: an HTTP/1.1 and HTTPS server written from raw "
             "sockets in Python, taught chapter by chapter. Each chapter starts the course's server, "
             "talks to it, and shows what happened: bytes, packets, timings and plots, all produced "
             "when this book was built. What a chapter claims, a cell checks.", "",
             "**How to read it.** The code that sets things up and the code that draws each figure "
             "are folded: the figures say what they show, and a click shows the code. Exercises "
             "show the part you write as `raise NotImplementedError`; the cell after it checks your "
             "answer when you run the chapter yourself. To run a chapter, use its menu (the rocket "
             "at the top of the page): Binder or Colab open the copy without answers, or download "
             "it; or clone the repository and run `make lab`.", ""]
    failed = [chapter for chapter in built if chapter.error]
    if failed:
        lines += [":::{warning}", "Some chapters stopped at an error when this book was built; their "
                  "pages end at the failing cell:", ""]
        lines += [f"- {chapter.title}: `{chapter.error}`" for chapter in failed]
        lines += [":::", ""]
    lines += ["```{toctree}", ":maxdepth: 1", ":caption: Chapters", ""]
    lines += [chapter.page for chapter in built]
    lines += ["```", "",
              f"Built {datetime.date.today():%d %B %Y} with Python {platform.python_version()} on "
              f"{platform.system()} ({platform.machine()}); every chapter executed from top to bottom "
              f"({seconds:.0f} s in all). Timings and benchmark numbers are that machine's, in that run.", ""]
    return "\n".join(lines)


def build_book(notebooks: Path, out: Path, chapters: Optional[List[str]] = None, timeout: int = 900,
               log=print, work: Optional[Path] = None) -> List[Built]:
    """Execute the chosen chapters (all when None) and build the site into `out`."""
    import nbformat

    notebooks, out = Path(notebooks), Path(out)
    work = Path(work) if work else out.parent / (out.name + "-source")
    chosen = chapter_files.find_chapters(notebooks, chapters)
    pages = {chapter.number: chapter.path.name for chapter in chosen}
    sections = all_sections(notebooks)
    shutil.rmtree(work, ignore_errors=True)
    views, built, started = {}, [], time.perf_counter()
    for chapter in chosen:
        chapter_started = time.perf_counter()
        notebook = nbformat.read(chapter.path, as_version=4)
        log(f"{chapter.path.name}: executing", flush=True)
        error = chapter_files.execute(notebook, chapter.path.parent, timeout)
        views[chapter.stem], problems = learner.learners_view(notebook, chapter.number, pages, sections)
        figures = sum(1 for cell in views[chapter.stem].cells if learner.draws_figure(cell))
        seconds = time.perf_counter() - chapter_started
        built.append(Built(chapter.stem, chapter_files.title(notebook), figures, error, problems, seconds))
        log(f"{chapter.path.name}: {figures} figures, {seconds:.0f} s" + (f"; FAILED: {error}" if error else "")
            + "".join(f"\n  {problem}" for problem in problems), flush=True)
    write_student_copies(notebooks, chosen, work / "extra" / "student")
    context = {"repository_url": repository_url(), "student_branch": STUDENT_BRANCH, "default_mode": "auto"}
    site.write_project(work, views, front_page(built, time.perf_counter() - started), context)
    log("rendering with Sphinx", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    warnings = site.run_sphinx(work, out, log=log)
    summary = {"chapters": [chapter._asdict() for chapter in built], "sphinx_warnings": warnings}
    (out / "book.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return built


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m httpserver.book",
                                     description="Execute every chapter and build the book's web site.")
    parser.add_argument("--notebooks", default=str(REPOSITORY / "notebooks"), help="the chapters' folder")
    parser.add_argument("--out", default=str(REPOSITORY / "build" / "book"), help="where the site goes")
    parser.add_argument("--chapters", nargs="*", help="chapter numbers to build, e.g. 01 05 (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one cell may run (default 900)")
    arguments = parser.parse_args(argv)
    built = build_book(Path(arguments.notebooks), Path(arguments.out), arguments.chapters, arguments.timeout)
    print(f"open {Path(arguments.out).resolve() / 'index.html'}")
    return 1 if any(chapter.error or chapter.problems for chapter in built) else 0


if __name__ == "__main__":
    sys.exit(main())
