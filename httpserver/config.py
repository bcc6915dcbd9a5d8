"""Limits and timeouts: every number that protects the server, in one place.

The defaults are the values the issue and RFC 9112 suggest; each server model
and the command line read them from a `Limits` object, so a chapter can shrink
one (say, `head_timeout=1`) to show what happens when it is reached.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Sizes in bytes, times in seconds."""

    max_request_line: int = 8 * 1024  # longer → 414 URI Too Long
    max_head: int = 64 * 1024  # the whole header section; longer → 431
    max_fields: int = 100  # header fields; more → 431
    max_body: int = 64 * 1024 * 1024  # declared or received; larger → 413
    body_memory: int = 64 * 1024 * 1024  # request bodies held in memory by all connections together; past it, to disk
    min_free_space: int = 1024**3  # an upload that would leave less free on the disk → 507 ...
    min_free_share: float = 0.05  # ... or less than this share of the disk, whichever is smaller (0: no floor)
    idle_timeout: float = 15.0  # keep-alive connection with no request started
    head_timeout: float = 10.0  # from the first byte of a head to its end
    body_timeout: float = 30.0  # longest silence while a body is arriving
    min_body_rate: float = 500.0  # bytes/s a body must keep up, in each window of body_timeout after the first
    handshake_timeout: float = 10.0  # a TLS handshake must finish within this
    handshakes_per_address: int = 64  # TLS handshakes under way from one client address; more are closed at once
    output_budget: int = 1024 * 1024  # answers waiting to be sent before we stop answering pipelined requests (0: never stop)
    max_connections: int = 1000  # connections served at once (not the iterative model); at the cap an idle one is closed, else 503
    max_per_address: int = 500  # connections from one client address (IPv6: one /64); at the cap, one of its idle ones is closed, else 503
    pool_threads: int = 16  # pool model: worker threads
    file_check_interval: float = 1.0  # a small file answered a moment ago is checked against the disk at most this often (0: every time)
