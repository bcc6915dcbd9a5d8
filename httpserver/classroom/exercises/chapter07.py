"""Chapter 07's exercises: a TLS record header, a client's context, handshake messages."""

import os
import socket
import ssl
import threading

from . import exercise, outcome_text, pick, token

TYPES = [20, 21, 22, 23]


@exercise("ch07-parse_tls_record_header-check", "parse_tls_record_header", where="ch07-parse_tls_record_header")
def parse_tls_record_header_cases(rng):
    cases = []
    for _ in range(12):
        length = rng.randint(0, 2 ** 14 + 256)
        header = bytes([pick(rng, *TYPES), 3, pick(rng, 1, 3, 4)]) + length.to_bytes(2, "big")
        cases.append({"args": (header + bytes(rng.randrange(256) for _ in range(rng.randint(0, 6))),)})
    for size in range(5):
        cases.append({"args": (bytes([22, 3, 3, 0, 5])[:size],)})
    cases.append({"args": (bytes([pick(rng, 0, 19, 24, 71, 255), 3, 3, 0, 1]),)})
    cases.append({"args": (b"GET / HTTP/1.1\r\n",)})
    return rng.sample(cases, len(cases))


def message(rng, kind=None):
    kind = kind if kind is not None else pick(rng, 1, 2, 4, 8, 11, 12, 13, 14, 15, 16, 20, 99)
    body = bytes(rng.randrange(256) for _ in range(pick(rng, 0, rng.randint(1, 300))))
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


@exercise("ch07-handshake_messages-check", "handshake_messages", where="ch07-handshake_messages",
          probe="tls_records")
def handshake_messages_cases(rng):
    flight = [(22, False, b"".join(message(rng, kind) for kind in (2, 11, 12, 14)))]   # four in one record
    mixed = [(22, False, message(rng, 2)), (20, False, b"\x01"), (22, True, message(rng, 20)),
             (23, True, bytes(rng.randrange(256) for _ in range(40)))]                  # encrypted ones skipped
    others = [(21, False, b"\x02\x28"), (23, False, bytes([22, 0, 0, 0])), (22, False, message(rng, 99))]
    cases = [{"args": ([],)}, {"args": (flight,)}, {"args": (mixed,)}, {"args": (others,)}]
    for _ in range(8):
        records = []
        for _ in range(rng.randint(1, 5)):
            kind = pick(rng, 22, 22, 22, 20, 21, 23)
            encrypted = kind in (22, 23) and rng.random() < 0.3
            fragment = (b"".join(message(rng) for _ in range(rng.randint(1, 3))) if kind == 22
                        else bytes([22, 0, 0, 0]) if kind == 23 else b"\x01")
            records.append((kind, encrypted, fragment))
        cases.append({"args": (records,)})
    return cases


class TLSServers:
    """Three TLS servers on Unix sockets, outside the sandbox: one the client must trust, one signed
    by another CA, one with the right CA but another host name. They report whether each handshake
    completed: what the judge believes."""

    NAMES = ("trusted", "other-ca", "other-name")

    def __init__(self, exchange, cases):
        self.exchange, self.cases = exchange, cases

    def before(self):
        import trustme

        self.listeners, self.seen = [], [dict() for _ in self.cases]
        for index, case in enumerate(self.cases):
            authority, stranger = trustme.CA(), trustme.CA()
            authority.cert_pem.write_to_path(os.path.join(self.exchange, os.path.basename(case["ca_file"])))
            certificates = {"trusted": authority.issue_cert("localhost"),
                            "other-ca": stranger.issue_cert("localhost"),
                            "other-name": authority.issue_cert(token(self._rng(case)) + ".example")}
            for name in self.NAMES:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                certificates[name].configure_cert(context)
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(os.path.join(self.exchange, "%d-%s.sock" % (index, name)))
                listener.listen(2)
                listener.settimeout(20)
                self.listeners.append(listener)
                thread = threading.Thread(target=self.serve, args=(listener, context, self.seen[index], name),
                                          daemon=True)
                thread.start()

    @staticmethod
    def _rng(case):
        import random
        return random.Random(case["ca_file"])

    @staticmethod
    def serve(listener, context, seen, name):
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    seen[name] = "handshake " + tls.version()
            except (OSError, ssl.SSLError) as error:
                seen[name] = "refused (%s)" % (getattr(error, "reason", None) or type(error).__name__)

    def after(self):
        for listener in self.listeners:
            listener.close()
        return [{"servers": seen} for seen in self.seen], None


def judge_context(case, observed, expected):
    if "raised" in observed:
        return "make_client_context %s" % outcome_text(observed)
    inside = observed.get("value") or {}
    if not inside.get("is_context"):
        return "should return an ssl.SSLContext; it %s" % outcome_text(observed)
    servers = (observed.get("outside") or {}).get("servers", {})
    trusted = servers.get("trusted", "")
    if not trusted.startswith("handshake TLSv1.2") and not trusted.startswith("handshake TLSv1.3"):
        return ("the handshake with the server whose certificate the CA in ca_file signed did not complete "
                "(%s): the context must trust that CA, ssl.create_default_context(cafile=ca_file)" % (trusted or "no connection"))
    if servers.get("other-ca", "").startswith("handshake"):
        return ("the context accepted a server whose certificate another CA signed: it does not verify "
                "certificates (CERT_NONE?), so anyone in the middle could answer")
    if servers.get("other-name", "").startswith("handshake"):
        return "the context accepted a certificate for another host name: check_hostname must stay True"
    if inside.get("minimum_version", 0) < ssl.TLSVersion.TLSv1_2:
        return "set context.minimum_version = ssl.TLSVersion.TLSv1_2 (RFC 8996)"
    return None


@exercise("ch07-make_client_context-check", "make_client_context", where="ch07-make_client_context",
          probe="tls_context", judge=judge_context, outside=TLSServers, seconds=30)
def make_client_context_cases(rng):
    cases = []
    for index in range(2):
        name = "ca-%s.pem" % token(rng)
        cases.append({"ca_file": "exchange/" + name,
                      "servers": ["exchange/%d-%s.sock" % (index, server) for server in TLSServers.NAMES]})
    return cases


def basic(text, scheme="Basic", spaces=" "):
    import base64
    return scheme + spaces + base64.b64encode(text.encode("utf-8")).decode("ascii")


@exercise("ch07-basic_credentials-check", "basic_credentials", where="ch07-basic_credentials")
def basic_credentials_cases(rng):
    import base64

    def word():
        return token(rng, alphabet="abcdefghijklmnopqrstuvwxyzäöüéß0123456789 ")
    cases = [basic(word().strip() + ":" + word()) for _ in range(4)]
    cases.append(basic(token(rng) + ":" + ":".join(token(rng) for _ in range(3))))  # colons in the password
    cases.append(basic(token(rng) + ":"))                                            # an empty password
    cases.append(basic(token(rng) + ":" + token(rng), scheme=pick(rng, "basic", "BASIC", "bAsIc")))
    cases.append(basic(token(rng) + ":" + token(rng), spaces=" " * rng.randint(2, 5)))
    cases.append(basic(token(rng) + " " + token(rng)))                               # no colon
    cases.append(pick(rng, "Bearer ", "Digest ") + token(rng))
    cases.append(pick(rng, "Basic", "Basic ", "basic"))
    valid = basic(token(rng) + ":" + token(rng)).split()[1]
    cut = rng.randint(0, len(valid))  # a character base64 does not have: decode strictly, refuse it
    cases.append("Basic " + valid[:cut] + pick(rng, "!", "*", "@", "%") * rng.randint(1, 3) + valid[cut:])
    cases.append("Basic " + base64.b64encode(bytes([0xff, 0xfe]) + b":" + token(rng).encode()).decode())
    return [{"args": (case,)} for case in rng.sample(cases, len(cases))]
