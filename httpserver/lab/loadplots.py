"""Plots for load results: who served which request when, and how models scale.

Contract: `plot_gantt(records)` draws `HandlingRecord`s (from
`load.record_handling`) as a Gantt chart: one row per serving thread, one bar
per request from when the handler started to when it returned, coloured by the
client connection it came on, time in milliseconds since the first request.
`plot_gantts({name: records})` stacks one such chart per server model on one
shared time axis, so that equal loads can be compared by length. `plot_scaling(results)` draws
`LoadResult`s (from `load.run_load`) grouped by model: requests per second and
latency against the number of client connections.

Both return the figure; given no data they still draw titled, labelled axes with
a "no requests recorded" note, so a grid of subplots keeps its shape when one
run recorded nothing. matplotlib is imported inside the functions.
"""

import re

from . import style

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


def connection_colours(records):
    """{client port: colour}, in the order connections first appear; None when there are more
    connections than colours (a new connection per request): colours would then repeat and
    tell nothing apart, so the bars get one colour."""
    ports = dict.fromkeys(record.connection for record in sorted(records, key=lambda r: r.start))
    if len(ports) > len(style.PALETTE):
        return None
    return {port: style.colour(index) for index, port in enumerate(ports)}


def _natural(name):
    """'worker 10' after 'worker 9': numbers in a name compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def plot_gantt(records, ax=None, title=GANTT_TITLE, min_bar_ms=None, xlim_ms=None, legend=True):
    """One row per serving thread (in name order: worker 0 on top), one bar per request; the figure.

    Bars are coloured by connection (client port), in the order the connections
    first sent a request, so a row of many colours is a thread that served many
    connections; with more connections than colours, every bar is blue. A
    handler often runs for a few microseconds: `min_bar_ms` (default: 0.2 % of
    the time axis) widens the shortest bars so that each stays visible.
    `xlim_ms` fixes the time axis's end.
    """
    import matplotlib.pyplot as plt

    records = sorted(records, key=lambda record: record.start)
    rows = sorted(dict.fromkeys(record.thread for record in records), key=lambda name: _natural(short_thread_name(name)))
    if ax is None:
        _, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, 1.2 + 0.3 * max(1, len(rows))))
    ax.set_title(title)
    ax.set_xlabel(GANTT_XLABEL)
    ax.set_ylabel("serving thread")
    if not records:
        ax.set_yticks([])
        _note_no_data(ax)
        return ax.figure
    origin = records[0].start
    span_ms = max(record.end for record in records) * 1000 - origin * 1000
    if xlim_ms is None:
        xlim_ms = span_ms * 1.01
    if min_bar_ms is None:
        min_bar_ms = max(xlim_ms, 1e-3) * 0.002
    colours = connection_colours(records)
    for row, thread in enumerate(rows):
        mine = [record for record in records if record.thread == thread]
        bars = [((record.start - origin) * 1000, max(min_bar_ms, (record.end - record.start) * 1000))
                for record in mine]
        ax.broken_barh(bars, (row - 0.35, 0.7), linewidth=0,
                       facecolors=[colours[r.connection] for r in mine] if colours else style.BLUE)
    ax.set_yticks(range(len(rows)))
    labels = [short_thread_name(thread) for thread in rows]
    # Many rows (a thread each): label every few, so the labels never overlap.
    step = max(1, len(rows) // 16 + (len(rows) % 16 > 0))
    ax.set_yticklabels([label if index % step == 0 else "" for index, label in enumerate(labels)])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, xlim_ms + min_bar_ms)
    ax.grid(axis="x", alpha=0.3)
    if legend and colours and len(colours) > 1:
        from matplotlib.patches import Patch
        handles = [Patch(color=colour, label=f":{port}") for port, colour in colours.items()]
        style.legend_outside(ax, handles=handles, title="connection\n(client port)", title_fontsize=8,
                             ncol=1 + len(handles) // 9)
    return ax.figure


def _order_legend(figure, count, one_colour):
    """One legend under stacked panels whose ports differ: colours by order of first request."""
    from matplotlib.patches import Patch

    ordinals = ["1st", "2nd", "3rd"] + [f"{n}th" for n in range(4, count + 1)]
    handles = [Patch(color=style.colour(index), label=ordinals[index]) for index in range(count)]
    if one_colour:
        handles.append(Patch(color=style.BLUE, label="(blue only: a new connection for every request)"))
    return figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 9), fontsize=9,
                         title="bar colour: the connection the request came on, in order of its first request",
                         title_fontsize=9, frameon=False)


def plot_gantts(records_by_name, titles=None, suptitle=GANTT_TITLE, zoom=16):
    """One Gantt chart per entry, stacked, on one shared time axis; beside each, its first
    `zoom` requests enlarged (each panel its own axis). Returns the figure.

    `titles` maps a name to its panel's title (default: the name). The panels'
    heights follow their numbers of rows; one legend for all, under them.
    """
    import matplotlib.pyplot as plt

    names = list(records_by_name)
    row_counts = [max(1, len({r.thread for r in records_by_name[name]})) for name in names]
    spans = [max(r.end for r in records) - min(r.start for r in records)
             for records in records_by_name.values() if records]
    xlim_ms = max(spans, default=0.001) * 1000 * 1.01
    height = min(style.MAX_FIGURE_HEIGHT + 4, 1.8 + sum(0.95 + 0.2 * count for count in row_counts))
    figure, axes = plt.subplots(len(names), 2, figsize=(style.FIGURE_WIDTH + 1, height), squeeze=False,
                                gridspec_kw={"height_ratios": [1.6 + c for c in row_counts],
                                             "width_ratios": [3, 2]})
    one_colour = False
    for (whole, first), name in zip(axes, names):
        records = sorted(records_by_name[name], key=lambda record: record.start)
        plot_gantt(records, ax=whole, title=(titles or {}).get(name, name), xlim_ms=xlim_ms, legend=False)
        early = records[:zoom]
        window = (max(r.end for r in early) - early[0].start) * 1000 if early else 1.0
        plot_gantt(early, ax=first, legend=False, min_bar_ms=window * 0.012,
                   title=f"its first {len(early)} requests, enlarged" if early else "")
        first.set_ylabel("")
        if records:  # the same colours as on the left: those of the whole run's connections
            colours = connection_colours(records)
            for collection, thread in zip(first.collections, sorted(
                    dict.fromkeys(r.thread for r in early), key=lambda t: _natural(short_thread_name(t)))):
                mine = [r for r in early if r.thread == thread]
                collection.set_facecolors([colours[r.connection] for r in mine] if colours else style.BLUE)
            one_colour = one_colour or colours is None
    connections = [len({r.connection for r in records}) for records in records_by_name.values()]
    shown = max([count for count in connections if count <= len(style.PALETTE)], default=0)
    figure.suptitle(suptitle)
    figure.tight_layout(rect=(0, 0.06 if shown > 1 or one_colour else 0, 1, 1))
    if shown > 1 or one_colour:
        _order_legend(figure, shown, one_colour)
    return figure


def plot_scaling(results, title=SCALING_TITLE, show_p50=True):
    """Two panels against connections (log scale): req/s, and latency (p99, p50 dashed).

    `results` maps a model name to its `LoadResult`s, one per number of
    connections (any order). Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, StrMethodFormatter

    figure, (rate_ax, latency_ax) = plt.subplots(1, 2, figsize=(style.FIGURE_WIDTH + 1, 4.2))
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
    handles = []
    for index, (model, runs) in enumerate(results.items()):
        colour, marker = style.colour(index), style.MARKERS[index % len(style.MARKERS)]
        clients = [run.connections for run in runs]
        rate_ax.plot(clients, [run.requests_per_second for run in runs], marker=marker, color=colour)
        latency_ax.plot(clients, [run.percentile(0.99) * 1000 for run in runs], marker=marker, color=colour)
        if show_p50:
            latency_ax.plot(clients, [run.percentile(0.5) * 1000 for run in runs], marker=marker,
                            markerfacecolor="white", linestyle="--", linewidth=1, color=colour)
        handles.append(Line2D([], [], color=colour, marker=marker, label=model))
    all_clients = sorted({run.connections for runs in results.values() for run in runs})
    for ax in (rate_ax, latency_ax):
        ax.set_xscale("log")
        ax.set_xticks(all_clients)
        ax.set_xticklabels([str(count) for count in all_clients])
        ax.minorticks_off()
    latency_ax.set_yscale("log")
    # Plain numbers on the axes: 35,000 and 0.1 read faster than 35000 and 10⁻¹.
    rate_ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    latency_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))
    rate_ax.set_ylim(bottom=0)
    if show_p50:
        handles += [Line2D([], [], color="black", marker="o", label="p99"),
                    Line2D([], [], color="black", marker="o", markerfacecolor="white", linestyle="--",
                           linewidth=1, label="p50")]
    rate_ax.legend(handles=handles[:len(results)], title="model", fontsize=8, title_fontsize=8)
    latency_ax.legend(handles=handles, title="model, percentile", fontsize=8, title_fontsize=8)
    figure.tight_layout()
    return figure
