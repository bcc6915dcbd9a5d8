"""The learner's server: the reference passes every stage, its skeleton runs and says what to
build, partial builds pass what they built, and the chapters' helpers report in words."""

import ast
import http.client
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from httpserver.lab import build
from httpserver.lab.checks import CheckFailed
from httpserver.classroom.student import SolutionMarkerError, make_student_script, write_student_copies
from httpserver.stages import STAGES, run_stages

from conftest import REPOSITORY

REFERENCE = REPOSITORY / "notebooks" / "my_server.py"
SOURCE = REFERENCE.read_text(encoding="utf-8")
SKELETON = make_student_script(SOURCE, name="my_server.py")[0]


def region_of(source, function):
    """The reference's answer for `function`: the lines between its BEGIN and END lines."""
    match = re.search(r"def %s\(.*?### BEGIN SOLUTION[^\n]*\n(.*?)\n\s*### END SOLUTION" % function,
                      source, re.S)
    assert match, function
    return match.group(1)


def fill(skeleton, function, body):
    """`skeleton` with the missing part of `function` replaced by `body` (indented as a function body)."""
    pattern = r"(def %s\(.*?\n)(\s*)raise NotImplementedError\(\"not built yet[^\n]*" % function
    match = re.search(pattern, skeleton, re.S)
    assert match, function
    indent = match.group(2).lstrip("\n")
    filled = textwrap.indent(textwrap.dedent(body), indent)
    return skeleton[:match.start(2)] + "\n" + filled + skeleton[match.end():]


def write(tmp_path, source):
    path = tmp_path / "my_server.py"
    path.write_text(source, encoding="utf-8")
    return path


def start(path, tmp_path):
    """Start a my_server.py on a free port; return (process, port), once it listens."""
    process = subprocess.Popen([sys.executable, str(path), "--port", "0", "--root", str(REPOSITORY / "data" / "www"),
                                "--directory", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline()  # "listening on http://127.0.0.1:PORT/"
    match = re.search(r":(\d+)/", line)
    if not match:
        process.kill()
        process.wait(5)
        pytest.fail("my_server.py did not start: %r %r" % (line, process.stderr.read()))
    return process, int(match.group(1))


def stop(process):
    process.terminate()
    process.wait(10)
    process.stdout.close()
    process.stderr.close()


def get(port, target):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# ---------------------------------------------------------------- the reference and its skeleton

def test_the_reference_server_passes_every_stage():
    report = run_stages(build.server_command(REFERENCE))
    assert report.passed, report.summary()
    assert [result.status for result in report.results] == ["passed"] * len(report.results)
    assert {result.chapter for result in report.results} >= set(range(1, 10))


def test_the_reference_uses_the_standard_library_and_trustme_only():
    imported = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert "httpserver" not in imported
    if hasattr(sys, "stdlib_module_names"):  # Python 3.10+
        assert imported - set(sys.stdlib_module_names) == {"trustme"}


def test_the_skeleton_compiles_and_keeps_no_answer():
    compile(SKELETON, "my_server.py", "exec")
    regions = SOURCE.count("### BEGIN SOLUTION (")
    assert regions == SKELETON.count('raise NotImplementedError("not built yet (chapter ')
    assert "### BEGIN SOLUTION" not in SKELETON and "### END SOLUTION" not in SKELETON
    for answer_line in ("pieces.append(piece)", "os.replace(temporary, path)", "int(size_line.group(1), 16)",
                        "context.load_cert_chain(certfile, keyfile)"):
        assert answer_line in SOURCE and answer_line not in SKELETON


def test_each_part_names_its_chapter_and_a_stage_that_exists():
    names = {stage.name for stage in STAGES}
    missing = build.parts_not_built(SKELETON)
    assert len(missing) == SOURCE.count("### BEGIN SOLUTION (")
    for function, message in missing:
        match = re.fullmatch(r"not built yet \(chapter (\d\d), stage (\d\d-[a-z-]+)\)", message)
        assert match, (function, message)
        assert match.group(2) in names, (function, message)
        assert int(match.group(1)) <= int(match.group(2)[:2]), "taught before it is tested"


def test_the_skeleton_says_what_to_build_first(tmp_path):
    path = write(tmp_path, SKELETON)
    finished = subprocess.run([sys.executable, str(path), "--port", "0"], capture_output=True, text=True,
                              timeout=30)
    assert finished.returncode == 1
    assert finished.stderr.strip() == "my_server: not built yet (chapter 01, stage 01-bind)"
    with pytest.raises(build.BuildFailed) as failure:
        build.check_my_server(upto=2, path=path)
    report = str(failure.value)
    assert re.search(r"✗ 01-bind\s+failed", report)
    assert re.search(r"· 02-bad-request\s+not reached", report)
    assert "open_listener        not built yet (chapter 01, stage 01-bind)" in report
    assert "parse_headers" not in report.split("still to write")[1], "only chapter 01's parts are due"
    assert isinstance(failure.value, CheckFailed)


def chapter_01_build():
    """The skeleton with chapter 01 written the simple way chapter 01's Build section asks."""
    source = SKELETON
    for function in ("open_listener", "recv_exactly", "recv_until"):
        source = fill(source, function, region_of(SOURCE, function))
    source = fill(source, "serve_forever", """\
        while True:
            connection, _address = listener.accept()
            serve_one(connection, config)
        """)
    return fill(source, "handle_connection", """\
        recv_until(sock, b"\\r\\n\\r\\n")
        sock.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
        """)


def test_chapter_01_parts_alone_pass_the_chapter_01_stages(tmp_path):
    path = write(tmp_path, chapter_01_build())
    assert build.check_my_server(upto=1, path=path).passed
    report = run_stages(build.server_command(path), upto=2)
    assert [result.status for result in report.results] == ["passed", "passed", "failed", "not reached",
                                                             "not reached"]
    assert "404" in report.failure.message


def test_a_missing_part_fails_its_requests_only(tmp_path):
    unbuilt = '    raise NotImplementedError("not built yet (chapter 03, stage 03-echo)")'
    path = write(tmp_path, SOURCE.replace(region_of(SOURCE, "echo"), unbuilt))
    process, port = start(path, tmp_path)
    try:
        status, body = get(port, "/echo/hello")
        assert status == 500
        assert b"not built yet (chapter 03, stage 03-echo)" in body
        assert get(port, "/about.txt")[0] == 200  # the server goes on, other routes work
    finally:
        stop(process)


# ---------------------------------------------------------------- the student generator's .py output

def test_make_student_writes_the_skeleton_beside_the_chapters(tmp_path, capsys):
    written = write_student_copies(REPOSITORY / "notebooks", tmp_path / "student")
    skeleton = tmp_path / "student" / "my_server.py"
    assert skeleton in written
    assert skeleton.read_text(encoding="utf-8") == SKELETON
    parts = SOURCE.count("### BEGIN SOLUTION (")
    assert "wrote %s (%d parts removed)" % (skeleton, parts) in capsys.readouterr().out


def test_script_regions_keep_their_indentation_and_words():
    source = "def f():\n    ### BEGIN SOLUTION (chapter 04, stage 04-static)\n    return 1\n    ### END SOLUTION\n"
    skeleton, parts = make_student_script(source)
    assert parts == 1
    assert skeleton == 'def f():\n    raise NotImplementedError("not built yet (chapter 04, stage 04-static)")\n'
    plain = make_student_script("def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION\n")[0]
    assert 'raise NotImplementedError("not built yet")' in plain


def test_script_marker_errors_name_the_file_and_write_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "my_server.py").write_text("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(SolutionMarkerError, match="my_server.py"):
        write_student_copies(tmp_path / "in", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_region_that_breaks_the_syntax_is_refused():
    with pytest.raises(SyntaxError):
        make_student_script("x = (1,\n### BEGIN SOLUTION\n2)\n### END SOLUTION\n")


# ---------------------------------------------------------------- loading and reporting

def test_load_my_server_reads_the_file_afresh(tmp_path):
    path = write(tmp_path, "def answer():\n    return 1\n")
    assert build.load_my_server(path).answer() == 1
    path.write_text("def answer():\n    return 2\n")
    assert build.load_my_server(path).answer() == 2


@pytest.mark.parametrize("source, complaint", [
    (None, "no my_server.py in"),
    ("def broken(:\n", "does not run: line 1"),
    ("import httpserver.paths\n", "line 1, imports httpserver.paths: your server must be your own"),
    ("from httpserver import serve_in_background\n", "imports httpserver"),
    ("raise RuntimeError('boom')\n", "does not run: RuntimeError: boom"),
])
def test_load_my_server_explains_what_is_wrong(tmp_path, source, complaint):
    if source is not None:
        write(tmp_path, source)
    with pytest.raises(CheckFailed, match=re.escape(complaint)):
        build.load_my_server(tmp_path / "my_server.py")


def test_the_ladder_shows_who_sent_what_escaped_and_when():
    exchange = [("sent", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10.0),
                ("received", b"HTTP/1.1 500 Internal Server Error\r\n", 10.0125),
                ("received", b"", 10.02)]
    lines = build.ladder_text(exchange).splitlines()
    assert "tester" in lines[0] and "your server" in lines[0]
    assert lines[1].split()[0] == "0.0" and "── GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n (27 B) ──▶" in lines[1]
    assert lines[2].split()[0] == "12.5" and "◀── HTTP/1.1 500" in lines[2]
    assert "(closed its side)" in lines[3]
    assert "no bytes moved" in build.ladder_text([])


def test_escaped_cuts_the_middle_of_long_bytes():
    text = build.escaped(b"a" * 1000 + b"\r\n", limit=100)
    assert len(text) < 110 and text.endswith("\\r\\n") and " … " in text


def test_chapter_of_reads_the_chapter_number():
    assert build.chapter_of("not built yet (chapter 04, stage 04-static)") == 4
    assert build.chapter_of("not built yet") is None


def test_measuring_waits_for_a_complete_server(tmp_path):
    path = write(tmp_path, SKELETON)
    for measure in (build.measure_my_server, build.profile_my_server):
        with pytest.raises(build.BuildFailed, match=r"(?s)not built yet.*open_listener"):
            measure(path=path)


def test_profile_of_the_reference_sees_its_request_path():
    profile = build.profile_my_server(path=REFERENCE, requests=200)
    functions = {name for (_file, _line, name) in profile.stats}
    assert {"handle_connection", "read_request_head", "parse_request_line", "route"} <= functions
    calls = {name: entry[1] for (_file, _line, name), entry in profile.stats.items()}
    assert calls["parse_request_line"] == 200


def test_measurements_of_the_reference_are_bounded_and_complete():
    started = time.monotonic()
    results = build.measure_my_server(path=REFERENCE, connections=(1, 4), requests=200, duration=0.5,
                                      models=("select",))
    assert time.monotonic() - started < 30
    assert set(results) == {"my_server.py", "http.server", "select"}
    for name, by_count in results.items():
        for count, result in by_count.items():
            assert 0 < len(result.records) <= 200, (name, count)
            assert all(record.status == 200 for record in result.records), (name, count)
    table = build.measurement_table(results)
    assert table.splitlines()[1].startswith("my_server.py")


def test_an_unwritten_part_is_reported_as_not_attempted_in_my_server(tmp_path):
    from httpserver.lab.checks import Case, NotAttempted, check

    my_server = build.load_my_server(write(tmp_path, SKELETON))
    with pytest.raises(NotAttempted) as failure:
        check(my_server.recv_exactly, [Case((None, 0), b"")])
    assert str(failure.value) == ("not attempted yet: `recv_exactly` is not built yet (chapter 01, "
                                  "stage 01-read-head): write it in my_server.py")


def test_a_student_copy_fails_only_in_its_exercise_checks_and_build_cell(tmp_path):
    """Chapter 02 as handed out: its three checks say "not attempted yet", its Build cell "not built yet"."""
    student = tmp_path / "student"
    write_student_copies(REPOSITORY / "notebooks", student)
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         "02_http_messages.ipynb"], cwd=student, capture_output=True, text=True, timeout=600)
    output = finished.stdout
    assert finished.returncode == 1, output[-3000:]
    failed = re.findall(r"^FAILED 02_http_messages.ipynb::Cell (\d+)", output, re.M)
    assert len(failed) == 4, output[-3000:]
    for part in ("parse_request_line", "parse_headers", "decode_chunked"):
        assert "✗ not attempted yet: `%s` is not built yet (chapter 02" % part in output
    assert "✗ my_server.py, stages up to chapter 02: 0 of 5 passed" in output
    assert "open_listener        not built yet (chapter 01, stage 01-bind)" in output


# ---------------------------------------------------------------- the reference, against oracles

@pytest.fixture
def reference(tmp_path):
    """The reference my_server.py running on a free port, with an empty --directory."""
    process, port = start(REFERENCE, tmp_path)
    yield "http://127.0.0.1:%d" % port, tmp_path
    stop(process)


def test_reference_answers_head_gzip_and_uploads_as_requests_reads_them(reference):
    requests = pytest.importorskip("requests")
    url, directory = reference
    with requests.Session() as session:
        page = session.get(url + "/about.txt", headers={"Accept-Encoding": "gzip"})
        assert page.headers["Content-Encoding"] == "gzip"
        assert page.content == (REPOSITORY / "data" / "www" / "about.txt").read_bytes()  # requests gunzips
        head = session.head(url + "/about.txt", headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["Content-Length"]) == (REPOSITORY / "data" / "www" / "about.txt").stat().st_size
        created = session.post(url + "/files/chunked.bin", data=iter([b"one ", b"two ", b"three"]))
        assert created.status_code == 201  # a generator body goes out chunked
        assert (directory / "chunked.bin").read_bytes() == b"one two three"
        assert session.put(url + "/files/chunked.bin", data=b"new").status_code == 204
        assert session.get(url + "/files/chunked.bin").content == b"new"
        assert session.delete(url + "/files/chunked.bin").status_code == 204
        assert session.get(url + "/files/chunked.bin").status_code == 404
        assert session.post(url + "/echo/x").headers["Allow"] == "GET, HEAD"


def test_reference_sends_100_continue_to_curl(reference):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    url, directory = reference
    body = directory / "upload.bin"
    body.write_bytes(b"x" * 2048)
    finished = subprocess.run([curl, "-sv", "-H", "Expect: 100-continue", "--data-binary", "@%s" % body,
                               url + "/files/copy.bin"], capture_output=True, text=True, timeout=30)
    assert "HTTP/1.1 100 Continue" in finished.stderr and "HTTP/1.1 201 Created" in finished.stderr
    assert (directory / "copy.bin").read_bytes() == b"x" * 2048


def test_reference_keeps_an_http_1_0_connection_only_when_asked(reference):
    url, _ = reference
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /echo/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        first = b""
        while not first.endswith(b"\r\n\r\na"):  # one whole response; the connection stays open
            first += sock.recv(65536)
        assert b"Connection: keep-alive" in first
        sock.sendall(b"GET /echo/b HTTP/1.0\r\n\r\n")
        rest = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            rest += piece
    assert first.endswith(b"\r\n\r\na") and rest.endswith(b"\r\n\r\nb") and b"Connection: close" in rest
