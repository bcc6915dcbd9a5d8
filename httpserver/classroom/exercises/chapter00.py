"""Chapter 00's exercise: a GET request's bytes."""

from . import exercise, pick, token


@exercise("ch00-build_get_request-check", "build_get_request", where="ch00-build_get_request")
def build_get_request_cases(rng):
    """Paths and hosts no answer can know in advance; the reference's bytes are the answer."""
    cases = []
    for _ in range(8):
        path = "/" + "/".join(token(rng) for _ in range(rng.randint(0, 3)))
        path += pick(rng, "", "", ".txt", "?q=" + token(rng))
        host = pick(rng, token(rng) + ".example", "127.0.0.1:%d" % rng.randint(1024, 65535), "localhost")
        cases.append({"args": (path, host)})
    return cases
