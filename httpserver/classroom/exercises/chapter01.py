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
    def data():
        return token(rng, rng.randint(2, 40)).encode()
    cases = []
    for _ in range(4):  # in one piece, in pieces, one byte at a time; the next message left alone
        message = data()
        cases.append({"args": (pieces_of(rng, message + data()), len(message))})
    message = data()
    cases.append({"args": ([bytes([byte]) for byte in message], len(message))})
    first = data()  # the second recv must ask only for what is still missing
    cases.append({"args": ([first, data() + data()], len(first) + rng.randint(1, 2))})
    message = data()
    cases.append({"args": (pieces_of(rng, message), len(message) + rng.randint(1, 10))})  # closed too soon
    cases.append({"args": ([data()], 0)})
    return rng.sample(cases, len(cases))


def head(rng):
    fields = "".join("%s: %s\r\n" % (token(rng).title(), token(rng)) for _ in range(rng.randint(0, 4)))
    return ("%s /%s HTTP/1.1\r\n%s\r\n" % (pick(rng, "GET", "POST", "PUT"), token(rng), fields)).encode()


@exercise("ch01-recv_until-check", "recv_until", probe="fed_socket", judge=same_and_nothing_more_read)
def recv_until_cases(rng):
    end = b"\r\n\r\n"
    cases = [{"args": ([head(rng)], end)}]                                   # in one piece
    cases.append({"args": (pieces_of(rng, head(rng)), end)})                 # in pieces
    whole = head(rng)
    cut = len(whole) - rng.randint(1, 3)                                     # the marker itself split
    cases.append({"args": ([whole[:cut], whole[cut:] + token(rng).encode()], end)})
    cases.append({"args": ([head(rng) + token(rng).encode(), b"NEXT" + token(rng).encode()], end)})  # leftover
    for _ in range(3):
        cases.append({"args": (pieces_of(rng, head(rng) + token(rng).encode()), end)})
    lines = "".join(token(rng) + "\n" for _ in range(rng.randint(2, 5))).encode()
    cases.append({"args": (pieces_of(rng, lines), b"\n")})                  # any marker
    cases.append({"args": (pieces_of(rng, head(rng)[:-2]), end)})            # closed before the empty line
    limit = rng.randint(200, 600)
    flood = (token(rng, 50).encode() + b"\r\n") * (limit // 40 + 5)
    cases.append({"args": (pieces_of(rng, flood, most=12), end, limit)})    # no marker within the limit
    return rng.sample(cases, len(cases))


def connection(rng, client, server, start, retransmitted=False, completed=True, older=False):
    """Segments as (time, src, sport, dst, dport, seq, ack, flags) tuples: one handshake and more."""
    segments = []
    if older:  # the end of an older connection comes first
        other = (client[0], client[1] - 1)
        segments += [(start - 0.5, *other, *server, 900, 300, "FIN,ACK"), (start - 0.49, *server, *other, 300, 901, "ACK")]
    segments.append((start, *client, *server, 100, 0, "SYN"))
    now = start
    if retransmitted:  # no answer to the first SYN: sent again a second later
        now += 1.0
        segments.append((now, *client, *server, 100, 0, "SYN"))
    answered = now + round(rng.uniform(0.0001, 0.05), 6)
    segments.append((answered, *server, *client, 700, 101, "SYN,ACK"))
    if completed:
        segments.append((answered + round(rng.uniform(0.0001, 0.05), 6), *client, *server, 101, 701, "ACK"))
        segments.append((answered + 0.06, *client, *server, 101, 701, "PSH,ACK"))
    return segments


@exercise("ch01-handshake_duration-check", "handshake_duration", where="ch01-handshake_duration",
          probe="segments", judge=within(1e-6))
def handshake_duration_cases(rng):
    cases = []
    for options in [{}, {"older": True}, {"retransmitted": True}, {"completed": False},
                    {"older": True, "retransmitted": True}, {}, {"completed": False, "older": True}]:
        client = ("127.0.0.1", rng.randint(30000, 60000))
        server = ("127.0.0.1", pick(rng, 80, 443, 4221, rng.randint(1024, 9999)))
        cases.append({"args": (connection(rng, client, server, round(rng.uniform(1, 1000), 4), **options),)})
    return rng.sample(cases, len(cases))


@exercise("ch01-segments_per_round-check", "segments_per_round", where="ch01-segments_per_round",
          probe="segments")
def segments_per_round_cases(rng):
    sender, receiver = ("10.0.%d.2" % rng.randint(0, 255), rng.randint(1024, 9999)), ("10.0.0.1", 50000)
    cases = []
    for variant in ("plain", "acks", "shuffled", "gap", "plain", "acks"):
        rtt = pick(rng, 0.05, 0.1, 0.2, 0.03)
        start, segments = round(rng.uniform(1, 100), 3), []
        for number in range(rng.randint(1, 5)):
            if variant == "gap" and number % 2:
                continue  # a round with no data
            for _ in range(rng.randint(1, 12)):
                moment = start + number * rtt + rtt * rng.uniform(0.05, 0.9)  # never on a round's edge
                segments.append((moment, *sender, *receiver, 0, 0, "ACK", b"x" * rng.randint(1, 1460)))
        segments.append((start, *sender, *receiver, 0, 0, "ACK", b"x" * 100))  # the first data segment
        if variant == "acks":  # bare ACKs, and the receiver's own data: not the sender's
            segments += [(start + rtt * 0.5, *receiver, *sender, 0, 0, "ACK", b""),
                         (start + rtt * 0.6, *sender, *receiver, 0, 0, "ACK", b""),
                         (start + rtt * 0.7, *receiver, *sender, 0, 0, "PSH,ACK", b"y" * 10)]
        if variant == "shuffled":
            rng.shuffle(segments)
        else:
            segments.sort()
        cases.append({"args": (segments, sender, rtt)})
    cases.append({"args": (cases[0]["args"][0], ("10.9.9.9", 1), 0.05)})  # a sender that sent nothing
    return cases
