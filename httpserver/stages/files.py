"""Stages of chapter 04: /files/ in --directory, static files in --root, paths that
cannot escape, uploads that land whole or not at all.

The tester made the folders (workspace.py), so it checks the disk directly as
well as over HTTP: an upload must be on disk byte for byte, a refused one nowhere.
"""

import os
import time
from urllib.parse import quote

from .expectations import expect_framed, expect_head_like_get
from .stage import expect_status, fail, stage
from .workspace import ABOUT_TEXT, BIG_FILE, INDEX_HTML, SECRET, STORED_FILE

# A body with every byte value, CRLFs and even an empty line inside: it must be
# stored as bytes, not as text, and not cut at "\r\n\r\n".
UPLOAD = b"first line\r\n\r\nafter an empty line\r\n" + bytes(range(256)) * 8


@stage("04-files-read", "GET and HEAD /files/{name} from --directory as application/octet-stream",
       "RFC 9110 §9.3.1 (GET), §9.3.2 (HEAD: the same fields as GET, no body) and §8.3 (Content-Type)")
def files_read(context):
    name, data = STORED_FILE
    expected = f"200, Content-Type: application/octet-stream, the {len(data)} bytes of {name}"
    client, got = context.request(f"/files/{name}", expected=expected)
    expect_status(got, 200, client, expected, rule="RFC 9110 §9.3.1 (GET transfers the file)",
                  hint="Map /files/{name} to the file {name} in --directory.")
    if got.media_type() != "application/octet-stream":
        fail(f"Content-Type is {got.field('content-type')!r}", expected=expected, client=client,
             rule="RFC 9110 §8.3 (Content-Type) and the route: /files/ answers application/octet-stream",
             hint="Files under /files/ are sent as application/octet-stream: bytes, not text.")
    expect_framed(got, client, expected)
    if got.body != data:
        fail(f"the body ({len(got.body)} bytes) differs from the file ({len(data)} bytes)",
             expected=expected, client=client, rule="RFC 9110 §9.3.1 (GET transfers the file as it is)",
             hint="Open the file in binary mode (\"rb\") and send it as is.")

    big_name, big_data = BIG_FILE
    expected = f"200 and all {len(big_data):,} bytes of {big_name}"
    # A slow reader, as on a real network: a small receive window, and a pause before
    # reading. The server's buffers then fill, and one send() sends only part of it.
    client = context.connect(receive_buffer=16 * 1024)
    client.send(context.request_bytes(f"/files/{big_name}"), expected=expected)
    time.sleep(0.3)
    got_big = client.read_response("GET", expected=expected)
    client.shutdown()
    expect_status(got_big, 200, client, expected, rule="RFC 9110 §9.3.1 (GET transfers the file)")
    if got_big.body != big_data:
        fail(f"the body of {big_name} ({len(got_big.body):,} bytes) differs from the file "
             f"({len(big_data):,} bytes)",
             expected=expected, client=client, rule="RFC 9110 §9.3.1 (GET transfers the file as it is)",
             hint="Send with sock.sendall(data): sock.send(data) may send only part of a large answer.")

    expected = "404 for a file that does not exist"
    client, missing = context.request("/files/no-such-file-4b2.bin", expected=expected)
    expect_status(missing, 404, client, expected, rule="RFC 9110 §15.5.5 (404 Not Found)",
                  hint="Catch FileNotFoundError and answer 404.")

    expected = f"200 with the same Content-Length as GET ({len(data)}) and no body"
    expect_head_like_get(context, f"/files/{name}", got, expected)


WRITE_RULE = "RFC 9110 §9.3.3 (POST), §9.3.4 (PUT: 201 when created, 200 or 204 when replaced), §9.3.5 (DELETE)"


@stage("04-files-write", "POST stores a file (201), however its body is split; PUT replaces it, DELETE removes it",
       WRITE_RULE)
def files_write(context):
    name = "uploaded.bin"
    expected = f"201 Created, and --directory/{name} holding the {len(UPLOAD)} bytes sent"
    client, response = context.request(f"/files/{name}", method="POST", body=UPLOAD, expected=expected,
                                       fields=[("Content-Type", "application/octet-stream")])
    expect_status(response, 201, client, expected, rule=WRITE_RULE)
    stored = context.workspace.stored(name)
    if stored != UPLOAD:
        found = ("no file" if stored is None else f"{len(stored)} bytes, not the {len(UPLOAD)} sent"
                 if len(stored) != len(UPLOAD) else f"{len(stored)} bytes that differ from those sent")
        fail(f"after the 201, --directory/{name} holds {found}", expected=expected, client=client,
             rule="RFC 9110 §9.3.3 (POST stores the body sent) and §8.6 (Content-Length says how long it is)",
             hint="Read exactly Content-Length bytes of body (the head's recv may already hold "
                  "the first of them) and write them in binary mode.")

    # The same upload again, the head and the body in separate writes, the body in two
    # pieces: what came with the head is only the start of the body.
    name_in_pieces = "uploaded-in-pieces.bin"
    expected = f"201 Created, and --directory/{name_in_pieces} holding all {len(UPLOAD)} bytes sent in pieces"
    client = context.connect()
    head = context.request_bytes(f"/files/{name_in_pieces}", "POST", body=UPLOAD)[:-len(UPLOAD)]
    for piece in (head, UPLOAD[:100], UPLOAD[100:]):
        client.send(piece, expected=expected)
        time.sleep(0.05)
    response = client.read_response("POST", expected=expected)
    expect_status(response, 201, client, expected, rule=WRITE_RULE)
    stored = context.workspace.stored(name_in_pieces)
    if stored != UPLOAD:
        fail(f"after the 201, --directory/{name_in_pieces} holds "
             f"{'no file' if stored is None else f'{len(stored)} of the {len(UPLOAD)} bytes sent'}",
             expected=expected, client=client, rule="RFC 9112 §6.2 (the body is the next Content-Length "
             "bytes, however TCP splits them)", hint="Keep calling recv() until Content-Length bytes of body "
             "have arrived (recv_exactly), starting with those that came with the head.")
    client.shutdown()

    expected = "201, and the upload stored as --directory/with space.bin (the name percent-decoded)"
    client, response = context.request("/files/with%20space.bin", method="POST", body=b"spaced", expected=expected)
    expect_status(response, 201, client, expected, rule=WRITE_RULE)
    if context.workspace.stored("with space.bin") != b"spaced":
        fail("POST /files/with%20space.bin did not store --directory/with space.bin", expected=expected,
             client=client, rule="RFC 3986 §2.1 (%20 in a path is an encoded space)",
             hint="Percent-decode each segment of the path (urllib.parse.unquote) before using it as a file name.")

    expected = "201, and --directory/lower-case.bin holding the 6 bytes sent with \"content-length: 6\""
    client = context.connect()
    client.send(f"POST /files/lower-case.bin HTTP/1.1\r\nhost: {context.authority}\r\ncontent-length: 6\r\n"
                f"\r\nlowers".encode(), expected=expected)
    response = client.read_response("POST", expected=expected)
    expect_status(response, 201, client, expected, rule=WRITE_RULE)
    if context.workspace.stored("lower-case.bin") != b"lowers":
        fail("the body sent with \"content-length: 6\" (lower case) was not stored", expected=expected,
             client=client, rule="RFC 9110 §5.1 (field names are case-insensitive)",
             hint="Look fields up by their lower-cased name: content-length is Content-Length.")
    client.shutdown()

    replacement = b"replaced by PUT\n"
    expected = f"200 or 204 (or 201), and --directory/{name} holding exactly {replacement!r}"
    client, response = context.request(f"/files/{name}", method="PUT", body=replacement, expected=expected)
    expect_status(response, (200, 201, 204), client, expected, rule=WRITE_RULE)
    stored = context.workspace.stored(name)
    if stored != replacement:
        fail(f"after PUT, --directory/{name} holds {len(stored)} bytes, not the {len(replacement)} of the new "
             "body" if stored is not None else f"after PUT, --directory/{name} is gone", expected=expected,
             client=client, rule="RFC 9110 §9.3.4 (PUT replaces the target's state with the body)",
             hint="Open the file with \"wb\" (write anew), not \"ab\" (append), or better write a temporary "
                  "file and os.replace() it.")

    expected = f"200 or 204, and --directory/{name} gone; then 404 for GET"
    client, response = context.request(f"/files/{name}", method="DELETE", expected=expected)
    expect_status(response, (200, 202, 204), client, expected, rule=WRITE_RULE)
    if context.workspace.stored(name) is not None:
        fail(f"after DELETE, --directory/{name} is still there", expected=expected, client=client,
             rule="RFC 9110 §9.3.5 (DELETE removes the target)", hint="os.remove(path), then answer 204.")
    client, response = context.request(f"/files/{name}", expected=expected)
    expect_status(response, 404, client, expected, rule="RFC 9110 §15.5.5 (404 for a file that is not there)",
                  hint="Catch FileNotFoundError (or check os.path.isfile) and answer 404.")


STATIC_RULE = "RFC 9110 §9.3.1 (GET transfers the file) and §8.3 (Content-Type names its media type)"


@stage("04-static", "static files from --root, GET and HEAD; / serves index.html; DELETE is 405 with Allow",
       "RFC 9110 §8.3 (Content-Type), §9.3.1 (GET), §9.3.2 (HEAD) and §15.5.6 (405 with Allow)")
def static_files(context):
    for target, data, media_type in (("/", INDEX_HTML, "text/html"), ("/index.html", INDEX_HTML, "text/html"),
                                     ("/about.txt", ABOUT_TEXT, "text/plain")):
        expected = f"200, Content-Type: {media_type}, the {len(data)} bytes of the file"
        client, response = context.request(target, expected=expected)
        expect_status(response, 200, client, expected, rule=STATIC_RULE,
                      hint="Map the path to a file under --root; \"/\" means index.html.")
        if response.media_type() != media_type:
            fail(f"Content-Type is {response.field('content-type')!r}", expected=expected, client=client,
                 rule=STATIC_RULE, hint="Choose the type by the file name's extension (.html is text/html).")
        if response.body != data:
            fail("the body differs from the file", expected=expected, client=client, rule=STATIC_RULE,
                 hint="Open the file in binary mode (\"rb\") and send its bytes as they are.")
    expect_head_like_get(context, "/about.txt", response, "for HEAD /about.txt: GET's status and fields, no body")

    expected = "405 with Allow (GET, HEAD) for DELETE /about.txt, and the file still there"
    rule = "RFC 9110 §15.5.6 (405 Method Not Allowed, with Allow) and §9.2.1 (the static site is read-only)"
    client, response = context.request("/about.txt", method="DELETE", expected=expected)
    if not os.path.exists(os.path.join(context.workspace.root, "about.txt")):
        fail("DELETE /about.txt deleted the file from --root", expected=expected, client=client, rule=rule,
             hint="Only /files/ takes DELETE; for a static file answer 405 with \"Allow: GET, HEAD\".")
    expect_status(response, 405, client, expected, rule=rule,
                  hint="A method the server knows but the path does not take is 405, with Allow.")
    if "GET" not in (response.field("allow") or "").upper():
        fail(f"the 405 says Allow: {response.field('allow')}", expected=expected, client=client,
             rule="RFC 9110 §15.5.6 (a 405 MUST carry Allow, listing the methods the target takes)",
             hint="Send \"Allow: GET, HEAD\" with the 405 of a static file.")


def traversal_targets(secret_path):
    """Request targets that reach a secret file if a server decodes, joins or compares naively."""
    absolute = secret_path.replace(os.sep, "/")
    targets = ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2E%2E%2Fsecret.txt",
               "/files/../secret.txt", "/files/..%2fsecret.txt", "/files/%2e%2e%2fsecret.txt",
               "/files/..%5csecret.txt", "/files/%2e%2e%5csecret.txt", "/files/....//secret.txt",
               "/files/stored.bin%00", "/files/%00../secret.txt",
               "/files/" + quote(absolute.lstrip("/"), safe="/:"), "/files//" + quote(absolute.lstrip("/"), safe="/:"),
               "/files/" + quote(absolute, safe=""), "/" + quote(absolute, safe=""),
               # Folders beside the served ones whose names begin like theirs: a check that the real
               # path starts with the folder's path, without the separator, lets these through.
               "/../www-private/secret.txt", "/%2e%2e/www-private/secret.txt",
               "/files/../files-private/secret.txt", "/files/%2e%2e/files-private/secret.txt",
               # Encoded twice: decoding once gives %2e%2e, which is a name; decoding again, "..".
               "/%252e%252e/secret.txt", "/files/%252e%252e%252fsecret.txt"]
    return targets


TRAVERSAL_RULE = ("RFC 3986 §3.3 and §5.2.4 (dot-segments); RFC 9110 §17.1 (a server must not serve files "
                  "outside its tree)")


@stage("04-traversal", "no path, however encoded, and no symbolic link reaches a file outside the folders",
       TRAVERSAL_RULE)
def traversal(context):
    hint = ("Decode the path once (%2e%2e is \"..\", %2f is \"/\"), then join it to the folder, resolve it "
            "(os.path.realpath, which also follows symbolic links) and refuse it unless it is still inside "
            "the folder (compare with the folder's path plus os.sep); refuse NUL bytes; open exactly the "
            "path you checked, never one decoded again.")
    for target in traversal_targets(context.workspace.secret_path) + context.workspace.links:
        expected = "a 3xx or 4xx answer, never the secret file outside the folders"
        client, response = context.request(target, expected=expected)
        if SECRET in response.body or 200 <= response.status < 300 or response.status >= 500:
            problem = ("the secret file outside --root and --directory came back" if SECRET in response.body
                       else f"the status is {response.status}")
            link = " (a symbolic link to a file outside the folder)" if target in context.workspace.links else ""
            fail(f"GET {target}{link}: {problem}", expected=expected, client=client, rule=TRAVERSAL_RULE,
                 hint=hint)
    outside = os.path.join(os.path.dirname(context.workspace.directory), "written-outside.txt")
    for target in ("/files/..%2fwritten-outside.txt", "/files/%2e%2e/written-outside.txt"):
        expected = "a 4xx answer, and no file written outside --directory"
        client, response = context.request(target, method="POST", body=b"escaped", expected=expected)
        if os.path.exists(outside) or 200 <= response.status < 300:
            fail(f"POST {target} wrote outside --directory" if os.path.exists(outside)
                 else f"POST {target} got {response.status}", expected=expected, client=client,
                 rule=TRAVERSAL_RULE, hint=hint)


@stage("04-atomic-upload", "an upload cut off halfway leaves no file, not even a partial one",
       "RFC 9112 §8 (an incomplete message must not be treated as complete) and RFC 9110 §9.3.3")
def atomic_upload(context):
    name = "half-uploaded.bin"
    announced = 200_000
    expected = f"no --directory/{name} while the body arrives, nor after the client leaves halfway"
    hint = ("Write the body to a temporary file in the same folder and os.replace() it onto the name "
            "only once every byte has arrived; delete the temporary file when the client leaves.")
    rule = "RFC 9112 §8 (an incomplete message must not be treated as complete) and RFC 9110 §9.3.3"
    client = context.connect()
    head = context.request_bytes(f"/files/{name}", "POST")
    head = head.replace(b"Content-Length: 0", b"Content-Length: %d" % announced)
    client.send(head + b"x" * (announced // 2), expected=expected)
    time.sleep(0.3)
    if context.workspace.stored(name) is not None:
        fail(f"--directory/{name} exists while only half the body has arrived",
             expected=expected, client=client, rule=rule, hint=hint)
    client.shutdown()  # the client leaves in the middle of the body
    time.sleep(0.3)
    stored = context.workspace.stored(name)
    if stored is not None:
        fail(f"after the client left, --directory/{name} holds {len(stored)} of {announced} bytes",
             expected=expected, client=client, rule=rule, hint=hint)
    checker, response = context.request(f"/files/{name}", expected=f"404 for {name}")
    expect_status(response, 404, checker, f"404 for {name}", rule=rule, hint=hint)
