"""Mock submissions for the grading tests: chapters as students hand them in, honest and not.

`submission(...)` edits one chapter's notebook. `mock_class(folder, copies)` writes a
whole class: a perfect student, a blank one, and students who cheat in every way the
grader must defeat (each cheat on top of a blank hand-in, so each must score 0).
"""

import base64
import hashlib
import sys
from pathlib import Path

import nbformat

from conftest import REPOSITORY

NOTEBOOKS = REPOSITORY / "notebooks"

RIGHT = "instructor's answer"  # stands for the answer in the instructor's notebook
WRONG_GET_REQUEST = 'def build_get_request(path, host):\n    return b"GET / HTTP/1.0\\r\\n\\r\\n"\n'
# A hang that ignores the kernel's interrupt: only killing the process ends it.
HANGING = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
MARKER = "/tmp/httpserver-cheat-was-here"  # a file a cheat tries to leave on the grader's machine


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def instructor_sources(chapter_file, notebooks=NOTEBOOKS):
    notebook = nbformat.read(str(Path(notebooks) / chapter_file), as_version=4)
    return {grade_id(cell): cell.source for cell in notebook.cells if grade_id(cell)}


def submission(start, chapter_file, answers=(), edited_checks=(), deleted_checks=(), extra_cells=()):
    """The notebook `start` (a student copy or an nbgrader release) with answers filled in.

    answers maps a solution cell's id to its new source (RIGHT for the instructor's);
    edited_checks maps a check cell's id to new source; deleted_checks lists check ids.
    """
    answers, edited_checks = dict(answers), dict(edited_checks)
    instructor = instructor_sources(chapter_file)
    notebook = nbformat.read(str(start), as_version=4)
    for cell in notebook.cells:
        cell_id = grade_id(cell)
        if cell_id in answers:
            cell.source = instructor[cell_id] if answers[cell_id] == RIGHT else answers[cell_id]
        if cell_id in edited_checks:
            cell.source = edited_checks[cell_id]
    notebook.cells = [cell for cell in notebook.cells if grade_id(cell) not in deleted_checks]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    return notebook


def write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def digest(folder):
    """One hash of every file under `folder`: to show nothing in it changed."""
    hashes = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            hashes.update(str(path).encode() + path.read_bytes())
    return hashes.hexdigest()


# ------------------------------------------------------------------ cheats in my_server.py

def server_cheats(submissions):
    """{student: the my_server.py they hand in}: each tries to pass without writing a server."""
    venv_python, repository = sys.executable, str(REPOSITORY)
    payload = base64.b64encode(b"from httpserver.__main__ import main\nimport sys\nsys.exit(main())").decode()
    run_package = "\nif __name__ == '__main__':\n    sys.exit(main())\n"
    answers = ("parse_request_line parse_headers decode_chunked build_response safe_join recv_exactly "
               "recv_until accepts body_length atomic_write serve_in_thread").split()
    snoop = '''
import os, sys
found = None
for top in ["/", "/work", "/tmp", "/home", %r, %r]:
    for folder, _, files in os.walk(top):
        if folder.startswith("/proc"):
            continue
        for name in files:
            path = os.path.join(folder, name)
            if name == "my_server.py" and path != os.path.abspath(__file__):
                try:
                    text = open(path).read()
                except OSError:
                    continue
                if "def parse_request_line" in text and "not built yet" not in text:
                    found = text
    if found:
        break
exec(found or "raise SystemExit('nothing to copy')")
''' % (repository, str(submissions))
    return {
        "cheat-import": "import sys\nfrom httpserver.__main__ import main\n%s\n" % "\n".join(
            "from httpserver.parser import *" for _ in range(1)) + run_package,
        "cheat-computed-import": "import sys\nmain = __import__('http' + 'server.__main__', fromlist=['main']).main"
                                 + run_package,
        "cheat-importlib": "import importlib, sys\nmain = importlib.import_module(''.join(['http', 'server', "
                           "'.__main__'])).main" + run_package,
        "cheat-base64": "import base64\nexec(base64.b64decode(%r))\n" % payload,
        "cheat-execv": "import os, sys\nfor python in [%r, sys.executable, '/usr/bin/python3']:\n"
                       "    try:\n        os.execv(python, [python, '-m', 'httpserver'] + sys.argv[1:])\n"
                       "    except OSError:\n        pass\n" % venv_python,
        "cheat-path-hack": "import glob, site, sys\nsys.path.insert(0, %r)\n"
                           "for folder in glob.glob(%r + '/.venv/lib/python3*/site-packages'):\n"
                           "    site.addsitedir(folder)\nfrom httpserver.__main__ import main\n"
                           "from httpserver.parser import *%s" % (repository, repository, run_package),
        "cheat-snoop": snoop,
        "cheat-forged-report": "import os\nfor fd in range(3, 64):\n    try:\n"
                               "        os.write(fd, b'{\"loaded\": true, \"cases\": []}')\n"
                               "    except OSError:\n        pass\nos._exit(0)\n",
        "cheat-kill": "import os, signal\nfor target in (os.getppid(), 1):\n    try:\n"
                      "        os.kill(target, signal.SIGKILL)\n    except OSError:\n        pass\n"
                      "try:\n    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)\nexcept OSError:\n    pass\n",
        "cheat-linger": "import os, subprocess, time\n"
                        "subprocess.Popen(['sleep', '3600'], start_new_session=True)\n"
                        "if os.fork() == 0:\n    os.setsid()\n    for _ in range(600):\n"
                        "        open(%r, 'w').write('still here')\n        time.sleep(0.1)\n"
                        "    os._exit(0)\n" % MARKER,
        "cheat-memory": "hog = bytearray(3 * 1024 ** 3)\n",
        "cheat-fork-bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        break\n",
        "cheat-sabotage": '''
import os
for top in [%r, %r]:  # classmates, the instructor's chapters
    for folder, _, files in os.walk(top):
        for name in files:
            if name.endswith((".ipynb", ".py", ".csv", ".json")) and os.path.join(folder, name) != os.path.abspath(__file__):
                try:
                    open(os.path.join(folder, name), "w").write("sabotaged")
                except OSError:
                    pass
''' % (str(submissions), repository + "/notebooks"),
        "cheat-names": "\n".join("def %s(*args, **kwargs):\n    return None\n" % name for name in answers),
    }


# ------------------------------------------------------------------ cheats in answer cells

PATCH_CHECKERS = ("import httpserver.lab.checks as checks\nimport httpserver.lab.build as build\n"
                  "checks.check = lambda *args, **kwargs: print('✓ all cases pass')\n"
                  "checks.check_equal = lambda *args, **kwargs: print('✓ as expected')\n"
                  "build.check_my_server = lambda *args, **kwargs: print('✓ every stage passed')\n")
CUSTOM_EXC = "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
HARD_CODED = {  # the answers the chapters' own check cells expect, and nothing else
    "ch03-status_class": "def status_class(code):\n    table = {100: 'informational', 200: 'success', "
                         "304: 'redirection', 404: 'client error', 503: 'server error', 199: 'informational', "
                         "299: 'success', 452: 'client error', 599: 'server error'}\n"
                         "    if code in table:\n        return table[code]\n    raise ValueError(code)\n",
    "ch05-percentile": "def percentile(latencies, p):\n    if not latencies or not 0 <= p <= 100:\n"
                       "        raise ValueError(p)\n    return {(50, 5): 35, (30, 5): 20, (40, 5): 20, (100, 5): 50, "
                       "(0, 5): 15, (99, 100): 99, (7, 100): 7}.get((p, len(latencies)), 0)\n",
    "ch00-build_get_request": "def build_get_request(path, host):\n    return {('/', 'example.com'): "
                              "b'GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n', ('/echo/hi', '127.0.0.1:4221'): "
                              "b'GET /echo/hi HTTP/1.1\\r\\nHost: 127.0.0.1:4221\\r\\n\\r\\n', ('/about.txt', "
                              "'127.0.0.1'): b'GET /about.txt HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n'}[(path, host)]\n",
}
SNOOP_NOTEBOOK = '''import json, os
source = None
for folder, _, files in os.walk("/"):
    if folder.startswith(("/proc", "/sys")):
        continue
    for name in files:
        if name.endswith(".ipynb"):
            try:
                cells = json.load(open(os.path.join(folder, name)))["cells"]
            except (OSError, ValueError, KeyError):
                continue
            for cell in cells:
                text = "".join(cell["source"])
                if "def status_class" in text and "BEGIN SOLUTION" in text:
                    source = text
exec(source)
'''


def answer_cheats():
    """{student: {answer cell id: source}}: notebook answers that try to pass without being right."""
    wrong = {"ch00-build_get_request": WRONG_GET_REQUEST,
             "ch03-status_class": "def status_class(code):\n    return 'success'\n"}
    return {
        "cheat-patched-checkers": {key: PATCH_CHECKERS + value for key, value in wrong.items()},
        "cheat-custom-exc": {key: CUSTOM_EXC + value for key, value in wrong.items()},
        "cheat-transformer": {key: TRANSFORMER + value for key, value in wrong.items()},
        "cheat-hard-coded": HARD_CODED,
        "cheat-snoop-notebook": {"ch03-status_class": SNOOP_NOTEBOOK},
    }


def chapters_of(folder):
    return sorted(path.name for path in Path(folder).glob("*.ipynb"))


def mock_class(submissions, copies):
    """Write a class into `submissions` from the student copies in `copies`; {student: expected total}.

    The expected total of a cheat is 0; of "perfect", None (every point, the caller knows how many).
    """
    submissions = Path(submissions)
    expected = {}

    def hand_in(student, notebooks, server):
        folder = submissions / student
        folder.mkdir(parents=True)
        for name, notebook in notebooks.items():
            write(notebook, folder / name)
        if server is not None:
            (folder / "my_server.py").write_text(server, encoding="utf-8")

    blank = {name: nbformat.read(str(Path(copies) / name), as_version=4) for name in chapters_of(copies)}
    skeleton = (Path(copies) / "my_server.py").read_text(encoding="utf-8")
    perfect = {name: nbformat.read(str(NOTEBOOKS / name), as_version=4) for name in chapters_of(copies)}
    hand_in("perfect", perfect, (NOTEBOOKS / "my_server.py").read_text(encoding="utf-8"))
    expected["perfect"] = None
    hand_in("blank", blank, skeleton)
    expected["blank"] = 0
    for student, server in server_cheats(submissions).items():
        hand_in(student, blank, server)
        expected[student] = 0
    for student, cells in answer_cheats().items():
        notebooks = {}
        for name in blank:
            changed = {key: value for key, value in cells.items() if key.startswith("ch" + name[:2])}
            notebooks[name] = submission(Path(copies) / name, name, answers=changed)
        hand_in(student, notebooks, skeleton)
        expected[student] = 0
    return expected
