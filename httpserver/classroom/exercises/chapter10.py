"""Chapter 10's exercise: the client's address behind trusted proxies."""

from . import exercise


def address(rng, first=None):
    return "%d.%d.%d.%d" % (first or rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))


@exercise("ch10-client_address-check", "client_address", where="ch10-client_address")
def client_address_cases(rng):
    proxies = {address(rng, 10) for _ in range(rng.randint(2, 4))}
    trusted = sorted(proxies)
    client, spoofed, stranger = address(rng), address(rng), address(rng)
    chain = rng.sample(trusted, rng.randint(1, len(trusted)))
    cases = [
        ([], stranger, proxies),                                    # no proxy: the peer is the client
        ([client], stranger, proxies),                              # an untrusted peer's header means nothing
        ([client], trusted[0], proxies),                            # one trusted proxy
        ([spoofed, client] + chain[1:], chain[0], proxies),         # proxies in a row; the client lied
        ([spoofed, client, stranger] + chain[1:], chain[0], proxies),
        (chain[1:] or [trusted[-1]], chain[0], proxies),            # every address a trusted proxy
        ([], trusted[0], proxies),                                  # a trusted peer that added nothing
        ([client, client], trusted[0], set()),                      # no proxy trusted at all
    ]
    return [{"args": case} for case in rng.sample(cases, len(cases))]
