"""Chapter 06's exercises: Accept-Encoding (my_server.py), byte ranges, pipelined answers."""

from . import exercise, pick, token

CODINGS = ["gzip", "br", "deflate", "compress", "identity", "zstd", "x-gzip", "gzipped"]
QUALITIES = ["1", "1.0", "0.8", "0.5", "0.001", "0", "0.0", "0.000"]


def element(rng, name):
    """One list element: a name in any case, maybe a q-value, spaces where the grammar allows them."""
    name = pick(rng, str.lower, str.upper, str.title)(name)
    if rng.random() < 0.6:
        name += pick(rng, ";", " ;", "; ") + pick(rng, "q", "Q") + "=" + pick(rng, *QUALITIES)
    return name


@exercise("ch06-accepts-check", "accepts")
def accepts_cases(rng):
    cases = []
    for _ in range(24):
        names = rng.sample(CODINGS + ["*"], rng.randint(1, 4))
        value = pick(rng, ",", ", ", " , ").join(element(rng, name) for name in names)
        cases.append({"args": (value, pick(rng, "gzip", "gzip", "br", "deflate"))})
    cases += [{"args": ("", "gzip")}, {"args": (None, "gzip")}]
    return rng.sample(cases, len(cases))


def range_element(rng, size):
    kind = rng.random()
    first = rng.randint(0, max(0, size + 20))
    if kind < 0.5:
        return "%d-%d" % (first, first + rng.randint(0, 40))
    if kind < 0.7:
        return "%d-" % first
    return "-%d" % rng.randint(0, size + 30)


BAD_RANGES = ["", "-", "%d", "%d-%d-", "+%d-9", "a-%d", "%d-3x", "5-3"]


@exercise("ch06-parse_byte_ranges-check", "parse_byte_ranges", where="ch06-parse_byte_ranges")
def parse_byte_ranges_cases(rng):
    cases = []
    for _ in range(24):
        size = pick(rng, 0, 1, rng.randint(2, 40), rng.randint(41, 1000))
        elements = [range_element(rng, size) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.15:
            elements.insert(rng.randint(0, len(elements)), "")  # an empty element, skipped
        unit = pick(rng, "bytes", "bytes", "BYTES", "Bytes")
        cases.append({"args": (unit + "=" + pick(rng, ",", ", ", " , ").join(elements), size)})
    for bad in BAD_RANGES:
        text = bad.replace("%d", str(rng.randint(0, 9)), 1).replace("%d", str(rng.randint(10, 99)))
        cases.append({"args": ("bytes=0-4," + text, 100)})
    cases.append({"args": (token(rng) + "=0-4", 100)})
    return rng.sample(cases, len(cases))


def response(rng, body, name=None):
    name = name or pick(rng, b"Content-Length", b"content-length", b"CONTENT-LENGTH")
    extra = b"X-Id: %s\r\n" % token(rng).encode() if rng.random() < 0.5 else b""
    return b"HTTP/1.1 200 OK\r\n" + extra + name + b": %d\r\n\r\n" % len(body) + body


def body(rng):
    return pick(rng, token(rng).encode(), b"HTTP/1.1 200 OK\r\n\r\n" + token(rng).encode(), b"")


@exercise("ch06-split_pipelined-check", "split_pipelined", where="ch06-split_pipelined")
def split_pipelined_cases(rng):
    cases = []
    for _ in range(12):
        answers = [response(rng, body(rng)) if rng.random() < 0.85 else b"HTTP/1.1 204 No Content\r\n\r\n"
                   for _ in range(rng.randint(1, 4))]
        data = b"".join(answers)
        if rng.random() < 0.4:
            tail = response(rng, token(rng, 20).encode())
            data += tail[:rng.randrange(len(tail))]  # the next one, not all here yet
        cases.append({"args": (data,)})
    return cases
