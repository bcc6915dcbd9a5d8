"""The stage tester, tested: it passes correct servers, and its reports say what happened.

Correct servers: the package's server on every model that serves clients
concurrently (the iterative model must fail exactly where chapter 05 says it
falls short), the reference notebooks/my_server.py, and tiny_server.py, written
apart from both. Broken ones: tiny_server.py with one planted bug each, in
test_stages_mutants_early.py and _late.py. Every run starts a real process and
talks to it over 127.0.0.1.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from httpserver.stages import FAILED, NOT_REACHED, PASSED, STAGES, run_stages, select_stages
from httpserver.stages import slowloris
from httpserver.stages.failure import escape
from httpserver.stages.program import ProgramError, command_arguments
from httpserver.stages.stage import Stage, stage
from httpserver.stages.workspace import Workspace

from stage_mutants import FLAWS, MUTANTS, TINY_COMMAND

PACKAGE_SERVER = "python -m httpserver --port {port} --root {root} --directory {directory} --quiet"
ALL_BUT_SLOWLORIS = [stage.name for stage in STAGES if stage.name != "08-slowloris"]


def outcome(report):
    """(statuses in order, the failure message or "") for readable assertions."""
    return [result.status for result in report.results], report.failure.message if report.failure else ""


def test_package_server_passes_every_stage_tls_included():
    report = run_stages(PACKAGE_SERVER + " --model thread")
    assert report.passed, report.summary()
    assert [result.name for result in report.results] == [stage.name for stage in STAGES]
    assert all(result.exchange is None and result.message == "" for result in report.results)


@pytest.mark.parametrize("model", ["pool", "select"])
def test_package_server_passes_on_the_other_concurrent_models(model):
    # The slowloris stage waits out the server's 10 s head deadline; the thread
    # model's run above covers it.
    report = run_stages(PACKAGE_SERVER + f" --model {model}", names=ALL_BUT_SLOWLORIS)
    assert report.passed, report.summary()


REFERENCE_SERVER = Path(__file__).resolve().parent.parent / "notebooks" / "my_server.py"


@pytest.mark.skipif(not REFERENCE_SERVER.exists(), reason="no notebooks/my_server.py in this checkout")
def test_the_reference_learner_server_passes():
    # Chapter 08's Build section runs the slowloris stage on it; here it would add 10 s.
    report = run_stages([sys.executable, str(REFERENCE_SERVER), "--port", "{port}", "--root", "{root}",
                         "--directory", "{directory}"], names=ALL_BUT_SLOWLORIS)
    assert report.passed, report.summary()


def test_iterative_model_passes_chapters_1_to_4_and_fails_at_many_clients():
    report = run_stages(PACKAGE_SERVER + " --model iterative", upto=5, timeout=2.0)
    statuses, message = outcome(report)
    first_failure = statuses.index(FAILED)
    assert report.results[first_failure].name == "05-concurrent", report.summary()
    assert set(statuses[:first_failure]) == {PASSED} and set(statuses[first_failure + 1:]) == {NOT_REACHED}
    assert "no answer within 2 s" in message and "thread" in message


def test_an_independent_correct_server_passes_every_stage():
    # No false alarm: tiny_server.py, written apart from the package and from my_server.py,
    # breaks no rule the stages check (each planted bug of test_stages_mutants_*.py does).
    report = run_stages(TINY_COMMAND)
    assert report.passed, report.summary()
    assert [result.name for result in report.results] == [stage.name for stage in STAGES]


def test_every_flaw_of_the_independent_server_is_planted_by_a_test():
    planted = {mutant.flaw for mutant in MUTANTS} | {"no-head-deadline"}
    assert planted == set(FLAWS)
    assert len(MUTANTS) == len({mutant.flaw for mutant in MUTANTS}) >= 30
    assert {mutant.stage for mutant in MUTANTS} <= {stage.name for stage in STAGES}


def test_a_head_without_deadline_fails_slowloris(monkeypatch):
    monkeypatch.setattr(slowloris, "SLOWLORIS_BOUND", 3.0)  # the flawless tiny server cuts at 1 s
    report = run_stages(TINY_COMMAND + ["--break", "no-head-deadline"], names=["08-slowloris"])
    assert report.failure is not None and report.failure.name == "08-slowloris"
    assert "the trickled head was still being accepted" in report.failure.message
    assert report.failure.rule == slowloris.SLOWLORIS_RULE
    report = run_stages(TINY_COMMAND, names=["08-slowloris"])
    assert report.passed, report.summary()


def test_python_http_server_fails_the_first_stage_because_it_answers_http_1_0():
    report = run_stages("python -m http.server {port} --bind 127.0.0.1 --directory {root}")
    assert report.failure is not None and report.failure.name == "01-bind"
    assert "the status line says HTTP/1.0" in report.failure.message


def test_python_http_server_speaking_http_1_1_fails_at_a_request_without_version():
    # Switched to HTTP/1.1 it gets one stage further: "HELLO WORLD" has no
    # version, so it takes it for HTTP/0.9 and answers with no status line.
    server = Path(__file__).resolve().parent / "stage_servers" / "http11_server.py"
    report = run_stages([sys.executable, str(server), "{port}", "{root}"], upto=2)
    assert [result.status for result in report.results[:3]] == [PASSED, PASSED, PASSED]
    assert report.failure is not None and report.failure.name == "02-bad-request"
    assert "does not begin with a status line" in report.failure.message


def test_a_program_that_exits_or_never_listens_is_reported_with_its_output():
    report = run_stages([sys.executable, "-c", "import sys; print('cannot start'); sys.exit(3)", "{port}"],
                        upto=1)
    assert report.results[0].status == FAILED and report.results[1].status == NOT_REACHED
    assert "exited with status 3" in report.results[0].message
    assert "cannot start" in report.results[0].message
    report = run_stages([sys.executable, "-c", "import time; time.sleep(30)", "{port}"], upto=1,
                        startup_timeout=0.5)
    assert "nothing listened on" in report.results[0].message


# A server that misbehaves in one way per argument, for the reports' tests: it prints 30
# numbered lines at start-up, then meets the first request as sys.argv[2] says (the
# tester's probe that the port is open sends nothing).
MISBEHAVING = """
import socket, struct, sys, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
for number in range(1, 31):
    print("line %d of the program's output" % number, flush=True)
while True:
    connection, _ = server.accept()
    if connection.recv(65536):
        break
how = sys.argv[2]
if how == "exit":
    sys.exit(3)
if how == "reset":  # SO_LINGER with a zero timeout: close() sends RST, not FIN
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
if how == "half-head":
    connection.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Le")
time.sleep(30)
"""


def misbehaving(how):
    return run_stages([sys.executable, "-c", MISBEHAVING, "{port}", how], names=["01-bind"], timeout=1.0)


def test_a_program_that_exits_mid_stage_is_reported_as_exited_with_its_last_20_lines():
    failure = misbehaving("exit").failure
    assert failure.problem.startswith("your program exited (status 3) during this stage")
    assert failure.exit_status == 3
    assert "Its last 20 lines of output:" in failure.message
    assert "line 30 of the program's output" in failure.message and "line 11 of" in failure.message
    assert "line 10 of" not in failure.message
    assert "Your program stopped" in failure.hint and failure.hint in failure.message


@pytest.mark.skipif(sys.platform == "win32", reason="Windows may report a reset as a close")
def test_a_reset_is_reported_as_a_reset():
    failure = misbehaving("reset").failure
    assert "the server reset the connection (a TCP RST) without answering" in failure.problem
    assert failure.exit_status is None


def test_silence_and_a_head_that_never_ends_are_reported_as_timeouts():
    failure = misbehaving("silent").failure
    assert failure.problem == "no answer within 1 s: the connection stayed open and nothing came back"
    failure = misbehaving("half-head").failure
    assert failure.problem == "an answer began (27 bytes) but its head did not end within 1 s"
    assert failure.rule.startswith("RFC 9112 §2.1") and "\\r\\n\\r\\n" in failure.hint


def test_a_failure_carries_its_problem_rule_and_hint_apart_for_the_grader():
    result = run_stages(TINY_COMMAND + ["--break", "user-agent-case"], names=["03-user-agent"],
                        timeout=2.0).failure
    assert result.problem == "the body is b'', not b'lower/case-name'"
    assert result.rule.startswith("RFC 9110 §5.1") and "lower case" in result.hint
    assert f"Rule:     {result.rule}" in result.message and f"Hint:     {result.hint}" in result.message


def test_stages_stay_in_chapter_order_whatever_order_modules_register_them():
    before = list(STAGES)
    try:
        stage("06-a-later-module", "a stage registered after chapter 08's", "RFC 9112 §9")(lambda context: None)
        names = [known.name for known in STAGES]
        assert names.index("06-a-later-module") == names.index("06-gzip") + 1
        assert names.index("06-a-later-module") < names.index("07-https")
        with pytest.raises(ValueError, match="two stages named 06-gzip"):
            stage("06-gzip", "a second stage of that name", "RFC 9112")(lambda context: None)
    finally:
        STAGES[:] = before
    assert all(isinstance(known, Stage) for known in STAGES)


LISTEN_AND_RECORD_PID = """
import os, socket, sys
open(sys.argv[2], "w").write(str(os.getpid()))
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    server.accept()[0].close()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill(pid, 0) probes a process on POSIX only")
def test_the_program_is_stopped_after_the_run(tmp_path):
    pid_file = tmp_path / "pid"
    report = run_stages([sys.executable, "-c", LISTEN_AND_RECORD_PID, "{port}", str(pid_file)], upto=1,
                        timeout=1.0)
    assert report.failure.name == "01-bind"  # it closes every connection unanswered
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_command_line_lists_stages_and_exits_with_the_verdict():
    listing = subprocess.run([sys.executable, "-m", "httpserver.stages", "--list"],
                             capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0
    assert all(stage.name in listing.stdout for stage in STAGES)
    failing = subprocess.run([sys.executable, "-m", "httpserver.stages", "--cmd",
                              " ".join(str(part) for part in TINY_COMMAND) + " --break lf-only",
                              "--stage", "01-bind"], capture_output=True, text=True, timeout=60)
    assert failing.returncode == 1 and "FAIL 01-bind" in failing.stdout
    passing = subprocess.run([sys.executable, "-m", "httpserver.stages", "--cmd",
                              " ".join(str(part) for part in TINY_COMMAND), "--upto", "2"],
                             capture_output=True, text=True, timeout=60)
    assert passing.returncode == 0, passing.stdout


def test_stage_names_are_numbered_by_chapter_and_in_order():
    chapters = [stage.chapter for stage in STAGES]
    assert chapters == sorted(chapters) and set(chapters) == set(range(1, 11))
    assert all(stage.name[:2] == f"{stage.chapter:02d}" and stage.name[2] == "-" for stage in STAGES)
    assert len({stage.name for stage in STAGES}) == len(STAGES)
    assert all("RFC" in stage.rule or "PEP 3333" in stage.rule for stage in STAGES)


def test_selection_by_chapter_by_name_and_unknown_names():
    assert {stage.chapter for stage in select_stages(upto=3)} == {1, 2, 3}
    assert [stage.name for stage in select_stages(names=["04-traversal"])] == ["04-traversal"]
    assert {stage.chapter for stage in select_stages(names=["06"])} == {6}
    with pytest.raises(ValueError, match="unknown stage 99-nothing"):
        select_stages(names=["99-nothing"])


def test_command_placeholders_are_filled_in_each_word():
    workspace = Workspace()
    try:
        arguments = command_arguments("python my server.py --port {port} --root={root}", 4321, workspace)
        assert arguments == [sys.executable, "my", "server.py", "--port", "4321", "--root=" + workspace.root]
        quoted = command_arguments('python "my server.py" --port {port}', 1, workspace, ["--x"])
        assert quoted[1:] == ["my server.py", "--port", "1", "--x"]
        with pytest.raises(ProgramError, match="must contain {port}"):
            command_arguments("python my_server.py", 1, workspace)
    finally:
        workspace.remove()


def test_escape_shows_line_ends_and_bytes_that_are_not_text():
    assert escape(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\\") == [
        "GET / HTTP/1.1\\r\\n", "Host: x\\r\\n", "\\r\\n", "\\x00\\xff\\\\"]
    assert escape(b"a" * 50, limit=10)[-1] == "... (40 more bytes)"


REPOSITORY = Path(__file__).resolve().parent.parent


def test_readme_and_each_chapters_build_section_name_every_stage_of_the_chapter():
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    assert f"# the {len(STAGES)} stages, chapter by chapter" in readme
    for chapter in range(1, 11):
        slugs = [known.name[3:] for known in STAGES if known.chapter == chapter]
        row = re.search(rf"^\| {chapter:02d} \|.*\| ([^|]*) \|$", readme, re.M)
        assert row and re.findall(r"`([a-z0-9-]+)`", row.group(1)) == slugs, (chapter, row and row.group(1))
        notebook = next((REPOSITORY / "notebooks").glob(f"{chapter:02d}_*.ipynb"))
        build = next(cell.source for cell in nbformat.read(notebook, as_version=4).cells
                     if cell.cell_type == "markdown" and cell.source.startswith("## Build"))
        named = re.findall(r"`(\d\d-[a-z0-9-]+)`", build)
        assert [name for name in named if name.startswith(f"{chapter:02d}-")] == \
            [f"{chapter:02d}-{slug}" for slug in slugs], notebook.name
