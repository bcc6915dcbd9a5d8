"""The lab's delay line: a 50 ms path between two network namespaces (root on Linux),
and the recorded capture that readers without one see."""

import json

import pytest

from httpserver.lab import delayline
from httpserver.lab.pcap import LINKTYPE_RAW, connections, decode_frame, read_pcap
from conftest import DATA

CAPTURES = DATA / "captures"


def first_round_sizes(segments, rtt):
    """Data segments per round trip of the first response on the busiest connection."""
    kept = max(connections(segments), key=len)
    server = next(s.destination for s in sorted(kept, key=lambda s: s.time) if s.has("SYN"))
    times = sorted(s.time for s in kept if s.source == server and s.payload)
    counts = [0] * 4
    for moment in times:
        index = int((moment - times[0]) / rtt)
        if index < 4:
            counts[index] += 1
    return counts


def test_the_recorded_capture_shows_the_initial_window_and_slow_start():
    timings = json.loads((CAPTURES / "slow_start.json").read_text())
    counts = first_round_sizes(read_pcap(CAPTURES / "slow_start.pcap"), timings["rtt"])
    assert counts[0] == 10 and 18 <= counts[1] <= 22 and counts[2] > counts[1]
    assert timings["new_connection"][-1]["seconds"] > 1.8 * timings["rtt"]
    assert timings["keep_alive"][-1]["seconds"] < 1.5 * timings["rtt"]


def test_without_a_delay_line_the_recording_is_shown_and_said(monkeypatch):
    monkeypatch.setattr(delayline, "delay_line_available", lambda: (False, "not here"))
    timings, segments, note = delayline.live_or_recorded()
    assert note.startswith("Recorded capture data/captures/slow_start.pcap") and note.endswith("not here.")
    assert timings["rtt"] == 0.05 and len(segments) > 100


@pytest.mark.skipif(not delayline.delay_line_available()[0], reason=delayline.delay_line_available()[1] or "x")
def test_a_live_delay_line_delays_and_captures():
    timings, frames, rtt = delayline.measure(rtt=0.06)
    segments = [s for s in (decode_frame(frame, LINKTYPE_RAW, moment) for moment, frame in frames) if s]
    # The busiest connection (the client may have been refused once while the server started).
    kept = sorted(max(connections(segments), key=len), key=lambda s: s.time)
    syn, syn_ack = [s for s in kept if s.has("SYN")][:2]
    assert syn_ack.time - syn.time >= 0.06 - 0.001  # one round trip at least, seen at the client
    assert syn_ack.time - syn.time < 0.06 + 0.05, "the line adds its delay, and little else (a loaded machine adds some)"
    assert timings["connect"] >= 0.06 - 0.001
    assert first_round_sizes(segments, rtt)[0] == 10  # RFC 6928's initial window, Linux's default
    assert [fetch["bytes"] for fetch in timings["keep_alive"]] == [44800, 44800, 1000]
