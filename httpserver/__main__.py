"""The command line: `python -m httpserver`, like `python -m http.server`.

    python -m httpserver [--host 127.0.0.1] [--port 4221] [--root data/www]
                         [--directory data/files] [--model MODEL]
                         [--tls] [--ca-dir DIR] [--certfile F --keyfile F]
                         [--keylog FILE] [--http2] [--cache-control VALUE] [--workers N] [--quiet]
                         [--wsgi MODULE:APP [--threads N] [--script-name PATH]]
                         [--trusted-proxy ADDRESS]... [--graceful-timeout SECONDS]

Problems the user can fix (port in use, missing folder, unreadable
certificate) end the program with one line on stderr and exit status 2, never a
traceback. Ctrl-C stops the server cleanly and deletes what it wrote to the temporary
folder; the local CA of `--tls` is kept in `--ca-dir`, so a browser told once to
trust it keeps trusting the server after a restart. SIGTERM stops it gracefully
(drain.py): no new connections, the requests under way answered, then exit.
"""

import argparse
import gc
import signal
import sys
import tempfile
import threading
import traceback

from .accesslog import common_log_line
from .app import DEFAULT_CACHE_CONTROL
from .background import DEFAULT_MODEL, MODELS, TEMPORARY_PREFIX, make_server, remove_folder
from .config import Limits
from .listener import StartupError, adopt_listener
from .tls import default_ca_folder, local_ca_files
from .workers import Supervisor, sharing_method, watch_parent
from .wsgi import WSGI_THREADS, load_application


def size(text):
    """A number of bytes, with an optional K, M or G (powers of 1024): "64M"."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 1048576, 1024K, 64M or 1G)") from None


def share(text):
    """A share of something: "5%" or 0.05."""
    try:
        value = float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a share: {text!r} (say 5%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share is between 0% and 100%, not {text}")
    return value


# (option, Limits field, type, metavar, help): the limits a user may change from
# the command line; each worker process gets the same values (workers.py).
LIMIT_OPTIONS = [
    ("--max-body", "max_body", size, "BYTES", "largest request body accepted; larger is 413"),
    ("--max-connections", "max_connections", int, "N", "connections served at once"),
    ("--max-per-address", "max_per_address", int, "N", "connections from one client address (IPv6: a /64)"),
    ("--min-free-space", "min_free_space", size, "BYTES",
     "an upload that would leave less free disk space than this, or than --min-free-share "
     "of the disk (whichever is smaller), is refused with 507; 0 turns this off"),
    ("--min-free-share", "min_free_share", share, "PERCENT", "see --min-free-space"),
]


def limit_overrides(arguments):
    """The Limits fields the command line set, as keyword arguments."""
    return {field: getattr(arguments, field) for _, field, *_ in LIMIT_OPTIONS}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python -m httpserver",
        description="An HTTP/1.1 and HTTPS server built from raw sockets.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4221, help="port to listen on; 0 picks a free one (default: 4221)")
    parser.add_argument("--root", help="folder of static files (default: data/www)")
    parser.add_argument("--directory", help="folder behind /files/ (default: data/files)")
    parser.add_argument("--model", choices=list(MODELS), default=DEFAULT_MODEL,
                        help=f"how connections are served (default: {DEFAULT_MODEL})")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS; without --certfile, with a certificate from a local CA")
    parser.add_argument("--ca-dir", metavar="DIR",
                        help=f"where the local CA of --tls is kept, made the first time; implies --tls "
                             f"(default: {default_ca_folder()})")
    parser.add_argument("--certfile", help="PEM certificate chain for HTTPS (implies --tls)")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("--keylog", metavar="FILE",
                        help="append TLS secrets to FILE, for Wireshark (default: $SSLKEYLOGFILE if set)")
    parser.add_argument("--http2", action="store_true",
                        help="offer HTTP/2 as well, over TLS (ALPN h2); needs --tls and the h2 package")
    parser.add_argument("--cache-control", default=DEFAULT_CACHE_CONTROL, metavar="VALUE",
                        help=f"Cache-Control of files; '' sends none (default: {DEFAULT_CACHE_CONTROL})")
    for option, field, kind, metavar, text in LIMIT_OPTIONS:
        default = getattr(Limits, field)
        shown = f"{default:.0%}" if kind is share else f"{default:,}"
        parser.add_argument(option, type=kind, default=default, metavar=metavar, dest=field,
                            help=f"{text} (default: {shown})".replace("%", "%%"))
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes serving the same port, to use N cores (Linux, macOS; default 1)")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    parser.add_argument("--wsgi", "--app", metavar="MODULE:APP",
                        help="serve this WSGI application (PEP 3333) instead of files, "
                             "e.g. --wsgi myapp:app for Flask's app in myapp.py")
    parser.add_argument("--threads", type=int, metavar="N",
                        help=f"threads that run the --wsgi application (select: default {WSGI_THREADS}; "
                             f"pool: its workers, default {Limits.pool_threads}; thread: one per connection)")
    parser.add_argument("--script-name", default="", metavar="PATH",
                        help="the URL prefix the --wsgi application is mounted at, e.g. /app (its SCRIPT_NAME)")
    parser.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                        help="believe Forwarded / X-Forwarded-For from this proxy address or network "
                             "(e.g. 127.0.0.1 or 10.0.0.0/8); repeat for several")
    parser.add_argument("--graceful-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="on SIGTERM, how long requests under way may take to finish (default: 30)")
    # Set by the parent for its workers (workers.py), not by hand:
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--listener-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-sharing", choices=["reuse-port", "inherit"], help=argparse.SUPPRESS)
    parser.add_argument("--parent-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--leaf-folder", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if not 0 <= arguments.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {arguments.port}")
    if arguments.workers < 1:
        parser.error(f"--workers must be 1 or more, not {arguments.workers}")
    if arguments.threads is not None and arguments.threads < 1:
        parser.error(f"--threads must be 1 or more, not {arguments.threads}")
    if (arguments.threads is not None or arguments.script_name) and not arguments.wsgi:
        parser.error("--threads and --script-name go with --wsgi MODULE:APP")
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)

    def log_access(client, request, response, size):
        print(common_log_line(client, request, response, size), file=sys.stderr, flush=True)

    def log_error(text):
        print(text, file=sys.stderr, flush=True)

    workers = arguments.workers
    sharing = arguments.worker_sharing or sharing_method()
    if workers > 1 and sharing is None:
        print("httpserver: --workers cannot share a port on this system; serving with one process",
              file=sys.stderr)
        workers = 1
    is_worker = arguments.reuse_port or arguments.listener_fd is not None
    certfile, keyfile, ca_file = arguments.certfile, arguments.keyfile, None
    local_ca = (arguments.tls or arguments.ca_dir) and not (certfile or keyfile)
    ca_folder = (arguments.ca_dir or default_ca_folder()) if local_ca else None
    leaf_folder = None  # throw-away: the workers' certificate and its key
    try:
        app = load_application(arguments.wsgi) if arguments.wsgi else None
    except ValueError as error:
        print(f"httpserver: {error}", file=sys.stderr)
        return 2
    try:
        if workers > 1 and local_ca:
            # Every worker must present the same certificate: issue it once, on disk.
            leaf_folder = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)
            certfile, keyfile, ca_file = local_ca_files(ca_folder, leaf_folder)
            ca_folder = None
        server = make_server(
            host=arguments.host, port=arguments.port, root=arguments.root,
            directory=arguments.directory, model=arguments.model, tls=arguments.tls,
            certfile=certfile, keyfile=keyfile, ca_folder=ca_folder, keylog=arguments.keylog,
            cache_control=arguments.cache_control or None, http2=arguments.http2, **limit_overrides(arguments),
            reuse_port=(workers > 1 and sharing == "reuse-port") or arguments.reuse_port,
            joining=arguments.reuse_port,
            listener=None if arguments.listener_fd is None else adopt_listener(arguments.listener_fd),
            access_log=None if arguments.quiet else log_access, error_log=log_error,
            app=app, threads=arguments.threads, script_name=arguments.script_name,
            trusted_proxies=arguments.trusted_proxy, multiprocess=workers > 1 or is_worker)
    except StartupError as error:
        remove_folder(leaf_folder)
        print(f"httpserver: {error}", file=sys.stderr)
        return 2
    except BaseException:
        remove_folder(leaf_folder)
        raise
    server.ca_file = server.ca_file or ca_file
    supervisor = None
    try:
        if workers > 1:
            supervisor = Supervisor(arguments, server.address[1], workers - 1, certfile, keyfile,
                                    listener=server.listener if sharing == "inherit" else None,
                                    leaf_folder=leaf_folder, log=log_error)
        # Ctrl-C and SIGTERM are caught from here on: one that comes right after the
        # banner says "Press Ctrl-C" must stop the server cleanly, not interrupt its start.
        signals = watch_signals()
        if is_worker:  # the parent has said everything already
            return serve_until_stopped(server, parent_fd=arguments.parent_fd,
                                       graceful_timeout=arguments.graceful_timeout, signals=signals)
        print_welcome(server, workers, arguments.wsgi)
        return serve_until_stopped(server, supervisor, announce=True, graceful_timeout=arguments.graceful_timeout,
                                   signals=signals)
    finally:
        # The workers have stopped by now (serve_until_stopped waits for them):
        # nobody needs the certificate files any more. A worker whose parent
        # died removes them itself (--leaf-folder), so none are left behind.
        remove_folder(leaf_folder)
        if is_worker and arguments.leaf_folder and parent_gone.is_set():
            remove_folder(arguments.leaf_folder)
        server.remove_temporary_files()


def print_welcome(server, workers, wsgi=None):
    """Tell the person at the terminal where to go, and how to trust the CA."""
    processes = f"; {workers} processes" if workers > 1 else ""
    protocols = "; HTTP/2 and HTTP/1.1" if server.http2 else ""
    if wsgi:
        print(f"Serving the WSGI application {wsgi} on {server.url}/ (model: {server.model}{processes})",
              file=sys.stderr)
    else:
        print(f"Serving {server.root} on {server.url}/ (model: {server.model}{processes}{protocols}; "
              f"files: {server.directory})", file=sys.stderr)
    if server.ca_file:
        print(f"HTTPS with a local CA. Trust it with: curl --cacert {server.ca_file} {server.url}/",
              file=sys.stderr)
        print("(browsers: see \"HTTPS in a browser\" in README.md)", file=sys.stderr)
    print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)


parent_gone = threading.Event()  # in a worker: the parent process has ended


def watch_signals():
    """(stop, terminated): events set by Ctrl-C (SIGINT) or SIGTERM, and by SIGTERM only."""
    stop, terminated = threading.Event(), threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda *_: (terminated.set(), stop.set()))
    return stop, terminated


def serve_until_stopped(server, supervisor=None, announce=False, parent_fd=None, graceful_timeout=30.0,
                        signals=None):
    """Serve until Ctrl-C, SIGTERM (or, in a worker, the parent's end), then stop
    the server and any workers; keep the workers going meanwhile. SIGTERM stops
    gracefully (drain.py), each worker too, within `graceful_timeout` seconds."""
    # Everything made so far (modules, the app) lives as long as the process:
    # moving it out of the garbage collector's sight keeps full collections,
    # and the pauses they cause mid-request, short.
    gc.freeze()
    # The server runs in a thread so the main thread can wait for Ctrl-C on
    # every platform (a blocking select does not wake for it on Windows).
    crashed = []  # the traceback, if serving ever stops by itself

    def serve():
        try:
            server.serve_forever()
        except BaseException:
            crashed.append(traceback.format_exc())

    worker = threading.Thread(target=serve, name="server", daemon=True)
    worker.start()
    stop, terminated = signals or watch_signals()  # terminated: SIGTERM, stop gracefully
    if parent_fd is not None:
        watch_parent(parent_fd, lambda: (parent_gone.set(), stop.set()))
    gave_up = False
    try:
        while worker.is_alive() and not stop.wait(0.5):
            if supervisor is not None and not supervisor.check():
                gave_up = True
                break
    except KeyboardInterrupt:
        pass
    graceful = terminated.is_set() and not gave_up
    if announce:
        how = f" finishing the requests under way (at most {graceful_timeout:g} s)" if graceful else ""
        print(f"\nStopping...{how}", file=sys.stderr, flush=True)
    if graceful:
        if supervisor is not None:  # each worker stops gracefully too, at the same time
            supervisor.terminate()
        server.graceful_stop(graceful_timeout)
    else:
        server.shutdown()
    if supervisor is not None:
        supervisor.stop(timeout=graceful_timeout + 5 if graceful else 10.0)
    if crashed:  # a bug: say so, and exit non-zero so a supervisor restarts us
        print(f"httpserver: the server stopped because of an error:\n{crashed[0]}", file=sys.stderr)
        return 1
    return 1 if gave_up else 0


if __name__ == "__main__":
    sys.exit(main())
