"""Plots for load results: who served which request when, and how models scale.

Contract: `plot_gantt(records)` draws `HandlingRecord`s (from
`load.record_handling`) as a Gantt chart: one row per serving thread, one bar
per request from when the handler started to when it returned, time in
milliseconds since the first request. `plot_scaling(results)` draws
`LoadResult`s (from `load.run_load`) grouped by model: requests per second and
latency against the number of client connections.

Both return the figure; given no data they still draw titled, labelled axes with
a "no requests recorded" note, so a grid of subplots keeps its shape when one
run recorded nothing. matplotlib is imported inside the functions.
"""

import re

GANTT_TITLE = "Which thread handled which request, when"
SCALING_TITLE = "Throughput and latency against the number of clients"
GANTT_XLABEL = "time since first request (ms)"
NO_DATA = "no requests recorded"

_THREAD_NAMES = [  # (pattern, replacement): our servers' thread names, shortened
    (re.compile(r"^http-.*:(\d+)$"), r"conn :\1"),  # ThreadServer: http-127.0.0.1:53122
    (re.compile(r"^pool-worker-(\d+)$"), r"worker \1"),  # PoolServer
    (re.compile(r"^(\w+)-server$"), r"\1 loop"),  # the accepting thread of a BackgroundServer
]
MAX_LABEL = 18


def short_thread_name(name):
    """A thread name short enough for an axis label: 'http-127.0.0.1:53122' → 'conn :53122'."""
    for pattern, replacement in _THREAD_NAMES:
        if pattern.match(name):
            return pattern.sub(replacement, name)
    return name if len(name) <= MAX_LABEL else name[:MAX_LABEL - 1] + "…"


def _note_no_data(ax):
    ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", color="grey")


def plot_gantt(records, ax=None, title=GANTT_TITLE, min_bar_ms=None):
    """One row per serving thread (first to serve on top), one bar per request; the figure.

    A handler often runs for a few microseconds: `min_bar_ms` (default: 0.4 % of
    the time span) widens the shortest bars so that each stays visible.
    """
    import matplotlib.pyplot as plt

    records = sorted(records, key=lambda record: record.start)
    rows = list(dict.fromkeys(record.thread for record in records))  # first seen, top row
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 1.2 + 0.3 * max(1, len(rows))))
    ax.set_title(title)
    ax.set_xlabel(GANTT_XLABEL)
    ax.set_ylabel("serving thread")
    if not records:
        ax.set_yticks([])
        _note_no_data(ax)
        return ax.figure
    origin = records[0].start
    span_ms = max(record.end for record in records) * 1000 - origin * 1000
    if min_bar_ms is None:
        min_bar_ms = max(span_ms, 1e-3) * 0.004
    colours = plt.get_cmap("tab10")
    for row, thread in enumerate(rows):
        bars = [((record.start - origin) * 1000, max(min_bar_ms, (record.end - record.start) * 1000))
                for record in records if record.thread == thread]
        ax.broken_barh(bars, (row - 0.35, 0.7), facecolors=colours(row % 10), linewidth=0)
    ax.set_yticks(range(len(rows)))
    labels = [short_thread_name(thread) for thread in rows]
    # Many rows (a thread each): label every few, so the labels never overlap.
    step = max(1, len(rows) // 16 + (len(rows) % 16 > 0))
    ax.set_yticklabels([label if index % step == 0 else "" for index, label in enumerate(labels)])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, span_ms * 1.01 + min_bar_ms)
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def plot_scaling(results, title=SCALING_TITLE, show_p50=True):
    """Two panels against connections (log scale): req/s, and latency (p99, p50 dashed).

    `results` maps a model name to its `LoadResult`s, one per number of
    connections (any order). Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    figure, (rate_ax, latency_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    figure.suptitle(title)
    rate_ax.set_title("Throughput")
    rate_ax.set_ylabel("requests per second")
    latency_ax.set_title("Latency (p99 solid, p50 dashed)" if show_p50 else "Latency (p99)")
    latency_ax.set_ylabel("latency (ms, log scale)")
    for ax in (rate_ax, latency_ax):
        ax.set_xlabel("client connections (log scale)")
        ax.grid(alpha=0.3, which="both")
    results = {model: sorted(runs, key=lambda run: run.connections)
               for model, runs in results.items() if runs}
    if not results:
        for ax in (rate_ax, latency_ax):
            _note_no_data(ax)
        figure.tight_layout()
        return figure
    colours = plt.get_cmap("tab10")
    handles = []
    for index, (model, runs) in enumerate(results.items()):
        colour = colours(index % 10)
        clients = [run.connections for run in runs]
        rate_ax.plot(clients, [run.requests_per_second for run in runs], marker="o", color=colour)
        latency_ax.plot(clients, [run.percentile(0.99) * 1000 for run in runs], marker="o", color=colour)
        if show_p50:
            latency_ax.plot(clients, [run.percentile(0.5) * 1000 for run in runs], marker=".",
                            linestyle="--", linewidth=1, color=colour)
        handles.append(Line2D([], [], color=colour, marker="o", label=model))
    all_clients = sorted({run.connections for runs in results.values() for run in runs})
    for ax in (rate_ax, latency_ax):
        ax.set_xscale("log")
        ax.set_xticks(all_clients)
        ax.set_xticklabels([str(count) for count in all_clients])
        ax.minorticks_off()
    latency_ax.set_yscale("log")
    rate_ax.set_ylim(bottom=0)
    if show_p50:
        handles += [Line2D([], [], color="black", label="p99"),
                    Line2D([], [], color="black", linestyle="--", linewidth=1, label="p50")]
    rate_ax.legend(handles=handles[:len(results)], title="model", fontsize=8, title_fontsize=8)
    latency_ax.legend(handles=handles, title="model, percentile", fontsize=8, title_fontsize=8)
    figure.tight_layout()
    return figure
