"""Stages of chapter 04: /files/ in --directory, static files in --root, paths that
cannot escape, uploads that land whole or not at all.

The tester made the folders (workspace.py), so it checks the disk directly as
well as over HTTP: an upload must be on disk byte for byte, a refused one nowhere.
"""

import os
import time
from urllib.parse import quote

from .messages import expect_framed
from .stage import expect_status, fail, stage
from .workspace import ABOUT_TEXT, INDEX_HTML, SECRET, STORED_FILE

# A body with every byte value, CRLFs and even an empty line inside: it must be
# stored as bytes, not as text, and not cut at "\r\n\r\n".
UPLOAD = b"first line\r\n\r\nafter an empty line\r\n" + bytes(range(256)) * 8


@stage("04-files-read", "GET and HEAD /files/{name} from --directory as application/octet-stream",
       "RFC 9110 §9.3.1 (GET), §9.3.2 (HEAD: the same fields as GET, no body) and §8.3 (Content-Type)")
def files_read(context):
    name, data = STORED_FILE
    expected = f"200, Content-Type: application/octet-stream, the {len(data)} bytes of {name}"
    client, got = context.request(f"/files/{name}", expected=expected)
    expect_status(got, 200, client, expected)
    if got.media_type() != "application/octet-stream":
        fail(f"Content-Type is {got.field('content-type')!r}", expected=expected, client=client,
             hint="Files under /files/ are sent as application/octet-stream: bytes, not text.")
    expect_framed(got, client, expected)
    if got.body != data:
        fail(f"the body ({len(got.body)} bytes) differs from the file ({len(data)} bytes)",
             expected=expected, client=client, hint="Open the file in binary mode (\"rb\") and send it as is.")

    expected = "404 for a file that does not exist"
    client, missing = context.request("/files/no-such-file-4b2.bin", expected=expected)
    expect_status(missing, 404, client, expected, hint="Catch FileNotFoundError and answer 404.")

    expected = f"200 with the same Content-Length as GET ({len(data)}) and no body"
    client, head = context.request(f"/files/{name}", method="HEAD", expected=expected, keep_open=True)
    expect_status(head, 200, client, expected)
    if head.field("content-length") != got.field("content-length"):
        fail(f"HEAD says Content-Length {head.field('content-length')}, GET says {got.field('content-length')}",
             expected=expected, client=client,
             hint="HEAD answers exactly what GET would, with the body left out.")
    extra = client.extra_bytes(0.2)
    if extra:
        fail(f"{len(extra)} bytes of body came after the head of a HEAD response", expected=expected,
             client=client, hint="Send the status line and fields for HEAD, but not the body.")


@stage("04-files-write", "POST stores a file (201), PUT replaces it, DELETE removes it",
       "RFC 9110 §9.3.3 (POST), §9.3.4 (PUT: 201 when created, 200 or 204 when replaced), §9.3.5 (DELETE)")
def files_write(context):
    name = "uploaded.bin"
    expected = f"201 Created, and --directory/{name} holding the {len(UPLOAD)} bytes sent"
    client, response = context.request(f"/files/{name}", method="POST", body=UPLOAD, expected=expected,
                                       fields=[("Content-Type", "application/octet-stream")])
    expect_status(response, 201, client, expected)
    stored = context.workspace.stored(name)
    if stored != UPLOAD:
        found = ("no file" if stored is None else f"{len(stored)} bytes, not the {len(UPLOAD)} sent"
                 if len(stored) != len(UPLOAD) else f"{len(stored)} bytes that differ from those sent")
        fail(f"after the 201, --directory/{name} holds {found}", expected=expected, client=client,
             hint="Read exactly Content-Length bytes of body (the head's recv may already hold "
                  "the first of them) and write them in binary mode.")

    replacement = b"replaced by PUT\n"
    expected = f"200 or 204 (or 201), and --directory/{name} holding {replacement!r}"
    client, response = context.request(f"/files/{name}", method="PUT", body=replacement, expected=expected)
    expect_status(response, (200, 201, 204), client, expected)
    if context.workspace.stored(name) != replacement:
        fail(f"after PUT, --directory/{name} does not hold the new body", expected=expected, client=client)

    expected = f"200 or 204, and --directory/{name} gone; then 404 for GET"
    client, response = context.request(f"/files/{name}", method="DELETE", expected=expected)
    expect_status(response, (200, 202, 204), client, expected)
    if context.workspace.stored(name) is not None:
        fail(f"after DELETE, --directory/{name} is still there", expected=expected, client=client)
    client, response = context.request(f"/files/{name}", expected=expected)
    expect_status(response, 404, client, expected)


@stage("04-static", "static files from --root; / serves index.html with its media type",
       "RFC 9110 §8.3 (Content-Type) and §9.3.1 (GET transfers the current representation)")
def static_files(context):
    for target, data, media_type in (("/", INDEX_HTML, "text/html"), ("/index.html", INDEX_HTML, "text/html"),
                                     ("/about.txt", ABOUT_TEXT, "text/plain")):
        expected = f"200, Content-Type: {media_type}, the {len(data)} bytes of the file"
        client, response = context.request(target, expected=expected)
        expect_status(response, 200, client, expected,
                      hint="Map the path to a file under --root; \"/\" means index.html.")
        if response.media_type() != media_type:
            fail(f"Content-Type is {response.field('content-type')!r}", expected=expected, client=client,
                 hint="Guess the type from the file name (mimetypes.guess_type).")
        if response.body != data:
            fail("the body differs from the file", expected=expected, client=client)


def traversal_targets(secret_path):
    """Request targets that reach the secret file if a server decodes or joins naively."""
    absolute = secret_path.replace(os.sep, "/")
    targets = ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2E%2E%2Fsecret.txt",
               "/files/../secret.txt", "/files/..%2fsecret.txt", "/files/%2e%2e%2fsecret.txt",
               "/files/..%5csecret.txt", "/files/%2e%2e%5csecret.txt", "/files/....//secret.txt",
               "/files/stored.bin%00", "/files/%00../secret.txt",
               "/files/" + quote(absolute.lstrip("/"), safe="/:"), "/files//" + quote(absolute.lstrip("/"), safe="/:"),
               "/files/" + quote(absolute, safe=""), "/" + quote(absolute, safe="")]
    return targets


@stage("04-traversal", "no path, however encoded, reaches a file outside --root and --directory",
       "RFC 3986 §3.3 and §5.2.4 (dot-segments); RFC 9110 §17.1 (a server must not serve files outside its tree)")
def traversal(context):
    hint = ("Decode the path first (%2e%2e is \"..\", %2f is \"/\"), then join it to the folder, resolve it "
            "(os.path.realpath) and refuse it unless it is still inside the folder; refuse NUL bytes.")
    for target in traversal_targets(context.workspace.secret_path):
        expected = "a 3xx or 4xx answer, never the secret file outside the folders"
        client, response = context.request(target, expected=expected)
        if SECRET in response.body or 200 <= response.status < 300 or response.status >= 500:
            problem = ("the secret file outside --root and --directory came back" if SECRET in response.body
                       else f"the status is {response.status}")
            fail(f"GET {target}: {problem}", expected=expected, client=client, hint=hint)
    outside = os.path.join(os.path.dirname(context.workspace.directory), "written-outside.txt")
    for target in ("/files/..%2fwritten-outside.txt", "/files/%2e%2e/written-outside.txt"):
        expected = "a 4xx answer, and no file written outside --directory"
        client, response = context.request(target, method="POST", body=b"escaped", expected=expected)
        if os.path.exists(outside) or 200 <= response.status < 300:
            fail(f"POST {target} wrote outside --directory" if os.path.exists(outside)
                 else f"POST {target} got {response.status}", expected=expected, client=client, hint=hint)


@stage("04-atomic-upload", "an upload cut off halfway leaves no file, not even a partial one",
       "RFC 9112 §8 (an incomplete message must not be treated as complete) and RFC 9110 §9.3.3")
def atomic_upload(context):
    name = "half-uploaded.bin"
    announced = 200_000
    expected = f"no --directory/{name} while the body arrives, nor after the client leaves halfway"
    hint = ("Write the body to a temporary file in the same folder and os.replace() it onto the name "
            "only once every byte has arrived; delete the temporary file when the client leaves.")
    client = context.connect()
    head = context.request_bytes(f"/files/{name}", "POST")
    head = head.replace(b"Content-Length: 0", b"Content-Length: %d" % announced)
    client.send(head + b"x" * (announced // 2), expected=expected)
    time.sleep(0.3)
    if context.workspace.stored(name) is not None:
        fail(f"--directory/{name} exists while only half the body has arrived",
             expected=expected, client=client, hint=hint)
    client.shutdown()  # the client leaves in the middle of the body
    time.sleep(0.3)
    stored = context.workspace.stored(name)
    if stored is not None:
        fail(f"after the client left, --directory/{name} holds {len(stored)} of {announced} bytes",
             expected=expected, client=client, hint=hint)
    checker, response = context.request(f"/files/{name}", expected=f"404 for {name}")
    expect_status(response, 404, checker, f"404 for {name}", hint=hint)
