"""Chapter 08's exercises: framing a body (my_server.py), when a slow client is cut, a fuzzer's mutation."""

from . import exercise, outcome_text, pick, token, within

GOOD_LENGTHS = ["0", "5", "10", "007"]
BAD_LENGTHS = ["+5", "-5", "1_0", "\u0665", "", " ", "5 5", "0x10", "5.0", "1e3"]


def header_case(rng):
    name = pick(rng, "Content-Length", "content-length", "CONTENT-LENGTH")
    te = pick(rng, "Transfer-Encoding", "transfer-encoding")
    chunked = pick(rng, "chunked", "Chunked", "CHUNKED")
    length = str(rng.randint(0, 10 ** rng.randint(1, 7)))
    host = [("Host", token(rng))] if rng.random() < 0.5 else []
    return pick(rng,
                host + [(name, length)],
                host,
                [(name, pick(rng, *GOOD_LENGTHS))],
                [(name, pick(rng, *BAD_LENGTHS))],
                [(name, length), (name, pick(rng, length, str(int(length) + rng.randint(1, 99))))],
                [(te, chunked)],
                [(te, chunked), (name, length)],
                [(name, length), (te, chunked)],
                [(te, chunked + ", " + pick(rng, "gzip", "deflate"))],
                [(te, pick(rng, "gzip", "deflate") + ", " + chunked)],
                [(te, pick(rng, "x", "") + chunked + pick(rng, "x", "ed", ""))],
                [(te, chunked), (te, chunked)],
                [(te, chunked + ", " + chunked)])


@exercise("ch08-framing-check", "body_length", probe="framing")
def framing_cases(rng):
    return [{"args": header_case(rng)} for _ in range(30)]


@exercise("ch08-should_time_out-check", "should_time_out", where="ch08-should_time_out", judge=within(1e-9))
def should_time_out_cases(rng):
    cases = []
    for _ in range(20):
        moments, now = [], rng.uniform(0, 3)
        for _ in range(rng.randint(0, 30)):
            now += pick(rng, rng.uniform(0.1, 1.5), rng.uniform(0.1, 1.5), rng.uniform(2, 12))
            moments.append(round(now, 3))
        head = pick(rng, None, rng.randint(1, 30))
        per_recv = pick(rng, None, rng.randint(1, 10))
        cases.append({"args": (moments, head, per_recv)})
    return cases


def one_edit_away(result, data):
    """True when `result` differs from `data` by one insert, one delete or one changed byte."""
    if not isinstance(result, bytes) or abs(len(result) - len(data)) > 1:
        return False
    if len(result) == len(data):
        return sum(a != b for a, b in zip(result, data)) == 1
    short, long = sorted((result, data), key=len)
    start = next((i for i, (a, b) in enumerate(zip(short, long)) if a != b), len(short))
    return short[start:] == long[start + 1:]


def judge_mutant(case, observed, expected):
    data = case["args"][0]
    if "value" not in observed:
        return "should return the mutated bytes; it %s" % outcome_text(observed)
    if not one_edit_away(observed["value"], data):
        return "should return bytes one insert, delete or replace away from the input; it %s" % outcome_text(observed)
    if (observed.get("again") or {}).get("value") != observed["value"]:
        return "the same seed must give the same mutant: take every random choice from `rng`, not `random`"
    return None


def all_three_kinds(cases, observations, outside):
    lengths = {len(observed["value"]) - len(case["args"][0]) for case, observed in zip(cases, observations)
               if case["args"][0] and isinstance(observed.get("value"), bytes)}
    if lengths != {-1, 0, 1}:
        return ("over %d seeds all three kinds should appear (lengths -1, 0 and +1); only %s did"
                % (len(cases), sorted(lengths)))
    return None


@exercise("ch08-mutate-check", "mutate", where="ch08-mutate", probe="mutate", judge=judge_mutant,
          overall=all_three_kinds)
def mutate_cases(rng):
    cases = [{"args": (b"GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (token(rng).encode(), token(rng).encode()),
                       rng.getrandbits(32))} for _ in range(120)]
    return cases + [{"args": (b"", rng.getrandbits(32))}]
