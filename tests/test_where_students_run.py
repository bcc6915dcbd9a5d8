"""Binder, Colab and CI: the files that let students run the course elsewhere agree with the project."""

import os
import re

from conftest import REPOSITORY
from httpserver.lab.nbgrader_meta import colab_cell_source, project_url


def test_binder_installs_the_project_and_writes_the_workspace_the_badge_opens():
    post_build = REPOSITORY / "binder" / "postBuild"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash") and "set -euo pipefail" in text
    if os.name == "posix":
        assert os.access(post_build, os.X_OK)
    assert 'pip install --no-cache-dir -e ".[notebooks]"' in text
    assert "httpserver.lab.workspace --notebooks notebooks --into workspace" in text
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
