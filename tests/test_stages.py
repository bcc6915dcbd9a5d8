"""The stage tester, tested: it passes correct servers and catches broken ones.

Correct servers: the package's server on every model that serves clients
concurrently (the iterative model must fail exactly where chapter 05 says it
falls short), and tiny_server.py, written apart from the package. Broken ones:
tiny_server.py with one --break flaw each, which must fail the stage aimed at
that flaw, with a message that names the problem. Every run starts a real
process and talks to it over 127.0.0.1.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from httpserver.stages import FAILED, NOT_REACHED, PASSED, STAGES, run_stages, select_stages
from httpserver.stages import limits
from httpserver.stages.failure import escape
from httpserver.stages.program import ProgramError, command_arguments
from httpserver.stages.workspace import Workspace

TINY_SERVER = Path(__file__).resolve().parent / "stage_servers" / "tiny_server.py"
PACKAGE_SERVER = "python -m httpserver --port {port} --root {root} --directory {directory} --quiet"
TINY_COMMAND = [sys.executable, str(TINY_SERVER), "--port", "{port}", "--root", "{root}",
                "--directory", "{directory}"]
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
    assert "no complete response" in message and "thread" in message


def test_an_independent_correct_server_passes_every_stage():
    report = run_stages(TINY_COMMAND)
    assert report.passed, report.summary()


# (flaw planted in tiny_server.py, the stage that must catch it, words its message must contain)
FLAWS = [
    ("status-line", "01-bind", "does not read \"HTTP/1.1 <3-digit code>"),
    ("lf-only", "01-bind", "bare LF"),
    ("first-recv", "01-read-head", "before the request head was complete"),
    ("no-400", "02-bad-request", "not 400"),
    ("no-content-length", "03-echo", "no Content-Length"),
    ("short-content-length", "03-echo", "the body is b'strawberr'"),
    ("long-content-length", "03-echo", "Content-Length announced 11 bytes of body, but only 10 came"),
    ("no-date", "03-date", "no Date field"),
    ("traversal", "04-traversal", "the secret file outside --root and --directory came back"),
    ("partial-upload", "04-atomic-upload", "exists while only half the body has arrived"),
    ("body-ignored", "04-files-write", "holds 0 bytes, not the 2083 sent"),
    ("one-at-a-time", "05-concurrent", "while connections 1-9 are still open"),
    ("no-keep-alive", "06-keep-alive", "closed the connection without answering"),
    ("lost-pipeline", "06-pipelining", "answer 2 of 3"),
    ("no-chunked", "06-chunked-upload", "--directory/chunked.bin holds b''"),
    ("no-gzip", "06-gzip", "Content-Encoding is missing"),
    ("self-signed", "07-https", "certificate verify failed"),
    ("no-limits", "08-uri-too-long", "not 414"),
    ("smuggling", "08-smuggling", "the hidden request after the body was answered too"),
    ("wsgi-raw-path", "10-wsgi-environ", "the application saw PATH_INFO='/caf%C3%A9'"),
    ("wsgi-no-input", "10-wsgi-body", "the body came back as 0 bytes"),
    ("wsgi-first-piece", "10-wsgi-stream", "the body is b'one '"),
    ("wsgi-crash", "10-wsgi-error", "closed the connection without answering"),
]


@pytest.mark.parametrize("flaw, stage_name, words", FLAWS, ids=[flaw for flaw, _, _ in FLAWS])
def test_each_flaw_fails_the_stage_aimed_at_it(flaw, stage_name, words):
    report = run_stages(TINY_COMMAND + ["--break", flaw], names=[stage_name], timeout=2.0)
    assert report.failure is not None and report.failure.name == stage_name, report.summary()
    assert words in report.failure.message, report.failure.message
    assert "Rule:" in report.failure.message
    if flaw != "self-signed":  # a handshake that fails has no HTTP exchange to show
        assert "sent" in {direction for direction, _, _ in report.failure.exchange}


def test_a_head_without_deadline_fails_slowloris(monkeypatch):
    monkeypatch.setattr(limits, "SLOWLORIS_BOUND", 3.0)  # the flawless tiny server cuts at 1 s
    report = run_stages(TINY_COMMAND + ["--break", "no-head-deadline"], names=["08-slowloris"])
    assert report.failure is not None and report.failure.name == "08-slowloris"
    assert "the trickled head was still being accepted" in report.failure.message
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
