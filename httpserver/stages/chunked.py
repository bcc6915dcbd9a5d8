"""Stages of chapter 06: chunked request bodies, well formed and malformed.

A chunked body (RFC 9112 §7.1) is a series of chunks, each a size in hex and
that many bytes, up to a chunk of size 0, trailer fields and an empty line.
`06-chunked-upload` sends good bodies in the shapes clients use (extensions,
upper-case hex, trailers, pieces that stop mid-chunk, the next request right
behind); `06-bad-chunks` sends each way a size line or a chunk can be wrong,
which a server must refuse with 400 rather than guess: `int(size, 16)` alone
takes "0x5", "+5", " 5" and "5_0", and a proxy that reads the size otherwise
frames the body differently (request smuggling, chapter 08).
"""

import time

from .expectations import refused
from .stage import expect_status, fail, hint_on_failure, stage

CHUNKED_RULE = "RFC 9112 §7.1 (chunked transfer coding; unknown chunk extensions are ignored, trailers too)"
CHUNKED_HINT = ("Read a line of hex size (ignore anything after \";\"), then that many bytes and CRLF, until "
                "the size 0, then trailer lines up to an empty line.")
CHUNKS = [b"5;note=extensions-are-ignored\r\nhello\r\n", b"1A\r\n" + b"abcdefghijklmnopqrstuvwxyz\r\n",
          b"6\r\n\r\n\x00\xff\r\n\r\n", b"0\r\n\r\n"]
CHUNKED_DATA = b"hello" + b"abcdefghijklmnopqrstuvwxyz" + b"\r\n\x00\xff\r\n"
TRAILED = b"3\r\none\r\n3\r\ntwo\r\n0\r\nX-Checksum: none\r\nX-Trailer: ignored\r\n\r\n"


def chunked_head(context, name):
    return context.request_bytes(f"/files/{name}", "POST").replace(b"Content-Length: 0",
                                                                    b"Transfer-Encoding: chunked")


def expect_stored(context, client, name, data, expected, rule=CHUNKED_RULE, hint=CHUNKED_HINT):
    stored = context.workspace.stored(name)
    if stored != data:
        fail(f"--directory/{name} holds {stored!r}"[:300], expected=expected, client=client, rule=rule,
             hint=hint)


PIECES = b"7\r\nhello, \r\n5\r\nworld\r\n0\r\n\r\n"
# (file name, what is special, the body in the pieces it is sent in, the data to store, rule, hint)
UPLOADS = [
    ("chunked.bin", "extensions, upper-case hex and CRLFs inside the data", [b"".join(CHUNKS)], CHUNKED_DATA,
     CHUNKED_RULE, CHUNKED_HINT),
    ("trailed.txt", "trailer fields after the last chunk", [TRAILED], b"onetwo", CHUNKED_RULE,
     "After the chunk of size 0, read trailer lines up to the empty line and ignore them."),
    ("capital.txt", "\"Transfer-Encoding: Chunked\" (codings are case-insensitive)", [b"7\r\ncapital\r\n0\r\n\r\n"],
     b"capital", "RFC 9112 §7 (transfer coding names are case-insensitive)",
     "Compare transfer codings in lower case: Chunked is chunked."),
    # Pieces that end anywhere: between CR and LF, inside data, inside a size line.
    ("pieces.txt", "pieces sent apart", [PIECES[:2], PIECES[2:7], PIECES[7:13], PIECES[13:]], b"hello, world",
     CHUNKED_RULE, "A chunk may arrive in several recv() results: keep reading until decode_chunked has the "
                   "whole body, never decode what one recv() returned on its own."),
]


@stage("06-chunked-upload", "chunked request bodies (extensions, trailers, pieces) are decoded and stored",
       CHUNKED_RULE)
def chunked_upload(context):
    client = context.connect()
    for name, what, pieces, data, rule, hint in UPLOADS:
        expected = (f"201 for a chunked body with {what}, --directory/{name} holding {data[:40]!r}, and the "
                    "next request on the connection answered")
        head = chunked_head(context, name)
        if b"Chunked" in what.encode():
            head = head.replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: Chunked")
        with hint_on_failure(hint, rule):
            client.send(head + pieces[0], expected=expected)
            for piece in pieces[1:]:
                time.sleep(0.03)
                client.send(piece, expected=expected)
            response = client.read_response("POST", expected=expected)
            expect_status(response, 201, client, expected)
            expect_stored(context, client, name, data, expected, rule=rule, hint=hint)
            # Nothing of the body may be left over to be read as the next request.
            _, response = context.request("/echo/next", client=client, expected=expected)
            expect_status(response, 200, client, expected)

    # The next request right behind the body, in the same write: it is the start of the next request.
    expected = "201 for the chunked body, then 200 for the request sent right behind it in the same write"
    client.send(chunked_head(context, "followed.txt") + b"2\r\nok\r\n0\r\n\r\n"
                + context.request_bytes("/echo/after-chunks"), expected=expected)
    with hint_on_failure("The bytes after the body's final empty line belong to the next request: keep them "
                         "(reader.unread(rest)) for the next read.", "RFC 9112 §9.3.2 (the next request may "
                         "follow at once, in the same bytes)"):
        response = client.read_response("POST", expected=expected)
        expect_status(response, 201, client, expected)
        response = client.read_response(expected=expected)
        expect_status(response, 200, client, expected)
        if response.body != b"after-chunks":
            fail(f"the answer after the chunked body has body {response.body[:60]!r}", expected=expected,
                 client=client)


SIZE_RULE = "RFC 9112 §7.1 (chunk-size = 1*HEXDIG: hex digits only; anything else is a 400)"
SIZE_HINT = ("Check the size with a pattern of hex digits only ([0-9A-Fa-f]+, at most 16 of them) before "
             "int(size, 16), which also takes \"0x5\", \"+5\", \" 5\" and \"5_0\"; only \";\" (after optional "
             "spaces) may follow. Answer 400 and close.")
DATA_RULE = "RFC 9112 §7.1 (chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF)"
DATA_HINT = "After `size` bytes of data, the next two bytes must be CRLF; if not, answer 400 and close."
# (what is wrong, the body, statuses that refuse it, rule, hint)
BAD_CHUNKS = [
    ("the size 0x5", b"0x5\r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("the size +5", b"+5\r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("the size -1", b"-1\r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("the size 5_0", b"5_0\r\n" + b"x" * 80 + b"\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("a space before the size", b" 5\r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("a space after the size, no extension", b"5 \r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("an empty size line", b"\r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("a size that is not hex", b"zz\r\nhello\r\n0\r\n\r\n", (400,), SIZE_RULE, SIZE_HINT),
    ("a size of 20 hex digits, far past any limit", b"FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", (400, 413),
     "RFC 9112 §7.1 and RFC 9110 §15.5.14 (a size no server would accept: 400, or 413 Content Too Large)",
     "Refuse a size line of more than 16 hex digits, and a size past your body limit, before reading any "
     "data: waiting for that many bytes would hang."),
    ("chunk data not followed by CRLF", b"5\r\nhelloXX0\r\n\r\n", (400,), DATA_RULE, DATA_HINT),
    ("more data than the size says", b"5\r\nhello world\r\n0\r\n\r\n", (400,), DATA_RULE, DATA_HINT),
]


@stage("06-bad-chunks", "a malformed chunked body gets a 400, then the connection closes",
       "RFC 9112 §7.1 (chunked transfer coding) and §6.3 (an unreadable body: 400, then close)")
def bad_chunks(context):
    follower = context.request_bytes("/echo/after-the-bad-chunks")
    for what, body, statuses, rule, hint in BAD_CHUNKS:
        wanted = " or ".join(map(str, statuses))
        expected = f"status {wanted} for a chunked body with {what}"
        refused(context, chunked_head(context, "bad-chunks.txt") + body, statuses, expected, rule, hint,
                then=follower, method="POST")
        if context.workspace.stored("bad-chunks.txt") is not None:
            fail(f"after refusing a body with {what}, --directory/bad-chunks.txt exists", expected=expected,
                 rule=rule, hint="Decode the whole body before writing anything: a body that is refused is not "
                                 "stored.")
