"""Planted bugs for the stage tester's tests: which stage must catch each, naming which rule.

Each row plants one flaw of tests/stage_servers/tiny_server.py (its FLAWS) in it, a
server written apart from the package and from notebooks/my_server.py, runs
the stages of the chapter that teaches the broken rule, and expects the first
failure to be `stage`, with `rule` in the report's Rule line and `problem` in
its Problem line (and `also` anywhere in the message, when given). A bug that
some stage catches, but with another stage's or rule's words, counts as missed:
a report that names the wrong rule misleads the learner.

The test modules record each verdict as the user property "planted-bug";
conftest.py prints the mutation score from them at the end of the run.
"""

import sys
from dataclasses import dataclass
from pathlib import Path

from httpserver.stages import STAGES, run_stages

SERVERS = Path(__file__).resolve().parent / "stage_servers"
TINY_COMMAND = [sys.executable, str(SERVERS / "tiny_server.py"), "--port", "{port}", "--root", "{root}",
                "--directory", "{directory}"]
sys.path.insert(0, str(SERVERS))
from tiny_server import FLAWS  # noqa: E402  (tests/stage_servers is not a package: the server runs as a script)

CONTENT_LENGTH = "RFC 9110 §8.6"
CLOSE = "RFC 9112 §9.6"
HTTP_1_0 = "an HTTP/1.0 connection closes"
CHUNK_SIZE = "chunk-size = 1*HEXDIG"
CLOSE_AFTER_ERROR = "RFC 9112 §6.3 (after a message it cannot frame"


@dataclass(frozen=True)
class Mutant:
    flaw: str
    stage: str
    rule: str  # words of the Rule line
    problem: str  # words of the Problem line
    also: str = ""  # words anywhere in the message (the hint, the program's output)
    never: str = ""  # words that must not be in the message (another check's hint)
    exchange: bool = True  # the report shows bytes sent (False: it failed in a TLS handshake)

    @property
    def chapter(self):
        return self.stage[:2]


MUTANTS = [
    Mutant("status-line", "01-bind", "RFC 9112 §4", "does not read \"HTTP/1.1 <3-digit code>"),
    Mutant("http-1-0-status", "01-bind", "RFC 9110 §6.2", "the status line says HTTP/1.0"),
    Mutant("lf-only", "01-bind", "RFC 9112 §2.1", "bare LF"),
    Mutant("stray-crlf", "01-read-head", CONTENT_LENGTH, "2 bytes (b'\\r\\n') came after the body",
           also="no CRLF after the body", never="once per recv"),
    Mutant("first-recv", "01-read-head", "RFC 9293 §3.1", "answered after piece 1 of 5"),
    Mutant("no-400", "02-bad-request", "RFC 9112 §5 (field-line", "the status is 200, not 400"),
    Mutant("split-any-space", "02-bad-request", "exactly one SP", "the status is 200, not 400"),
    Mutant("lowercase-version", "02-bad-request", "HTTP-name is case-sensitive", "the status is 200, not 400"),
    Mutant("any-version", "02-bad-request", "RFC 9110 §15.6.6", "the status is 200, not 505 or 400"),
    Mutant("method-not-token", "02-bad-request", "method = token", "not 400"),
    Mutant("target-any-bytes", "02-bad-request", "visible ASCII", "not 400"),
    Mutant("bare-lf-request", "02-bad-request", "RFC 9112 §2.2", "the status is 200, not 400"),
    Mutant("strip-field-name", "02-bad-request", "RFC 9112 §5.1", "the status is 200, not 400"),
    Mutant("query-in-path", "02-request-line", "RFC 9112 §3", "the status is 404, not 200", also="query"),
    Mutant("unbound-local", "02-request-line", "RFC 9110 §15.5.5", "your program exited (status 1)",
           also="UnboundLocalError"),
    Mutant("keep-open-after-400", "02-bad-request", CLOSE_AFTER_ERROR, "another response came after the answer"),
    Mutant("no-host-check", "02-host", "RFC 9112 §3.2", "the status is 200, not 400"),
    Mutant("last-host-wins", "02-host", "RFC 9112 §3.2", "the status is 200, not 400"),
    Mutant("host-on-1-0", "02-host", "RFC 9112 §3.2", "the status is 400, not 200"),
    Mutant("no-content-length", "03-echo", CONTENT_LENGTH, "has no Content-Length"),
    Mutant("short-content-length", "03-echo", CONTENT_LENGTH, "Content-Length (9) is 1 short"),
    Mutant("long-content-length", "03-echo", CONTENT_LENGTH, "Content-Length announced 11 bytes"),
    Mutant("chars-not-bytes", "03-echo", CONTENT_LENGTH, "is 2 short of the 12 bytes of 'café-naïve'"),
    Mutant("charset-always", "03-echo", "RFC 2046 §4.1.2", "not 'text/plain'"),
    Mutant("no-charset", "03-echo", "RFC 2046 §4.1.2", "not 'text/plain; charset=utf-8'"),
    Mutant("no-percent-decode", "03-echo", "RFC 3986 §2.1", "b'hello%20world'"),
    Mutant("user-agent-case", "03-user-agent", "RFC 9110 §5.1", "the body is b'', not b'lower/case-name'",
           also="case-insensitive", never="Content-Length must count"),
    Mutant("user-agent-split", "03-user-agent", "RFC 9112 §5.1", "b'curl/8.5.0 (x86_64; https', not",
           also="split the line once"),
    Mutant("user-agent-ows", "03-user-agent", "OWS", "the body is b' stage-tester/1.0 (chapter 03)'"),
    Mutant("head-body", "03-head", "RFC 9110 §9.3.2", "came after the head of a HEAD response"),
    Mutant("head-length-zero", "03-head", "RFC 9110 §9.3.2", "HEAD says Content-Length: 0"),
    Mutant("head-not-routed", "03-head", "RFC 9110 §9.3.2", "the status is 501, not 200"),
    Mutant("no-date", "03-date", "RFC 9110 §6.6.1", "no Date field"),
    Mutant("ctime-date", "03-date", "IMF-fixdate", "is not in IMF-fixdate form"),
    Mutant("no-allow", "03-errors", "a 405 MUST carry Allow", "a 405 without an Allow field"),
    Mutant("wrong-method-404", "03-errors", "RFC 9110 §15.5.6", "the status is 404, not 405"),
    Mutant("unknown-method-500", "03-errors", "RFC 9110 §9.1", "the status is 500"),
    Mutant("method-case-insensitive", "03-errors", "case-sensitive", "the status is 200"),
    Mutant("echo-decode-crash", "03-errors", "RFC 9110 §15.5.1", "closed the connection without answering",
           also="UnicodeDecodeError"),
    Mutant("error-no-length", "03-errors", CONTENT_LENGTH, "has no Content-Length"),
    Mutant("traversal", "04-traversal", "RFC 9110 §17.1", "the secret file outside --root and --directory"),
    Mutant("symlink-escape", "04-traversal", "RFC 9110 §17.1", "a symbolic link"),
    Mutant("prefix-check", "04-traversal", "RFC 9110 §17.1", "GET /../www-private/secret.txt"),
    Mutant("double-decode", "04-traversal", "RFC 9110 §17.1", "GET /%252e%252e/secret.txt"),
    Mutant("partial-upload", "04-files-write", "RFC 9110 §9.3.3", "holds 0 bytes, not the 2083 sent"),
    Mutant("body-ignored", "04-files-write", "RFC 9110 §9.3.3", "holds 0 bytes, not the 2083 sent"),
    Mutant("body-first-recv", "04-files-write", "RFC 9112 §6.2", "uploaded-in-pieces.bin holds 0 of the 2083"),
    Mutant("put-append", "04-files-write", "RFC 9110 §9.3.4", "after PUT, --directory/uploaded.bin holds 2099"),
    Mutant("files-no-decode", "04-files-write", "RFC 3986 §2.1", "did not store --directory/with space.bin"),
    Mutant("content-length-case", "04-files-write", "RFC 9110 §5.1", "(lower case) was not stored"),
    Mutant("length-on-204", "04-files-write", "RFC 9110 §8.6", "a 204 response carries Content-Length"),
    Mutant("post-200", "04-files-write", "RFC 9110 §9.3.3", "the status is 200, not 201"),
    Mutant("send-not-sendall", "04-files-read", CONTENT_LENGTH, "Content-Length announced 4194304 bytes",
           also="sendall"),
    Mutant("delete-static", "04-static", "RFC 9110 §15.5.6", "DELETE /about.txt deleted the file"),
    Mutant("one-at-a-time", "05-concurrent", "RFC 9112 §9", "no answer within 2 s", also="own thread"),
    Mutant("no-keep-alive", "06-keep-alive", "RFC 9112 §9.3", "says Connection: close although"),
    Mutant("lost-pipeline", "06-pipelining", "RFC 9112 §9.3.2", "no answer within 2 s"),
    Mutant("body-only-for-post", "06-keep-alive", "RFC 9112 §9.3", "the status is 400, not 200",
           also="whatever the method"),
    Mutant("fields-carried-over", "06-keep-alive", "RFC 9112 §9.3", "the status is 400, not 201",
           also="afresh"),
    Mutant("close-exact", "06-connection-close", CLOSE, "stayed open after the response (a capital letter"),
    Mutant("close-ignored", "06-connection-close", CLOSE, "stayed open after the response (the plain form)"),
    Mutant("close-whole-value", "06-connection-close", CLOSE, "(a list whose last token is close)"),
    Mutant("close-first-field", "06-connection-close", CLOSE, "(two Connection fields, close in the second)"),
    Mutant("close-substring", "06-connection-close", "RFC 9112 §9.3", "closed the connection without answering",
           also="not substrings"),
    Mutant("no-close-header", "06-connection-close", CLOSE, "did not say Connection: close"),
    Mutant("http10-persistent", "06-http-1-0", HTTP_1_0, "stayed open for 2 s after the answer"),
    Mutant("http10-keepalive-ignored", "06-http-1-0", HTTP_1_0, "says Connection: close"),
    Mutant("http10-no-keepalive-header", "06-http-1-0", HTTP_1_0, "says Connection: None"),
    Mutant("no-chunked", "06-chunked-upload", "RFC 9112 §7.1", "chunked.bin holds b''"),
    Mutant("chunked-case", "06-chunked-upload", "RFC 9112 §7 (transfer coding names", "not 201"),
    Mutant("chunk-int16", "06-bad-chunks", CHUNK_SIZE, "the status is 201, not 400", also="the size 0x5"),
    Mutant("chunk-strip", "06-bad-chunks", CHUNK_SIZE, "the status is 201, not 400", also="a space before"),
    Mutant("chunk-lenient-crlf", "06-bad-chunks", "chunk-data CRLF", "the status is 201, not 400"),
    Mutant("chunk-no-trailer", "06-chunked-upload", "trailers", "the status is 400, not 200",
           also="trailer lines"),
    Mutant("chunk-one-recv", "06-chunked-upload", "RFC 9112 §7.1", "pieces.txt holds b''"),
    Mutant("chunk-rest-dropped", "06-chunked-upload", "RFC 9112 §9.3.2", "no answer within 2 s"),
    Mutant("chunk-dead-thread", "06-bad-chunks", CHUNK_SIZE, "closed the connection without answering",
           also="ValueError: invalid chunk size"),
    Mutant("chunk-keep-open", "06-bad-chunks", CLOSE_AFTER_ERROR, "another response came after the answer"),
    Mutant("chunk-no-limit", "06-bad-chunks", "RFC 9110 §15.5.14", "no answer within 2 s"),
    Mutant("no-gzip", "06-gzip", "RFC 9110 §12.5.3", "Accept-Encoding: gzip: Content-Encoding is missing"),
    Mutant("gzip-q0", "06-gzip", "RFC 9110 §12.5.3", "Accept-Encoding: gzip;q=0: Content-Encoding is 'gzip'"),
    Mutant("gzip-exact", "06-gzip", "RFC 9110 §12.5.3", "Accept-Encoding: br, gzip: Content-Encoding is missing"),
    Mutant("gzip-case", "06-gzip", "RFC 9110 §12.5.3", "Accept-Encoding: GZip: Content-Encoding is missing"),
    Mutant("gzip-star", "06-gzip", "RFC 9110 §12.5.3", "Accept-Encoding: *: Content-Encoding is missing"),
    Mutant("gzip-no-vary", "06-gzip", "RFC 9110 §12.5.5", "without Vary: Accept-Encoding"),
    Mutant("self-signed", "07-https", "RFC 9110 §4.3.4", "certificate verify failed", exchange=False),
    Mutant("plain-tls-silent", "07-plain-on-tls", "RFC 9110 §15.5.1", "without a word"),
    Mutant("tls-in-accept-loop", "07-https", "connections are independent", "while one connection said nothing",
           exchange=False),
    Mutant("no-limits", "08-uri-too-long", "RFC 9110 §15.5.15", "the status is 200, not 414"),
    Mutant("no-field-count-limit", "08-header-too-large", "RFC 6585 §5", "the status is 200, not 431",
           also="2,000 header fields"),
    Mutant("body-limit-after-read", "08-body-too-large", "RFC 9110 §15.5.14", "no answer within 2 s"),
    Mutant("no-expect", "08-expect-continue", "RFC 9110 §10.1.1", "no answer within 2 s"),
    Mutant("smuggling", "08-smuggling", "RFC 9112 §6.1", "the hidden request after the body was answered too"),
    Mutant("cl-int", "08-smuggling", "Content-Length = 1*DIGIT", "the status is 201, not 400", also="+5"),
    Mutant("cl-first-wins", "08-smuggling", "RFC 9112 §6.3 item 5", "the status is 201, not 400"),
    Mutant("te-substring", "08-smuggling", "RFC 9112 §6.3 item 4", "the status is 201, not 400"),
    Mutant("wsgi-raw-path", "10-wsgi-environ", "PEP 3333, environ Variables",
           "the application saw PATH_INFO='/caf%C3%A9'"),
    Mutant("wsgi-no-input", "10-wsgi-body", "Input and Error Streams", "the body came back as 0 bytes"),
    Mutant("wsgi-first-piece", "10-wsgi-stream", "Buffering and Streaming", "the body is b'one '"),
    Mutant("wsgi-crash", "10-wsgi-error", "PEP 3333, Error Handling", "closed the connection without answering"),
]
TIMEOUT = 2.0  # seconds per answer: a mutant that hangs costs this much


def run_mutant(mutant):
    """(verdict, report): "caught" when the expected stage failed with the expected words,
    "misreported" when another stage or other words caught it, "missed" when every stage passed."""
    stages = [stage.name for stage in STAGES if f"{stage.chapter:02d}" == mutant.chapter]
    report = run_stages(TINY_COMMAND + ["--break", mutant.flaw], names=stages, timeout=TIMEOUT)
    failure = report.failure
    if failure is None:
        return "missed", report
    right = (failure.name == mutant.stage and mutant.rule in failure.rule and mutant.problem in failure.problem
             and mutant.also in failure.message and not (mutant.never and mutant.never in failure.message))
    return ("caught" if right else "misreported"), report


def check_mutant(mutant, record_property):
    """Run one mutant, record its verdict, and fail the test unless it was caught as expected."""
    verdict, report = run_mutant(mutant)
    record_property("planted-bug", verdict)
    assert verdict == "caught", f"{mutant.flaw} ({FLAWS[mutant.flaw]}): {verdict}\n{report.summary()}"
    failure = report.failure
    assert "Rule:" in failure.message and failure.rule in failure.message
    if mutant.exchange:  # a handshake that fails has no HTTP exchange to show
        assert "sent" in {direction for direction, _, _ in failure.exchange}
