"""Stages of chapter 06: one connection, many requests; chunked bodies; gzip.

These stages send several requests on one connection, so they catch what
one-request-per-connection stages cannot: a body left unread (its bytes then
look like the next request), a Content-Length that is off by a few bytes, a
head read that throws away bytes of the next request.
"""

import gzip
import zlib

from .messages import expect_framed
from .stage import expect_status, fail, hint_on_failure, stage

KEEP_ALIVE_HINT = ("HTTP/1.1 connections stay open: loop over requests on the same socket until the client "
                   "sends \"Connection: close\" or closes; keep the bytes after one request for the next.")


@stage("06-keep-alive", "several requests, with bodies, on one connection",
       "RFC 9112 §9.3 (HTTP/1.1 connections are persistent by default)")
def keep_alive(context):
    client = context.connect()
    body = b"stored on a kept-alive connection\n"
    steps = [("GET", "/echo/one", b"", 200, b"one"),
             ("POST", "/files/kept.txt", body, 201, None),
             ("GET", "/files/kept.txt", b"", 200, body),
             ("GET", "/echo/two", b"", 200, b"two")]
    with hint_on_failure(KEEP_ALIVE_HINT, "RFC 9112 §9.3 (persistent connections)"):
        for number, (method, target, data, status, answer) in enumerate(steps, start=1):
            expected = f"request {number} of {len(steps)} on the same connection answered {status}"
            _, response = context.request(target, method=method, body=data, client=client, expected=expected)
            expect_status(response, status, client, expected)
            if answer is not None and response.body != answer:
                fail(f"request {number}: the body is {response.body[:60]!r}, not {answer!r}",
                     expected=expected, client=client)
            if response.field("connection") and "close" in response.field("connection").lower():
                fail(f"response {number} says Connection: close although the client asked for nothing "
                     "of the kind", expected=expected, client=client)


@stage("06-pipelining", "three requests sent at once get three answers, in order",
       "RFC 9112 §9.3.2 (a server answers pipelined requests in the order received)")
def pipelining(context):
    client = context.connect()
    words = ["first", "second", "third"]
    client.send(b"".join(context.request_bytes(f"/echo/{word}") for word in words),
                expected="three answers")
    with hint_on_failure("After answering one request, look for the next one in the bytes you already "
                         "received before calling recv() again."):
        for number, word in enumerate(words, start=1):
            expected = f"answer {number} of 3, body {word!r}"
            response = client.read_response(expected=expected)
            expect_status(response, 200, client, expected)
            if response.body != word.encode():
                fail(f"answer {number} has body {response.body[:60]!r}, not {word!r}",
                     expected=expected, client=client)


@stage("06-connection-close", "Connection: close is answered, then the server closes",
       "RFC 9112 §9.6 (a server that receives \"close\" closes after its response)")
def connection_close(context):
    expected = "200, then the server closes the connection"
    client, response = context.request("/echo/bye", fields=[("Connection", "close")], expected=expected)
    expect_status(response, 200, client, expected)
    closed = client.closes_within(context.timeout)
    if closed is not True:
        fail("the connection stayed open after the response" if closed is False
             else "more bytes came after the response", expected=expected, client=client,
             hint="When the request says \"Connection: close\", close the socket after sending the response.")


CHUNKS = [b"5;note=extensions-are-ignored\r\nhello\r\n", b"1A\r\n" + b"abcdefghijklmnopqrstuvwxyz\r\n",
          b"6\r\n\r\n\x00\xff\r\n\r\n", b"0\r\n\r\n"]
CHUNKED_DATA = b"hello" + b"abcdefghijklmnopqrstuvwxyz" + b"\r\n\x00\xff\r\n"


@stage("06-chunked-upload", "a chunked request body is decoded and stored; the connection goes on",
       "RFC 9112 §7.1 (chunked transfer coding; unknown chunk extensions are ignored)")
def chunked_upload(context):
    name = "chunked.bin"
    client = context.connect()
    expected = f"201 Created, and --directory/{name} holding the {len(CHUNKED_DATA)} decoded bytes"
    head = context.request_bytes(f"/files/{name}", "POST").replace(b"Content-Length: 0",
                                                                    b"Transfer-Encoding: chunked")
    with hint_on_failure("Read a line of hex size (ignore anything after \";\"), then that many bytes and "
                         "CRLF, until the size 0 and an empty line."):
        client.send(head + b"".join(CHUNKS), expected=expected)
        response = client.read_response(expected=expected)
        expect_status(response, 201, client, expected)
        stored = context.workspace.stored(name)
        if stored != CHUNKED_DATA:
            fail(f"--directory/{name} holds {stored!r}", expected=expected, client=client)
        expected = "an answer to the next request on the same connection"
        _, response = context.request("/echo/after-chunks", client=client, expected=expected)
        expect_status(response, 200, client, expected)


GZIP_TEXT = "compress-me-" * 20


@stage("06-gzip", "gzip for a client that accepts it, none for one that does not",
       "RFC 9110 §8.4 (Content-Encoding) and §12.5.3 (Accept-Encoding)")
def gzip_encoding(context):
    for accept, wanted in (("gzip", True), ("br, gzip", True), ("deflate, gzip;q=0.8", True),
                           (None, False), ("identity", False), ("invalid-encoding", False)):
        fields = [("Accept-Encoding", accept)] if accept else []
        expected = ("Content-Encoding: gzip and a body that gunzips to the text" if wanted
                    else "no Content-Encoding, the text as is")
        what = f"Accept-Encoding: {accept}" if accept else "no Accept-Encoding"
        client, response = context.request(f"/echo/{GZIP_TEXT}", fields=fields, expected=expected)
        expect_status(response, 200, client, expected)
        expect_framed(response, client, expected)
        encoding = (response.field("content-encoding") or "").strip().lower()
        if wanted:
            if encoding != "gzip":
                fail(f"{what}: Content-Encoding is {encoding or 'missing'}", expected=expected, client=client,
                     hint="Split Accept-Encoding on commas, strip spaces and parameters, and look for gzip.")
            try:
                text = gzip.decompress(response.body)
            except (OSError, EOFError, zlib.error) as error:
                fail(f"{what}: the body is not gzip data ({error})", expected=expected, client=client,
                     hint="Send gzip.compress(body), and set Content-Length to the compressed size.")
            if text != GZIP_TEXT.encode():
                fail(f"{what}: the body gunzips to {text[:60]!r}", expected=expected, client=client)
        elif encoding not in ("", "identity") or response.body != GZIP_TEXT.encode():
            fail(f"{what}: Content-Encoding is {encoding!r}, body {response.body[:40]!r}",
                 expected=expected, client=client,
                 hint="Compress only when the client lists gzip in Accept-Encoding.")
