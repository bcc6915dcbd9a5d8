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
    report.passed, report.results   # StageResult(name, chapter, title, status, message, exchange, ...)

Stage names are "NN-slug", NN the chapter that teaches what the stage checks.

The modules, in reading order:

    runner.py     run_stages: a workspace, the program started and stopped, stage after stage
    program.py    the program under test: command template, start, wait for the port, stop
    workspace.py  the folders given as --root and --directory, a secret file, TLS files
    stage.py      Stage, the STAGES list, and the Context a check talks through
    wire.py       a recording connection that reads responses one by one
    response.py   the rules a response head must follow (RFC 9112)
    failure.py    StageFailure and the message the learner reads
    expectations.py  what a response must be, each expectation with its own rule and hint
    messages.py   chapters 01-02: accept, read a head, parse it, refuse a malformed one
    routes.py     chapter 03: /echo/, /user-agent, HEAD, Date, errors
    files.py      chapter 04: /files/, static files, traversal, atomic uploads
    clients.py    chapter 05: many clients at once
    persistence.py, chunked.py, compression.py
                  chapter 06: keep-alive, Connection, HTTP/1.0; chunked bodies; gzip
    https.py      chapter 07: HTTPS with the tester's certificate
    limits.py, smuggling.py, slowloris.py
                  chapter 08: sizes and Expect; ambiguous bodies; slow heads
    load.py       chapter 09: a modest load
    wsgi.py       chapter 10: a WSGI application given with --app

STAGES stays in chapter order whatever the import order; within a chapter, the
modules' import order below is the stages' order. A module of new stages needs
only its line here.
"""

from .failure import StageFailure
from .runner import FAILED, NOT_REACHED, PASSED, Report, StageResult, run_stages, select_stages
from .stage import STAGES, Stage

# Importing a module registers its stages.
from . import messages, routes, files, clients  # noqa: E402,F401  chapters 01-05
from . import persistence, chunked, compression, https  # noqa: E402,F401  chapters 06-07
from . import limits, smuggling, slowloris, load  # noqa: E402,F401  chapters 08-09
from . import wsgi  # noqa: E402,F401  chapter 10: the server runs a WSGI application (--app)

__all__ = ["run_stages", "select_stages", "STAGES", "Stage", "StageResult", "Report", "StageFailure",
           "PASSED", "FAILED", "NOT_REACHED"]
