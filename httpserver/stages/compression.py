"""Stage of chapter 06: gzip for a client that accepts it, and only for one that does.

Accept-Encoding is a list of codings with optional q-values (RFC 9110 §12.5.3):
names are case-insensitive, q=0 means "not acceptable", and "*" stands for any
coding not named. The course's contract (and the CodeCrafters challenge's) is
to compress a text answer whenever gzip is acceptable, and never otherwise.
"""

import gzip
import zlib

from .expectations import expect_framed
from .stage import expect_status, fail, stage

GZIP_RULE = "RFC 9110 §12.5.3 (Accept-Encoding: a list of codings, case-insensitive, q=0 means not acceptable)"
ENCODING_RULE = "RFC 9110 §8.4 (Content-Encoding: gzip, and Content-Length counts the compressed bytes)"
VARY_RULE = "RFC 9110 §12.5.5 (Vary: Accept-Encoding, when the answer depends on it)"
GZIP_TEXT = "compress-me-" * 20
# (Accept-Encoding, whether gzip is acceptable, the hint for a server that decides wrongly)
ACCEPTS = [
    ("gzip", True, "Look for gzip in Accept-Encoding."),
    ("br, gzip", True, "Split Accept-Encoding on commas and strip spaces: gzip may be anywhere in the list."),
    ("deflate, gzip;q=0.8", True, "Strip the parameters after \";\" from each coding before comparing it."),
    ("GZip", True, "Coding names are case-insensitive: compare them in lower case."),
    ("*", True, "\"*\" accepts every coding not named in the list, gzip included."),
    (None, False, "Compress only when the client lists gzip in Accept-Encoding."),
    ("identity", False, "Compress only when the client lists gzip in Accept-Encoding."),
    ("invalid-encoding", False, "Compress only when the client lists gzip in Accept-Encoding."),
    ("gzip;q=0", False, "q=0 means \"not acceptable\": read each coding's q-value, and compress only when it "
                        "is above 0."),
    ("gzip;q=0, *", False, "A coding named with q=0 stays refused, whatever \"*\" says."),
]


@stage("06-gzip", "gzip for a client that accepts it (in any form of Accept-Encoding), none for one that does not",
       "RFC 9110 §8.4 (Content-Encoding), §12.5.3 (Accept-Encoding) and §12.5.5 (Vary)")
def gzip_encoding(context):
    for accept, wanted, hint in ACCEPTS:
        fields = [("Accept-Encoding", accept)] if accept else []
        what = f"Accept-Encoding: {accept}" if accept else "no Accept-Encoding"
        expected = (f"{what}: Content-Encoding: gzip, Vary: Accept-Encoding, and a body that gunzips to the "
                    "text" if wanted else f"{what}: no Content-Encoding, the text as is")
        client, response = context.request(f"/echo/{GZIP_TEXT}", fields=fields, expected=expected)
        expect_status(response, 200, client, expected, rule=GZIP_RULE)
        expect_framed(response, client, expected)
        encoding = (response.field("content-encoding") or "").strip().lower()
        if not wanted:
            if encoding not in ("", "identity") or response.body != GZIP_TEXT.encode():
                fail(f"{what}: Content-Encoding is {encoding!r}, body {response.body[:40]!r}",
                     expected=expected, client=client, rule=GZIP_RULE, hint=hint)
            continue
        if encoding != "gzip":
            fail(f"{what}: Content-Encoding is {encoding or 'missing'}", expected=expected, client=client,
                 rule=GZIP_RULE, hint=hint)
        try:
            text = gzip.decompress(response.body)
        except (OSError, EOFError, zlib.error) as error:
            fail(f"{what}: the body is not gzip data ({error})", expected=expected, client=client,
                 rule=ENCODING_RULE, hint="Send gzip.compress(body), and set Content-Length to the compressed size.")
        if text != GZIP_TEXT.encode():
            fail(f"{what}: the body gunzips to {text[:60]!r}", expected=expected, client=client,
                 rule=ENCODING_RULE, hint="Compress the very bytes you would have sent.")
        vary = {token.strip().lower() for token in (response.field("vary") or "").split(",")}
        if not vary & {"accept-encoding", "*"}:
            fail(f"{what}: a gzip answer without Vary: Accept-Encoding", expected=expected, client=client,
                 rule=VARY_RULE, hint="Send \"Vary: Accept-Encoding\" with a text answer that may be compressed, "
                                      "so a cache never gives the gzip copy to a client that cannot read it.")
