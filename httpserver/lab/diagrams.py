"""Small explanatory drawings: byte ranges of a file, gzip sizes, a certificate chain.

Contract: each function draws from values the chapter measured or read, and
returns the figure.
- `plot_ranges(size, rows)`: one file as a bar of `size` bytes per request, with
  the bytes the request asked for outlined and the bytes the answer carried filled
  in, and the status code beside it (chapter 06).
- `plot_gzip_sizes(sizes)`: body size without and with gzip per response, on a
  log scale so that 5 bytes and 5 KiB both show, with the change written on top.
- `plot_certificate_chain(certificates)`: certificates as boxes, top (trusted
  root) to bottom (the server's), each arrow saying who signed whom (chapter 07).
matplotlib is imported inside the functions.
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple

from . import style


class RangeRow(NamedTuple):
    """One range request: its Range header, the answer's status, bytes asked for and sent.

    Ranges are (first, last) byte positions, both inclusive (RFC 9110 §14.1.2).
    """

    header: str
    status: int
    asked: Sequence[Tuple[int, int]]
    sent: Sequence[Tuple[int, int]]


def plot_ranges(size: int, rows: List[RangeRow], title: str = "Which bytes each Range request got",
                name: str = "the file"):
    """A bar per request for the whole file, asked bytes outlined, sent bytes filled."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    figure, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, 1.5 + 0.65 * len(rows)))
    overhang = max(2, size * 0.12)  # room past the end, for ranges that start beyond it
    for y, row in enumerate(rows):
        ax.add_patch(Rectangle((0, y - 0.3), size, 0.6, facecolor=style.LIGHT, edgecolor="black", linewidth=0.8))
        for first, last in row.sent:
            ax.add_patch(Rectangle((first, y - 0.3), last - first + 1, 0.6, facecolor=style.BLUE,
                                   edgecolor="black", linewidth=0.8))
        for first, last in row.asked:
            end = min(last + 1, size + overhang)
            colour = style.ERROR if first >= size else style.ORANGE
            ax.add_patch(Rectangle((first, y - 0.38), end - first, 0.76, facecolor="none", edgecolor=colour,
                                   linewidth=2, linestyle="--"))
        ax.annotate(f"{row.status}", (size + overhang, y), xytext=(8, 0), textcoords="offset points",
                    va="center", fontsize=11, fontweight="bold",
                    color=style.ERROR if row.status >= 400 else "black")
    ax.axvline(size, color=style.NEUTRAL, linewidth=1)
    # Left of the line, never across it: a label through a line reads as struck out.
    ax.annotate(f"end of {name}: {size} bytes ", (size, -0.55), ha="right", va="bottom", fontsize=8,
                color=style.NEUTRAL)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"Range: {row.header}" for row in rows], fontfamily="monospace", fontsize=9)
    ax.set_ylim(len(rows) - 0.4, -0.8)
    ax.set_xlim(0, size + overhang)
    ax.set_xlabel(f"byte position in {name} (from 0)")
    ax.set_title(title)
    ax.text(1.0, 1.01, "status", transform=ax.transAxes, ha="left", va="bottom", fontsize=9)
    handles = [Patch(facecolor=style.LIGHT, edgecolor="black", label="the whole file"),
               Patch(facecolor="none", edgecolor=style.ORANGE, linestyle="--", linewidth=2, label="bytes asked for"),
               Patch(facecolor="none", edgecolor=style.ERROR, linestyle="--", linewidth=2,
                     label="asked for, past the end"),
               Patch(facecolor=style.BLUE, edgecolor="black", label="bytes the answer carried")]
    style.legend_below(ax, columns=4, handles=handles)
    figure.tight_layout()
    return figure


def plot_gzip_sizes(sizes, title="Body size without and with gzip"):
    """sizes: {name: (identity bytes, bytes with Accept-Encoding: gzip)}; grouped bars, log scale."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names = list(sizes)
    figure, ax = plt.subplots(figsize=(style.FIGURE_WIDTH - 1, 4.6))
    positions = range(len(names))
    ax.bar([p - 0.2 for p in positions], [sizes[n][0] for n in names], width=0.4, color=style.BLUE,
           edgecolor="black", label="without Accept-Encoding")
    ax.bar([p + 0.2 for p in positions], [sizes[n][1] for n in names], width=0.4, color=style.ORANGE,
           edgecolor="black", hatch="//", label="Accept-Encoding: gzip")
    for p, n in zip(positions, names):
        plain, packed = sizes[n]
        if packed == plain:
            words = "sent as is"
        else:
            change = packed / plain - 1
            words = f"{change:+.0%}\n{plain:,} B → {packed:,} B"
        ax.annotate(words, (p, max(plain, packed)), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8.5, color=style.ERROR if packed > plain else "black")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_ylim(top=max(max(pair) for pair in sizes.values()) * 8)  # room for the words
    ax.set_xticks(list(positions))
    ax.set_xticklabels(names)
    ax.set_xlabel("response")
    ax.set_ylabel("body size on the wire (bytes, log scale)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


class Certificate(NamedTuple):
    """What a box in the chain shows: a role ("root CA"), and lines of fields."""

    role: str
    lines: Sequence[str]
    note: Optional[str] = None  # e.g. "in the client's trust store"


def plot_certificate_chain(certificates: List[Certificate], title: str = "The chain of trust",
                           arrow_text: str = "signs the certificate below"):
    """Boxes from the trusted root (top) down to the server's certificate (bottom)."""
    import matplotlib.pyplot as plt

    lines = max(len(certificate.lines) for certificate in certificates)
    height = 1.0 + 0.25 * lines  # role, note, then the fields, in data units of about an inch
    gap = 0.8
    total = height * len(certificates) + gap * (len(certificates) - 1) + 0.4  # no margin below the last
    figure, ax = plt.subplots(figsize=(style.FIGURE_WIDTH - 1, 0.5 + 0.85 * total))
    ax.set_xlim(0, 10)
    ax.set_ylim(total, 0)
    for index, certificate in enumerate(certificates):
        top = index * (height + gap) + 0.2
        last = index == len(certificates) - 1
        colour = style.ORANGE if last else (style.GREEN if index == 0 else style.SKY_BLUE)
        ax.add_patch(plt.Rectangle((0.6, top), 8.8, height, facecolor=colour, alpha=0.25, edgecolor="black",
                                   linewidth=1.2))
        ax.text(0.8, top + 0.12, certificate.role, fontsize=11, fontweight="bold", va="top")
        if certificate.note:
            ax.text(0.8, top + 0.42, certificate.note, fontsize=9, va="top", style="italic")
        for number, line in enumerate(certificate.lines):
            ax.text(0.8, top + 0.75 + 0.25 * number, line, fontsize=9, va="top", fontfamily="monospace")
        if index:
            ax.annotate("", xy=(5.0, top), xytext=(5.0, top - gap),
                        arrowprops=dict(arrowstyle="-|>", color="black", linewidth=1.5))
            ax.text(5.2, top - gap / 2, arrow_text, fontsize=9, va="center")
    ax.axis("off")
    ax.set_title(title)
    figure.tight_layout()
    return figure
