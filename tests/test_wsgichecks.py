"""The middleware check of chapter 10 catches each bug planted in it, naming the rule."""

import pytest

from httpserver.lab.checks import CheckFailed, NotAttempted
from httpserver.lab.wsgichecks import check_middleware


def with_header(app, name, value):  # written apart from the chapter's answer
    def middleware(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, headers + [(name, value)], exc_info)
        return app(environ, start)
    return middleware


def forgets_exc_info(app, name, value):
    def middleware(environ, start_response):
        return app(environ, lambda status, headers, exc_info=None: start_response(status, headers + [(name, value)]))
    return middleware


def reads_ahead(app, name, value):
    def middleware(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, headers + [(name, value)], exc_info)
        return [b"".join(app(environ, start))]
    return middleware


def loses_write(app, name, value):
    def middleware(environ, start_response):
        def start(status, headers, exc_info=None):
            start_response(status, headers + [(name, value)], exc_info)
        return app(environ, start)
    return middleware


def adds_too_late(app, name, value):
    def middleware(environ, start_response):
        captured = []

        def start(status, headers, exc_info=None):
            captured.append(headers)
            return start_response(status, headers, exc_info)
        result = app(environ, start)
        for headers in captured:
            headers.append((name, value))
        return result
    return middleware


def replaces_headers(app, name, value):
    def middleware(environ, start_response):
        return app(environ, lambda status, headers, exc_info=None: start_response(status, [(name, value)], exc_info))
    return middleware


def test_a_correct_middleware_passes(capsys):
    check_middleware(with_header)
    assert "all 5 cases pass" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the bugs leave iterables unclosed
@pytest.mark.parametrize("buggy, rule", [
    (forgets_exc_info, "exc_info"),
    (reads_ahead, "close()"),
    (loses_write, "write() callable"),
    (adds_too_late, "inside your own start_response"),
    (replaces_headers, "the application's status, fields and body"),
])
def test_each_planted_bug_is_caught_with_its_rule(buggy, rule):
    with pytest.raises(CheckFailed) as failure:
        check_middleware(buggy)
    assert rule in str(failure.value)


def test_an_unanswered_exercise_is_not_attempted():
    def with_header(app, name, value):
        raise NotImplementedError
    with pytest.raises(NotAttempted):
        check_middleware(with_header)
