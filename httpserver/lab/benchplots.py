"""Plots of measurements: runs, benchmark results, profiles, costs, timings.

Contract: each function draws one figure from numbers the chapter measured and
returns it; none measures anything itself.
- `plot_runs(rates, latencies_ms)`: repeated runs' req/s, and one run's latency
  distribution with its mean, p50, p99 and max each marked by its own shape.
- `plot_comparison(results)`: a `results.json`-shaped dict (from `httpserver.bench`)
  as throughput and p99 latency against connections, one style per server.
- `plot_large_files(results)`: the large-file throughput of each server.
- `plot_profile(stats, requests)`: a `pstats.Stats` as bars of time per request.
- `plot_cost_breakdown(rows)`: time per request as stacked bars (what it is made of).
- `plot_strips(groups, ...)`: every measurement as a dot, one column per group
  (chapter 07's handshake timings).
A `figure` argument draws into a given matplotlib Figure (`bench` saves one
without pyplot); otherwise pyplot makes one. matplotlib is imported inside.
"""

import math
import re
import statistics
from pathlib import PurePath

from . import style

COMPARISON_TITLE = "Throughput and tail latency against connections, 1 KiB file"


def _new_figure(figure, size):
    if figure is not None:
        figure.set_size_inches(*size)
        return figure
    import matplotlib.pyplot as plt

    return plt.figure(figsize=size)


def _log_ticks(ax, axis="x"):
    """Ticks at 1, 2, 5 × powers of ten, written plainly (0.2, not 2×10⁻¹)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))
    target.set_minor_formatter(NullFormatter())


def percentile(ordered, fraction):
    """Nearest-rank percentile of an already sorted list (as `LoadResult.percentile`)."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def plot_runs(rates, latencies_ms, title="Five identical runs", figure=None):
    """Left: one bar per run with the median and the min-max spread; right: a latency CDF.

    On the CDF, the mean, p50, p99 and max each get a marker shape, a line style
    and a place in the legend, so two that nearly coincide still read apart.
    """
    figure = _new_figure(figure, (style.FIGURE_WIDTH + 1, 4.4))
    runs_ax, cdf_ax = figure.subplots(1, 2)
    median_rate = statistics.median(rates)
    from matplotlib.ticker import StrMethodFormatter

    runs_ax.bar(range(1, len(rates) + 1), rates, color=style.BLUE, label="one run", zorder=2)
    runs_ax.hlines(median_rate, 0.5, len(rates) + 0.5, color="black", linestyle="--",
                   label=f"median: {median_rate:,.0f}", zorder=3)
    # The spread as a bracket beside the runs, from the slowest to the fastest, said in words.
    spread_x = len(rates) + 0.9
    runs_ax.annotate("", xy=(spread_x, max(rates)), xytext=(spread_x, min(rates)),
                     arrowprops=dict(arrowstyle="|-|", color=style.ERROR, linewidth=1.5, mutation_scale=6))
    runs_ax.text(spread_x + 0.2, (max(rates) + min(rates)) / 2,
                 f"spread,\nslowest to\nfastest:\n{max(rates) - min(rates):,.0f}\n= {(max(rates) - min(rates)) / median_rate:.0%}"
                 f" of\nthe median", color=style.ERROR, fontsize=8, va="center")
    runs_ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    runs_ax.set_title(title)
    runs_ax.set_xlabel("run number")
    runs_ax.set_ylabel("requests per second")
    runs_ax.set_xticks(range(1, len(rates) + 1))
    runs_ax.set_xlim(0.4, len(rates) + 2.6)  # room on the right for the spread
    runs_ax.set_ylim(0, max(rates) * 1.3)  # room above the bars for the legend
    runs_ax.legend(loc="upper left", ncol=2, fontsize=8)

    ordered = sorted(latencies_ms)
    shares = [(index + 1) / len(ordered) for index in range(len(ordered))]
    cdf_ax.plot(ordered, shares, color=style.NEUTRAL, linewidth=1.5, label="every request (CDF)")
    mean = statistics.fmean(ordered)
    marks = [("mean", mean, sum(1 for value in ordered if value <= mean) / len(ordered)),
             ("p50", percentile(ordered, 0.5), 0.5),
             ("p99", percentile(ordered, 0.99), 0.99),
             ("max", ordered[-1], 1.0)]
    for index, (name, value, share) in enumerate(marks):
        look = style.series_style(index)
        cdf_ax.axvline(value, color=look["color"], linestyle=look["linestyle"], linewidth=1.2)
        cdf_ax.plot([value], [share], marker=look["marker"], color=look["color"], markersize=9,
                    markeredgecolor="black", linestyle="", label=f"{name} = {value:.2f} ms", zorder=3)
    cdf_ax.set_xscale("log")
    _log_ticks(cdf_ax)
    cdf_ax.set_ylim(0, 1.05)
    cdf_ax.set_title("Latency distribution of the median run")
    cdf_ax.set_xlabel("latency (ms, log scale)")
    cdf_ax.set_ylabel("share of requests at most this slow")
    style.legend_outside(cdf_ax)
    cdf_ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _small(results, name, connections):
    entry = results["servers"].get(name, {}).get("small", {})
    return entry.get(str(connections)) or entry.get(connections)


def plot_comparison(results, concurrencies=(1, 10, 100), title=COMPARISON_TITLE, figure=None):
    """Two log-log panels, req/s and p99 against connections; each server its own colour,
    marker and line style. The legend sits outside, beside the right panel."""
    figure = _new_figure(figure, (style.FIGURE_WIDTH + 2, 4.6))
    rate_ax, tail_ax = figure.subplots(1, 2)
    for index, name in enumerate(results["servers"]):
        points = [(c, _small(results, name, c)) for c in concurrencies if _small(results, name, c)]
        if not points:
            continue
        look = style.series_style(index)
        xs = [c for c, _ in points]
        rate_ax.plot(xs, [p["rps"] for _, p in points], label=name, markersize=7, **look)
        tail_ax.plot(xs, [p["p99_ms"] for _, p in points], label=name, markersize=7, **look)
    for ax, label in ((rate_ax, "requests per second (log scale)"), (tail_ax, "p99 latency (ms, log scale)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(list(concurrencies))
        ax.set_xticklabels([str(c) for c in concurrencies])
        ax.minorticks_off()
        _log_ticks(ax, "y")
        ax.set_xlabel("concurrent keep-alive connections (log scale)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    rate_ax.set_title("Throughput (higher is better)")
    tail_ax.set_title("p99 latency (lower is better)")
    style.legend_outside(tail_ax, title="server", title_fontsize=8)
    figure.suptitle(f"{title} ({results.get('tool', '?')} load generator)")
    figure.tight_layout()
    return figure


def plot_large_files(results, title="Sending one large file", figure=None):
    """Horizontal bars: MiB/s per server, labelled with the number. Where the results hold
    every fetch (`mib_per_s_each`), the bar is their median and a whisker runs from the
    slowest fetch to the fastest, so one disturbed fetch reads as what it is."""
    figure = _new_figure(figure, (style.FIGURE_WIDTH - 1, 1.1 + 0.5 * len(results["servers"])))
    ax = figure.subplots()
    names = [name for name, entry in results["servers"].items() if entry.get("large")]
    runs = [results["servers"][name]["large"].get("mib_per_s_each") or [] for name in names]
    speeds = [statistics.median(each) if each else results["servers"][name]["large"]["mib_per_s"]
              for name, each in zip(names, runs)]
    ax.barh(range(len(names)), speeds, color=[style.colour(results_index(results, n)) for n in names],
            edgecolor="black")
    for y, (speed, each) in enumerate(zip(speeds, runs)):
        text = f"{speed:,.0f} MiB/s"
        if len(each) > 1:
            ax.plot([min(each), max(each)], [y, y], color="black", linewidth=1.2, zorder=3)
            ax.plot([min(each), max(each)], [y, y], "|", color="black", markersize=12, zorder=3)
            text += f" (fetches: {min(each):,.0f} to {max(each):,.0f}, n={len(each)})"
        ax.annotate(text, (max([speed] + each), y), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first server on top
    ax.set_xlim(0, max([speed for speed in speeds] + [max(each) for each in runs if each], default=1) * 1.6)
    ax.set_xlabel("throughput (MiB per second, higher is better)"
                  + ("; bar: median of the fetches, line: slowest to fastest" if any(runs) else ""))
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def results_index(results, name):
    """A server's position in results: its colour matches plot_comparison's."""
    return list(results["servers"]).index(name)


def function_name(function):
    """A pstats key (file, line, name) as a short label: 'parser.py:_parse_head', '{posix.lstat}'."""
    filename, _, name = function
    if filename == "~":  # built-ins: pstats stores them with file "~"
        method = re.fullmatch(r"<method '(\w+)' of '([\w.]+)' objects>", name)
        if method:
            return "{%s.%s}" % (method.group(2), method.group(1))
        return "{" + name.replace("<built-in method ", "").rstrip(">") + "}"
    return f"{PurePath(filename).name}:{name}"


def function_kind(function, package="httpserver"):
    """'ours', 'built-in (C)' or 'standard library' for a pstats key."""
    filename = function[0]
    if filename == "~":
        return "built-in (C)"
    folders = filename.replace("\\", "/").split("/")[:-1]
    return "ours" if package in folders else "standard library"


KIND_COLOURS = {"ours": style.BLUE, "built-in (C)": style.ORANGE, "standard library": style.GREEN}


def plot_profile(stats, requests, top=12, title="Where a request's time goes (cProfile)", figure=None):
    """The `top` functions by tottime: own time per request as a bar, cumulative time as an outline."""
    from matplotlib.patches import Patch

    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    figure = _new_figure(figure, (style.FIGURE_WIDTH, 1.4 + 0.38 * len(rows)))
    ax = figure.subplots()
    for y, (function, entry) in enumerate(rows):
        tottime, cumtime = entry[2] / requests * 1e6, entry[3] / requests * 1e6
        ax.barh(y, cumtime, color="none", edgecolor=style.NEUTRAL, linestyle="--", height=0.7)
        ax.barh(y, tottime, color=KIND_COLOURS[function_kind(function)], edgecolor="black", height=0.7)
        ax.annotate(f"{tottime:.2f}", (tottime, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([function_name(function) for function, _ in rows], fontsize=9)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the hottest on top
    ax.set_xlabel("µs per request (as measured under the profiler, which slows short calls most)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    kinds = {function_kind(function) for function, _ in rows}
    handles = [Patch(facecolor=colour, edgecolor="black", label=f"tottime: {kind}")
               for kind, colour in KIND_COLOURS.items() if kind in kinds]
    handles.append(Patch(facecolor="none", edgecolor=style.NEUTRAL, linestyle="--",
                         label="cumtime (with the\nfunctions it calls)"))
    style.legend_outside(ax, handles=handles)
    figure.tight_layout()
    return figure


def plot_cost_breakdown(rows, title="What one request costs", unit="µs per request", figure=None):
    """Stacked horizontal bars: rows is [(bar name, [(part name, value), ...]), ...].

    Parts with the same name share a colour across bars; each part is labelled
    with its value when it is wide enough to hold the text.
    """
    figure = _new_figure(figure, (style.FIGURE_WIDTH, 1.6 + 0.7 * len(rows)))
    ax = figure.subplots()
    part_names = list(dict.fromkeys(part for _, parts in rows for part, _ in parts))
    colours = {part: style.colour(index) for index, part in enumerate(part_names)}
    longest = max((sum(value for _, value in parts) for _, parts in rows), default=1.0)
    drawn = set()
    for y, (_, parts) in enumerate(rows):
        left = 0.0
        for part, value in parts:
            ax.barh(y, value, left=left, color=colours[part], edgecolor="black", height=0.6,
                    label=part if part not in drawn else None)
            drawn.add(part)
            if value > 0.09 * longest:
                ax.text(left + value / 2, y, f"{value:.1f}", ha="center", va="center", fontsize=9,
                        color=style.text_colour_on(colours[part]))
            left += value
        ax.annotate(f"{left:.1f} {unit.split()[0]}", (left, y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9, fontweight="bold")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([name for name, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, longest * 1.18)
    ax.set_xlabel(unit)
    ax.set_title(title)
    style.legend_below(ax, columns=min(2, len(part_names)))
    figure.tight_layout()
    return figure


def plot_strips(groups, title, ylabel, highlights=(), log=True, figure=None):
    """One column of dots per group, every value shown, with its median as a bar.

    `groups` maps a label to its values. Dots within a column are spread sideways
    by rank (a deterministic jitter), so 20 equal values do not hide one another.
    `highlights` are (group label, index into its values, words): that dot gets a
    ring and the words beside it. The legend sits outside the axes.
    """
    figure = _new_figure(figure, (style.FIGURE_WIDTH, 4.8))
    ax = figure.subplots()
    for position, (label, values) in enumerate(groups.items()):
        look = style.series_style(position)
        xs = [position + _strip_offset(values, index) for index in range(len(values))]
        ax.scatter(xs, values, marker=look["marker"], color=look["color"], edgecolors="black", linewidths=0.5,
                   s=36, alpha=0.85, zorder=3, label=f"{label.splitlines()[0]} (n={len(values)})")
        middle = statistics.median(values)
        ax.plot([position - 0.3, position + 0.3], [middle, middle], color="black", linewidth=2, zorder=4)
        ax.annotate(f"median {middle:.2f}", (position + 0.3, middle), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8.5)
    labels = list(groups)
    for label, index, words in highlights:
        position = labels.index(label)
        value = groups[label][index]
        x = position + _strip_offset(groups[label], index)
        ax.scatter([x], [value], s=160, facecolors="none", edgecolors=style.ERROR, linewidths=2, zorder=5)
        ax.annotate(words, (x, value), xytext=(14, 0), textcoords="offset points", va="center", fontsize=9,
                    color=style.ERROR, arrowprops=dict(arrowstyle="-", color=style.ERROR))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    if log:
        ax.set_yscale("log")
        _log_ticks(ax, "y")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", linewidth=2, label="median"))
    style.legend_outside(ax, handles=handles)
    figure.tight_layout()
    return figure


def _strip_offset(values, index):
    """Sideways offset of values[index]: neighbours in size land in 8 different lanes."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return (order.index(index) % 8) / 8 * 0.32 - 0.14
