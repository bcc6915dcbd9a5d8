"""The student-copy generator: answers out, placeholders in, everything else kept."""

import subprocess
import sys

import pytest

from httpserver.classroom.student import SolutionMarkerError, main, strip_solutions, write_student_copies

nbformat = pytest.importorskip("nbformat")
new_code_cell = nbformat.v4.new_code_cell
new_markdown_cell = nbformat.v4.new_markdown_cell

FUNCTION_EXERCISE = '''\
def parse_request_line(line):
    """Split a request line into method, target and version."""
    ### BEGIN SOLUTION
    method, target, version = line.split(" ")
    return method, target, version
    ### END SOLUTION
'''

NESTED_EXERCISE = '''\
class Router:
    def route(self, path):
        if path == "/":
            ### BEGIN SOLUTION
            return "index.html"
            ### END SOLUTION
        return None
'''

TOP_LEVEL_EXERCISE = '''\
expected_status = 200
### BEGIN SOLUTION
expected_status = 404
### END SOLUTION
print(expected_status)'''


def write_notebook(folder, name, cells):
    notebook = nbformat.v4.new_notebook(cells=cells)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(folder / name))


@pytest.fixture
def course(tmp_path):
    """An instructor's notebook folder with one chapter; returns (notebooks, out)."""
    answered = new_code_cell(FUNCTION_EXERCISE, execution_count=3)
    answered.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a solution's output\n")]
    write_notebook(tmp_path / "notebooks", "02-parsing.ipynb", [
        new_markdown_cell("# Parsing\nWrite the parser. ### not a marker"),
        answered,
        new_code_cell("### HIDDEN\n# instructor notes: the answer is split(' ')\n"),
        new_code_cell(NESTED_EXERCISE),
        new_code_cell(TOP_LEVEL_EXERCISE),
        new_markdown_cell("Why CRLF?\n\n### BEGIN SOLUTION\nBecause RFC 9112 says so.\n### END SOLUTION\n"),
        new_markdown_cell("### HIDDEN\nGrading notes."),
        new_markdown_cell("### BEGIN SOLUTION (HIDDEN: instructor notes)\nMore grading notes.\n### END SOLUTION"),
    ])
    return tmp_path / "notebooks", tmp_path / "out"


def test_student_copy_has_placeholders_at_the_markers_indentation(course, capsys):
    notebooks, out = course
    assert write_student_copies(notebooks, out) == [out / "02-parsing.ipynb"]
    assert capsys.readouterr().out == (
        "wrote %s (4 answers removed, 3 hidden cells dropped)\n" % (out / "02-parsing.ipynb"))

    student = nbformat.read(str(out / "02-parsing.ipynb"), as_version=4)
    sources = [cell.source for cell in student.cells]
    assert sources[1] == ('def parse_request_line(line):\n'
                          '    """Split a request line into method, target and version."""\n'
                          '    raise NotImplementedError\n')
    assert "            raise NotImplementedError\n        return None\n" in sources[2]
    assert sources[3] == "expected_status = 200\nraise NotImplementedError\nprint(expected_status)"
    assert sources[4] == "Why CRLF?\n\n*Your answer here.*\n"


def test_student_copy_has_no_answers_hidden_cells_or_outputs(course):
    notebooks, out = course
    write_student_copies(notebooks, out)
    student = nbformat.read(str(out / "02-parsing.ipynb"), as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    for leaked in ("SOLUTION", "split(\" \")", "index.html", "404", "RFC 9112", "HIDDEN", "instructor", "grading notes"):
        assert leaked not in text
    code_cells = [cell for cell in student.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code_cells)
    for cell in code_cells:
        compile(cell.source, "student cell", "exec")  # still valid Python


def test_the_instructors_notebook_is_left_unchanged(course):
    notebooks, out = course
    before = (notebooks / "02-parsing.ipynb").read_bytes()
    write_student_copies(notebooks, out)
    assert (notebooks / "02-parsing.ipynb").read_bytes() == before


@pytest.mark.parametrize("source, complaint", [
    ("### BEGIN SOLUTION\nx = 1\n", "line 1 has no `### END SOLUTION` after it"),
    ("x = 1\n### END SOLUTION\n", "line 2 has no `### BEGIN SOLUTION` before it"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "line 2 comes before"),
])
def test_unmatched_markers_name_the_notebook_and_cell(tmp_path, source, complaint):
    write_notebook(tmp_path / "notebooks", "01-sockets.ipynb",
                   [new_markdown_cell("# Sockets"), new_code_cell(source)])
    with pytest.raises(SolutionMarkerError) as error:
        write_student_copies(tmp_path / "notebooks", tmp_path / "out")
    assert "01-sockets.ipynb, cell 1" in str(error.value)
    assert complaint in str(error.value)
    assert not (tmp_path / "out").exists()  # nothing written when any notebook is broken


def test_strip_solutions_counts_regions_and_keeps_other_lines():
    source = "a\n  ### BEGIN SOLUTION\n  b\n  ### END SOLUTION\nc\n### BEGIN SOLUTION\nd\n### END SOLUTION\n"
    assert strip_solutions(source) == ("a\n  raise NotImplementedError\nc\nraise NotImplementedError\n", 2)
    assert strip_solutions("no markers\n") == ("no markers\n", 0)


def test_command_line_reports_errors_in_one_line(tmp_path, capsys):
    write_notebook(tmp_path / "notebooks", "01.ipynb", [new_code_cell("### END SOLUTION")])
    assert main([str(tmp_path / "notebooks"), str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert main([str(tmp_path / "missing")]) == 1
    assert main([str(tmp_path / "notebooks"), str(tmp_path / "notebooks")]) == 1  # would overwrite answers


def test_runs_as_a_module(course):
    notebooks, out = course
    completed = subprocess.run([sys.executable, "-m", "httpserver.classroom.student", str(notebooks), str(out)],
                               capture_output=True, text=True, timeout=50)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("wrote ")
    assert (out / "02-parsing.ipynb").exists()
