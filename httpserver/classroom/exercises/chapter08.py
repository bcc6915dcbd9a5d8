"""Chapter 08's exercises: framing a body (my_server.py), when a slow client is cut, a fuzzer's mutation."""

from . import exercise, outcome_text, pick, token, within

GOOD_LENGTHS = ["0", "5", "10", "007"]
BAD_LENGTHS = ["+5", "-5", "1_0", "\u0665", "", " ", "5 5", "0x10", "5.0", "1e3"]


def framing_forms(rng):
    """One request's (name, value) fields for every form RFC 9112 §6 and the chapter name."""
    name = pick(rng, "Content-Length", "content-length", "CONTENT-LENGTH")
    te = pick(rng, "Transfer-Encoding", "transfer-encoding")
    chunked = pick(rng, "chunked", "Chunked", "CHUNKED")
    length = str(rng.randint(0, 10 ** rng.randint(1, 7)))
    other = pick(rng, "gzip", "deflate")
    forms = [
        [("Host", token(rng)), (name, length)],                                # a length
        [("Host", token(rng))],                                                # no body
        [(name, pick(rng, *GOOD_LENGTHS))],
        [(te, chunked)],                                                       # chunked
        [(te, chunked), (name, length)], [(name, length), (te, chunked)],      # both: CL.TE, TE.CL
        [(name, length), (name, str(int(length) + rng.randint(1, 99)))],       # two lengths
        [(name, length), (name, length)],                                      # the same, twice
        [(te, chunked + ", " + other)],                                        # chunked not last
        [(te, other + ", " + chunked)],                                        # well formed, not ours: 501
        [(te, pick(rng, "x" + chunked, chunked + "x", chunked + "ed", "x-" + chunked))],  # a near name
        [(te, chunked), (te, chunked)], [(te, chunked + ", " + chunked)],      # chunked twice
    ]
    forms += [[(name, bad)] for bad in BAD_LENGTHS]                            # every malformed number
    return forms


@exercise("ch08-framing-check", "body_length", probe="framing")
def framing_cases(rng):
    forms = framing_forms(rng)
    return [{"args": fields} for fields in rng.sample(forms, len(forms))]


@exercise("ch08-should_time_out-check", "should_time_out", where="ch08-should_time_out", judge=within(1e-9))
def should_time_out_cases(rng):
    trickle = [float(second) for second in range(1, rng.randint(10, 40))]
    head, per_recv = rng.randint(2, 20), rng.randint(2, 9)
    cases = [{"args": (trickle, head, per_recv)}, {"args": (trickle, None, per_recv)},
             {"args": (trickle, head, None)}, {"args": ([], head, per_recv)}, {"args": ([], head, None)},
             {"args": (trickle, None, None)},
             {"args": ([1.0, 2.0, 2.0 + per_recv + rng.randint(1, 5), 30.0], 60, per_recv)}]  # a long silence
    for _ in range(14):
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


def all_three_kinds(cases, observations, outside, **reports):
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
