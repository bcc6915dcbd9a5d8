"""Chapter 09's figure of the speed work: instructions per request, one change at a time.

Contract: `plot_steps(series, title)` draws, for each step (label, instructions
per request), a horizontal bar with its change from a baseline step written
beside it, in the course's palette; `series` maps a
name to its steps ({series name: [(label, value), ...]}), drawn side by side.
"""

from . import style


def plot_steps(series, title, unit="thousand instructions per request", baseline=None):
    """One group of bars per step, one bar per series; beside each, the change from the
    series' value at step `baseline` (default: its first)."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(label for steps in series.values() for label, _ in steps))
    height = 0.8 / len(series)
    figure, axes = plt.subplots(figsize=(style.FIGURE_WIDTH, 0.7 + 0.55 * len(labels) * len(series)))
    largest = max(value for steps in series.values() for _, value in steps if value is not None)
    for index, (name, steps) in enumerate(series.items()):
        values = dict(steps)
        first = values.get(baseline) or next(value for _, value in steps if value is not None)
        for row, label in enumerate(labels):
            value = values.get(label)
            if value is None:
                continue
            y = row + (index - (len(series) - 1) / 2) * height
            axes.barh(y, value / 1000, height=height * 0.9, color=style.colour(index), edgecolor="black",
                      linewidth=0.5, label=name if row == labels.index(next(l for l in labels if values.get(l))) else None)
            change = "" if value == first else f"  {(value - first) / first:+.0%}"
            axes.text(value / 1000 + largest / 1000 * 0.01, y, f"{value / 1000:.1f}k{change}",
                      va="center", fontsize=9)
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, largest / 1000 * 1.25)
    axes.set_xlabel(unit)
    axes.set_title(title, wrap=True)
    if len(series) > 1:
        style.legend_below(axes, columns=len(series))
    figure.tight_layout()
    return figure
