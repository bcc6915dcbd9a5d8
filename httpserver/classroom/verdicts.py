"""Verdicts, made outside every sandbox: an exercise's points from what its trial reported.

Contract: `exercise_verdict(exercise, cases, points, limits, trial, reference,
note)` gives (points, why) for one student's trial of one exercise, judged
against the reference's trial on the same cases; `note(line)` receives what the
instructor should hear (a hang, a crash, a limit hit). `reference_problem(...)`
says why the instructor's own answer fails its exercise in this run (then no one
is graded on it). `build_verdict` and `stage_verdicts` turn the stage tester's
results into a chapter's Build cell and one item per stage.
"""

from .exercises import outcome_text
from .plain import safe_repr

# What a case's observation may hold when the probe itself, not the answer, went wrong.
PROBE_ERRORS = ("builtins.NameError", "builtins.ImportError", "builtins.ModuleNotFoundError")


def ended(outcome):
    return "killed by %s" % outcome.signal_name if outcome.signal_name else "exit status %s" % outcome.returncode


def exercise_verdict(exercise, cases, points, limits, trial, reference, note):
    """(points, why) for one trial; see the module's contract."""
    check = exercise.check
    if isinstance(trial, Exception):
        return 0, "not graded: the grader failed (%s)" % trial
    limit = trial.outcome.limit_hit(limits)
    report = trial.report
    if report is None:
        if trial.outcome.timed_out:
            note("hang: `%s` stopped after %.0f s (wall-clock limit)" % (check, trial.outcome.seconds))
            return 0, "hang: stopped after %.0f s" % trial.outcome.seconds
        last = (trial.outcome.output.strip().splitlines() or ["no output"])[-1][:200]
        kind = "limit hit" if limit else "crash"
        note("%s: `%s`: %s (%s)" % (kind, check, limit or ended(trial.outcome), last))
        return 0, "%s: %s: %s" % (kind, limit or ended(trial.outcome), last)
    if not report.get("loaded"):
        if "builtins.MemoryError" in (report.get("raised") or []):
            note("limit hit: `%s`: memory limit (%d MiB)" % (check, limits.memory_mb))
        return 0, "the answer does not run: %s" % outcome_text(report)
    observed = trial.observations(len(cases))
    expected = reference.observations(len(cases))
    for number, (case, seen, wanted) in enumerate(zip(cases, observed, expected), start=1):
        try:
            why = exercise.judge_case(case, seen or {}, wanted or {})
        except Exception as error:  # what the student's process reported was not what a probe writes
            why = "its result could not be read (%s)" % type(error).__name__
        if why:
            if limit:
                note("limit hit: `%s`: %s" % (check, limit))
            return 0, "case %d of %d, %s%s: %s" % (number, len(cases), exercise.name,
                                                  safe_repr(case.get("args", ""), 160), why)
    if exercise.overall:
        try:
            why = exercise.overall(cases, observed, trial.outside_all, student_report=report,
                                   reference_report=reference.report)
        except Exception as error:
            why = "its results could not be read (%s)" % type(error).__name__
        if why:
            return 0, why
    if exercise.where == "check-cell":
        return points, "passed (the chapter's own cases)"
    return points, "passed (%d cases drawn for this run)" % len(cases)


def reference_problem(exercise, cases, points, limits, reference):
    """Why the instructor's answer does not pass its own exercise in this run, or None.

    It must pass its own judge, and never raise what only a broken probe raises: a
    student whose answer raised the same would otherwise pass with it.
    """
    if isinstance(reference, Exception) or reference is None:
        return "the grader failed: %s" % reference
    for observed in reference.observations(len(cases)):
        raised = (observed or {}).get("raised") or []
        if raised and raised[0] in PROBE_ERRORS:
            return "the probe failed: %s" % outcome_text(observed)
    verdict = exercise_verdict(exercise, cases, points, limits, reference, reference, lambda line: None)
    return None if verdict[0] == points else verdict[1]


def build_verdict(hand_in, chapter, points, stages):
    """A chapter's Build cell: its points when every stage up to that chapter passed."""
    if hand_in.server is None:
        return 0, "no my_server.py handed in"
    if isinstance(stages, Exception) or stages is None:
        return 0, "not graded: %s" % (stages or "the stages did not run")
    failed = [name for name, number, status, _ in stages if number <= chapter and status != "passed"]
    if failed:
        return 0, "stage %s did not pass" % failed[0]
    return points, "every stage up to chapter %02d passed" % chapter


def stage_verdicts(hand_in, names, stages, note):
    """{item: (points, why)}, one item per stage; a traceback of the server's is noted."""
    if not names:
        return {}
    if hand_in.server is None:
        return {name: (0, "no my_server.py handed in") for name in names}
    if isinstance(stages, Exception) or stages is None:
        note("the stage tester could not run: %s" % stages)
        return {name: (0, "not graded: %s" % stages) for name in names}
    found = {}
    for name, _, status, message in stages:
        first = (message.strip().splitlines() or [""])[0][:300]
        found["stage-" + name] = (1 if status == "passed" else 0, status if status != "failed" else "failed: " + first)
        if status == "failed" and ("Traceback (most recent call last)" in message or "MemoryError" in message):
            kind = "limit hit (memory)" if "MemoryError" in message else "crash"
            note("%s: my_server.py failed with a traceback during stage %s (%s)" % (kind, name, first[:160]))
    return found
