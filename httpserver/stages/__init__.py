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

The modules, in reading order:

    runner.py     run_stages: a workspace, the program started and stopped, stage after stage
    program.py    the program under test: command template, start, wait for the port, stop
    workspace.py  the folders given as --root and --directory, a secret file, TLS files
    stage.py      Stage, the STAGES list, and the Context a check talks through
    wire.py       a recording connection that reads responses one by one
    response.py   the rules a response head must follow (RFC 9112)
    failure.py    StageFailure and the message the learner reads
    messages.py, files.py, clients.py, persistence.py, https.py, limits.py, load.py, wsgi.py:
                  the stages of chapters 01-03, 04, 05, 06, 07, 08, 09 and 10
"""

from .failure import StageFailure
from .runner import FAILED, NOT_REACHED, PASSED, Report, StageResult, run_stages, select_stages
from .stage import STAGES, Stage

# Importing a module registers its stages, so the import order is the stage order.
from . import messages, files, clients, persistence, https, limits, load  # noqa: E402,F401  chapters 01-09
from . import wsgi  # noqa: E402,F401  chapter 10: the server runs a WSGI application (--app)

__all__ = ["run_stages", "select_stages", "STAGES", "Stage", "StageResult", "Report", "StageFailure",
           "PASSED", "FAILED", "NOT_REACHED"]
