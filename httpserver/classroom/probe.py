"""Inside the sandbox: call one answer of a student's on the grader's cases, write what happened.

    python probe.py JOB.json FD

JOB.json names the answer (a function of the student's `my_server.py`, or a name
an answer cell defines, with the code to run first), how to call it (`probe`,
one of KINDS) and the cases, drawn by the grader for this run. The probe calls
the answer on each case and writes one JSON document to the file descriptor FD:
what each call returned or raised, as plain data (`encode`). It judges nothing:
the grader compares that data with the reference answer's, outside the sandbox,
where nothing the student's code did can reach. What matters most (files on
disk, answers on a socket, a TLS handshake) the grader watches from outside.

Standard library only: it runs where `my_server.py` runs, in a sandbox where
the package cannot be imported, beside plain.py (the data both sides share)
and probe_watched.py (the probes the grader watches from outside).
"""

import ast
import collections
import importlib.util
import json
import os
import random
import sys

from plain import call, decode, encode, limited, raised
from probe_watched import probe_atomic_write, probe_concurrency, probe_tls_context


def load_answer(job):
    """(the answer, the namespace it lives in: my_server's module or the answer cell's globals)."""
    if job["source"] == "my_server":
        spec = importlib.util.spec_from_file_location("my_server", job["path"])
        module = importlib.util.module_from_spec(spec)
        sys.modules["my_server"] = module  # dataclasses look their module up while it runs
        spec.loader.exec_module(module)
        return getattr(module, job["name"]), module
    namespace = {"__name__": "__main__"}
    first_error = None
    for whose, code in job["steps"]:
        if whose == "check":  # run by probe_check_cell, once the answers are defined
            continue
        if whose == "chapter":  # the chapter's own code: a failure here is the grader's to see
            exec(compile(code, "the chapter", "exec"), namespace)
            continue
        try:
            tree = ast.parse(code, "your answer cell")
        except SyntaxError as error:
            first_error = first_error or error
            continue
        # Statement by statement, as a notebook would have defined the function before a
        # later line of the cell failed.
        for statement in tree.body:
            try:
                exec(compile(ast.Module([statement], []), "your answer cell", "exec"), namespace)
            except Exception as error:
                first_error = first_error or error
    if job["name"] is None:  # a check cell is what runs: nothing to look up
        return None, namespace
    if job["name"] not in namespace:
        raise first_error or NameError("the answer cell does not define %s" % job["name"])
    return namespace[job["name"]], namespace


# ------------------------------------------------------------------ kinds of probes

def probe_call(answer, home, job):
    """Each case's arguments as they are; `keep_args` cases also report the arguments afterwards."""
    results = []
    for case in job["cases"]:
        args = decode(case["args"])
        observed = call(answer, args)
        if case.get("keep_args"):
            observed["args_after"] = encode(args)
        results.append(observed)
    return results


def probe_base_folder(answer, home, job):
    """Make each case's first argument a folder with docs/ in it (safe_join's base), then call."""
    for case in job["cases"]:
        os.makedirs(os.path.join(decode(case["args"])[0], "docs"), exist_ok=True)
    return probe_call(answer, home, job)


def probe_mutate(answer, home, job):
    """answer(data, random.Random(seed)) twice per case: the same seed must give the same mutant."""
    results = []
    for case in job["cases"]:
        data, seed = decode(case["args"])
        observed = call(answer, (data, random.Random(seed)))
        observed["again"] = call(answer, (data, random.Random(seed)))
        results.append(observed)
    return results


class FedSocket:
    """A socket whose peer sent `pieces`, each arriving in one recv (never more than asked)."""

    def __init__(self, pieces):
        self.pieces = [bytes(piece) for piece in pieces]

    def recv(self, size, flags=0):
        if size < 0:
            raise ValueError("negative buffersize in recv")
        if not self.pieces or size == 0:
            return b""
        piece = self.pieces[0]
        taken, self.pieces[0] = piece[:size], piece[size:]
        if not self.pieces[0]:
            self.pieces.pop(0)
        return taken

    def recv_into(self, buffer, size=0, flags=0):
        data = self.recv(size or len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def unread(self):
        return b"".join(self.pieces)

    def settimeout(self, seconds):
        pass

    def close(self):
        pass


def probe_fed_socket(answer, home, job):
    """The first argument is a socket fed in pieces; report the bytes left unread too."""
    results = []
    for case in job["cases"]:
        args = decode(case["args"])
        sock = FedSocket(args[0])
        observed = call(answer, (sock,) + tuple(args[1:]))
        observed["unread"] = encode(sock.unread())
        results.append(observed)
    return results


def probe_framing(answer, home, job):
    """body_length of a POST with the case's (name, value) fields; HTTPError becomes ["refused", status]."""
    results = []
    for case in job["cases"]:
        fields = {}
        for name, value in decode(case["args"]):
            fields.setdefault(name.lower(), []).append(value)
        try:
            request = home.Request("POST", "/files/x", "HTTP/1.1", fields)
            results.append(limited({"value": encode(answer(request))}))
        except home.HTTPError as error:
            results.append({"value": encode(("refused", getattr(error, "status", None)))})
        except BaseException as error:
            results.append(raised(error))
    return results


def probe_segments(answer, home, job):
    """The first argument is a list of TCP segments (the chapter's Segment), from plain tuples:
    (time, src, sport, dst, dport, seq, ack, flags[, payload])."""
    from httpserver.lab.pcap import Segment

    def build(args):
        segments = [Segment(*fields[:8], 65535, fields[8] if len(fields) > 8 else b"") for fields in args[0]]
        return (segments,) + tuple(args[1:])
    return [call(answer, build(decode(case["args"]))) for case in job["cases"]]


def probe_handling_records(answer, home, job):
    """The argument is a list of HandlingRecords, from (start, end) pairs."""
    from httpserver.lab.load import HandlingRecord

    def build(args):
        return ([HandlingRecord("worker", "/", start, end) for start, end in args[0]],)
    return [call(answer, build(decode(case["args"]))) for case in job["cases"]]


PlainRecord = collections.namedtuple("PlainRecord", "content_type encrypted fragment")


def probe_tls_records(answer, home, job):
    """The argument is a list of TLS records with three fields, from plain tuples."""
    return [call(answer, ([PlainRecord(*fields) for fields in decode(case["args"])[0]],))
            for case in job["cases"]]


def probe_application(answer, home, job):
    """answer is an Application class: each case is a raw request head; report its response."""
    import tempfile

    from httpserver import HTTPError
    from httpserver.background import default_folder
    from httpserver.events import Request
    from httpserver.parser import RequestParser
    from httpserver.response import Response, error_response

    root, directory = default_folder("www"), tempfile.mkdtemp()
    results = []
    for case in job["cases"]:
        parser = RequestParser()
        parser.receive_data(decode(case["args"])[0])
        request = parser.next_event()
        assert isinstance(request, Request), request

        def handle(request=request):
            try:
                response = answer(root, directory).handle(request)
            except HTTPError as error:
                response = error_response(error)
            if not isinstance(response, Response):
                return response
            return (response.status, bytes(response.body or b""), response.header("Content-Type"),
                    response.header("Allow"))
        results.append(call(handle, ()))
    return results


def probe_check_cell(answer, home, job):
    """Run the chapter's check cell with check() and check_equal() recording, not judging.

    For an exercise that has no rule of its own yet. Each case's result is recorded, with
    what the case expects of it; the grader compares the results with the reference's,
    outside. Only a `satisfies=` test runs here, so only it could be fooled from inside.
    """
    from httpserver.lab import checks

    records = []

    def recording_check(function, cases):
        for case in list(cases):
            observed = call(function, case.args + tuple(case.kwargs.values()))
            if case.raises is not None:
                observed["kind"] = "raises"
            elif case.satisfies is not None:
                observed["kind"] = "satisfies"
                observed["passed"] = "value" in observed and bool(call(case.satisfies, (decode(observed["value"]),))
                                                                  .get("value") is True)
            else:
                observed["kind"] = "expected"
            records.append(observed)

    def recording_check_equal(value, expected, explain=""):
        records.append({"kind": "expected", "value": encode(value)})

    checks.check, checks.check_equal = recording_check, recording_check_equal
    home.update(check=recording_check, check_equal=recording_check_equal)
    code = next(code for whose, code in job["steps"] if whose == "check")
    try:
        exec(compile(code, "the check cell", "exec"), home)
        records.append({"kind": "expected", "value": "the check cell ran to its end"})
    except BaseException as error:
        records.append(dict(raised(error), kind="expected"))
    return records


KINDS = {
    "call": probe_call, "base_folder": probe_base_folder, "mutate": probe_mutate, "fed_socket": probe_fed_socket,
    "framing": probe_framing, "segments": probe_segments, "handling_records": probe_handling_records,
    "tls_records": probe_tls_records, "application": probe_application, "atomic_write": probe_atomic_write,
    "concurrency": probe_concurrency, "tls_context": probe_tls_context, "check_cell": probe_check_cell,
}


def main(argv):
    with open(argv[1], encoding="utf-8") as file:
        job = json.load(file)
    channel = os.fdopen(int(argv[2]), "w", encoding="utf-8")
    try:
        answer, home = load_answer(job)
    except BaseException as error:
        report = {"loaded": False, **raised(error)}
    else:
        report = {"loaded": True, "cases": KINDS[job["probe"]](answer, home, job)}
    channel.write(json.dumps(report))
    channel.close()
    os._exit(0)  # threads the answer started (a server's) do not hold the report back


if __name__ == "__main__":
    main(sys.argv)
