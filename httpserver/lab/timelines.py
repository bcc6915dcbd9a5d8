"""Timelines of who did what, when: one lane per client or thread, one bar per activity.

Contract: `plot_lanes(spans, kinds)` draws `Span(lane, start, end, kind)`s as
horizontal bars, one lane per distinct `lane` (first seen on top), times in
seconds on a shared axis; `kinds` maps each kind to the words its legend entry
shows, in legend order, and each kind gets the next colour of the course palette
(plus a hatch, so kinds differ in grey print too). `Mark(lane, time, text)`s are
moments written on a lane: "answered", "closed". Returns the figure.
`merge_spans` joins a lane's back-to-back slices of one kind into runs. Chapter 05
draws two clients of an iterative server and two threads under the GIL with it.
matplotlib is imported inside the function.
"""

from typing import Dict, Iterable, NamedTuple, Optional

from . import style


class Span(NamedTuple):
    """One activity: on which lane, from when to when (seconds), of which kind."""

    lane: str
    start: float
    end: float
    kind: str


class Mark(NamedTuple):
    """A moment worth naming on a lane, such as "answered"."""

    lane: str
    time: float
    text: str


HATCHES = ["", "//", "..", "xx", "\\\\", "++"]


def merge_spans(spans: Iterable[Span], within: float) -> list:
    """Join spans of one lane and kind that follow each other within `within` seconds."""
    merged = []
    for span in sorted(spans, key=lambda s: (s.lane, s.kind, s.start)):
        last = merged[-1] if merged else None
        if last and last.lane == span.lane and last.kind == span.kind and span.start - last.end <= within:
            merged[-1] = last._replace(end=max(last.end, span.end))
        else:
            merged.append(span)
    return sorted(merged, key=lambda s: s.start)


def plot_lanes(spans: Iterable[Span], kinds: Dict[str, str], marks: Iterable[Mark] = (), ax=None,
               title: str = "Who did what, when", xlabel: str = "time (s)",
               xlim: Optional[tuple] = None, lanes: Optional[list] = None):
    """Bars per lane, coloured by kind, with optional marks; returns the figure.

    `lanes` fixes the lanes' order, top first (default: the order they are first seen),
    so that panels drawn side by side list the same lanes the same way."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    spans, marks = list(spans), list(marks)
    unknown = {span.kind for span in spans} - set(kinds)
    if unknown:
        raise ValueError(f"kinds without a legend entry: {sorted(unknown)}")
    seen = list(dict.fromkeys([span.lane for span in spans] + [mark.lane for mark in marks]))
    lanes = list(lanes) + [lane for lane in seen if lane not in lanes] if lanes else seen
    if ax is None:
        _, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, 1.6 + 0.7 * max(1, len(lanes))))
    looks = {kind: (style.colour(index), HATCHES[index % len(HATCHES)])
             for index, kind in enumerate(kinds)}
    for span in spans:
        colour, hatch = looks[span.kind]
        ax.barh(lanes.index(span.lane), span.end - span.start, left=span.start, height=0.5,
                color=colour, hatch=hatch, edgecolor="black" if hatch else colour, linewidth=0.6)
    for mark in marks:
        y = lanes.index(mark.lane)
        ax.plot([mark.time], [y], marker="v", color="black", markersize=7, zorder=3,
                transform=ax.transData)
        ax.annotate(mark.text, (mark.time, y - 0.3), textcoords="offset points", xytext=(0, 4),
                    ha="center", va="bottom", fontsize=8.5)
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes)
    ax.set_ylim(len(lanes) - 0.4, -0.9)  # first lane on top, room for the marks' words
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if xlim is not None:
        ax.set_xlim(*xlim)
    else:  # from 0, with room on the right for the words of a mark at the very end
        last = max([span.end for span in spans] + [mark.time for mark in marks], default=1.0)
        ax.set_xlim(0, last * 1.12 if last > 0 else 1.0)
    handles = [Patch(facecolor=looks[kind][0], hatch=looks[kind][1], edgecolor="black", label=label)
               for kind, label in kinds.items()]
    style.legend_below(ax, handles=handles, columns=min(3, len(handles)))
    ax.figure.tight_layout()
    return ax.figure
