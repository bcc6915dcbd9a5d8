"""The benchmark's code path, run quickly: timings stay out of the test suite."""

import json
import sys

import pytest

from httpserver import bench


@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the benchmark reads /proc for CPU and memory")
def test_quick_benchmark_writes_its_reports(tmp_path):
    results = bench.main(["--quick", "--tool", "own", "--only", "http.server", "select",
                          "--idle", "20", "--out", str(tmp_path)])
    assert results == 0
    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data["servers"]) == {"http.server", "select"}
    for entry in data["servers"].values():
        assert all(level["rps"] > 0 for level in entry["small"].values())
        assert entry["large"]["mib_per_s"] > 0
    assert data["idle"]["connections"] == 20 and data["idle"]["newcomer_ms_median"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| select |" in table and "×" in table
    assert (tmp_path / "bench.png").stat().st_size > 10_000


def test_wrk_latency_parsing():
    output = "  Latency Distribution\n     50%  231.00us\n     75%    1.20ms\n     99%    1.51s \n"
    assert bench.wrk_ms(output, "50%") == pytest.approx(0.231)
    assert bench.wrk_ms(output, "99%") == pytest.approx(1510)
