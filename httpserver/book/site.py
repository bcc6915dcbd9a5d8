"""The Sphinx project the book is built from, and the build itself.

Contract: `write_project(folder, views, index_text, context)` writes a complete
Sphinx source folder: `conf.py` (the `settings` module, plus `html_context`),
`index.md` (the front page and the table of contents) and one notebook per
chapter (the learner's views, executed). `run_sphinx(folder, out)` builds the
HTML into `out` in a child process and returns Sphinx's warnings, one per line.
"""

import json
import subprocess
import sys
from pathlib import Path

CONF = """# Written by httpserver.book: the settings live in httpserver/book/settings.py.
from httpserver.book.settings import *  # noqa: F401,F403

html_context = {context}
html_theme_options = dict(html_theme_options, repository_url=html_context["repository_url"])  # noqa: F405
"""


def write_project(folder: Path, views: dict, index_text: str, context: dict) -> None:
    """The source folder: conf.py, index.md and `views` ({stem: notebook})."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.py").write_text(CONF.format(context=json.dumps(context, indent=1)), encoding="utf-8")
    (folder / "index.md").write_text(index_text, encoding="utf-8")
    for stem, notebook in views.items():
        nbformat.write(notebook, str(folder / f"{stem}.ipynb"))


def run_sphinx(folder: Path, out: Path, log=print) -> list:
    """Build the HTML; returns the warnings. SystemExit when Sphinx itself fails."""
    warnings_file = folder / "warnings.txt"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", "-E",
               "-d", str(folder / ".doctrees"), "-w", str(warnings_file), str(folder), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit("sphinx-build failed:\n" + result.stderr[-4000:])
    warnings = [line for line in warnings_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in warnings:
        log("sphinx: " + line)
    return warnings
