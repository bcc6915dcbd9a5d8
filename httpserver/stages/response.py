"""A response as the tester sees it, and the RFC 9112 rules its head must follow.

Contract: `check_head(lines, client, expected)` takes the lines of a response
head (CRLF removed) and returns (version, status, reason, fields), or raises
`StageFailure` naming the rule broken: the status line's grammar, HTTP/1.1,
field lines "Name: value" without obsolete folding, one decimal
Content-Length, none in a 1xx or 204, and never with Transfer-Encoding.
`Response` holds what was read; its field lookups ignore the case of names.
"""

import re
from dataclasses import dataclass
from typing import List, Tuple

from .failure import StageFailure

# RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
STATUS_LINE = re.compile(rb"(HTTP/\d\.\d) (\d{3}) ([\t \x21-\x7e\x80-\xff]*)\Z")
# RFC 9112 §5 and RFC 9110 §5.1, §5.5: field-name ":" OWS field-value OWS
FIELD_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\t \x21-\x7e\x80-\xff]*?)[ \t]*\Z")
DIGITS = re.compile(r"[0-9]+\Z")


@dataclass
class Response:
    """A response as read off the wire: status, fields in order, body, raw head."""

    version: str
    status: int
    reason: str
    fields: List[Tuple[str, str]]
    body: bytes
    head: bytes

    def field(self, name):
        """The field's value (repeated fields joined by ", "), or None; names are case-insensitive."""
        values = [value for key, value in self.fields if key.lower() == name.lower()]
        return ", ".join(values) if values else None

    def media_type(self):
        """Content-Type without parameters, lowercase ("text/plain; charset=utf-8" → "text/plain")."""
        value = self.field("content-type")
        return None if value is None else value.split(";")[0].strip().lower()


def check_head(lines, client, expected):
    """Check a head's lines (CRLF removed) against RFC 9112; (version, status, reason, fields)."""
    def fail(problem, rule, hint=None):
        raise StageFailure(problem, expected=expected, client=client, rule=rule, hint=hint)

    match = STATUS_LINE.match(lines[0])
    if not match:
        fail(f"the status line {lines[0]!r} does not read \"HTTP/1.1 <3-digit code> <reason>\"",
             "RFC 9112 §4 (status-line = HTTP-version SP status-code SP [reason-phrase])",
             "Write exactly one space after the version and after the code, e.g. \"HTTP/1.1 200 OK\\r\\n\".")
    version, reason = match.group(1).decode("latin-1"), match.group(3).decode("latin-1")
    status = match.group(2)
    if version != "HTTP/1.1":
        fail(f"the status line says {version}; the tester sent HTTP/1.1 requests and expects an HTTP/1.1 server",
             "RFC 9110 §6.2 (a server sends the highest HTTP version it conforms to)",
             "Start every status line with \"HTTP/1.1 \".")
    fields = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            fail(f"the field line {line!r} starts with whitespace (obsolete line folding)",
                 "RFC 9112 §5.2 (a server must not generate obs-fold)")
        field = FIELD_LINE.match(line)
        if not field:
            fail(f"the line {line!r} is not a header field \"Name: value\"",
                 "RFC 9112 §5 (field-line = field-name \":\" OWS field-value OWS)",
                 "Write \"Name: value\\r\\n\", no space before the colon; "
                 "the head ends with one empty line, and the body comes only after it.")
        fields.append(tuple(part.decode("latin-1") for part in field.groups()))
    lengths = {value.strip() for name, value in fields if name.lower() == "content-length"}
    if any(not DIGITS.match(value) for value in lengths) or len(lengths) > 1:
        fail(f"Content-Length {', '.join(sorted(lengths))} is not one decimal number",
             "RFC 9110 §8.6 (Content-Length = 1*DIGIT)")
    if lengths and (status == b"204" or status.startswith(b"1")):
        fail(f"a {status.decode()} response carries Content-Length",
             "RFC 9110 §8.6 (a server must not send Content-Length in a 1xx or 204 response)",
             "Leave Content-Length out of 204 No Content: it has no body by definition.")
    if lengths and any(name.lower() == "transfer-encoding" for name, _ in fields):
        fail("the response has both Content-Length and Transfer-Encoding",
             "RFC 9112 §6.2 (a sender must not send Content-Length with Transfer-Encoding)")
    return version, int(status), reason, fields
