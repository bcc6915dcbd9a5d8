"""Promises the repository makes: one environment, clean notebooks, no secrets."""

import ast
import json
import re
import subprocess
import sys

import pytest

from conftest import REPOSITORY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None


def requirement_names(requirements):
    return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower() for requirement in requirements}


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = set().union(*(requirement_names(requirements) for requirements in extras.values()))
    wanted.discard("httpserver")  # extras include the notebook extra by name
    listed = set()
    text = (REPOSITORY / "environment.yml").read_text(encoding="utf-8")
    dependencies = text.split("dependencies:", 1)[1]
    for line in dependencies.splitlines():
        match = re.match(r"  - ([A-Za-z0-9_.\-]+)", line)  # conda packages, not pip's "-e ."
        if match and match.group(1) not in ("python", "pip"):
            listed.add(match.group(1).lower())
    assert listed == wanted


def test_server_package_uses_only_the_standard_library():
    """The server runs on a bare Python; only httpserver.lab may use more (lazily)."""
    allowed_third_party = {"cryptography"}  # imported inside a function, only for --tls without files
    for path in (REPOSITORY / "httpserver").glob("*.py"):
        # The benchmark is a tool, not the server: it may plot, if matplotlib is there.
        allowed = allowed_third_party | ({"matplotlib"} if path.name == "bench.py" else set())
        # HTTP/2 (an optional extra) lives in http2.py, imported only once a client chose "h2".
        allowed |= {"h2"} if path.name == "http2.py" else set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in allowed or top == "httpserver", (path.name, name)


def test_only_alpn_imports_the_http2_module_and_only_when_asked():
    """Without h2 installed, the HTTP/1.1 server imports nothing that needs it."""
    for path in (REPOSITORY / "httpserver").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: an import inside a function runs when called
            if isinstance(node, ast.ImportFrom) and node.module in ("http2", "httpserver.http2"):
                raise AssertionError(f"{path.name} imports the HTTP/2 module at load time")
    code = ("import sys; sys.modules['h2'] = None\n"  # as if h2 were not installed
            "import httpserver, httpserver.__main__, httpserver.eventloop, httpserver.pool, httpserver.blocking\n"
            "from httpserver import serve_in_background\n"
            "import requests\n"
            "with serve_in_background(model='select') as server:\n"
            "    assert requests.get(server.url + '/echo/ok', timeout=5).text == 'ok'\n"
            "assert 'httpserver.http2' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_only_io_modules_import_socket_selectors_or_ssl():
    io_modules = {"blocking.py", "pool.py", "eventloop.py", "server.py", "listener.py", "tls.py", "bench.py", "workers.py",
                  "outbox.py", "linger.py", "bench_pressure.py", "bench_instructions.py", "drain.py"}
    for path in (REPOSITORY / "httpserver").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^import (socket|selectors|ssl)\b", text, re.MULTILINE):
            assert path.name in io_modules, path.name


def test_notebooks_are_committed_without_outputs():
    for path in sorted((REPOSITORY / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name} cell {index}"


def test_no_private_key_is_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPOSITORY, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    for name in tracked.stdout.splitlines():
        path = REPOSITORY / name
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert b"PRIVATE " + b"KEY-----" not in path.read_bytes(), name


def test_readme_starts_with_the_two_commands():
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    first_commands = readme[:3000]
    assert "make lab" in first_commands and "make test" in first_commands


# Files a reader of this repository does not have: developer notes kept elsewhere,
# folders next to the checkout, and absolute paths of the machine it was written on.
OUTSIDE_REFERENCES = re.compile(r"\bDESIGN\.md\b|\bSTYLE\.md\b|\.\./shared\b|(?<![\w.~-])/work/|/wt-\w")


def tracked_text_files():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPOSITORY, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    for name in tracked.stdout.splitlines():
        path = REPOSITORY / name
        if path.is_file() and path.suffix not in (".png", ".ico", ".pcap", ".gz"):
            yield name, path.read_text(encoding="utf-8", errors="replace")


def test_nothing_refers_to_files_outside_the_repository():
    this_test = "tests/test_repository.py"  # the patterns themselves are here
    found = [f"{name}: {match.group(0)!r}"
             for name, text in tracked_text_files() if name != this_test
             for match in OUTSIDE_REFERENCES.finditer(text)]
    assert found == []


def test_relative_links_in_markdown_lead_to_files_of_the_repository():
    for name, text in tracked_text_files():
        if not name.endswith(".md"):
            continue
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https://..., mailto:...
            resolved = ((REPOSITORY / name).parent / target).resolve()
            assert resolved.is_relative_to(REPOSITORY.resolve()) and resolved.exists(), (name, target)


def test_every_mention_of_the_default_model_is_the_one_in_the_code():
    from httpserver.background import DEFAULT_MODEL, make_server
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    marked = re.findall(r"`(?:--model )?(\w+)` \(default\)", readme)  # models table, benchmark table
    assert len(marked) >= 2 and set(marked) == {DEFAULT_MODEL}, marked
    help_text = subprocess.run([sys.executable, "-m", "httpserver", "--help"], capture_output=True,
                               text=True, cwd=REPOSITORY, timeout=30).stdout
    assert f"(default: {DEFAULT_MODEL})" in " ".join(help_text.split())
    server = make_server(port=0)
    try:
        assert server.model == DEFAULT_MODEL
    finally:
        server.close()
