"""Run the stages against a program: start it, check stage after stage, stop it.

Contract: `run_stages(command, upto=None, names=None, timeout=5.0)` makes a
fresh workspace, starts the command (again with --certfile/--keyfile
appended for TLS stages), runs the selected stages in order until the first
failure, stops every process it started and returns a `Report`. It never
raises for anything the program does; a bad selection is a ValueError.

A failed stage's report says what really happened: the answer that broke the
rule, a close, a reset or silence (wire.py words each), and when the program
exited, that it did, with its status and last 20 lines of output; when it
printed a traceback meanwhile (a thread that died), those lines. The rule and
hint are the failing check's own, also given apart in the StageResult.
"""

import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .failure import StageFailure, failure_message
from .program import Program, ProgramError, command_arguments, free_port
from .stage import STAGES, Context
from .workspace import Workspace

PASSED, FAILED, NOT_REACHED = "passed", "failed", "not reached"
HOST = "127.0.0.1"


@dataclass
class StageResult:
    """How one stage went; `exchange` holds the failing stage's bytes on the wire.

    For a failed stage, `message` is the whole text a learner reads; `problem`,
    `rule` and `hint` are its parts, and `exit_status` is set when the program
    had exited. Fields are only ever added here: the grader and the notebooks read them.

    `exchange` is None unless the stage failed; then it lists the failing
    connection's (direction "sent" or "received", bytes, seconds since the stage
    began), one entry per send or recv; a received b"" is the server closing.
    It is empty when the failure came before any bytes (no start, no handshake).
    """

    name: str
    chapter: int
    title: str
    status: str  # PASSED, FAILED or NOT_REACHED
    message: str = ""  # the full failure text, "" unless failed
    exchange: Optional[List[Tuple[str, bytes, float]]] = None  # (direction, bytes, seconds)
    seconds: float = 0.0
    problem: str = ""  # what went wrong, one sentence ("" unless failed)
    rule: str = ""  # the RFC rule of the check that failed
    hint: str = ""  # the hint for that rule ("" when it has none)
    exit_status: Optional[int] = None  # the program's exit status, when it exited during the stage


@dataclass
class Report:
    """The results of one run, in stage order."""

    command: object
    results: List[StageResult]

    @property
    def passed(self):
        return all(result.status == PASSED for result in self.results)

    @property
    def failure(self):
        """The failed StageResult, or None."""
        return next((result for result in self.results if result.status == FAILED), None)

    def summary(self):
        """One line per stage, then the failure's message."""
        marks = {PASSED: "ok  ", FAILED: "FAIL", NOT_REACHED: " -  "}
        lines = [f"{marks[result.status]} {result.name:<24} {result.title}" for result in self.results]
        passed = sum(result.status == PASSED for result in self.results)
        lines.append(f"\n{passed} of {len(self.results)} stages passed.")
        if self.failure:
            lines += ["", self.failure.message]
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def __repr__(self):  # what a notebook shows when a cell ends with a report: one line
        passed = sum(result.status == PASSED for result in self.results)
        return f"<Report: {passed} of {len(self.results)} stages passed>"


def select_stages(upto=None, names=None):
    """The stages to run, in order: up to chapter `upto`, or those named
    (a full name like "04-traversal" or a chapter like "04")."""
    chosen = list(STAGES)
    if upto is not None:
        chosen = [stage for stage in chosen if stage.chapter <= int(upto)]
    if names:
        wanted = [str(name) for name in names]
        known = {stage.name for stage in STAGES} | {f"{stage.chapter:02d}" for stage in STAGES}
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ValueError(f"unknown stage {', '.join(unknown)}; known: {', '.join(s.name for s in STAGES)}")
        chosen = [stage for stage in chosen if stage.name in wanted or f"{stage.chapter:02d}" in wanted]
    return chosen


def run_stages(command, upto=None, names=None, timeout=5.0, startup_timeout=15.0):
    """Run the selected stages against `command` (see the module docstring)."""
    chosen = select_stages(upto, names)
    results = [StageResult(stage.name, stage.chapter, stage.title, NOT_REACHED) for stage in chosen]
    workspace = Workspace()
    program, port, running_tls = None, None, None
    try:
        for index, stage in enumerate(chosen):
            # TLS stages need a restart with a certificate, WSGI stages with --app
            if program is None or running_tls != (stage.tls, stage.app):
                if program is not None:
                    program.stop()
                program, running_tls = None, (stage.tls, stage.app)
                try:
                    program, port = start(command, workspace, stage.tls, startup_timeout, stage.app)
                except (ProgramError, RuntimeError) as error:  # RuntimeError: trustme is missing
                    results[index] = StageResult(stage.name, stage.chapter, stage.title, FAILED,
                                                 f"Stage {stage.name} could not start the program: {error}", [],
                                                 problem=f"the program could not be started: {error}".split("\n")[0],
                                                 rule=stage.rule)
                    break
            context = Context(HOST, port, workspace, timeout,
                              ssl_context=workspace.tls_files()[2] if stage.tls else None)
            results[index] = run_one(stage, context, program)
            if results[index].status == FAILED:
                break
    finally:
        if program is not None:
            program.stop()
        workspace.remove()
    return Report(command, results)


def run_one(stage, context, program):
    """Run one stage's check; its StageResult, with the failing connection's bytes."""
    started = time.perf_counter()
    printed_before = program.output_size()
    when = "during this stage" if program.exit_code() is None else "before this stage began"
    try:
        try:
            stage.check(context)
        except (OSError, ValueError, UnicodeError) as error:
            # Something the server did that no check foresaw: still its failure, told plainly.
            raise StageFailure(f"the exchange broke off unexpectedly: {error!r}") from error
    except StageFailure as failure:
        failure.client = failure.client or (context.clients[-1] if context.clients else None)
        # Close our ends first: a server thread that is draining a connection before closing
        # it prints its traceback (or exits) only then. A dying program may need a moment more.
        context.close_all()
        status = program.exit_code(wait=0.2)
        if status is not None:
            failure.problem = (f"your program exited (status {status}) {when}, so {failure.problem}"
                               if failure.problem.startswith("the server") else
                               f"your program exited (status {status}) {when}; the tester saw: {failure.problem}")
            failure.hint = ("Your program stopped: its last lines of output, below, say why (a traceback names "
                            "the line). Catch errors per connection, so one request cannot end the server.")
        note = program_note(program, status, printed_before)
        if status is None and "Traceback" in note:
            failure.problem += " (and your program printed a traceback meanwhile, below: a thread died)"
        rule = failure.rule or stage.rule
        return StageResult(stage.name, stage.chapter, stage.title, FAILED, failure_message(stage, failure, note),
                           failure.client.events if failure.client else [], time.perf_counter() - started,
                           problem=failure.problem, rule=rule, hint=failure.hint or "", exit_status=status)
    finally:
        context.close_all()
    return StageResult(stage.name, stage.chapter, stage.title, PASSED, seconds=time.perf_counter() - started)


def start(command, workspace, tls, startup_timeout, app=False):
    """Start the program on a free port (with the certificate for TLS, with --app
    and its module's folder on PYTHONPATH for WSGI); (program, port)."""
    port = free_port(HOST)
    extra, python_path = [], None
    if tls:
        certfile, keyfile, _ = workspace.tls_files()
        extra = ["--certfile", certfile, "--keyfile", keyfile]
    if app:
        python_path, spec = workspace.wsgi_app()
        extra += ["--app", spec]
    program = Program(command_arguments(command, port, workspace, extra), python_path=python_path)
    try:
        program.wait_until_listening(HOST, port, startup_timeout)
    except ProgramError as error:
        program.stop()
        if tls:
            raise ProgramError(f"{error}\nFor the HTTPS stages the tester appends --certfile F --keyfile F "
                               "to the command: does the program accept them?") from None
        raise
    return program, port


def program_note(program, status, printed_before=0):
    """A word about the program: how it exited, or what it printed during the stage when that
    looks like a failure (a traceback, a thread that died, a part not built yet)."""
    if status is not None:
        tail = program.output_tail(lines=20)
        return f"Your program exited with status {status}. Its last 20 lines of output:\n{tail or '(nothing)'}"
    tail = program.output_tail(lines=20, since=printed_before)
    if "Traceback" in tail or "Error" in tail or "not built yet" in tail:
        return f"Your program printed during this stage (last lines):\n{tail}"
    return ""
