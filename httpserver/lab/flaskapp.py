"""A small Flask application that uses what real applications use: chapter 10's example.

Forms, JSON, a file upload, a streamed answer, cookies, redirects, errors and a
file sent with `send_file` (which uses `wsgi.file_wrapper`). The tests run it on
every server model and compare its answers with those of
`wsgiref.simple_server` and waitress; `make bench` measures `/hello` and
`/json` (1 KiB) against waitress and gunicorn.

Flask is an optional extra: `pip install -e ".[wsgi]"`. Importing this module
without it raises ImportError naming that command.
"""

import hashlib
import json
import os
import tempfile

try:
    from flask import Flask, Response, abort, jsonify, redirect, request, send_file, stream_with_context
    from flask.logging import default_handler
except ImportError as error:  # an optional extra: say how to get it, in one line
    raise ImportError('chapter 10 needs Flask: pip install -e ".[wsgi]"') from error

app = Flask(__name__)
# Flask's log goes to `wsgi.errors`, the server's error log (PEP 3333), and only
# there: without these two lines it goes there unless some other handler (pytest's,
# say) was set up first, and then it goes to that one instead.
app.logger.addHandler(default_handler)
app.logger.propagate = False

# 1 KiB of JSON: a list of records, as an API would send (the bench's /json).
RECORDS = [{"id": n, "name": f"item {n:02d}", "price": round(n * 1.25, 2), "in_stock": n % 3 != 0}
           for n in range(18)]
assert 1000 <= len(json.dumps(RECORDS, separators=(",", ":"))) <= 1100, "about 1 KiB"

@app.get("/")
def index():
    return "<!doctype html><title>Flask on httpserver</title><h1>It works, with Flask.</h1>\n"


@app.get("/hello")
def hello():
    return "Hello, World!"


@app.get("/hello/<name>")
def hello_name(name):
    return f"Hello, {name}!"


@app.get("/json")
def records():
    return jsonify(RECORDS)


@app.post("/form")
def form():
    name = request.form.get("name", "")
    colours = request.form.getlist("colour")
    return f"name={name}; colours={','.join(colours)}"


@app.post("/api/echo")
def echo_json():
    data = request.get_json(silent=True)
    if data is None:
        abort(400, description="the body is not JSON")
    return jsonify(received=data, length=request.content_length)


@app.post("/upload")
def upload():
    file = request.files.get("file")
    if file is None:
        abort(400, description="no file field")
    data = file.read()
    return jsonify(filename=file.filename, size=len(data), sha256=hashlib.sha256(data).hexdigest())


@app.get("/stream")
def stream():
    count = request.args.get("count", 5, type=int)

    def lines():
        for n in range(count):
            yield f"line {n}\n"
    return Response(stream_with_context(lines()), mimetype="text/plain")


@app.get("/download")
def download():
    return send_file(download_file(), mimetype="application/octet-stream", etag=False, last_modified=None)


def download_file(size=100_000):
    """A file of `size` bytes for /download, made once per process (a private name,
    written aside and renamed, so concurrent processes never see half of it)."""
    path = os.path.join(tempfile.gettempdir(), f"httpserver-flaskapp-{os.getpid()}-{size}.bin")
    if not os.path.exists(path):
        partial = path + ".part"
        with open(partial, "wb") as file:
            file.write((bytes(range(256)) * (size // 256 + 1))[:size])
        os.replace(partial, path)
    return path


@app.get("/cookie/set")
def set_cookie():
    response = redirect("/cookie/get")
    response.set_cookie("flavour", "oatmeal", httponly=True, samesite="Lax")
    return response


@app.get("/cookie/get")
def get_cookie():
    return f"flavour={request.cookies.get('flavour', 'none')}"


@app.get("/redirect")
def go_elsewhere():
    return redirect("/hello", code=302)


@app.get("/client")
def client():
    """Who the application thinks the client is: REMOTE_ADDR and the scheme."""
    return jsonify(remote_addr=request.remote_addr, scheme=request.scheme)


@app.get("/teapot")
def teapot():
    abort(418)


@app.get("/crash")
def crash():
    raise RuntimeError("a bug in the application (on purpose)")
