"""The stage tester: checks that a program is an HTTP/1.1 server, chapter by chapter.

Like the CodeCrafters tester, it treats the server as a black box: it starts
the program, talks to it over real sockets on 127.0.0.1 and stops at the first
stage that does not hold, saying what it sent, what it expected, what came
back, the RFC rule and a hint. It assumes nothing about how the server is
written: any reason phrase, any field order, field names in any case.

    python -m httpserver.stages --cmd "python my_server.py --port {port} --root {root} --directory {directory}"

From Python (the notebooks' Build sections):

    from httpserver.stages import run_stages, STAGES
    report = run_stages(command, upto=3)
    report.passed, report.results   # StageResult(name, chapter, title, status, message, exchange)

Stage names are "NN-slug", NN the chapter that teaches what the stage checks.
"""

from .failure import StageFailure
from .runner import FAILED, NOT_REACHED, PASSED, Report, StageResult, run_stages, select_stages
from .stage import STAGES, Stage

# Importing a module registers its stages, so the import order is the stage order.
from . import messages, files, clients, persistence, https, limits, load  # noqa: E402,F401  chapters 01-09

__all__ = ["run_stages", "select_stages", "STAGES", "Stage", "StageResult", "Report", "StageFailure",
           "PASSED", "FAILED", "NOT_REACHED"]
