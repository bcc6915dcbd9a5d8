"""Classes beyond one machine: the Gradescope autograder, run in a simulated /autograder, and the
GitHub Classroom template, its workflow and the result its reporter reads."""

import base64
import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from httpserver.classroom import github_classroom, gradescope, sandbox
from httpserver.classroom.colab import project_url
from mock_submissions import NOTEBOOKS

yaml = pytest.importorskip("yaml")
needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None,
                                   reason="no sandbox here: %s" % sandbox.unavailable())
CHAPTERS = ["00_start_here.ipynb", "03_responses_and_routes.ipynb"]


def perfect(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in CHAPTERS + ["my_server.py"]:
        (folder / name).write_bytes((NOTEBOOKS / name).read_bytes())


def test_the_autograder_zip_has_gradescopes_two_scripts_at_its_root(tmp_path):
    archive = gradescope.export(tmp_path, chapters=["00"])
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in zipped.infolist()}
        setup = zipped.read("setup.sh").decode()
    assert "setup.sh" in names and "run_autograder" in names
    assert all(modes[name] & stat.S_IXUSR for name in ("setup.sh", "run_autograder"))
    assert "notebooks/03_responses_and_routes.ipynb" in names and "httpserver/classroom/grade.py" in names
    assert not any("__pycache__" in name for name in names)
    assert "bubblewrap" in setup and "/autograder/venv" in setup


@needs_sandbox
@pytest.mark.timeout(300)
def test_run_autograder_grades_a_submission_in_a_simulated_autograder_folder(tmp_path):
    archive = gradescope.export(tmp_path / "export", chapters=["00", "03"])
    autograder = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(autograder / "source")
    (autograder / "source" / "run_autograder").chmod(0o755)
    os.symlink(sys.prefix, autograder / "venv")  # what setup.sh would have made
    perfect(autograder / "submission" / "my-upload")  # uploaded as a folder: the grader looks inside

    finished = subprocess.run(["bash", str(autograder / "source" / "run_autograder")], cwd=autograder,
                              env=dict(os.environ, AUTOGRADER=str(autograder)), capture_output=True, text=True,
                              timeout=280)
    assert finished.returncode == 0, finished.stderr[-3000:]

    results = json.loads((autograder / "results" / "results.json").read_text())
    assert set(results) >= {"score", "tests", "output", "execution_time"}
    names = [test["name"] for test in results["tests"]]
    assert "ch03-status_class-check" in names and "ch03-build" in names and "stage-04-traversal" in names
    assert len(names) == len(set(names))
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "status"}
        assert isinstance(test["score"], (int, float)) and test["score"] == test["max_score"] == 1, test
    assert results["score"] == sum(test["score"] for test in results["tests"])


def test_the_classroom_workflow_grades_with_the_course_and_reports_to_the_standard_reporter(tmp_path):
    path = github_classroom.export(tmp_path / "template", chapters=["02"])
    template = path.parents[2]
    assert sorted(p.name for p in template.iterdir() if p.is_file()) == ["02_http_messages.ipynb", "my_server.py"]
    assert "### BEGIN SOLUTION" not in (template / "02_http_messages.ipynb").read_text()
    workflow = yaml.safe_load(path.read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    grading = next(step for step in steps if step.get("id") == github_classroom.RUNNER)
    reporter = next(step for step in steps if "autograding-grading-reporter" in step.get("uses", ""))
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"] == github_classroom.RUNNER
    assert reporter["env"] == {"GRADER_RESULTS": "${{ steps.grader.outputs.result }}"}
    assert "github_classroom grade" in grading["run"] and "--chapter 02" in grading["run"]
    assert any("bubblewrap" in step.get("run", "") for step in steps)
    assert workflow["env"]["COURSE_REPOSITORY"] == project_url().split("github.com/")[1]
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}


@needs_sandbox
@pytest.mark.timeout(300)
def test_the_classroom_grade_step_writes_the_reporters_result(tmp_path):
    perfect(tmp_path / "submission")
    (tmp_path / "submission" / "00_start_here.ipynb").write_text("not a notebook")  # a broken chapter
    output = tmp_path / "github_output"
    course = tmp_path / "course"
    course.mkdir()
    os.symlink(NOTEBOOKS, course / "notebooks")
    report = github_classroom.grade(course, tmp_path / "submission", output, chapters=["00", "03"])
    line = output.read_text().strip()
    assert line.startswith("result=")
    decoded = json.loads(base64.b64decode(line[len("result="):]))
    assert decoded == report
    assert decoded["version"] == 1 and decoded["status"] == "fail"
    assert decoded["max_score"] == len(decoded["tests"])
    scores = {test["name"]: (test["status"], test["score"]) for test in decoded["tests"]}
    assert scores["ch03-status_class-check"] == ("pass", 1) and scores["stage-09-load"] == ("pass", 1)
    assert scores["ch00-build_get_request-check"] == ("fail", 0)
    assert "unreadable notebook" in decoded["tests"][0]["message"]


def test_the_container_image_grades_the_same_way_as_make_grade():
    """What the Containerfile promises; the image itself is built and run by hand (the README says how)."""
    from conftest import REPOSITORY

    text = (REPOSITORY / "Containerfile").read_text(encoding="utf-8")
    steps = [line.split()[0] for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert steps[:2] == ["ARG", "FROM"] and "USER" in steps and steps[-2:] == ["ENTRYPOINT", "CMD"]
    assert "bubblewrap" in text and "python3 -m venv /opt/venv" in text  # the project outside /usr
    assert '"-m", "httpserver.classroom.grade", "--notebooks", "/opt/course/notebooks"' in text
    assert "COPY notebooks /opt/course/notebooks" in text and "USER grader" in text
    ignored = (REPOSITORY / ".containerignore").read_text(encoding="utf-8")
    assert ignored == (REPOSITORY / ".dockerignore").read_text(encoding="utf-8")
    assert all(name in ignored.split() for name in (".git", ".venv", "grades", "workspace"))
