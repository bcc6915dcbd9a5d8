"""Chapter 11's exercises: an HTTP/2 frame header, an HPACK integer."""

from . import exercise, pick

FRAME_TYPES = list(range(10)) + [0xFF]


@exercise("ch11-read_frame_header-check", "read_frame_header", where="ch11-read_frame_header")
def read_frame_header_cases(rng):
    cases = []
    for _ in range(14):
        length = pick(rng, 0, rng.randint(1, 255), rng.randint(256, 2 ** 14), rng.randint(2 ** 14, 2 ** 24 - 1))
        stream = pick(rng, 0, rng.randint(1, 2 ** 31 - 1))
        reserved = pick(rng, 0, 0x80000000)  # the reserved bit, set or not: it is not part of the id
        header = (length.to_bytes(3, "big") + bytes([pick(rng, *FRAME_TYPES), rng.randrange(256)])
                  + (stream | reserved).to_bytes(4, "big"))
        cases.append({"args": (header + bytes(rng.randrange(256) for _ in range(rng.randint(0, 8))),)})
    for size in (0, 1, 5, 8):
        cases.append({"args": (bytes(rng.randrange(256) for _ in range(size)),)})
    return rng.sample(cases, len(cases))


def encode_integer(value, prefix_bits, high_bits):
    """An HPACK integer (RFC 7541 §5.1), its first byte's other bits set to `high_bits`."""
    limit = (1 << prefix_bits) - 1
    first = high_bits << prefix_bits & 0xFF
    if value < limit:
        return bytes([first | value])
    out, value = [first | limit], value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out + [value])


@exercise("ch11-decode_integer-check", "decode_integer", where="ch11-decode_integer")
def decode_integer_cases(rng):
    cases = []
    for _ in range(16):
        prefix = rng.randint(1, 8)
        value = pick(rng, rng.randint(0, (1 << prefix) - 2), (1 << prefix) - 1, rng.randint(0, 2 ** 20))
        data = encode_integer(value, prefix, rng.randrange(256)) + bytes(rng.randrange(256) for _ in range(3))
        cases.append({"args": (data, prefix)})
    prefix = rng.randint(1, 8)
    cut = encode_integer(rng.randint(2 ** 10, 2 ** 20), prefix, 0)
    cases += [{"args": (cut[:-1], prefix)}, {"args": (b"", prefix)}]  # the integer runs past the end
    return rng.sample(cases, len(cases))
