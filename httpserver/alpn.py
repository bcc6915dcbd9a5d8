"""Which protocol a TLS connection speaks: HTTP/1.1, or HTTP/2 when both ends agreed on it.

Contract: `offer_http2(context)` makes a server `SSLContext` offer "h2" before
"http/1.1" in ALPN (RFC 7301), and raises `StartupError` naming the pip install
when the h2 library is missing. After a TLS handshake, each server model calls
`negotiated(sock, connection)`: the HTTP/1.1 `Connection` it made, or an
`HTTP2Connection` with the same settings when the client chose "h2".

Standard library only: the HTTP/2 module, and h2 with it, is imported only when
a client has chosen "h2", which it can only do when `offer_http2` ran. A server
started without HTTP/2 offers exactly what it always did: "http/1.1".
"""

import importlib.util

from .listener import StartupError

HTTP2 = "h2"  # the ALPN name of HTTP/2 over TLS (RFC 9113 §3.2)
HTTP1 = "http/1.1"
INSTALL_HINT = 'pip install h2  (or: pip install -e ".[http2]")'


def http2_available():
    """True when the h2 library can be imported."""
    return importlib.util.find_spec("h2") is not None


def offer_http2(context):
    """Offer HTTP/2, then HTTP/1.1, in this context's ALPN."""
    if not http2_available():
        raise StartupError(f"--http2 needs the h2 package: {INSTALL_HINT}")
    context.set_alpn_protocols([HTTP2, HTTP1])


def negotiated(sock, connection):
    """The connection object for the protocol the TLS handshake on `sock` chose."""
    selected = getattr(sock, "selected_alpn_protocol", None)
    if selected is None or selected() != HTTP2:
        return connection
    from .http2 import HTTP2Connection

    return HTTP2Connection(connection.app, limits=connection.limits, client=connection.client,
                           secure=connection.secure, access_log=connection.access_log,
                           error_log=connection.error_log, offload=connection.offload,
                           storage=connection.storage)
