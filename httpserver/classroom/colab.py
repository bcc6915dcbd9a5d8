"""Google Colab: the set-up cell every chapter starts with, and where it fetches from.

Contract: `colab_cell_source(url)` is the text of each chapter's first code
cell (nbgrader_meta keeps it there, `with_colab_cell`). Anywhere but Colab it
does nothing. On Colab it fetches the package and data only, with a sparse,
blob-less clone of `url`, so the instructor's chapters and their answers are
never downloaded; fetches the student copies (the chapters without answers
and my_server.py's skeleton) from the `student-copies` branch, which CI
publishes from `make student`; installs the package; and works from the
student copies. `project_url()` is the one setting that says where the
project lives: `[project.urls] Repository` in pyproject.toml.
"""

import re
from pathlib import Path

COLAB_CELL_ID = "colab-setup"
COLAB_FOLDER = "/content/http-from-sockets"   # the package and data
COLAB_WORK = "/content/work"                  # the student copies, where the learner works
STUDENT_BRANCH = "student-copies"             # where CI publishes them (make student's output)
DEFAULT_PROJECT_URL = "https://github.com/http-from-sockets/http-from-sockets"


def project_url(repository=None):
    """The repository's address from pyproject.toml ([project.urls] Repository)."""
    repository = Path(repository) if repository else Path(__file__).resolve().parents[2]
    try:
        text = (repository / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return DEFAULT_PROJECT_URL
    # A regular expression rather than tomllib, which needs Python 3.11.
    match = re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else DEFAULT_PROJECT_URL


def colab_cell_source(url):
    """The first code cell of every chapter: set-up on Colab, nothing anywhere else."""
    return f'''\
# Google Colab opens a chapter on its own, without the project around it. There, this cell
# fetches the package and its data (never the instructor's chapters: no answers), installs
# them, and works from the student copies: the chapters without answers, and the skeleton
# of the my_server.py you build. Anywhere else (make lab, JupyterHub, Binder) it does nothing.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    PROJECT, WORK = "{COLAB_FOLDER}", "{COLAB_WORK}"
    if not os.path.isdir(PROJECT):  # only the files of httpserver/ and data/ are downloaded
        subprocess.run(["git", "clone", "--quiet", "--depth=1", "--filter=blob:none", "--sparse",
                        "{url}", PROJECT], check=True)
        subprocess.run(["git", "-C", PROJECT, "sparse-checkout", "set", "httpserver", "data"], check=True)
    if not os.path.isdir(WORK):
        subprocess.run(["git", "clone", "--quiet", "--depth=1", "--branch", "{STUDENT_BRANCH}",
                        "{url}", WORK], check=True)
    if importlib.util.find_spec("httpserver") is None:
        # Colab has Jupyter, matplotlib and requests already: add the project and trustme only.
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", PROJECT, "trustme"], check=True)
        sys.path.insert(0, PROJECT)  # this kernel started before the install
    os.chdir(WORK)'''


def with_colab_cell(notebook, url):
    """The notebook with the Colab set-up cell as its first code cell, up to date."""
    import nbformat

    cells = [cell for cell in notebook.cells if cell.get("id") != COLAB_CELL_ID]
    setup = nbformat.v4.new_code_cell(colab_cell_source(url))
    setup["id"] = COLAB_CELL_ID
    first_code = next((index for index, cell in enumerate(cells) if cell.cell_type == "code"), len(cells))
    cells.insert(first_code, setup)
    notebook.cells = cells
    return notebook
