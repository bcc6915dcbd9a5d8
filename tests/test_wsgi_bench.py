"""The WSGI row of `make bench`, run quickly: its code path, not its timings."""

import pytest

pytest.importorskip("flask")

from httpserver.bench_wsgi import measure_wsgi, report_lines, summarise  # noqa: E402


@pytest.mark.timeout(120)
def test_a_quick_wsgi_round_measures_and_reports():
    summary = measure_wsgi(rounds=1, concurrencies=(1, 10), duration=0.3, tool="own", log=lambda text: None,
                           names=["httpserver select", "wsgiref.simple_server"], paths=["/hello"])
    assert set(summary["servers"]) == {"httpserver select", "wsgiref.simple_server"}
    for entry in summary["servers"].values():
        assert all(point["rps_median"] > 0 for point in entry["/hello"].values())
    assert set(summary["ratios"]) == {"/hello 1", "/hello 10"}
    table = "\n".join(report_lines(summary, (1, 10)))
    assert "| httpserver select |" in table and "against wsgiref.simple_server" in table


def test_the_summary_takes_medians_and_each_rounds_ratio():
    rounds = [{("httpserver select", "/json", 1): (100.0, 1, 2), ("waitress (4 threads)", "/json", 1): (50.0, 1, 2)},
              {("httpserver select", "/json", 1): (300.0, 1, 2), ("waitress (4 threads)", "/json", 1): (100.0, 1, 2)},
              {("httpserver select", "/json", 1): (200.0, 1, 2), ("waitress (4 threads)", "/json", 1): (200.0, 1, 2)}]
    summary = summarise(rounds, ["httpserver select", "waitress (4 threads)"], [1], "wrk", 3.0, ["/json"])
    ours = summary["servers"]["httpserver select"]["/json"]["1"]
    assert (ours["rps_median"], ours["rps_low"], ours["rps_high"]) == (200.0, 100.0, 300.0)
    ratio = summary["ratios"]["/json 1"]
    assert (ratio["ratio_median"], ratio["ratio_low"], ratio["ratio_high"]) == (2.0, 1.0, 3.0)  # 2, 3, 1
