"""What a request head looks like (RFC 9112, RFC 9110), as compiled patterns.

Contract: each pattern is used with `fullmatch`, so a line must fit it as a whole.
A line that fits is correct; for a line that does not, `request_line_error` and
`field_error` look again, piece by piece, and return the `HTTPError` that names
the first rule it breaks. The parser (`parser.py`) checks with the patterns, one
call into C per line, and explains with those two only when a check fails.
"""

import re

from .errors import HTTPError

# The head is decoded as Latin-1, which maps each byte to the character with the
# same number: the patterns below see exactly the bytes that were sent.
# RFC 9110 §5.6.2: token = 1*tchar.
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# RFC 9112 §3.2 and RFC 3986: a request target is made of the characters a URI
# may contain: letters, digits and -._~%:/?@!$&'()*+,;=[] (no '#', no space).
TARGET = r"[!$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]+"
# §3: request-line = method SP request-target SP HTTP-version
REQUEST_LINE = re.compile(rf"({TOKEN}) ({TARGET}) HTTP/([0-9])\.([0-9])")
# §5.1: field-line = field-name ":" OWS field-value OWS. The value may hold any
# character but controls; HTAB and obs-text are allowed (RFC 9110 §5.5).
FIELD_LINE = re.compile(rf"({TOKEN}):([\t\x20-\x7e\x80-\xff]*)")
# §3.2.2: absolute-form, as proxies receive it: scheme "://" authority path "?" query.
ABSOLUTE_FORM = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?]*)([^?]*)(?:\?(.*))?")
# §3.2 and RFC 3986 §3.2.2: a Host value is a name or IPv4 address, or an IP literal in
# brackets ([::1], or an IPvFuture [v1.x]), then an optional ":" port. Brackets only
# around a whole literal: "[::1" or "a]b" would be read differently by another parser.
HOST = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=%\-]*|\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:\-]+)\])"
                  r"(?::[0-9]*)?")
# §6.2: Content-Length = 1*DIGIT; 18 digits keep it far below any size we accept.
DIGITS = re.compile(r"[0-9]{1,18}")

# RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, matched on bytes (chunk lines are not decoded).
# Whitespace (BWS) may only come before a ";" that starts an extension.
CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?")


# Each compiled pattern checks a whole line in one call into C. Only a line that
# fails goes to one of these two, which look again, piece by piece, to say what
# is wrong in words.

def request_line_error(line):
    """The `HTTPError` for a request line that `REQUEST_LINE` refused."""
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        return HTTPError(400, "malformed request line; expected 'METHOD /path HTTP/1.1'")
    method, target, _ = parts
    if not re.fullmatch(TOKEN, method):
        return HTTPError(400, "invalid method name")
    if not re.fullmatch(TARGET, target):
        return HTTPError(400, "invalid characters in the request target")
    return HTTPError(400, "malformed HTTP version; expected HTTP/1.1")


def field_error(line):
    """The `HTTPError` for a header line that `FIELD_LINE` refused."""
    if line[:1] in (" ", "\t"):
        return HTTPError(400, "obsolete line folding in a header field (RFC 9112 §5.2)")
    name, colon, _ = line.partition(":")
    if not colon:
        return HTTPError(400, "header line without a colon")
    if name[-1:] in (" ", "\t"):
        return HTTPError(400, "whitespace between a header name and its colon (RFC 9112 §5.1)")
    if not re.fullmatch(TOKEN, name):
        return HTTPError(400, "invalid header field name")
    return HTTPError(400, "control character in a header field value")
