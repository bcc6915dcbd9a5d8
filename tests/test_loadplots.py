"""The load plots: titled and labelled figures, from made-up and from real records."""

import pytest

from httpserver import serve_in_background
from httpserver.lab.load import HandlingRecord, LoadResult, RequestRecord, record_handling, run_load
from httpserver.lab.loadplots import (
    GANTT_TITLE, GANTT_XLABEL, NO_DATA, SCALING_TITLE, plot_gantt, plot_scaling, short_thread_name,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts_of(ax):
    return [text.get_text() for text in ax.texts]


def tick_labels(ax):
    return [label.get_text() for label in ax.get_yticklabels()]


def load_result(connections, latencies_ms):
    """A LoadResult with one record per latency, over one second."""
    result = LoadResult(connections, True, 0.0, 1.0)
    for index, latency in enumerate(latencies_ms):
        result.records.append(RequestRecord(index % connections, 0.0, latency / 1000, 200, 10))
    return result


@pytest.mark.parametrize("name, short", [
    ("http-127.0.0.1:53122", "conn :53122"),
    ("http-::1:8080", "conn :8080"),
    ("pool-worker-7", "worker 7"),
    ("select-server", "select loop"),
    ("MainThread", "MainThread"),
    ("a-very-long-thread-name-indeed", "a-very-long-threa…"),
])
def test_thread_names_are_shortened(name, short):
    assert short_thread_name(name) == short


def test_gantt_has_a_row_per_thread_and_a_bar_per_request():
    records = [HandlingRecord("pool-worker-1", "/", 10.000, 10.001),
               HandlingRecord("pool-worker-0", "/", 10.002, 10.004),
               HandlingRecord("pool-worker-1", "/", 10.005, 10.006)]
    figure = plot_gantt(records, title="three requests")
    ax = figure.axes[0]
    assert ax.get_title() == "three requests"
    assert ax.get_xlabel() == GANTT_XLABEL
    assert ax.get_ylabel()
    assert tick_labels(ax) == ["worker 0", "worker 1"]  # in name order, whoever served first
    bars = [path for collection in ax.collections for path in collection.get_paths()]
    assert len(bars) == 3
    left, right = ax.get_xlim()
    assert left == 0 and 6 <= right < 7  # milliseconds from the first request's start


def test_gantt_draws_into_a_given_axes():
    figure, axes = plt.subplots(2, 1)
    records = [HandlingRecord("iterative-server", "/", 1.0, 1.5)]
    assert plot_gantt(records, ax=axes[1]) is figure
    assert axes[1].get_title() == GANTT_TITLE
    assert axes[0].get_title() == ""


def test_gantt_of_nothing_is_an_empty_titled_plot():
    figure = plot_gantt([], title="nothing yet")
    ax = figure.axes[0]
    assert ax.get_title() == "nothing yet"
    assert ax.get_xlabel() == GANTT_XLABEL
    assert NO_DATA in texts_of(ax)
    assert not ax.collections


def test_gantt_labels_stay_readable_with_many_threads():
    records = [HandlingRecord(f"http-127.0.0.1:{40000 + n}", "/", n, n + 0.5) for n in range(64)]
    ax = plot_gantt(records).axes[0]
    labels = [label for label in tick_labels(ax) if label]
    assert 8 <= len(labels) <= 16
    assert labels[0] == "conn :40000"


def test_scaling_has_two_labelled_panels_and_a_line_per_model():
    results = {"thread": [load_result(4, [1, 2, 3]), load_result(1, [0.5, 0.6])],
               "select": [load_result(1, [0.2]), load_result(4, [0.4, 0.9])]}
    figure = plot_scaling(results, title="made up")
    rate_ax, latency_ax = figure.axes
    assert figure._suptitle.get_text() == "made up"
    for ax in (rate_ax, latency_ax):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_xscale() == "log"
        assert ax.get_legend() is not None
    assert "requests per second" in rate_ax.get_ylabel()
    assert "ms" in latency_ax.get_ylabel()
    assert [line.get_label() for line in rate_ax.get_legend().get_lines()] == ["thread", "select"]
    thread_rate = rate_ax.get_lines()[0]
    assert list(thread_rate.get_xdata()) == [1, 4]  # sorted by connections
    assert list(thread_rate.get_ydata()) == [2.0, 3.0]  # requests per second over 1 s
    p99 = latency_ax.get_lines()[0]
    assert list(p99.get_ydata()) == pytest.approx([0.6, 3.0])


def test_scaling_of_nothing_is_two_empty_titled_panels():
    figure = plot_scaling({}, title="no runs")
    assert figure._suptitle.get_text() == "no runs"
    assert SCALING_TITLE != "no runs"
    for ax in figure.axes:
        assert ax.get_title() and ax.get_xlabel()
        assert NO_DATA in texts_of(ax)
        assert not ax.get_lines()


def test_plots_from_a_real_run(site):
    root, directory = site
    results = {}
    for model in ["thread", "select"]:
        with serve_in_background(model=model, root=str(root), directory=str(directory),
                                 log_access=False) as server:
            with record_handling(server) as records:
                results[model] = [run_load(server, "/echo/hi", connections=count, requests=20,
                                           duration=5) for count in (1, 2)]
            handled = list(records)
        assert len(handled) == 40
        figure = plot_gantt(handled, title=model)
        ax = figure.axes[0]
        assert ax.get_title() == model
        expected_rows = len({record.thread for record in handled})
        assert len(ax.get_yticks()) == expected_rows
        if model == "select":
            assert tick_labels(ax) == ["select loop"]
    figure = plot_scaling(results)
    assert figure._suptitle.get_text() == SCALING_TITLE
    assert len(figure.axes[0].get_lines()) == 2
