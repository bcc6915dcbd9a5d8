"""Reading what a client prefers or already has: pure functions on header values.

- `accepts_gzip`: Accept-Encoding with q-values (RFC 9110 §12.5.3).
- `parse_range`: a single byte range (RFC 9110 §14.1.2).
- `etag_matches` / `not_modified_since`: conditional requests (RFC 9110 §13.1).
- `preferred_type`: Accept with q-values, for error pages (RFC 9110 §12.5.1).
"""

import re
from email.utils import parsedate_to_datetime

from .memo import remember_short

# RFC 9110 §14.1.1: byte positions are 1*DIGIT, and DIGIT is 0-9 only. (Python's
# str.isdigit() is also true for "²" and "٣", which int() then refuses.)
BYTE_RANGE = re.compile(r"([0-9]{0,18})-([0-9]{0,18})")


def _qvalue(params):
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


# Clients send the same few Accept-Encoding values again and again.
@remember_short()
def accepts_gzip(accept_encoding):
    """True when an Accept-Encoding value allows gzip (q > 0, named or by '*')."""
    if not accept_encoding:
        # An empty field asks for no coding (RFC 9110 §12.5.3). No field at all would allow
        # any coding by the RFC; not compressing then is a policy (nginx's too): clients that
        # send none are mostly raw sockets and curl without --compressed.
        return False
    named = star = None
    for element in accept_encoding.split(","):
        coding, *params = element.split(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            named = _qvalue(params)
        elif coding == "*":
            star = _qvalue(params)
    if named is not None:
        return named > 0
    return star is not None and star > 0


def parse_range(range_header, size):
    """(start, end) inclusive for a single satisfiable range, or a reason it fails.

    Returns None when the header should be ignored (not bytes, several ranges,
    malformed: RFC 9110 §14.2 lets a server ignore Range), "unsatisfiable" when it
    asks only for bytes past the end (answer 416), else the inclusive pair.
    """
    unit, _, spec = range_header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    positions = BYTE_RANGE.fullmatch(spec.strip())
    if positions is None:
        return None
    first, last = positions.groups()
    if first == "":  # a suffix: the last N bytes
        if last == "":
            return None
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # "bytes=5-3" is invalid: ignore it
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last), size - 1) if last else size - 1


def _opaque(tag):
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match, etags):
    """Weak comparison of an If-None-Match value against our tags (RFC 9110 §13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    wanted = {_opaque(tag) for tag in if_none_match.split(",")}
    return any(_opaque(tag) in wanted for tag in etags)


def not_modified_since(if_modified_since, mtime):
    """True when the file is no newer than the If-Modified-Since date."""
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    return int(mtime) <= since


def preferred_type(accept, offered):
    """Which of the `offered` media types an Accept value ranks highest.

    RFC 9110 §12.5.1: each type gets the q of the most specific range that
    matches it (`text/html` over `text/*` over `*/*`). A tie, no Accept field,
    or nothing acceptable goes to the first offered type. Parameters other than
    q are ignored, a simplification that our two types never need. Not cached:
    only errors ask.
    """
    if not accept:
        return offered[0]
    ranges = {}  # "type/subtype", "type/*" or "*/*" → q
    for element in accept.split(","):
        media_range, *params = element.split(";")
        ranges[media_range.strip().lower()] = _qvalue(params)
    best, best_q = offered[0], 0.0
    for media_type in offered:
        kind = media_type.split("/")[0]
        for candidate in (media_type, kind + "/*", "*/*"):
            if candidate in ranges:
                q = ranges[candidate]
                if q > best_q:
                    best, best_q = media_type, q
                break
    return best
