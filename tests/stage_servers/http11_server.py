"""`python -m http.server`, switched to HTTP/1.1 and threads: how far does it get?

    python http11_server.py PORT ROOT

The standard library's server answers HTTP/1.0 by default; this sets its
handler's protocol_version to HTTP/1.1, so the stage tester can show which
stage it fails next.
"""

import functools
import http.server
import sys

http.server.SimpleHTTPRequestHandler.protocol_version = "HTTP/1.1"

if __name__ == "__main__":
    port, root = int(sys.argv[1]), sys.argv[2]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
