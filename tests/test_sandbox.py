"""The sandbox students' code runs in: what it cannot see, reach, keep or exceed."""

import os
import subprocess
import sys
import time

import pytest

from conftest import REPOSITORY
from httpserver.classroom import sandbox

pytestmark = pytest.mark.skipif(sandbox.unavailable() is not None,
                                reason="no sandbox here: %s" % sandbox.unavailable())
STDLIB = [sandbox.python_for(course=False), "-S", "-s", "-c"]
LIMITS = sandbox.Limits(wall_seconds=20)


def inside(code, view=None, limits=LIMITS):
    """Run `code` with the standard-library interpreter in a sandbox; its Outcome."""
    return sandbox.run(STDLIB + [code], view or sandbox.View(), limits)


def test_the_package_cannot_be_imported_however_it_is_spelled():
    code = f"""
import importlib, site, sys
sys.path[:0] = [{str(REPOSITORY)!r}, {str(REPOSITORY / 'httpserver')!r}]
site.main()
for attempt in ("import httpserver", "__import__('http' + 'server')",
                "importlib.import_module(''.join(['http', 'server', '.app']))"):
    try:
        exec(attempt)
        print("imported", attempt)
    except ImportError:
        print("refused")
"""
    outcome = inside(code)
    assert outcome.returncode == 0, outcome.output
    assert outcome.output.split() == ["refused"] * 3


def test_nothing_of_the_host_is_there_but_the_system_and_python():
    here = str(REPOSITORY)
    outcome = inside(f"""
import os
for path in [{here!r}, {here + '/notebooks'!r}, {os.path.expanduser('~')!r} + '/.ssh', '/work', '/var/tmp']:
    print(path, os.path.exists(path) and os.listdir(path))
print(sorted(os.listdir('/home/student')), sorted(os.listdir('/tmp')))
""")
    lines = outcome.output.splitlines()
    assert all(line.endswith(" False") for line in lines[:-1]), outcome.output
    assert lines[-1] == "[] []"


def test_the_course_view_has_the_package_but_not_the_instructors_tools_or_chapters():
    outcome = sandbox.run([sandbox.python_for(course=True), "-s", "-c", f"""
import os, httpserver, httpserver.lab.checks
print(os.path.exists({str(REPOSITORY / 'notebooks')!r}), os.listdir(os.path.dirname(httpserver.__file__) + '/classroom'))
try:
    import httpserver.classroom.grade
except ImportError:
    print("no grader")
"""], sandbox.View(course=True), LIMITS)
    assert outcome.output.split("\n")[:2] == ["False []", "no grader"], outcome.output


def test_no_network_but_its_own_loopback():
    outcome = inside("""
import socket
listener = socket.create_server(('127.0.0.1', 0))
with socket.create_connection(listener.getsockname()):
    print('loopback works')
for address in [('10.0.0.1', 80), ('1.1.1.1', 53)]:
    try:
        socket.create_connection(address, timeout=2)
        print('reached', address)
    except OSError:
        print('unreachable')
""")
    assert outcome.output.split("\n")[:3] == ["loopback works", "unreachable", "unreachable"], outcome.output


def test_its_processes_see_only_each_other_and_cannot_signal_the_grader():
    outcome = inside(f"""
import os, signal
print(sorted(int(name) for name in os.listdir('/proc') if name.isdigit()))
try:
    os.kill({os.getpid()}, signal.SIGKILL)
    print('killed the grader?')
except ProcessLookupError:
    print('no such process')
""")
    pids, verdict = outcome.output.splitlines()[:2]
    assert len(eval(pids)) <= 3 and verdict == "no such process"


def test_a_private_tmp_and_home_that_vanish(tmp_path):
    marker = f"/tmp/sandbox-test-{os.getpid()}"
    outcome = inside(f"open({marker!r}, 'w').write('x'); open('/home/student/y', 'w').write('y'); print('written')")
    assert outcome.output.strip() == "written"
    assert not os.path.exists(marker)


def test_memory_is_limited():
    outcome = inside("hog = bytearray(3 * 1024 ** 3)", limits=sandbox.Limits(memory_mb=512, wall_seconds=20))
    assert "MemoryError" in outcome.output
    assert outcome.limit_hit(sandbox.Limits(memory_mb=512)).startswith("memory")


def test_processes_are_limited():
    outcome = inside("""
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        children += 1
except OSError:
    print('stopped at', children)
""", limits=sandbox.Limits(processes=20, wall_seconds=20))
    assert "stopped at" in outcome.output and int(outcome.output.split()[-1]) < 20


def test_cpu_time_is_limited():
    outcome = inside("while True: pass", limits=sandbox.Limits(cpu_seconds=1, wall_seconds=20))
    assert outcome.signal_name in ("SIGXCPU", "SIGKILL") and outcome.seconds < 10
    assert "CPU" in outcome.limit_hit(sandbox.Limits(cpu_seconds=1))


def test_the_wall_clock_ends_it_and_everything_it_started():
    tag = "sandbox-test-%d-%d" % (os.getpid(), time.time_ns())
    started = time.monotonic()
    outcome = inside(f"""
import os, subprocess, time
subprocess.Popen(['sleep', '600', {tag!r}], start_new_session=True, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    time.sleep(600)
while True:
    time.sleep(1)
""", limits=sandbox.Limits(wall_seconds=2))
    assert outcome.timed_out and time.monotonic() - started < 10
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout
    assert left == "", "processes left running: " + left


def test_a_process_left_behind_when_the_program_exits_is_ended_too():
    tag = "sandbox-linger-%d-%d" % (os.getpid(), time.time_ns())
    outcome = inside(f"import subprocess; subprocess.Popen(['sleep', '600', {tag!r}], start_new_session=True)")
    assert outcome.returncode == 0 and not outcome.timed_out
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", tag], capture_output=True).stdout == b""


def test_files_given_are_read_only_and_the_exchange_folder_is_shared(tmp_path):
    given = tmp_path / "given.txt"
    given.write_text("hello")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    outcome = inside("""
print(open('given.txt').read())
try:
    open('given.txt', 'w')
except OSError:
    print('read-only')
open('exchange/out.txt', 'w').write('from inside')
""", sandbox.View(files={"given.txt": given}, exchange=str(exchange)))
    assert outcome.output.split() == ["hello", "read-only"]
    assert (exchange / "out.txt").read_text() == "from inside"


def test_without_a_sandbox_make_grade_refuses_and_says_what_it_risks(tmp_path, monkeypatch, capsys):
    from httpserver.classroom import grade

    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap is not installed")
    (tmp_path / "student").mkdir()
    assert grade.main([str(tmp_path), "--out", str(tmp_path / "grades")]) == 2
    error = capsys.readouterr().err
    assert "bubblewrap is not installed" in error and "--no-sandbox" in error
    assert "other students' submissions" in error and not (tmp_path / "grades").exists()


def test_the_grader_runs_here_as_the_readme_says():
    finished = subprocess.run([sys.executable, "-m", "httpserver.classroom.grade", "--help"],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0 and "--no-sandbox" in finished.stdout
