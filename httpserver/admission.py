"""Who gets a connection: a cap for the server, a cap for each client address,
and idle connections closed to make room before anyone is refused.

Contract: every model asks `admit(address, close_idle)` when it accepts a
connection and gets back the client's key (serve it, and call `release(key)`
when the connection ends) or None (refuse it: 503). `close_idle(key)` is the
model's: it closes one idle keep-alive connection of that key (any key when
`key` is None) and says whether it found one.

The rules, in the order they are tried:
- One address may hold at most `limits.max_per_address` connections, so one
  client cannot take the whole server (nginx's `limit_conn`). At that cap, one
  of its own idle connections is closed to make room for the new one; if none
  is idle, the new one is refused.
- The server holds at most `limits.max_connections`. At that cap an idle
  keep-alive connection is closed, first from the address holding the most
  (as nginx reuses idle keep-alive connections when it runs out of
  connections), and only when none is idle anywhere is the newcomer refused.
  Closing an idle connection is allowed at any time (RFC 9112 §9.5); a client
  reopens one when it next needs it.

A TLS handshake costs the server a key exchange and a signature, far more CPU
than an HTTP request, and a client can start one with a few bytes it replays.
So one address may have at most `limits.handshakes_per_address` handshakes
under way (`start_handshake`); the models also step handshakes after the
established connections' work, in turn per address.

An address is an IPv4 address, or an IPv6 /64 network: one machine is usually
given a whole /64, so counting single IPv6 addresses would count nothing.
"""

import ipaddress
import threading


def address_key(address):
    """The key a client's connections are counted under (see the module docstring)."""
    host = address[0] if isinstance(address, tuple) else str(address)
    if ":" not in host:
        return host
    host = host.split("%")[0]  # fe80::1%eth0: the zone says which interface, not who
    try:
        ip = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


class Admission:
    """Connection counts, total and per address (thread-safe)."""

    def __init__(self, limits):
        self.max_total = limits.max_connections
        self.max_per_address = limits.max_per_address
        self.max_handshakes = limits.handshakes_per_address
        self.counts = {}  # key → connections open
        self.handshakes = {}  # key → TLS handshakes under way
        self.total = 0
        self.lock = threading.Lock()

    def admit(self, address, close_idle):
        """The key to serve `address` under, or None to refuse it."""
        key = address_key(address)
        with self.lock:
            own, total = self.counts.get(key, 0), self.total
            busiest = max(self.counts, key=self.counts.get) if total >= self.max_total and self.counts else None
        if own >= self.max_per_address:
            if not close_idle(key):
                return None
        elif total >= self.max_total:
            if not (close_idle(busiest) or close_idle(None)):
                return None
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.total += 1
        return key

    def start_handshake(self, key):
        """A TLS handshake for `key` begins; False if it has too many under way
        already (then close the connection: no answer is possible before TLS)."""
        with self.lock:
            under_way = self.handshakes.get(key, 0)
            if under_way >= self.max_handshakes:
                return False
            self.handshakes[key] = under_way + 1
            return True

    def end_handshake(self, key):
        """A handshake `start_handshake` allowed has ended, however it ended."""
        with self.lock:
            _count_down(self.handshakes, key)

    def release(self, key):
        """A connection admitted under `key` has ended."""
        with self.lock:
            _count_down(self.counts, key)
            self.total -= 1

    def count(self, key):
        with self.lock:
            return self.counts.get(key, 0)


def _count_down(counts, key):
    """One fewer for `key`; a key at zero is dropped, so the dict holds live clients only."""
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]
