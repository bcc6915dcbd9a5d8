"""Chapter 01's exercises: reading exactly n bytes, reading up to a marker, a handshake's duration."""

from . import exercise, pick, same_as_reference, token, within


def pieces_of(rng, data, most=6):
    """`data` cut at random places, as TCP may deliver it (no empty piece)."""
    if not data:
        return []
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, most - 1))))
    return [data[start:end] for start, end in zip([0] + cuts, cuts + [len(data)])]


def same_and_nothing_more_read(case, observed, expected):
    """The reference's result, and the same bytes left unread: the rest belongs to the next message."""
    why = same_as_reference(case, observed, expected)
    if why is None and observed.get("unread") != expected.get("unread"):
        return "read bytes it did not need (they belong to the next message): recv(n - len(so_far)), never more"
    return why


@exercise("ch01-recv_exactly-check", "recv_exactly", probe="fed_socket", judge=same_and_nothing_more_read)
def recv_exactly_cases(rng):
    cases = []
    for _ in range(12):
        data = token(rng, rng.randint(1, 40)).encode()
        wanted = rng.randint(1, len(data)) if rng.random() < 0.75 else len(data) + rng.randint(1, 10)
        extra = token(rng).encode() if rng.random() < 0.5 else b""  # the next message, to be left alone
        cases.append({"args": (pieces_of(rng, data + extra), wanted)})
    cases.append({"args": ([token(rng).encode()], 0)})
    return rng.sample(cases, len(cases))


def head(rng):
    fields = "".join("%s: %s\r\n" % (token(rng).title(), token(rng)) for _ in range(rng.randint(0, 4)))
    return ("%s /%s HTTP/1.1\r\n%s\r\n" % (pick(rng, "GET", "POST", "PUT"), token(rng), fields)).encode()


@exercise("ch01-recv_until-check", "recv_until", probe="fed_socket", judge=same_and_nothing_more_read)
def recv_until_cases(rng):
    end = b"\r\n\r\n"
    cases = []
    for _ in range(10):
        leftover = token(rng).encode() if rng.random() < 0.5 else b""
        data = head(rng) + leftover
        pieces = pieces_of(rng, data)
        if rng.random() < 0.4:
            pieces.append(b"NEXT" + token(rng).encode())  # arrives later: must stay unread
        cases.append({"args": (pieces, end)})
    lines = "".join(token(rng) + "\n" for _ in range(rng.randint(2, 5))).encode()
    cases.append({"args": (pieces_of(rng, lines), b"\n")})
    cases.append({"args": (pieces_of(rng, head(rng)[:-2]), end)})  # closed before the empty line
    limit = rng.randint(200, 600)
    flood = (token(rng, 50).encode() + b"\r\n") * (limit // 40 + 5)
    cases.append({"args": (pieces_of(rng, flood, most=12), end, limit)})
    return rng.sample(cases, len(cases))


@exercise("ch01-handshake_duration-check", "handshake_duration", where="ch01-handshake_duration",
          probe="segments", judge=within(1e-6))
def handshake_duration_cases(rng):
    """Segments as (time, src, sport, dst, dport, seq, ack, flags) tuples."""
    cases = []
    for _ in range(10):
        client = ("127.0.0.1", rng.randint(30000, 60000))
        server = ("127.0.0.1", pick(rng, 80, 443, 4221, rng.randint(1024, 9999)))
        now = round(rng.uniform(1, 1000), 4)
        segments = []
        if rng.random() < 0.4:  # the end of an older connection comes first
            other = ("127.0.0.1", client[1] - 1)
            segments += [(now - 0.5, *other, *server, 900, 300, "FIN,ACK"), (now - 0.49, *server, *other, 300, 901, "ACK")]
        segments.append((now, *client, *server, 100, 0, "SYN"))
        if rng.random() < 0.3:  # no answer to the first SYN: sent again a second later
            now += 1.0
            segments.append((now, *client, *server, 100, 0, "SYN"))
        answered = now + round(rng.uniform(0.0001, 0.05), 6)
        segments.append((answered, *server, *client, 700, 101, "SYN,ACK"))
        if rng.random() < 0.85:
            segments.append((answered + round(rng.uniform(0.0001, 0.05), 6), *client, *server, 101, 701, "ACK"))
            segments.append((answered + 0.06, *client, *server, 101, 701, "PSH,ACK"))
        cases.append({"args": (segments,)})
    return cases
