"""One look for every figure of the course: colours, markers and line styles.

Contract: `PALETTE` is the Okabe–Ito palette (Okabe and Ito, "Color Universal
Design", 2008), whose colours stay apart for readers with the common forms of
colour blindness. `series_style(i)` gives the i-th series of a plot a colour, a
marker and a line style together, so that series differ by shape as well as by
colour and a figure still reads when printed in grey. The named colours below
keep one meaning across the chapters: CLIENT and SERVER for who sent something,
ERROR for resets and failures, NEUTRAL for context such as lanes and guides.
Every plotting function of `httpserver.lab` takes its colours from here.
matplotlib is not imported by this module.
"""

BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"  # "bluish green": never next to a red, and ERROR is vermillion
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"  # "reddish purple"
YELLOW = "#F0E442"  # too pale for thin lines on white: used last, for areas only
BLACK = "#000000"

# The order series get their colours in: strong, well separated colours first, and the
# palette's red (vermillion) never next to its green, a pair some readers see as one.
PALETTE = [BLUE, ORANGE, GREEN, PURPLE, VERMILLION, SKY_BLUE, BLACK, YELLOW]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]

CLIENT = BLUE  # what the client sent: requests, client-to-server segments
SERVER = ORANGE  # what the server sent
ERROR = VERMILLION  # resets, failures, what went wrong
NEUTRAL = "0.45"  # lanes, guide lines, notes
LIGHT = "0.85"  # backgrounds: the parts of a bar that are not the point

FIGURE_WIDTH = 10  # inches; 1,000 px at the notebook's 100 dpi, readable without zooming
MAX_FIGURE_HEIGHT = 9  # inches; a figure taller than a screen is read in pieces


def series_style(index):
    """Colour, marker and line style of the index-th series (wraps around)."""
    return {"color": PALETTE[index % len(PALETTE)],
            "marker": MARKERS[index % len(MARKERS)],
            "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def colour(index):
    """The index-th colour of the palette (wraps around)."""
    return PALETTE[index % len(PALETTE)]


def text_colour_on(background):
    """Black or white, whichever reads better on a palette colour (for labels inside bars)."""
    hex_colour = background.lstrip("#")
    if len(hex_colour) != 6:
        return "black"
    red, green, blue = (int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue  # ITU-R BT.709 weights
    return "black" if luminance > 0.45 else "white"


def legend_outside(ax, **options):
    """A legend to the right of the axes, where it can never cover data."""
    options.setdefault("fontsize", 8)
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **options)


def legend_below(ax, columns=2, **options):
    """A legend under the axes, below the x label, where it can never cover data."""
    from matplotlib.transforms import ScaledTranslation

    options.setdefault("fontsize", 9)
    # Tick labels and the x label take about half an inch whatever the axes' size:
    # offset the anchor by inches below the axes' bottom edge, not by a fraction of its height.
    below = ax.transAxes + ScaledTranslation(0, -0.5, ax.figure.dpi_scale_trans)
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, ncol=columns,
                     **options)
