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


def named(rng, coding, quality=None):
    """`coding` as a client writes it: any case, maybe a q-value, spaces where the grammar allows."""
    text = pick(rng, str.lower, str.upper, str.title)(coding)
    if quality is not None:
        text += pick(rng, ";", " ;", "; ") + pick(rng, "q", "Q") + "=" + quality
    return text


def listing(rng, *elements):
    elements = list(elements)
    rng.shuffle(elements)
    return pick(rng, ",", ", ", " , ").join(elements)


@exercise("ch06-accepts-check", "accepts")
def accepts_cases(rng):
    coding = pick(rng, "gzip", "br", "deflate")
    others = [name for name in CODINGS if name != coding]
    yes, no = pick(rng, "1", "0.8", "0.5", "0.001", "1.0"), pick(rng, "0", "0.0", "0.000")
    cases = [
        (named(rng, coding), coding),                                               # named, q defaults to 1
        (listing(rng, named(rng, coding, yes), named(rng, pick(rng, *others))), coding),  # in a list
        (named(rng, coding, no), coding),                                           # q=0 refuses it
        (listing(rng, named(rng, pick(rng, *others))), coding),                     # not named, no *
        (listing(rng, named(rng, pick(rng, *others)), named(rng, "*")), coding),    # * takes it
        (named(rng, "*", no), coding),                                              # *;q=0 refuses all
        (listing(rng, named(rng, coding, no), named(rng, "*", yes)), coding),       # named wins over *
        (listing(rng, named(rng, coding, yes), named(rng, "*", no)), coding),
        (listing(rng, "x-" + coding, coding + "ped"), coding),                      # whole names only
        ("", coding), (None, coding),
    ]
    for _ in range(10):
        names = rng.sample(CODINGS + ["*"], rng.randint(1, 4))
        cases.append((listing(rng, *(named(rng, name, pick(rng, None, *QUALITIES)) for name in names)),
                      pick(rng, "gzip", "br", "deflate")))
    return [{"args": case} for case in rng.sample(cases, len(cases))]


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
    size = rng.randint(50, 1000)
    first, second = sorted(rng.sample(range(size - 10), 2))
    unit = pick(rng, "bytes", "BYTES", "Bytes")
    cases = [
        ("bytes=%d-%d" % (first, first + rng.randint(0, 9)), size),                  # one range, inclusive
        ("bytes=%d-%d,%d-%d" % (second, second + 5, first, first + 3), size),        # any order: sorted
        ("bytes=%d-%d,%d-%d" % (first, first + 20, first + 5, first + 30), size),    # overlapping: merged
        ("bytes=%d-%d,%d-%d" % (first, first + 4, first + 5, first + 9), size),      # touching: merged
        ("bytes=%d-%d,%d-%d" % (first, first + 4, first + 6, first + 9), size),      # a byte between: two
        ("bytes=%d-" % first, size),                                                 # up to the end
        ("bytes=%d-%d" % (size - 5, size + rng.randint(1, 500)), size),              # cut to size - 1
        ("bytes=-%d" % rng.randint(1, size - 1), size),                              # a suffix
        ("bytes=-%d" % (size + rng.randint(1, 500)), size),                          # a suffix past the start
        ("%s=0-%d" % (unit, rng.randint(0, 9)), size),                               # the unit's case
        ("bytes=0-4 , %d-%d" % (first + 10, first + 14), size),                      # spaces
        ("bytes=0-4,,%d-%d" % (first + 10, first + 14), size),                       # an empty element
        ("bytes=%d-%d,0-0" % (size + 10, size + 20), size),                          # one selects nothing
        ("bytes=%d-" % size, size),                                                  # unsatisfiable
        ("bytes=%d-%d,-0" % (size + 10, size + 20), size),
        ("bytes=0-%d" % rng.randint(0, 9), 0),                                       # an empty file
        (token(rng) + "=0-4", size),                                                 # another unit
    ]
    for bad in BAD_RANGES:
        text = bad.replace("%d", str(rng.randint(0, 9)), 1).replace("%d", str(rng.randint(10, 99)))
        cases.append(("bytes=0-4," + text, size))
    for _ in range(10):
        size = pick(rng, 0, 1, rng.randint(2, 40), rng.randint(41, 1000))
        elements = [range_element(rng, size) for _ in range(rng.randint(1, 4))]
        cases.append(("bytes=" + ",".join(elements), size))
    return [{"args": case} for case in rng.sample(cases, len(cases))]


def response(rng, body, name=None):
    name = name or pick(rng, b"Content-Length", b"content-length", b"CONTENT-LENGTH")
    extra = b"X-Id: %s\r\n" % token(rng).encode() if rng.random() < 0.5 else b""
    return b"HTTP/1.1 200 OK\r\n" + extra + name + b": %d\r\n\r\n" % len(body) + body


def body(rng):
    return pick(rng, token(rng).encode(), b"HTTP/1.1 200 OK\r\n\r\n" + token(rng).encode(), b"")


@exercise("ch06-split_pipelined-check", "split_pipelined", where="ch06-split_pipelined")
def split_pipelined_cases(rng):
    def some():
        return [response(rng, body(rng)) for _ in range(rng.randint(1, 4))]
    tail = response(rng, token(rng, 20).encode())
    cases = [
        b"".join(some()),                                                            # back to back
        response(rng, b"HTTP/1.1 200 OK\r\n\r\n" + token(rng).encode()) + response(rng, b"x"),  # a tricky body
        b"HTTP/1.1 204 No Content\r\n\r\n" + response(rng, token(rng).encode()),   # no Content-Length
        b"".join(some()) + tail[:rng.randrange(len(tail))],                           # the last not complete
        tail[:rng.randint(1, 15)],                                                   # not even a head
    ]
    for _ in range(7):
        answers = [response(rng, body(rng)) if rng.random() < 0.85 else b"HTTP/1.1 204 No Content\r\n\r\n"
                   for _ in range(rng.randint(1, 4))]
        cases.append(b"".join(answers))
    return [{"args": (case,)} for case in rng.sample(cases, len(cases))]


def cache_control(rng, *directives):
    """The directives in random order, case and spacing, some arguments quoted."""
    written = []
    for directive in directives:
        name, equals, argument = directive.partition("=")
        name = pick(rng, str.lower, str.upper, str.title)(name)
        if equals and rng.random() < 0.3 and argument.isdigit():
            argument = '"%s"' % argument
        written.append(name + equals + argument)
    rng.shuffle(written)
    return pick(rng, ",", ", ", " , ").join(written)


@exercise("ch06-reuse_verdict-check", "reuse_verdict", where="ch06-reuse_verdict")
def reuse_verdict_cases(rng):
    def seconds():
        return rng.randint(1, 3600)
    cases = []
    for _ in range(3):
        life = seconds()
        for age in (rng.uniform(0, life - 0.5), life, life + rng.uniform(0.1, 100), life - 0.5):
            cases.append({"args": (cache_control(rng, "max-age=%d" % life, pick(rng, "public", "must-revalidate")),
                                   round(age, 2), rng.random() < 0.5)})
    for shared in (True, False):
        cases += [
            {"args": (cache_control(rng, "no-store", "max-age=%d" % seconds()), 0, shared)},
            {"args": (cache_control(rng, "private", "max-age=%d" % seconds()), 1, shared)},
            {"args": (cache_control(rng, "max-age=%d" % rng.randint(1, 50), "s-maxage=%d" % rng.randint(100, 999)),
                      rng.randint(51, 99), shared)},
            {"args": (cache_control(rng, "s-maxage=%d" % seconds()), 0, shared)},
            {"args": (cache_control(rng, "no-cache", "max-age=%d" % seconds()), 1, shared)},
            {"args": (cache_control(rng, "max-age=" + pick(rng, "abc", "-1", "+5", "1.5", "")), 0, shared)},
            {"args": (None, 0, shared)},
            {"args": (cache_control(rng, "public"), 0, shared)},
        ]
    return rng.sample(cases, len(cases))
