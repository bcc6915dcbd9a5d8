"""Binder, Colab and CI: the files that let students run the course elsewhere agree with the project."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY
from httpserver.classroom.nbgrader_meta import colab_cell_source, project_url


def test_binder_installs_the_project_and_writes_the_workspace_the_badge_opens():
    post_build = REPOSITORY / "binder" / "postBuild"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash") and "set -euo pipefail" in text
    if os.name == "posix":
        assert os.access(post_build, os.X_OK)
    assert 'pip install --no-cache-dir -e ".[notebooks]"' in text
    assert "httpserver.classroom.workspace --notebooks notebooks --into workspace" in text
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    slug = project_url().split("github.com/", 1)[1]
    assert "https://mybinder.org/v2/gh/%s/HEAD?urlpath=lab/tree/workspace/" % slug in readme


def test_colab_fetches_the_repository_the_project_names():
    assert '"%s"' % project_url() in colab_cell_source(project_url())


def test_ci_runs_the_oldest_and_newest_supported_python_on_three_systems():
    pyproject = (REPOSITORY / "pyproject.toml").read_text(encoding="utf-8")
    oldest = re.search(r'requires-python = ">=(3\.\d+)"', pyproject).group(1)
    assert oldest == "3.10"
    workflow = (REPOSITORY / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert 'python: ["%s", "3.13"]' % oldest in workflow
    assert "os: [ubuntu-latest, macos-latest, windows-latest]" in workflow
    assert "make test" in workflow and "ruff check ." in workflow
    assert "nbgrader_meta notebooks --check" in workflow


@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("git") is None or not (REPOSITORY / ".git").exists(),
                    reason="needs git and a git checkout to clone from")
def test_the_colab_cell_installs_the_project_in_a_bare_python_and_finds_data(tmp_path):
    """Chapter 00 as Colab opens it: a Python without the project, `google.colab` imported.

    The cell clones this repository (from the local checkout: no network) into a
    folder of its own, installs it, and moves to its notebooks folder.
    """
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "colab")], check=True, timeout=120)
    python = tmp_path / "colab" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    chapter = json.loads((REPOSITORY / "notebooks" / "00_start_here.ipynb").read_text(encoding="utf-8"))
    cell = "".join(next(cell["source"] for cell in chapter["cells"] if cell.get("id") == "colab-setup"))
    project = tmp_path / "content" / "http-from-sockets"
    cell = cell.replace('"/content/http-from-sockets"', repr(str(project)))
    cell = cell.replace('"%s"' % project_url(), repr(str(REPOSITORY)))
    script = "\n".join([
        "import sys, types",
        "sys.modules['google.colab'] = types.ModuleType('google.colab')  # what Colab's kernel has",
        cell,
        "import os, httpserver, trustme",
        "from httpserver.lab.notebook import REPOSITORY",
        "print(os.getcwd()); print(httpserver.__file__); print((REPOSITORY / 'data' / 'www').is_dir())",
    ])
    finished = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=240,
                              cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr[-2000:]
    cwd, package, data_found = finished.stdout.split()[-3:]
    assert Path(cwd) == project / "notebooks"
    assert Path(package).is_relative_to(project)
    assert data_found == "True"
