"""Every raw request in data/requests/ sent over a socket gets its documented status."""

import json

import pytest

from conftest import DATA, exchange, parse_responses

SAMPLES = DATA / "requests"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


def test_manifest_lists_every_sample():
    assert sorted(EXPECTED) == sorted(path.name for path in SAMPLES.glob("*.http"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_gets_its_status(name, make_server):
    server = make_server(model="select")
    raw = (SAMPLES / name).read_bytes()
    method = raw.lstrip(b"\r\n").split(b" ", 1)[0].decode()
    responses = parse_responses(exchange(server, raw, timeout=3, half_close=True), methods=[method] * 3)
    assert responses, f"no response to {name}"
    status = responses[0][0]
    assert status == EXPECTED[name]["status"], EXPECTED[name]["why"]
    if name.startswith("bad-"):
        assert len(responses) == 1  # and nothing after it is taken for a request
