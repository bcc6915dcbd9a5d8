"""Building a server from options, and running one in a background thread.

Contract: `make_server(...)` checks the options and returns a server object of
the chosen model, listening already, or raises `StartupError` with one line for
the user. `serve_in_background(...)` does the same and starts it in a thread:

    with serve_in_background(model="thread") as server:
        requests.get(server.url + "/echo/hi")

It returns once the port is listening; leaving the `with` block stops the
server, joins its threads and frees the port. Notebooks and tests start servers
this way and no other. Server threads never print: the access log and error log
of a background server are kept in lists (`server.access_log`, `server.errors`).
"""

import importlib
from collections import deque
import os
import shutil
import tempfile
import threading
import weakref
from dataclasses import replace
from pathlib import Path

from .accesslog import common_log_line
from .alpn import offer_http2
from .app import DEFAULT_CACHE_CONTROL, Application
from .config import Limits
from .files import remove_leftover_uploads
from .listener import StartupError, open_listener
from .proxy import TrustedProxies
from .tls import context_from_files, local_ca_context, write_key_log
from .wsgi import WSGI_THREADS, WSGIGateway

# model name → (module, class); imported when chosen
MODELS = {
    "iterative": ("httpserver.blocking", "IterativeServer"),
    "thread": ("httpserver.blocking", "ThreadServer"),
    "pool": ("httpserver.pool", "PoolServer"),
    "select": ("httpserver.eventloop", "SelectServer"),
}
# The event loop: the fastest model in chapter 09, and one thread holds
# thousands of idle connections where the others need a thread (or a pool
# slot) for each. Chapter 05 explains the choice; everything that names the
# default reads it from here.
DEFAULT_MODEL = "select"
REPOSITORY = Path(__file__).resolve().parent.parent


def default_folder(name):
    """data/NAME under the current folder if it exists, else in the repository."""
    here = Path("data") / name
    return str(here if here.is_dir() else REPOSITORY / "data" / name)


def server_class(model):
    if model not in MODELS:
        raise StartupError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    module, name = MODELS[model]
    return getattr(importlib.import_module(module), name)


def make_server(*, host="127.0.0.1", port=4221, root=None, directory=None, model=DEFAULT_MODEL,
                tls=False, certfile=None, keyfile=None, limits=None, access_log=None,
                error_log=None, ca_folder=None, keylog=None, cache_control=DEFAULT_CACHE_CONTROL,
                reuse_port=False, joining=False, listener=None, http2=False, app=None, threads=None,
                trusted_proxies=(), script_name="", multiprocess=False, **limit_overrides):
    """A listening server of `model`, configured from the command-line options.

    `ca_folder`: where the local CA of `tls=True` is kept (default: a temporary
    folder, removed when the server closes, and at exit at the latest);
    `keylog`: a file for TLS secrets (default: $SSLKEYLOGFILE if set);
    `cache_control`: the Cache-Control of files (None: none);
    `listener`: an already listening socket to serve instead of opening one;
    `http2`: offer HTTP/2 in TLS's ALPN (needs TLS and the h2 package);
    `app`: a WSGI application to serve instead of the files (wsgi.py), run by
    `threads` threads at most (pool and select; default `Limits.pool_threads`);
    `trusted_proxies`: addresses whose Forwarded headers name the client (proxy.py).
    """
    root = root or default_folder("www")
    directory = directory or default_folder("files")
    if not os.path.isdir(root) and app is None:
        raise StartupError(f"root folder not found: {root}")
    if not os.path.isdir(directory) and app is None:
        raise StartupError(f"--directory folder not found: {directory}")
    limits = replace(limits or Limits(), **limit_overrides)
    if threads is None and app is not None and model == "select":
        threads = WSGI_THREADS  # a CPU-bound app runs faster on few threads (chapter 10)
    if threads is not None:
        limits = replace(limits, pool_threads=threads)
    try:
        proxies = TrustedProxies(trusted_proxies) if trusted_proxies else None
    except ValueError as error:
        raise StartupError(str(error)) from None
    cls = server_class(model)
    removed, freed = remove_leftover_uploads(directory) if os.path.isdir(directory) else (0, 0)
    if removed and error_log:
        error_log(f"removed {removed} unfinished upload(s), {freed:,} bytes, left in {directory} "
                  f"by a server that stopped before finishing them")
    ssl_context = ca_file = temporary = None
    if certfile or keyfile:
        if not certfile:
            raise StartupError("--keyfile needs --certfile as well")
        ssl_context = context_from_files(certfile, keyfile)
    elif tls or ca_folder:
        if ca_folder is None:
            ca_folder = temporary = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)
        try:
            ssl_context, ca_file = local_ca_context(ca_folder)
        except BaseException:
            remove_folder(temporary)
            raise
    if http2 and app is not None:
        raise StartupError("--http2 serves the files only; a --wsgi application is served over HTTP/1.1")
    if http2:
        if ssl_context is None:
            raise StartupError("--http2 needs --tls (or --certfile): HTTP/2 is offered in the TLS handshake")
        try:
            offer_http2(ssl_context)
        except BaseException:
            remove_folder(temporary)
            raise
    keylog = keylog or os.environ.get("SSLKEYLOGFILE")
    if ssl_context is not None and keylog:
        write_key_log(ssl_context, keylog)
    try:
        if listener is None:
            listener = open_listener(host, port, reuse_port=reuse_port, joining=joining)
    except BaseException:
        remove_folder(temporary)
        raise
    if app is None:
        handler = Application(root, directory, cache_control, limits.file_check_interval)
    else:  # PEP 3333: say whether another thread, or process, may run the app at once
        multithread = model != "iterative" and not (model in ("pool", "select") and limits.pool_threads == 1)
        host, port = listener.getsockname()[:2]
        handler = WSGIGateway(app, error_log=error_log, multithread=multithread, multiprocess=multiprocess,
                              server_name=host, server_port=port, script_name=script_name,
                              extra={"httpserver.root": root, "httpserver.directory": directory})
    server = cls(listener, handler, limits=limits,
                 ssl_context=ssl_context, access_log=access_log, error_log=error_log)
    server.proxies = proxies
    server.ca_file = ca_file
    server.http2 = http2
    server.root, server.directory = root, directory
    # Calling server.remove_temporary_files() removes them now; otherwise this runs
    # when the server is garbage-collected or the interpreter exits (Ctrl-C included).
    server.remove_temporary_files = weakref.finalize(server, remove_folder, temporary)
    return server


TEMPORARY_PREFIX = "httpserver-ca-"


def remove_folder(folder):
    """Delete a throw-away folder and what is in it (None: nothing to do)."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class BackgroundServer:
    """A server running in a daemon thread; a context manager that stops it."""

    def __init__(self, server):
        self.server = server
        self.host, self.port = server.address
        self.url = server.url
        self.ca_file = server.ca_file  # the CA to trust, when TLS made its own
        self.model = server.model
        self.thread = threading.Thread(target=server.serve_forever, name=f"{self.model}-server",
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        """Stop the server, join its threads, free the port. Safe to call twice."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=10)
        else:
            self.server.close()
        self.server.remove_temporary_files()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def __repr__(self):
        return f"<BackgroundServer {self.model} {self.url}>"


def serve_in_background(*, port=0, log_access=True, **options):
    """Start a server on a free 127.0.0.1 port in a thread; see the module docstring.

    Options are those of `make_server`: root, directory, model, tls, certfile,
    keyfile, ca_folder, keylog, cache_control, http2, limits, app (a WSGI
    application), threads, trusted_proxies, and any `Limits` field (e.g. head_timeout=1).
    """
    access_lines, errors = deque(maxlen=10_000), deque(maxlen=1_000)

    def record_access(client, request, response, size):
        access_lines.append(common_log_line(client, request, response, size))

    server = make_server(port=port, access_log=record_access if log_access else None,
                         error_log=errors.append, **options)
    background = BackgroundServer(server)
    background.access_log = access_lines
    background.errors = errors
    return background.start()
