"""The exercise checker: passes quietly, fails in words a learner understands."""

import os
import subprocess
import sys
import textwrap

import pytest

from httpserver.lab.checks import Case, CheckFailed, NotAttempted, check, check_equal, short_repr

BARE_LF = "RFC 9112 §2.2 says lines end with CRLF"

CASES = [
    Case(b"GET / HTTP/1.1\r\n", ("GET", "/", "HTTP/1.1"), "the three parts, as text"),
    Case(b"GET /x HTTP/1.1\n", raises=ValueError, explain="your parser accepted a bare LF; " + BARE_LF),
]


def parse_request_line(line):
    if not line.endswith(b"\r\n"):
        raise ValueError("a request line ends with CRLF")
    method, target, version = line[:-2].decode("ascii").split(" ")
    return method, target, version


def lenient_parse_request_line(line):
    method, target, version = line.strip().decode("ascii").split(" ")
    return method, target, version


def test_a_correct_function_passes_and_says_so(capsys):
    check(parse_request_line, CASES)
    assert capsys.readouterr().out == "✓ parse_request_line: all 2 cases pass\n"


def test_a_wrong_answer_is_reported_with_input_expectation_result_and_explanation():
    with pytest.raises(AssertionError) as failure:
        check(lenient_parse_request_line, CASES)
    message = str(failure.value)
    assert "case 2 of 2 failed" in message
    assert r"lenient_parse_request_line(b'GET /x HTTP/1.1\n')" in message
    assert "it raises ValueError" in message
    assert "it returned ('GET', '/x', 'HTTP/1.1')" in message
    assert BARE_LF in message


def test_checking_stops_at_the_first_failure():
    calls = []

    def always_wrong(value):
        calls.append(value)
        return None

    with pytest.raises(CheckFailed, match="case 1 of 3"):
        check(always_wrong, [Case(1, 1), Case(2, 2), Case(3, 3)])
    assert calls == [1]


def test_not_attempted_is_a_sentence_not_a_traceback():
    def parse_request_line(line):
        raise NotImplementedError

    with pytest.raises(AssertionError) as failure:
        check(parse_request_line, CASES)
    assert isinstance(failure.value, NotAttempted)
    assert str(failure.value) == ("not attempted yet: replace `raise NotImplementedError` "
                                  "in `parse_request_line` with your answer")
    assert failure.value.__suppress_context__  # no "during handling of..." chain


def test_an_unexpected_exception_names_the_line_that_raised_it():
    def third_word(line):
        words = line.split()
        return words[2]

    with pytest.raises(CheckFailed) as failure:
        check(third_word, [Case("only two", "?", "a line with fewer words should not crash")])
    message = str(failure.value)
    assert "it raised IndexError('list index out of range')" in message
    assert "in third_word" in message and "`return words[2]`" in message


def test_the_wrong_exception_is_not_the_expected_one():
    def raises_key_error(line):
        raise KeyError(line)

    with pytest.raises(CheckFailed, match=r"expected:  it raises ValueError\n  instead:   it raised KeyError"):
        check(raises_key_error, [Case(b"x", raises=ValueError)])


def test_any_of_several_exception_classes_can_be_expected(capsys):
    def raises_key_error(line):
        raise KeyError(line)

    check(raises_key_error, [Case(b"x", raises=(ValueError, KeyError))])
    assert "✓" in capsys.readouterr().out


def test_predicates_check_properties_of_the_result(capsys):
    def is_sorted(values):
        return list(values) == sorted(values)

    check(sorted, [Case(([3, 1, 2],), satisfies=is_sorted)])
    assert "case passes" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="passes `is_sorted`"):
        check(list, [Case(([3, 1, 2],), satisfies=is_sorted, explain="the output must be in order")])


def test_a_predicate_that_cannot_use_the_result_is_a_failure_not_a_crash():
    with pytest.raises(CheckFailed, match="which the test could not use"):
        check(lambda value: None, [Case(1, satisfies=lambda result: result.startswith("x"))])


def test_single_arguments_tuples_and_keyword_arguments():
    assert Case(b"x", 1).args == (b"x",)
    assert Case((1, 2), 3).args == (1, 2)
    assert Case(((1, 2),), 3).args == ((1, 2),)
    check(int, [Case("ff", 255, kwargs={"base": 16})])


def test_a_case_needs_exactly_one_expectation():
    with pytest.raises(TypeError):
        Case(b"x")
    with pytest.raises(TypeError):
        Case(b"x", 1, raises=ValueError)


def test_an_empty_list_of_cases_is_the_notebook_authors_mistake():
    with pytest.raises(ValueError):
        check(len, [])


def test_the_input_is_shown_as_it_was_before_the_call():
    def mutate(values):
        values.append(99)
        return values

    with pytest.raises(CheckFailed, match=r"mutate\(\[1\]\)"):
        check(mutate, [Case(([1],), [1])])


def test_long_values_are_truncated_in_the_report():
    with pytest.raises(CheckFailed) as failure:
        check(lambda size: b"x" * size, [Case(100_000, b"")])
    assert len(str(failure.value)) < 1000
    assert " ... " in short_repr(b"x" * 1000)
    assert short_repr("short") == "'short'"


def test_check_equal(capsys):
    check_equal(404, 404, "a missing file is a 404")
    assert capsys.readouterr().out == "✓ 404, as expected\n"
    with pytest.raises(AssertionError) as failure:
        check_equal(200, 404, "a missing file is a 404")
    assert "expected:  404" in str(failure.value) and "instead:   200" in str(failure.value)
    assert "a missing file is a 404" in str(failure.value)


def test_ipython_shows_the_report_instead_of_a_traceback():
    failure = CheckFailed("case 1 of 1 failed")
    assert failure._render_traceback_() == ["✗ case 1 of 1 failed"]


def test_in_ipython_a_failed_check_prints_the_report_and_fails_the_cell():
    pytest.importorskip("IPython")
    # A fresh interpreter: an IPython shell changes global state (displayhook, ...).
    script = textwrap.dedent('''
        import contextlib, io
        from IPython.testing.globalipapp import get_ipython
        shell = get_ipython()
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
            result = shell.run_cell(
                "from httpserver.lab.checks import Case, check\\n"
                "def answer(x):\\n"
                "    raise NotImplementedError\\n"
                "check(answer, [Case(1, 2)])\\n")
        print(result.success, repr(shown.getvalue()))
    ''')
    environment = dict(os.environ, PYTHONIOENCODING="utf-8")  # ✗ on a Windows console too
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True,
                               encoding="utf-8", env=environment, timeout=50)
    assert completed.stdout.strip() == ("False '✗ not attempted yet: replace `raise NotImplementedError` "
                                        "in `answer` with your answer\\n'")


class EqualToAnything:
    """What a learner might return to pass any check by value."""

    def __eq__(self, other):
        return True

    __hash__ = None


def test_a_result_that_claims_to_equal_anything_does_not_pass():
    from httpserver.lab.checks import CheckFailed, check, check_equal

    with pytest.raises(CheckFailed):
        check(lambda: EqualToAnything(), [Case((), b"GET / HTTP/1.1\r\n\r\n")])
    with pytest.raises(CheckFailed):
        check(lambda: [EqualToAnything()], [Case((), [1])])
    with pytest.raises(CheckFailed):
        check_equal(EqualToAnything(), {"host": ["x"]})


def test_plain_values_still_compare_as_python_does():
    from collections import namedtuple

    from httpserver.lab.checks import check

    Point = namedtuple("Point", "x y")
    check(lambda: 15.0, [Case((), 15)])                    # a float equal to an int
    check(lambda: {"a": [1, (2, b"x")]}, [Case((), {"a": [1, (2, b"x")]})])
    check(lambda: Point(1, 2), [Case((), Point(1, 2))])     # the chapter's own type
