"""HTTP/2 messages as the package's own: header lists in, `Request` out; `Response` in, header list out.

Contract: `request_from_fields(fields, limits)` turns the decoded header list of
a HEADERS frame (pairs of bytes, pseudo-header fields first, as the h2 library
hands them over) into the same `Request` the HTTP/1.1 parser makes, so the
application answers both protocols alike; a request we refuse raises
`HTTPError` with the status to answer on that stream. `response_fields(response,
body_length)` gives the header list of a `Response`, `:status` first.

No I/O, and no h2 here: only the rules of RFC 9113 §8 that sit above the frames.
"""

import re

from .errors import HTTPError
from .events import Request
from .grammar import HOST, TOKEN
from .headers import Headers
from .parser import RequestParser
from .response import SERVER_NAME, http_date_now

METHOD = re.compile(TOKEN)
# RFC 9113 §8.2.2: fields that describe one HTTP/1.1 connection mean nothing in
# HTTP/2 (the frames do their work) and must not be sent.
CONNECTION_SPECIFIC = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
NO_CONTENT_LENGTH = frozenset({100, 101, 102, 103, 204, 304})  # RFC 9110 §8.6
FIELD_OVERHEAD = 32  # RFC 9113 §6.5.2 counts each field as name + value + 32 bytes


def header_list_size(fields):
    """The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE measures it."""
    return sum(len(name) + len(value) + FIELD_OVERHEAD for name, value in fields)


def request_from_fields(fields, limits):
    """The `Request` for one HTTP/2 request's header list (RFC 9113 §8.3.1).

    The h2 library has already checked what the frames promise: pseudo-header
    fields present once each and before the others, lower-case names, no
    connection-specific field. What is left is what HTTP/1.1 checks too.
    """
    if header_list_size(fields) > limits.max_head:
        # RFC 9113 §10.5.1: a field section larger than we process gets 431, as in HTTP/1.1.
        raise HTTPError(431, f"request header section larger than {limits.max_head} bytes")
    pseudo, regular = {}, []
    for name, value in fields:
        # RFC 9113 §8.2.1: CR, LF and NUL are never valid in a value; HPACK could carry them.
        if b"\r" in value or b"\n" in value or b"\0" in value:
            raise HTTPError(400, "line break or NUL in a header field value (RFC 9113 §8.2.1)")
        if name[:1] == b":":
            pseudo[name.decode("latin-1")] = value.decode("latin-1")
        else:
            regular.append((name.decode("latin-1"), value.decode("latin-1")))
    if len(regular) > limits.max_fields:
        raise HTTPError(431, f"more than {limits.max_fields} header fields")
    method = pseudo.get(":method", "")
    if not METHOD.fullmatch(method):
        raise HTTPError(400, "invalid method name")
    target = pseudo.get(":path", "")
    if method == "CONNECT":  # §8.5: no :path; refused by the application with 501
        path, query = "", ""
    else:
        if not target:
            raise HTTPError(400, "request without :path (RFC 9113 §8.3.1)")
        if len(target) > limits.max_request_line:
            raise HTTPError(414, "request target too long")
        path, query = RequestParser._parse_target(method, target)
    headers = Headers(regular)
    authority = pseudo.get(":authority")
    if authority is not None:
        # §8.3.1: :authority is what Host says in HTTP/1.1; the application reads Host.
        if not HOST.fullmatch(authority):
            raise HTTPError(400, "invalid :authority")
        if "host" not in headers.by_name:
            headers.add("host", authority)
    request = Request(method, target, path, query, "HTTP/2", headers)
    length = headers.get("content-length")
    request.content_length = int(length) if length and length.isdigit() else None
    if length is not None and request.content_length is not None and request.content_length > limits.max_body:
        raise HTTPError(413, f"request body larger than {limits.max_body} bytes")
    request.expect_continue = (headers.get("expect") or "").lower() == "100-continue"
    return request


def response_fields(response, body_length):
    """The header list of `response`: `:status`, Date, Server, its fields, Content-Length."""
    fields = [(":status", str(response.status)), ("date", http_date_now().decode("ascii")),
              ("server", SERVER_NAME)]
    for name, value in response.headers:
        name = name.lower()  # §8.2.2: field names are lower case in HTTP/2
        if name not in CONNECTION_SPECIFIC:
            fields.append((name, value))
    if response.status not in NO_CONTENT_LENGTH:
        # As over HTTP/1.1 (response.encode_head): take our Content-Type as given.
        fields.append(("x-content-type-options", "nosniff"))
        fields.append(("content-length", str(body_length)))
    return fields
