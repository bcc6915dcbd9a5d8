"""An HTTP/1.1 and HTTPS server built from raw sockets, for reading and for use.

The modules, in the order the chapters teach them:

    parser        bytes → request events (sans-I/O, RFC 9112)
    response      Response objects → bytes on the wire
    pages         the HTML the server writes itself: error pages, listings
    connection    one connection's state: parser + handler + keep-alive
    app           the routes; static, files: what each route serves
    server        what every server model shares
    blocking      iterative and thread-per-connection models
    pool          a bounded pool of worker threads
    eventloop     one thread, non-blocking sockets, selectors
    tls           SSLContext from files, or a local CA made with trustme
    background    make_server(), serve_in_background()
    __main__      the command line: python -m httpserver

`httpserver.lab` holds what the notebooks need and the server does not.
"""

from .background import make_server, serve_in_background
from .config import Limits
from .errors import HTTPError
from .listener import StartupError

__version__ = "0.1.0"
__all__ = ["serve_in_background", "make_server", "Limits", "HTTPError", "StartupError"]
