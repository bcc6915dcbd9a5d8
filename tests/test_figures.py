"""The course's figures: one palette, titled and labelled plots, legends that cover no data."""

import cProfile
import pstats

import pytest

from httpserver.lab import benchplots, diagrams, style, timelines
from httpserver.lab.capture import load_recorded
from httpserver.lab.ladder import acknowledged, ladder_rows, plot_ladder
from httpserver.lab.load import HandlingRecord
from httpserver.lab.loadplots import connection_colours, plot_gantt, plot_gantts

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.colors import to_hex  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_overlaps_data(ax):
    """True when the legend's box covers a line point, a scatter point or a bar of the axes."""
    legend = ax.get_legend()
    if legend is None:
        return False
    ax.figure.canvas.draw()
    box = legend.get_window_extent()
    points = []
    for line in ax.get_lines():
        points += list(ax.transData.transform(line.get_xydata()))
    for collection in ax.collections:
        offsets = collection.get_offsets()
        if len(offsets):
            points += list(collection.get_offset_transform().transform(offsets))
    for patch in ax.patches:
        extent = patch.get_window_extent()
        points += [(extent.x0, extent.y0), (extent.x1, extent.y1), ((extent.x0 + extent.x1) / 2, extent.y1)]
    return any(box.contains(x, y) for x, y in points)


def test_the_overlap_check_sees_a_legend_on_the_data():
    figure, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], marker="o", label="a line through the middle")
    ax.legend(loc="center")
    assert legend_overlaps_data(ax)
    style.legend_outside(ax)
    assert not legend_overlaps_data(ax)


# The palette

def test_the_palette_is_okabe_ito_and_series_differ_in_shape_too():
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert set(style.PALETTE) == okabe_ito
    assert style.PALETTE[-1] == style.YELLOW, "too pale for lines: last"
    looks = [style.series_style(index) for index in range(4)]
    assert len({look["color"] for look in looks}) == 4
    assert len({look["marker"] for look in looks}) == 4
    assert len({look["linestyle"] for look in looks}) == 4
    assert style.series_style(len(style.PALETTE))["color"] == style.PALETTE[0]  # wraps around


def test_no_red_next_to_green():
    """The red and the green of the palette never follow each other as series colours."""
    for first, second in zip(style.PALETTE, style.PALETTE[1:]):
        assert {first, second} != {style.VERMILLION, style.GREEN}


@pytest.mark.parametrize("background, text", [(style.BLUE, "white"), (style.YELLOW, "black"),
                                              (style.ORANGE, "black"), (style.BLACK, "white")])
def test_text_on_a_bar_stays_readable(background, text):
    assert style.text_colour_on(background) == text


# Ladders

def test_ladder_colour_always_means_the_sender():
    figure = plot_ladder(load_recorded("three_connections"), title="three")
    ax = figure.axes[0]
    arrows = [annotation for annotation in ax.texts if hasattr(annotation, "arrow_patch") and annotation.arrow_patch]
    colours = {to_hex(arrow.arrow_patch.get_edgecolor()).upper() for arrow in arrows}
    assert colours == {style.CLIENT, style.SERVER}
    styles = {arrow.arrow_patch.get_linestyle() for arrow in arrows}
    assert len(styles) == 3, "one line style per connection"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:2] == ["sent by the client", "sent by the server"]
    assert sum(label.startswith("connection :") for label in labels) == 3


def test_a_long_ladder_keeps_its_text_readable():
    figure = plot_ladder(load_recorded("three_connections"))  # 30 segments, 3 connections
    ax = figure.axes[0]
    labels = [text for text in ax.texts if "seq=" in text.get_text()]
    assert len(labels) == 30 and min(text.get_fontsize() for text in labels) >= 8.5
    assert figure.get_figheight() < 12  # taller than a screen, but not the 14 of the old fixed rows
    # one band and one name per connection, instead of "[:port]" on every label
    assert not any(text.get_text().startswith("[:") for text in labels)
    assert any(text.get_text().startswith("(connection 1) FIN-ACK") for text in labels), "a late FIN says whose"
    assert sum(text.get_text().startswith("connection ") for text in ax.texts) == 3


def test_bare_acks_say_what_they_acknowledge():
    _, _, rows = ladder_rows(load_recorded("http_get"))
    notes = dict(zip((row.label for row in rows), acknowledged(rows)))
    assert notes["ACK seq=1 ack=1"] == "for the SYN-ACK"
    assert notes["ACK seq=1 ack=65"] == "for 64 B"
    assert notes["ACK seq=66 ack=114"] == "for the FIN"
    assert notes["SYN seq=0"] == ""  # only bare ACKs get a note


# Gantt charts

def records(threads_and_ports):
    return [HandlingRecord(thread, "/", 1.0 + n * 0.001, 1.0 + n * 0.001 + 0.0004, port)
            for n, (thread, port) in enumerate(threads_and_ports)]


def test_gantt_bars_are_coloured_by_connection():
    handled = records([("pool-worker-0", 5000), ("pool-worker-1", 5000), ("pool-worker-0", 5001)])
    colours = connection_colours(handled)
    assert colours == {5000: style.PALETTE[0], 5001: style.PALETTE[1]}
    ax = plot_gantt(handled).axes[0]
    worker_0 = [to_hex(colour).upper() for colour in ax.collections[0].get_facecolors()]
    assert worker_0 == [style.PALETTE[0], style.PALETTE[1]], "one worker, two connections, two colours"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [":5000", ":5001"]


def test_stacked_gantts_share_one_time_axis():
    fast = records([("select-server", 1)] * 3)
    slow = [HandlingRecord(r.thread, r.path, r.start, r.end + 0.010, r.connection) for r in fast]
    figure = plot_gantts({"fast": fast, "slow": slow}, titles={"fast": "fast one"})
    fast_ax, fast_zoom, slow_ax, slow_zoom = figure.axes[:4]
    assert fast_ax.get_xlim() == slow_ax.get_xlim()
    assert fast_ax.get_title() == "fast one" and slow_ax.get_title() == "slow"
    assert slow_ax.get_xlim()[1] > 12  # the slow panel's 12 ms set the shared axis
    assert fast_zoom.get_title() == "its first 3 requests, enlarged"
    assert fast_zoom.get_xlim()[1] < 5, "each enlargement has its own time axis"


def test_workers_are_in_name_order_and_many_connections_share_one_colour():
    handled = [HandlingRecord(f"pool-worker-{worker}", "/", start, start + 0.001, 40000 + start)
               for start, worker in enumerate([2, 10, 0, 1, 9, 3, 4, 5, 6, 7, 8])]
    assert connection_colours(handled) is None, "11 connections, 8 colours: colours would repeat"
    ax = plot_gantt(handled).axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == [f"worker {n}" for n in range(11)]
    colours = {to_hex(colour).upper() for collection in ax.collections for colour in collection.get_facecolors()}
    assert colours == {style.BLUE}
    figure = plot_gantts({"iterative": handled})
    legend_texts = [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    assert any("a new connection for every request" in text for text in legend_texts)


# Timelines

def test_lanes_draw_a_bar_per_span_and_a_legend_per_kind():
    spans = [timelines.Span("A", 0.0, 2.0, "idle"), timelines.Span("B", 0.1, 2.0, "waiting")]
    figure = timelines.plot_lanes(spans, {"idle": "idle", "waiting": "waiting for an answer"},
                                  marks=[timelines.Mark("B", 2.0, "answered")], title="two clients")
    ax = figure.axes[0]
    assert ax.get_title() == "two clients" and ax.get_xlabel()
    assert [label.get_text() for label in ax.get_yticklabels()] == ["A", "B"]
    assert len(ax.patches) == 2
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["idle", "waiting for an answer"]
    assert not legend_overlaps_data(ax)


def test_lanes_refuse_a_kind_without_words():
    with pytest.raises(ValueError, match="nameless"):
        timelines.plot_lanes([timelines.Span("A", 0, 1, "nameless")], {"idle": "idle"})


def test_merge_spans_joins_back_to_back_slices_only():
    spans = [timelines.Span("t", 0.0, 1.0, "run"), timelines.Span("t", 1.0, 2.0, "run"),
             timelines.Span("t", 2.0, 3.0, "gil"), timelines.Span("t", 5.0, 6.0, "run")]
    assert timelines.merge_spans(spans, within=0.0) == [
        timelines.Span("t", 0.0, 2.0, "run"), timelines.Span("t", 2.0, 3.0, "gil"),
        timelines.Span("t", 5.0, 6.0, "run")]


# Chapter 09

RESULTS = {"tool": "own", "servers": {
    "http.server": {"small": {"1": {"rps": 1500.0, "p99_ms": 1.0}, "10": {"rps": 1800.0, "p99_ms": 8.0},
                              "100": {"rps": 1600.0, "p99_ms": 580.0}}, "large": {"mib_per_s": 1253.0}},
    "select": {"small": {"1": {"rps": 9300.0, "p99_ms": 0.2}, "10": {"rps": 10600.0, "p99_ms": 1.5},
                         "100": {"rps": 12900.0, "p99_ms": 11.8}}, "large": {"mib_per_s": 3413.0}},
}}


def test_runs_mark_mean_and_p50_apart():
    latencies = [1.0] * 90 + [2.0] * 9 + [50.0]
    figure = benchplots.plot_runs([9000, 9500, 10000, 9800, 9700], latencies, title="five")
    runs_ax, cdf_ax = figure.axes
    assert runs_ax.get_title() == "five" and "requests per second" in runs_ax.get_ylabel()
    marks = {line.get_label().split(" =")[0]: line for line in cdf_ax.get_lines() if " = " in line.get_label()}
    assert set(marks) == {"mean", "p50", "p99", "max"}
    assert len({line.get_marker() for line in marks.values()}) == 4, "a shape each"
    assert len({line.get_color() for line in marks.values()}) == 4
    assert marks["p50"].get_xdata()[0] == 1.0 and marks["max"].get_xdata()[0] == 50.0
    assert not legend_overlaps_data(runs_ax)


def test_comparison_gives_every_server_its_own_marker_and_line_style():
    figure = benchplots.plot_comparison(RESULTS, title="made up")
    rate_ax, tail_ax = figure.axes
    lines = rate_ax.get_lines()
    assert [line.get_label() for line in lines] == ["http.server", "select"]
    assert lines[0].get_marker() != lines[1].get_marker()
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    assert list(lines[1].get_ydata()) == [9300.0, 10600.0, 12900.0]
    assert tail_ax.get_yscale() == "log" and "p99" in tail_ax.get_ylabel()
    assert not legend_overlaps_data(tail_ax)


def test_large_files_are_bars_with_their_numbers():
    ax = benchplots.plot_large_files(RESULTS).axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["http.server", "select"]
    assert [round(patch.get_width()) for patch in ax.patches] == [1253, 3413]
    assert "3,413 MiB/s" in [text.get_text() for text in ax.texts]


def test_the_profile_bars_are_per_request_and_name_the_functions():
    def busy():
        return sorted(str(number) for number in range(2000))

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        busy()
    profiler.disable()
    stats = pstats.Stats(profiler)
    figure = benchplots.plot_profile(stats, requests=5, top=3)
    ax = figure.axes[0]
    names = [label.get_text() for label in ax.get_yticklabels()]
    assert len(names) == 3 and "{built-in method builtins.sorted}" not in names
    assert any(name.startswith("{") for name in names), names  # built-ins appear in braces
    assert "µs per request" in ax.get_xlabel()


def test_pstats_names_are_short():
    assert benchplots.function_name(("/x/httpserver/parser.py", 12, "_parse_head")) == "parser.py:_parse_head"
    assert benchplots.function_name(("~", 0, "<method 'get' of 'dict' objects>")) == "{dict.get}"
    assert benchplots.function_name(("~", 0, "<built-in method posix.lstat>")) == "{posix.lstat}"
    assert benchplots.function_kind(("/x/httpserver/parser.py", 1, "f")) == "ours"
    assert benchplots.function_kind(("/usr/lib/python3.11/email/utils.py", 1, "f")) == "standard library"


def test_cost_breakdown_stacks_the_parts():
    rows = [("select", [("Python", 30.4), ("the rest", 88.0)]), ("nginx", [("C", 50.0)])]
    ax = benchplots.plot_cost_breakdown(rows).axes[0]
    widths = [round(patch.get_width(), 1) for patch in ax.patches]
    assert widths == [30.4, 88.0, 50.0]
    assert ax.patches[1].get_x() == pytest.approx(30.4), "the second part starts where the first ends"
    assert "118.4 µs" in [text.get_text() for text in ax.texts]


def test_strips_show_every_value_and_ring_the_highlight():
    groups = {"new connection": [1.5] * 20, "keep-alive": [1.4] + [0.1] * 19}
    figure = benchplots.plot_strips(groups, title="handshakes", ylabel="ms",
                                    highlights=[("keep-alive", 0, "the handshake")])
    ax = figure.axes[0]
    first, second = ax.collections[:2]
    assert len(first.get_offsets()) == 20
    assert len({round(x, 3) for x, _ in first.get_offsets()}) > 5, "equal values spread sideways"
    assert "the handshake" in [text.get_text() for text in ax.texts]
    assert not legend_overlaps_data(ax), "the legend never covers a dot (it did, in chapter 07)"


# Diagrams

def test_ranges_fill_what_was_sent_and_outline_what_was_asked():
    rows = [diagrams.RangeRow("bytes=0-14", 206, [(0, 14)], [(0, 14)]),
            diagrams.RangeRow("bytes=400-", 416, [(400, 10**9)], [])]
    ax = diagrams.plot_ranges(400, rows, name="about.txt").axes[0]
    filled = [patch for patch in ax.patches if to_hex(patch.get_facecolor()).upper() == style.BLUE]
    assert [(patch.get_x(), patch.get_width()) for patch in filled] == [(0, 15)]
    assert {"206", "416"} <= {text.get_text() for text in ax.texts}
    assert [label.get_text() for label in ax.get_yticklabels()] == ["Range: bytes=0-14", "Range: bytes=400-"]
    assert ax.get_xlim()[1] > 400, "room to show a range past the end"


def test_gzip_sizes_say_when_gzip_grows_a_body():
    ax = diagrams.plot_gzip_sizes({"/style.css": (469, 312), "/echo/hello": (5, 25)}).axes[0]
    words = [text.get_text() for text in ax.texts]
    assert "+400%\n5 B → 25 B" in words
    assert any(word.startswith("-33%") for word in words)
    assert ax.get_yscale() == "log"


def test_certificate_chain_has_a_box_per_certificate():
    chain = [diagrams.Certificate("root", ["subject: CA"], note="trusted"),
             diagrams.Certificate("leaf", ["subject: localhost", "issuer: CA"])]
    ax = diagrams.plot_certificate_chain(chain, title="chain").axes[0]
    assert ax.get_title() == "chain"
    assert len(ax.patches) == 2
    texts = [text.get_text() for text in ax.texts]
    assert "root" in texts and "leaf" in texts and "trusted" in texts


def test_large_files_show_the_median_fetch_and_the_spread():
    results = {"servers": {"http.server": {"large": {"mib_per_s": 900.0, "mib_per_s_each": [870.0, 1040.0, 990.0]}},
                           "thread": {"large": {"mib_per_s": 60.0, "mib_per_s_each": [950.0, 63.0, 1010.0]}}}}
    figure = benchplots.plot_large_files(results, title="large")
    ax = figure.axes[0]
    assert [bar.get_width() for bar in ax.patches] == [990.0, 950.0]  # medians: one slow fetch moves nothing
    whiskers = [tuple(line.get_xdata()) for line in ax.get_lines() if line.get_marker() == "|"]
    assert whiskers == [(870.0, 1040.0), (63.0, 1010.0)]
    assert any("63 to 1,010, n=3" in text.get_text() for text in ax.texts)
