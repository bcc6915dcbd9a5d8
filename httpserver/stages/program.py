"""The program under test: start it from a command template, wait for its port, stop it.

Contract: `command_arguments(command, port, workspace, extra)` turns a template
(a string, split like a shell would but never run by one, or a list) into an
argument list, replacing {port}, {root} and {directory}. `Program(arguments)`
starts it with stdout and stderr going to a temporary file (a pipe nobody
reads would fill up and freeze a server that logs every request);
`wait_until_listening(port, seconds)` returns once a connection succeeds or
raises `ProgramError` with the reason and the last lines it printed; `stop()`
ends the process this object started, and only that one.
"""

import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time

PLACEHOLDERS = ("{port}", "{root}", "{directory}")


class ProgramError(Exception):
    """The program could not be started or never listened; the text says why."""


def free_port(host="127.0.0.1"):
    """A port nobody listens on right now (the program binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def split_command(command):
    """A command string split into words, quotes honoured, on every platform."""
    if not isinstance(command, str):
        return [str(word) for word in command]
    if os.name != "nt":
        return shlex.split(command)
    # Windows paths hold backslashes, which POSIX rules would eat: split the
    # Windows way and drop the quotes around a word.
    words = shlex.split(command, posix=False)
    return [word[1:-1] if len(word) > 1 and word[0] == word[-1] == '"' else word for word in words]


def command_arguments(command, port, workspace, extra=()):
    """The argument list: placeholders filled, "python" meaning this Python."""
    words = split_command(command)
    if not any("{port}" in word for word in words):
        raise ProgramError("the command must contain {port}, e.g. \"python my_server.py --port {port}\"")
    values = {"{port}": str(port), "{root}": workspace.root, "{directory}": workspace.directory}
    arguments = []
    for word in words:
        for placeholder in PLACEHOLDERS:
            word = word.replace(placeholder, values[placeholder])
        arguments.append(word)
    # "python" may be missing from PATH (or be another Python) inside a
    # notebook or a virtual environment; the tester's own interpreter is the
    # one the learner is using.
    if arguments and arguments[0] in ("python", "python3"):
        arguments[0] = sys.executable
    return arguments + list(extra)


class Program:
    """A running child process, its output captured in a temporary file."""

    def __init__(self, arguments, cwd=None, python_path=None):
        self.arguments = arguments
        self.output = tempfile.TemporaryFile()
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        if python_path:  # a folder of modules the program must find (--app's, wsgi.py)
            environment["PYTHONPATH"] = os.pathsep.join(filter(None, [python_path, os.environ.get("PYTHONPATH")]))
        try:
            self.process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=self.output,
                                            stderr=subprocess.STDOUT, cwd=cwd, env=environment)
        except OSError as error:
            self.output.close()
            raise ProgramError(f"could not start {arguments[0]!r}: {error}") from None

    def exit_code(self, wait=0.0):
        """None while it runs (after waiting up to `wait` seconds for it to end), else its exit status."""
        try:
            return self.process.wait(timeout=wait) if wait else self.process.poll()
        except subprocess.TimeoutExpired:
            return None

    def output_size(self):
        """How many bytes the program has printed so far (a mark for `output_tail(since=...)`)."""
        self.output.seek(0, os.SEEK_END)
        return self.output.tell()

    def output_tail(self, lines=20, since=0):
        """The last `lines` lines the program printed (stdout and stderr together) after byte `since`."""
        size = self.output_size()
        self.output.seek(max(since, size - 16 * 1024))
        text = self.output.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_listening(self, host, port, seconds=15.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.exit_code() is not None:
                raise ProgramError(f"the program exited with status {self.exit_code()} "
                                   f"before listening on port {port}." + self._tail_note())
            try:
                with socket.create_connection((host, port), timeout=1.0):
                    return
            except OSError:
                time.sleep(0.05)
        raise ProgramError(f"nothing listened on {host}:{port} within {seconds:g} s. "
                           f"Does the program bind the port given by --port, on {host}?" + self._tail_note())

    def _tail_note(self):
        tail = self.output_tail()
        return "\nIts last output:\n" + tail if tail else "\nIt printed nothing."

    def stop(self):
        """Stop the process we started: terminate, then kill if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.output.close()
