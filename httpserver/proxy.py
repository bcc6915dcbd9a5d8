"""Who the client really is, behind a reverse proxy we trust (RFC 7239).

Behind nginx, every connection comes from nginx: the address a server sees is
the proxy's. Proxies say who they are forwarding for in a header, `Forwarded`
(RFC 7239: `for=192.0.2.60;proto=https, for=198.51.100.17`) or the older
`X-Forwarded-For` (`192.0.2.60, 198.51.100.17`), each adding the address it
received the request from at the end.

Anyone can send those headers, so they are believed only from the proxies the
server was told to trust (`--trusted-proxy`). `TrustedProxies.client_of`
walks the list from the right, starting with the peer: while the address is a
trusted proxy, the one before it is who that proxy talked to; the first address
that is not a trusted proxy is the client. Addresses a client wrote itself
(further left) are never reached unless every proxy after them is trusted.

Contract: `TrustedProxies(["127.0.0.1", "10.0.0.0/8"])` raises ValueError for
an address it cannot read; `client_of(request, peer)` returns the client's
`(address, port)` and the scheme the first proxy was reached with ("https", or
None when no trusted proxy said).
"""

import ipaddress

# RFC 7239 §4: forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] ),
# pairs are token=value, and a value is a token or a quoted-string.


def parse_forwarded(values):
    """The elements of Forwarded field values, in order, as dicts of lower-case
    parameter names to values (quotes removed). A malformed element is an empty dict."""
    elements = []
    for value in values:
        for element in _split_outside_quotes(value, ","):
            pairs = {}
            for pair in _split_outside_quotes(element, ";"):
                name, equals, raw = pair.partition("=")
                name = name.strip().lower()
                raw = raw.strip()
                if not equals or not name:
                    if pair.strip():
                        pairs = {}
                        break
                    continue
                if raw.startswith('"'):
                    if len(raw) < 2 or not raw.endswith('"'):
                        pairs = {}
                        break
                    raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                pairs[name] = raw
            elements.append(pairs)
    return elements


def _split_outside_quotes(text, separator):
    parts, current, quoted, escaped = [], [], False, False
    for character in text:
        if escaped:
            escaped = False
        elif character == "\\" and quoted:
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(character)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def parse_node(node):
    """(address, port) from a `for=` node: "192.0.2.60", "192.0.2.60:4711",
    "[2001:db8::1]:4711"; None for "unknown", an obfuscated "_name", or nonsense."""
    node = node.strip()
    port = 0
    if node.startswith("["):  # RFC 7239 §6: an IPv6 address is in brackets
        address, bracket, rest = node[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        port = int(rest[1:]) if rest else 0
    elif node.count(":") == 1:  # IPv4 with a port (a bare IPv6 has several colons)
        address, _, digits = node.partition(":")
        port = int(digits) if digits.isdigit() else 0
    else:
        address = node
    try:
        return str(ipaddress.ip_address(address)), port
    except ValueError:
        return None


class TrustedProxies:
    """The addresses (or networks) whose forwarding headers we believe."""

    def __init__(self, addresses):
        self.networks = []
        for address in addresses:
            try:
                self.networks.append(ipaddress.ip_network(address.strip(), strict=False))
            except ValueError:
                raise ValueError(f"--trusted-proxy: {address!r} is not an IP address or network") from None

    def __bool__(self):
        return bool(self.networks)

    def trusts(self, address):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def client_of(self, request, peer):
        """(client address and port, scheme) for a request that came from `peer`."""
        if not peer or not self.trusts(peer[0]):
            return peer, None  # not from a proxy we trust: its headers mean nothing
        headers = request.headers
        forwarded = headers.get_all("forwarded")
        if forwarded:
            elements = parse_forwarded(forwarded)
            hops = [element.get("for") for element in elements]
            schemes = [element.get("proto") for element in elements]
        else:
            hops = headers.get_list("x-forwarded-for")
            proto = headers.get_list("x-forwarded-proto")
            schemes = [proto[-1] if proto else None] * len(hops)  # one proxy sets it, for the whole hop
        client, scheme = peer, None
        for hop, hop_scheme in zip(reversed(hops), reversed(schemes)):
            node = parse_node(hop) if hop else None
            if node is None:
                break  # "unknown" or garbage: the last proxy we trust is as far as we can see
            client = node
            if hop_scheme and hop_scheme.lower() in ("http", "https"):
                scheme = hop_scheme.lower()
            if not self.trusts(node[0]):
                break
        return client, scheme
