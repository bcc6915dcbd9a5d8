"""Other WSGI servers, started like ours: the references chapter 10 and the tests compare with.

    with reference_server("waitress", app) as server:
        requests.get(server.url + "/hello")

`reference_server(name, app)` starts `wsgiref.simple_server` (the standard
library's, one request at a time, HTTP/1.0) or waitress (what many people
deploy; `pip install waitress`) in a background thread on a free 127.0.0.1
port, and stops it when the `with` block ends. Their logs are kept quiet, as
ours are: a server thread never prints into a notebook. gunicorn forks worker
processes and cannot run in a thread: `make bench` starts it as a program.
"""

import threading
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

REFERENCE_SERVERS = ("wsgiref", "waitress")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no access log on stderr
        pass


class _QuietServer(WSGIServer):
    def handle_error(self, request, client_address):  # a client that resets is not news
        pass


class RunningServer:
    """What a `with reference_server(...)` block gets: where it listens."""

    def __init__(self, name, port):
        self.name, self.host, self.port = name, "127.0.0.1", port
        self.url = f"http://127.0.0.1:{port}"


@contextmanager
def reference_server(name, app, threads=4):
    """Serve `app` with wsgiref or waitress in a thread; see the module docstring."""
    if name == "wsgiref":
        server = make_server("127.0.0.1", 0, app, server_class=_QuietServer, handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="wsgiref-server", daemon=True)
        thread.start()
        try:
            yield RunningServer(name, server.server_port)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
    elif name == "waitress":
        try:
            import waitress
        except ImportError as error:
            raise ImportError('waitress is an optional extra: pip install -e ".[wsgi]"') from error
        import logging
        logging.getLogger("waitress").setLevel(logging.CRITICAL)  # its errors go to our checks, not stderr
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                        clear_untrusted_proxy_headers=False)
        thread = threading.Thread(target=server.run, name="waitress-server", daemon=True)
        thread.start()
        try:
            yield RunningServer(name, server.effective_port)
        finally:
            def close_everything():  # on waitress's own thread: its loop ends when nothing is left
                for channel in list(server._map.values()):
                    channel.close()
            server.trigger.pull_trigger(close_everything)
            thread.join(timeout=5)
            server.task_dispatcher.shutdown()
    else:
        raise ValueError(f"unknown reference server {name!r}; choose one of {REFERENCE_SERVERS}")
