"""A ladder through an intermediary: client, cache or proxy, origin, one lane each.

Contract: `plot_message_ladder(exchanges, lanes)` draws whole HTTP messages among
several parties, one row per message, time flowing down, and returns the Figure.
It is `ladder.plot_messages` for more than two parties (chapter 06 draws a shared
cache with it). matplotlib is imported inside the function only.
"""

from . import style


def plot_message_ladder(exchanges, lanes, title: str = "Messages between the parties", ax=None):
    """A ladder of whole messages among several parties, one row each, time flowing down.

    `exchanges` are (time in seconds, sender, receiver, label), e.g. a cache's
    `exchanges`; `lanes` names the parties from left to right. Colour is the sender:
    the first lane is the client's colour, the last the server's, any between green.
    """
    import matplotlib.pyplot as plt

    x = {name: index / (len(lanes) - 1) for index, name in enumerate(lanes)}
    colours = {name: style.CLIENT if i == 0 else style.SERVER if i == len(lanes) - 1 else style.GREEN
               for i, name in enumerate(lanes)}
    if ax is None:
        height = 1.6 + min(0.42 * len(exchanges), style.MAX_FIGURE_HEIGHT - 1.6)
        figure, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, height))
    else:
        figure = ax.figure
    for name in lanes:
        ax.plot([x[name]] * 2, [-0.8, len(exchanges) - 0.2], color=style.NEUTRAL, linewidth=2, zorder=1)
    for row, (_, sender, receiver, label) in enumerate(exchanges):
        ax.annotate("", xy=(x[receiver], row + 0.25), xytext=(x[sender], row),
                    arrowprops=dict(arrowstyle="-|>", color=colours[sender], linewidth=1.4), zorder=2)
        ax.text((x[sender] + x[receiver]) / 2, row - 0.05, label, ha="center", va="bottom", fontsize=8.5,
                zorder=3, bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.8))
    start = exchanges[0][0] if exchanges else 0.0
    ax.set_yticks(range(len(exchanges)))
    ax.set_yticklabels([f"{time - start:.2f}" for time, *_ in exchanges], fontsize=8)
    ax.set_ylabel("seconds since the first message\n(one row per message, not to scale)")
    ax.set_ylim(len(exchanges) - 0.2, -0.8)  # time flows down
    ax.set_xlim(-0.1, 1.1)
    ax.set_xticks([x[name] for name in lanes])
    ax.set_xticklabels(lanes, fontsize=10)
    ax.xaxis.tick_top()
    for side in ("left", "right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=12, pad=12)
    figure.tight_layout()
    return figure
