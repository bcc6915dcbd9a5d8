"""Exercise checks for the notebooks: run a learner's function on cases, explain failures.

Contract: `check(function, cases)` calls `function` with each `Case`'s arguments,
in order, and stops at the first case that fails. A pass prints one line
("✓ parse_request_line: all 5 cases pass"). A failure raises `CheckFailed`, an
AssertionError (so nbval fails the cell when a solution is broken) whose message
says, in plain words, the call that was made, what was expected, what came back
or was raised, and the case's explanation. A function that still raises
NotImplementedError is reported as "not attempted yet", not as a traceback.

A case expects one of three things:

    Case(args, expected, explain)               the result equals `expected`
    Case(args, raises=ValueError, explain=...)  the call raises that exception
    Case(args, satisfies=predicate, explain=...)  predicate(result) is true

`args` is a tuple of positional arguments; anything else is the one argument
(so to pass a single tuple, wrap it: `Case(((1, 2),), ...)`). `check_equal` is
for one-off checks of a value rather than a function.
"""

import dataclasses
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

_NOTHING = object()  # "no expected value given", since None is a fine expected value
MAX_REPR = 200


class CheckFailed(AssertionError):
    """A failed exercise check; its message is the report meant for the learner."""

    def _render_traceback_(self):
        # IPython calls this instead of printing a traceback: the learner needs
        # the report, not the checker's own stack frames.
        return ["✗ " + str(self)]


class NotAttempted(CheckFailed):
    """The learner's function still raises NotImplementedError."""


@dataclass
class Case:
    """One input for the learner's function and what should come of it."""

    args: Any = ()
    expected: Any = _NOTHING
    explain: str = ""
    raises: Optional[type] = None  # an exception class, or a tuple of them
    satisfies: Optional[Callable[[Any], bool]] = None
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.args, tuple):
            self.args = (self.args,)
        expectations = [self.expected is not _NOTHING, self.raises is not None,
                        self.satisfies is not None]
        if sum(expectations) != 1:
            # A mistake in the notebook, not the learner's: say so plainly.
            raise TypeError("a Case needs exactly one of expected=, raises= or satisfies=")


def short_repr(value, limit=MAX_REPR):
    """repr(value), with the middle cut out when it is longer than `limit` characters."""
    text = repr(value)
    if len(text) <= limit:
        return text
    tail = limit // 4
    return text[:limit - tail - 5] + " ... " + text[-tail:]


def describe_call(function, case):
    """The call a case makes, as the learner would type it: f(b'GET / ...', 3)."""
    parts = [short_repr(argument) for argument in case.args]
    parts += ["%s=%s" % (name, short_repr(value)) for name, value in case.kwargs.items()]
    return "%s(%s)" % (_name_of(function), ", ".join(parts))


def describe_expectation(case):
    """What a case expects, in words."""
    if case.raises is not None:
        classes = case.raises if isinstance(case.raises, tuple) else (case.raises,)
        return "it raises " + " or ".join(cls.__name__ for cls in classes)
    if case.satisfies is not None:
        name = getattr(case.satisfies, "__name__", "<lambda>")
        test = "the case's test" if name == "<lambda>" else "`%s`" % name
        return "it returns a result that passes %s" % test
    return "it returns %s" % short_repr(case.expected)


def describe_exception(error):
    """An exception and the line that raised it: `IndexError('...') in f, line 4: ...`."""
    frames = traceback.extract_tb(error.__traceback__)[1:]  # [0] is run_case's own call
    # Point at the learner's code, not inside the standard library they called.
    own_frames = [frame for frame in frames if not _is_library_file(frame.filename)]
    text = short_repr(error)
    if own_frames or frames:
        frame = (own_frames or frames)[-1]
        text += " in %s, line %d" % (frame.name, frame.lineno)
        if frame.line:
            text += ": `%s`" % frame.line.strip()
    return text


def _is_library_file(filename):
    return filename.startswith((sys.prefix, sys.base_prefix))


def _name_of(function):
    return getattr(function, "__name__", None) or repr(function)


def _expects(case, error):
    return case.raises is not None and isinstance(error, case.raises)


# Values whose == means what it says. An answer's own class could define __eq__ to
# answer True to anything, and `expected == result` would then ask it (Python tries the
# reflected __eq__ when the built-in one does not know the other type).
PLAIN_TYPES = (type(None), bool, int, float, complex, str, bytes, bytearray)
BUILT_IN_EQUALITY = (tuple.__eq__, list.__eq__, set.__eq__, frozenset.__eq__, dict.__eq__)


def is_plain(value, depth=0):
    """True for built-in values, and built-in containers (namedtuples too) of them, all the way down."""
    if type(value) in PLAIN_TYPES:
        return True
    if depth > 20 or type(value).__eq__ not in BUILT_IN_EQUALITY:
        return False
    parts = [part for pair in value.items() for part in pair] if isinstance(value, dict) else value
    return all(is_plain(part, depth + 1) for part in parts)


def same_value(result, expected):
    """result == expected, without trusting an answer's own __eq__.

    Anything but plain data must be of the very type expected (a dataclass of the
    chapter, say) and hold plain fields, so that the comparison is the chapter's.
    """
    if is_plain(result):
        return result == expected
    if type(result) is not type(expected) or type(result).__eq__ in BUILT_IN_EQUALITY:
        return False
    if dataclasses.is_dataclass(result):
        return all(is_plain(getattr(result, field.name)) for field in dataclasses.fields(result)) \
            and result == expected
    return result == expected


def run_case(function, case):
    """Run one case; return None when it passes, else the words saying what went wrong.

    Raises NotAttempted when the function still raises NotImplementedError.
    """
    call = describe_call(function, case)  # before the call, in case it mutates its input
    try:
        result = function(*case.args, **case.kwargs)
    except Exception as error:
        if _expects(case, error):
            return None
        if isinstance(error, NotImplementedError):
            # `from None`: the learner needs this sentence, not the exception chain
            if str(error).startswith("not built yet"):  # a part of the learner's my_server.py
                raise NotAttempted("not attempted yet: `%s` is %s: write it in my_server.py"
                                   % (_name_of(function), error)) from None
            raise NotAttempted("not attempted yet: replace `raise NotImplementedError` in `%s` "
                               "with your answer" % _name_of(function)) from None
        return _report(call, case, "it raised " + describe_exception(error))

    if case.raises is not None:
        return _report(call, case, "it returned %s" % short_repr(result))
    if case.satisfies is not None:
        try:
            if case.satisfies(result):
                return None
        except Exception as error:
            # A result of the wrong kind can break the test itself (None.method...).
            return _report(call, case, "it returned %s, which the test could not use (%s)"
                           % (short_repr(result), describe_exception(error)))
        return _report(call, case, "it returned %s" % short_repr(result))
    if same_value(result, case.expected):
        return None
    return _report(call, case, "it returned %s" % short_repr(result))


def _report(call, case, what_happened):
    return _lines(("the call", call), ("expected", describe_expectation(case)),
                  ("instead", what_happened), ("why", case.explain))


def _lines(*labelled):
    """Aligned `label: text` lines, leaving out empty ones."""
    return "\n".join("  %-10s %s" % (label + ":", text) for label, text in labelled if text)


def check(function, cases):
    """Run `function` on each case in order; print one line if all pass, else raise CheckFailed."""
    cases = list(cases)
    if not cases:
        raise ValueError("check() needs at least one Case")
    for number, case in enumerate(cases, start=1):
        problem = run_case(function, case)
        if problem is not None:
            raise CheckFailed("%s: case %d of %d failed\n%s"
                              % (_name_of(function), number, len(cases), problem))
    plural = "case passes" if len(cases) == 1 else "all %d cases pass" % len(cases)
    print("✓ %s: %s" % (_name_of(function), plural))


def check_equal(value, expected, explain=""):
    """Check one value against the expected one; print a ✓ line, or raise CheckFailed."""
    if same_value(value, expected):
        print("✓ %s, as expected" % short_repr(value, limit=60))
        return
    raise CheckFailed("the value is not the expected one\n" + _lines(
        ("expected", short_repr(expected)), ("instead", short_repr(value)), ("why", explain)))
