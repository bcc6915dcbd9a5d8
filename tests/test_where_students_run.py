"""Binder, Colab and CI: the files that let students run the course elsewhere agree with the project."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY
from httpserver.classroom.colab import COLAB_FOLDER, COLAB_WORK, STUDENT_BRANCH, colab_cell_source, project_url
from httpserver.classroom.student import write_student_copies
from mock_submissions import NOTEBOOKS


def test_binder_installs_the_project_and_writes_the_workspace_the_badge_opens():
    post_build = REPOSITORY / "binder" / "postBuild"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash") and "set -euo pipefail" in text
    if os.name == "posix":
        assert os.access(post_build, os.X_OK)
    assert 'pip install --no-cache-dir -e ".[notebooks]"' in text
    assert "httpserver.classroom.workspace --notebooks notebooks --into workspace" in text
    assert text.rstrip().endswith("rm -rf notebooks .git")  # the image carries no answers
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
    assert "apt-get install -y bubblewrap" in workflow  # or the grader's sandbox tests would all skip


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_student_copies_are_published_where_the_colab_cell_fetches_them():
    workflow = (REPOSITORY / ".github" / "workflows" / "student-copies.yml").read_text(encoding="utf-8")
    assert "python -m httpserver.classroom.student notebooks build/student" in workflow
    assert "--initial-branch %s" % STUDENT_BRANCH in workflow and "contents: write" in workflow
    assert '"--branch", "%s"' % STUDENT_BRANCH in colab_cell_source(project_url())


@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("git") is None or not (REPOSITORY / ".git").exists(),
                    reason="needs git and a git checkout to clone from")
def test_the_colab_cell_works_from_the_student_copies_and_never_fetches_the_answers(tmp_path):
    """Chapter 00 as Colab opens it: a Python without the project, `google.colab` imported.

    The "repository" is a bare clone of this checkout (no network) with a student-copies
    branch, as the student-copies workflow publishes it.
    """
    origin = tmp_path / "origin.git"
    git("clone", "--quiet", "--bare", str(REPOSITORY), str(origin))
    git("config", "uploadpack.allowFilter", "true", cwd=origin)  # partial clones, as GitHub allows
    copies = tmp_path / "copies"
    with contextlib.redirect_stdout(io.StringIO()):
        write_student_copies(NOTEBOOKS, copies)
    git("init", "--quiet", "--initial-branch", STUDENT_BRANCH, cwd=copies)
    git("add", ".", cwd=copies)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "copies", cwd=copies)
    git("push", "--quiet", str(origin), STUDENT_BRANCH, cwd=copies)

    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "colab")], check=True, timeout=120)
    python = tmp_path / "colab" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    chapter = json.loads((NOTEBOOKS / "00_start_here.ipynb").read_text(encoding="utf-8"))
    cell = "".join(next(cell["source"] for cell in chapter["cells"] if cell.get("id") == "colab-setup"))
    project, work = tmp_path / "content" / "http-from-sockets", tmp_path / "content" / "work"
    cell = cell.replace('"%s"' % COLAB_FOLDER, repr(str(project))).replace('"%s"' % COLAB_WORK, repr(str(work)))
    cell = cell.replace('"%s"' % project_url(), repr("file://" + str(origin)))
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
    assert Path(cwd) == work and data_found == "True"
    assert Path(package).is_relative_to(project)
    skeleton = (work / "my_server.py").read_text(encoding="utf-8")
    assert 'raise NotImplementedError("not built yet' in skeleton
    assert "BEGIN SOLUTION" not in (work / "02_http_messages.ipynb").read_text(encoding="utf-8")
    assert not (project / "notebooks").exists()
    # Not even in the clone's objects: the chapters' blobs were never downloaded.
    answers = {line.split()[2] for line in git("ls-tree", "-r", "HEAD", "notebooks", cwd=origin).splitlines()}
    missing = {line[1:] for line in git("rev-list", "--objects", "--all", "--missing=print", cwd=project).splitlines()
               if line.startswith("?")}
    assert answers and answers <= missing
