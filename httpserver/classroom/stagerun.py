"""The Build stages of one student's server: the stage tester outside, the server in a sandbox.

    python -m httpserver.classroom.stagerun JOB.json                 the tester's side
    python -m httpserver.classroom.stagerun --serve JOB.json ARGS... the server's side (the tester starts it)

Contract: `run_stages_for(server, folder, limits, confined, timeout)` returns
[(stage name, chapter, status, message)] for the student's `my_server.py`, in
stage order, or raises StageRunFailed with the reason.

How: the grader starts the tester's side in a network namespace made for this
student alone (bubblewrap with --unshare-net, the host's files otherwise), so
the loopback the tester and the server share has no one else on it. The tester
(`httpserver.stages.run_stages`, trusted code) starts the server with a command
that is this module's server side: it lets the sandbox's user write the
--directory, then becomes bubblewrap, which runs `python -S my_server.py ...`
in the standard-library sandbox, sharing that network namespace. When the
tester stops the program, it stops bubblewrap, and everything in the sandbox
ends with it. The verdicts are the tester's, made outside the sandbox.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from . import sandbox

MESSAGE_LIMIT = 4000


class StageRunFailed(Exception):
    """The tester itself could not run (not the student's doing)."""


def network_of_its_own(program):
    """`program`, in a new network namespace (loopback only) with the host's files and rights."""
    arguments = ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent"]
    arguments += ["--cap-add", "ALL"] if sandbox.is_root() else ["--unshare-user"]
    return arguments + ["--"] + list(program)


def run_stages_for(server, folder, limits, confined=True, timeout=240):
    """Run every stage against `server` (a my_server.py); [(name, chapter, status, message)]."""
    folder = Path(folder)
    (folder / "home").mkdir(parents=True, exist_ok=True)
    copy = folder / "home" / "my_server.py"  # the tester never touches the submission itself
    copy.write_bytes(Path(server).read_bytes())
    job = {"server": str(copy), "limits": asdict(limits), "confined": confined,
           "result": str(folder / "stages.json"), "home": str(folder / "home")}
    job_file = folder / "stage-job.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    program = [sys.executable, "-m", "httpserver.classroom.stagerun", str(job_file)]
    if confined:
        program = network_of_its_own(program)
    with open(folder / "tester-output.txt", "wb") as output:
        process = subprocess.Popen(program, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            sandbox.stop(process)
            raise StageRunFailed("the stage tester did not finish within %d s" % timeout) from None
    try:
        return [tuple(result) for result in json.loads(Path(job["result"]).read_text(encoding="utf-8"))]
    except (OSError, ValueError):
        tail = (folder / "tester-output.txt").read_text(encoding="utf-8", errors="replace")[-600:]
        raise StageRunFailed("the stage tester stopped (status %s): %s" % (process.returncode, tail)) from None


def tester_side(job_file):
    """Run the stages; write [(name, chapter, status, message)] to the job's result file."""
    from httpserver.stages import run_stages

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    command = [sys.executable, "-m", "httpserver.classroom.stagerun", "--serve", str(job_file),
               "--port", "{port}", "--root", "{root}", "--directory", "{directory}"]
    report = run_stages(command)
    results = [(result.name, result.chapter, result.status, (result.message or "")[:MESSAGE_LIMIT])
               for result in report.results]
    Path(job["result"]).write_text(json.dumps(results), encoding="utf-8")


def option(arguments, name):
    return arguments[arguments.index(name) + 1] if name in arguments else None


def server_side(job_file, arguments):
    """Become the sandboxed server (bubblewrap, or the plain process without a sandbox)."""
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    limits = sandbox.Limits(**job["limits"])
    server = job["server"]
    if not job["confined"]:
        program = [sandbox.python_for(course=False), "-S", "-s", sandbox.tool("confine.py", False),
                   json.dumps(sandbox.unconfined(limits)), sandbox.python_for(course=False), "-S", "-s", server]
        program += arguments
        os.chdir(job["home"])
        os.execv(program[0], program)
    directory, root = option(arguments, "--directory"), option(arguments, "--root")
    tls_files = [path for path in (option(arguments, "--certfile"), option(arguments, "--keyfile")) if path]
    uid = sandbox.sandbox_uid() if sandbox.is_root() else None
    if directory:
        sandbox.give_to(uid, directory)
    for path in tls_files:
        if uid is not None:
            os.chown(path, uid, uid)
    # The WSGI stages' application: the tester puts its folder, inside its workspace, on
    # PYTHONPATH. Only folders of that workspace go in: the grader's own PYTHONPATH never does.
    workspace = os.path.realpath(os.path.dirname(root)) if root else None
    app_folders = [folder for folder in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                   if folder and workspace and os.path.realpath(folder).startswith(workspace + os.sep)]
    view = sandbox.View(files={"my_server.py": server}, writable=[directory] if directory else [],
                        readable=([root] if root else []) + tls_files + app_folders, share_net=True,
                        environment={"PYTHONPATH": os.pathsep.join(app_folders)} if app_folders else {})
    program = [sandbox.python_for(course=False), "-S", "-s", "my_server.py"] + arguments
    command = sandbox.command(program, view, limits, uid)
    os.execvp(command[0], command)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        server_side(argv[1], argv[2:])
    else:
        started = time.monotonic()
        tester_side(argv[0])
        print("stages run in %.1f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
