"""How each exercise is graded: fresh cases, how the sandbox calls the answer, how to judge it.

Contract: `EXERCISES` maps a check cell's nbgrader id (the item it scores,
`ch02-parse_request_line-check`) to an `Exercise`. The grader draws the cases
anew for every grading run (`exercise.cases(rng)`, plain data), runs the
reference answer and the student's on them in sandboxes (`probe.py`), and
judges outside with `exercise.judge(case, observed, expected)`: None when the
case passes, else a sentence for the student. An answer that returns the right
thing only for the cases printed in the chapter fails here.

The cases follow the rules the chapter's check cell states, one generator per
rule, so a student whose answer passes the chapter's check for the right reason
passes here; the reference answer decides the expected result, so a case never
needs a hand-written answer. One module per chapter (`chapter02.py`...);
importing it registers its exercises.
"""

import random
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..plain import Opaque, safe_repr

EXERCISES = {}


@dataclass
class Exercise:
    """One exercise: the item it scores, where the answer is, its cases and its judge."""

    check: str                      # the check cell's nbgrader id, e.g. "ch02-parse_request_line-check"
    name: str                       # the function or class the student writes
    where: str                      # "my_server", or the nbgrader id of the notebook's answer cell
    cases: Callable                 # rng -> [{"args": tuple, ...}], plain data
    probe: str = "call"             # a kind in probe.KINDS
    judge: Optional[Callable] = None  # (case, observed, expected) -> None or why; default: as the reference
    seconds: float = 20             # the wall clock for all the cases together
    outside: Optional[Callable] = None  # (exchange folder, cases) -> an observer watching from outside
    overall: Optional[Callable] = None  # (cases, observations, outside) -> None or why: rules across cases
    extra: dict = field(default_factory=dict)  # more for the probe's job (slow_seconds, trials...)

    @property
    def chapter(self):
        return self.check[2:4]

    def judge_case(self, case, observed, expected):
        return (self.judge or same_as_reference)(case, observed, expected)


def exercise(check, name, where="my_server", **options):
    """Decorator: register the decorated case generator as the exercise checked by `check`."""
    def register(cases):
        EXERCISES[check] = Exercise(check, name, where, cases, **options)
        return cases
    return register


# ------------------------------------------------------------------ judging

def outcome_text(observed):
    """What a call did, in words: `returned (1, 2)` or `raised ValueError('...')`."""
    if not observed or not ({"raised", "value", "too_big"} & set(observed)):
        return "gave no result"
    if "raised" in observed:
        kind = str((observed["raised"] or ["?"])[0]).rsplit(".", 1)[-1]
        text = "raised %s(%s)" % (kind, observed.get("message", ""))
        return text + (" at %s" % observed["where"] if observed.get("where") else "")
    if "too_big" in observed:
        return "returned a value too large to report (%d bytes as JSON)" % observed["too_big"]
    return "returned %s" % safe_repr(observed["value"])


def exception_name(observed):
    return observed["raised"][0].rsplit(".", 1)[-1]


def raises_like(observed, expected):
    """The student raised an exception of the reference's class (or a subclass of it)."""
    return "raised" in observed and expected["raised"][0] in observed["raised"]


def same_as_reference(case, observed, expected, tolerance=0.0):
    """Pass when the student did what the reference did: equal result, or the same exception."""
    if "raised" in expected:
        if raises_like(observed, expected):
            return None
        return "should raise %s; it %s" % (exception_name(expected), outcome_text(observed))
    if "value" not in observed:
        return "should return %s; it %s" % (safe_repr(expected["value"]), outcome_text(observed))
    if equal(observed["value"], expected["value"], tolerance):
        return None
    return "should return %s; it %s" % (safe_repr(expected["value"]), outcome_text(observed))


def equal(value, expected, tolerance=0.0):
    """value == expected, numbers within `tolerance`, bool never equal to int; never trusting value."""
    if isinstance(value, Opaque) or isinstance(expected, Opaque):
        return False
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return abs(value - expected) <= tolerance if tolerance else value == expected
    if type(value) is not type(expected):
        return False
    if isinstance(expected, (list, tuple)):
        return len(value) == len(expected) and all(equal(a, b, tolerance) for a, b in zip(value, expected))
    if isinstance(expected, dict):
        return value.keys() == expected.keys() and all(equal(value[key], expected[key], tolerance)
                                                       for key in expected)
    return value == expected


def within(tolerance):
    """A judge like same_as_reference, numbers compared within `tolerance`."""
    def judge(case, observed, expected):
        return same_as_reference(case, observed, expected, tolerance)
    return judge


def unchanged_arguments(judge=same_as_reference):
    """A judge that also fails an answer that changed its arguments (sorted a list in place, say)."""
    def check(case, observed, expected):
        why = judge(case, observed, expected)
        if why is None and "args_after" in observed and observed["args_after"] != expected.get("args_after"):
            return "changed its argument in place (sort a copy: sorted(values), not values.sort())"
        return why
    return check


# ------------------------------------------------------------------ drawing cases

def pick(rng, *options):
    return rng.choice(options)


def token(rng, size=None, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"):
    """A random word: what no hard-coded answer can know."""
    return "".join(rng.choice(alphabet) for _ in range(size or rng.randint(3, 10)))


def shuffled(rng, items):
    items = list(items)
    rng.shuffle(items)
    return items


def fresh_rng(seed=None):
    """The random source of one grading run: a new seed each time unless one is given."""
    return random.Random(seed if seed is not None else random.SystemRandom().getrandbits(64))


def same_records(cases, observations, outside, student_report=None, reference_report=None):
    """For a check cell run as it is (no rule yet): each case did what the reference's did."""
    from ..plain import decode

    theirs = (student_report or {}).get("cases") or []
    ours = (reference_report or {}).get("cases") or []
    if len(theirs) != len(ours):
        return "the check ran %d cases where it has %d" % (len(theirs), len(ours))
    for number, (seen, wanted) in enumerate(zip(theirs, ours), start=1):
        seen = seen if isinstance(seen, dict) else {}
        if wanted.get("kind") == "satisfies":
            why = None if seen.get("passed") is True else "its result did not pass the case's test"
        elif "raised" in wanted:
            why = None if raises_like(seen, wanted) else "should raise %s" % exception_name(wanted)
        else:
            try:
                same = "value" in seen and equal(decode(seen["value"]), decode(wanted["value"]))
            except (ValueError, TypeError, KeyError, AttributeError):
                same = False
            why = None if same else "should give %s" % safe_repr(decode(wanted["value"]))
        if why:
            return "case %d of the chapter's check: %s; it %s" % (number, why, outcome_text(seen))
    return None


def check_cell_exercise(check):
    """The stand-in rule of an exercise with none: its own check cell, run in the sandbox, recorded.

    Weaker than a rule (the cases are the chapter's, so an answer learnt by heart passes),
    and said so in the summary; write a rule in a chapterNN.py module.
    """
    return Exercise(check, None, "check-cell", lambda rng: [], probe="check_cell", overall=same_records)


from . import chapter00, chapter01, chapter02, chapter03, chapter04  # noqa: E402,F401  (they register)
from . import chapter05, chapter06, chapter07, chapter08, chapter09, chapter10, chapter11  # noqa: E402,F401
