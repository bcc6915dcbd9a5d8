"""Chapter 02's exercises, answered in my_server.py: request line, header fields, chunked bodies."""

from . import exercise, pick, token

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
TARGET_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~%=&+!$'()*,;:@"


def method(rng):
    return pick(rng, "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", token(rng, alphabet=TCHARS).upper())


def target(rng):
    path = "/" + "/".join(token(rng, alphabet=TARGET_CHARS) for _ in range(rng.randint(0, 3)))
    return pick(rng, path, path, path + "?" + token(rng) + "=" + token(rng), "*")


def request_line(rng):
    return "%s %s HTTP/%d.%d" % (method(rng), target(rng), rng.randint(0, 9), rng.randint(0, 9))


# Each turns a valid request line (without its CRLF) into one that breaks a rule of RFC 9112 §3.
BREAKS = [
    lambda rng, line: line + "\n",                                 # a bare LF
    lambda rng, line: line,                                        # no line ending yet
    lambda rng, line: line.replace(" ", "  ", 1) + "\r\n",         # two spaces
    lambda rng, line: " " + line + "\r\n",                         # a space first
    lambda rng, line: line.replace(" ", "\t", 1) + "\r\n",         # a tab for a space
    lambda rng, line: line + " " + token(rng) + "\r\n",            # four parts
    lambda rng, line: line.rsplit(" ", 1)[0] + "\r\n",             # two parts
    lambda rng, line: line.replace("HTTP/", "http/") + "\r\n",     # the name in lower case
    lambda rng, line: line + "%d\r\n" % rng.randint(0, 9),         # two digits after the dot
    lambda rng, line: line.replace(".", "") + "\r\n",              # no dot
    lambda rng, line: line.replace(" ", "\r ", 1) + "\r\n",        # a bare CR inside
    lambda rng, line: pick(rng, "G(T", "GE:T", "G\"T", "[GET]") + line[line.index(" "):] + "\r\n",
    lambda rng, line: line.replace(" /", " /caf\u00e9", 1) + "\r\n",  # a target that is not ASCII
]


@exercise("ch02-parse_request_line-check", "parse_request_line")
def parse_request_line_cases(rng):
    cases = [{"args": ((request_line(rng) + "\r\n").encode("utf-8"),)} for _ in range(12)]
    for breaking in BREAKS:
        line = request_line(rng).replace(" *", " /x")
        cases.append({"args": (breaking(rng, line).encode("utf-8"),)})
    return rng.sample(cases, len(cases))


def field_name(rng):
    return "".join(pick(rng, str.upper, str.lower, str.title)(token(rng, alphabet=TCHARS))
                   for _ in range(1))


def field_value(rng):
    inner = pick(rng, token(rng), token(rng) + " " + token(rng), token(rng) + ":" + str(rng.randint(1, 9999)),
                 token(rng) + "  " + token(rng), "")
    return pick(rng, "", " ", "  ", "\t") + inner + pick(rng, "", "", " ", " \t")


BAD_FIELD_LINES = [
    lambda rng: token(rng) + pick(rng, " ", "\t", "  ") + ": " + token(rng),  # whitespace before the colon
    lambda rng: token(rng) + " " + token(rng),                              # no colon
    lambda rng: ": " + token(rng),                                          # no name
    lambda rng: token(rng) + " " + token(rng) + ": x",                      # a space inside the name
    lambda rng: token(rng) + pick(rng, "(", ")", "[", "@", ",", "/", "=") + token(rng) + ": x",  # a delimiter
]


@exercise("ch02-parse_headers-check", "parse_headers")
def parse_headers_cases(rng):
    cases = []
    for _ in range(12):
        names = [field_name(rng) for _ in range(rng.randint(1, 4))]
        lines = [(name + ":" + field_value(rng)).encode("latin-1") for name in names]
        if rng.random() < 0.5:  # the same field again, in another case
            lines.append((names[0].swapcase() + ": " + token(rng)).encode())
        cases.append({"args": (lines,)})
    cases.append({"args": ([],)})
    for bad in BAD_FIELD_LINES:
        lines = [(field_name(rng) + ": " + token(rng)).encode() for _ in range(rng.randint(0, 2))]
        lines.insert(rng.randint(0, len(lines)), bad(rng).encode())
        cases.append({"args": (lines,)})
    folded = [(field_name(rng) + ": " + token(rng)).encode(), pick(rng, b" ", b"\t") + token(rng).encode()]
    cases.append({"args": (folded,)})
    return rng.sample(cases, len(cases))


def chunked(rng, pieces, trailers=(), upper=False):
    """The chunked encoding of `pieces` (sizes in hex, some with extensions), then trailers."""
    out = b""
    for piece in pieces:
        size = "%x" % len(piece)
        out += (size.upper() if upper else size).encode()
        if rng.random() < 0.2:
            out += b";" + token(rng).encode() + b"=" + token(rng).encode()
        out += b"\r\n" + piece + b"\r\n"
    out += b"0\r\n" + b"".join(trailers) + b"\r\n"
    return out


def body_pieces(rng):
    alphabet = "abcdefghij\r\n0123456789 "
    return [token(rng, rng.randint(1, 40), alphabet).encode() for _ in range(rng.randint(0, 4))]


BAD_SIZES = [b"0x5", b"+5", b"-1", b"5_0", b" 5", b"", b"zz", b"5 5", b"\xd9\xa5"]


@exercise("ch02-decode_chunked-check", "decode_chunked")
def decode_chunked_cases(rng):
    pieces = body_pieces(rng) or [b"x"]
    rest = b"GET /" + token(rng).encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    with_extension = b"%x;%s=%s\r\n" % (len(pieces[0]), token(rng).encode(), token(rng).encode())
    cases = [
        {"args": (chunked(rng, pieces, upper=True),)},                                   # HEXDIG upper case
        {"args": (chunked(rng, pieces, [b"Expires: never\r\n", b"X-%s: 1\r\n" % token(rng).encode()]),)},
        {"args": (with_extension + pieces[0] + b"\r\n0\r\n\r\n",)},                 # an extension
        {"args": (chunked(rng, pieces) + rest,)},                                        # the next request
        {"args": (b"%x\r\n" % 4 + b"\r\n\r\n" + b"\r\n0\r\n\r\n",)},             # CRLF inside the data
        {"args": (b"0\r\n\r\n",)},
    ]
    for _ in range(8):
        trailers = [b"Expires: never\r\n"] if rng.random() < 0.3 else []
        body = chunked(rng, body_pieces(rng), trailers, upper=rng.random() < 0.5)
        rest = b"GET /" + token(rng).encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n" if rng.random() < 0.4 else b""
        cases.append({"args": (body + rest,)})
        cases.append({"args": (body[:rng.randrange(len(body))],)})  # not all here yet: None
    for size in BAD_SIZES:
        cases.append({"args": (size + b"\r\nhello\r\n0\r\n\r\n",)})
    data = token(rng, 5).encode()
    cases.append({"args": (b"5\r\n" + data + token(rng, 2).encode() + b"0\r\n\r\n",)})  # no CRLF after the data
    cases.append({"args": (b"3\r\n" + data + b"\r\n0\r\n\r\n",)})  # more data than the size says
    return rng.sample(cases, len(cases))
