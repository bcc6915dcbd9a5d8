"""Stages of chapter 10: the server runs a WSGI application given by `--app module:app`.

For these stages the tester writes a small application, `stage_app.py` (below),
in a folder of its own, puts that folder on PYTHONPATH and starts the program
again with `--app stage_app:app` appended, as it appends --certfile for TLS.
The application tells what it received; each stage checks that the server built
the environ PEP 3333 describes, gave it the body, sent what it answered, and
survived its exception.
"""

from .stage import expect_status, fail, hint_on_failure, stage

APP_MODULE = "stage_app"
APP_SOURCE = '''\
"""Written by the stage tester (httpserver/stages/wsgi.py): a WSGI application that says what it got."""


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/crash":
        raise RuntimeError("the stage application fails here on purpose")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Stage", "stream")])
        return (piece for piece in (b"one ", b"two ", b"three"))
    if path == "/body":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("201 Created", [("Content-Type", "application/octet-stream"),
                                       ("Content-Length", str(len(body)))])
        return [body]
    keys = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL",
            "HTTP_X_STAGE", "wsgi.url_scheme")
    lines = ["%s=%s" % (key, environ.get(key)) for key in keys]
    lines.append("wsgi.version=%s" % (environ.get("wsgi.version"),))
    lines.append("input=%s" % (hasattr(environ.get("wsgi.input"), "read"),))
    body = "\\n".join(lines).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain; charset=latin-1"), ("X-Stage", "environ"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''
PEP = "PEP 3333"
LOAD_HINT = ("Start with --app MODULE:NAME: import MODULE (its folder is on PYTHONPATH, or add the "
             "current folder to sys.path), take NAME from it, and for each request call "
             "app(environ, start_response) instead of your routes.")


def environ_lines(response):
    text = response.body.decode("latin-1")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@stage("10-wsgi-environ", "GET reaches the --app application with the environ of PEP 3333",
       f"{PEP}, environ Variables (PATH_INFO decoded, QUERY_STRING not)", app=True)
def wsgi_environ(context):
    expected = ("200 from the application, whose body lists REQUEST_METHOD=GET, PATH_INFO=/caf\u00c3\u00a9 "
                "(decoded, bytes as Latin-1), QUERY_STRING=x=1%202, HTTP_X_STAGE=ten")
    with hint_on_failure(LOAD_HINT):
        client, response = context.request("/caf%C3%A9?x=1%202", fields=[("X-Stage", "ten")], expected=expected)
        expect_status(response, 200, client, expected)
    if response.field("x-stage") != "environ":
        fail("the answer does not carry the application's X-Stage field: did the application answer?",
             expected=expected, client=client, hint="Send the fields the application gave start_response.")
    got = environ_lines(response)
    wanted = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/caf\u00c3\u00a9",
              "QUERY_STRING": "x=1%202", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_X_STAGE": "ten",
              "wsgi.url_scheme": "http", "wsgi.version": "(1, 0)", "input": "True"}
    for key, value in wanted.items():
        if got.get(key) != value:
            fail(f"the application saw {key}={got.get(key)!r}, not {value!r}", expected=expected, client=client,
                 hint="PATH_INFO is the path percent-decoded to bytes, then decoded as Latin-1 "
                      "(urllib.parse.unquote(path, 'latin-1')); QUERY_STRING stays as sent; each "
                      "field is HTTP_ + its name in capitals with - as _.")


@stage("10-wsgi-body", "POST: the application reads the body from wsgi.input; its status and body go back",
       f"{PEP}, Input and Error Streams", app=True)
def wsgi_body(context):
    payload = bytes(range(256)) * 40
    expected = f"201 with the {len(payload)} bytes posted, read by the application from wsgi.input"
    client, response = context.request("/body", method="POST", fields=[("Content-Type", "application/octet-stream")],
                                       body=payload, expected=expected)
    expect_status(response, 201, client, expected,
                  hint="The status line is the application's: the code from the string it gave start_response.")
    if response.body != payload:
        fail(f"the body came back as {len(response.body)} bytes, not the {len(payload)} posted",
             expected=expected, client=client,
             hint="Give wsgi.input the request body (io.BytesIO(request.body)) and CONTENT_LENGTH its length.")


@stage("10-wsgi-stream", "an application that yields pieces: all of them sent, and the connection kept alive",
       f"{PEP}, Buffering and Streaming; RFC 9112 §7.1 or §6.2", app=True)
def wsgi_stream(context):
    expected = "200 with the body 'one two three' (chunked, or with a Content-Length), then a second answer"
    client, response = context.request("/stream", expected=expected, keep_open=True)
    expect_status(response, 200, client, expected)
    if response.body != b"one two three":
        fail(f"the body is {response.body[:60]!r}", expected=expected, client=client,
             hint="Iterate over what the application returns and send every piece (join them, or chunk them); "
                  "then call its close() if it has one.")
    _, again = context.request("/stream", client=client, expected="a second answer on the same connection")
    expect_status(again, 200, client, expected)


@stage("10-wsgi-error", "an application that raises: 500, and the server goes on",
       f"{PEP}, Error Handling", app=True)
def wsgi_error(context):
    expected = "500 for the request whose application raised, then a normal answer on a new connection"
    client, response = context.request("/crash", expected=expected)
    expect_status(response, 500, client, expected,
                  hint="Catch the application's exception where your routes' are caught: answer 500, go on.")
    client, response = context.request("/after", expected=expected)
    expect_status(response, 200, client, expected)
