"""A wire tap: a socket wrapper that records every send and every recv.

Contract: `tap(sock, label="client")` returns a `Tap`. Use it in place of the
socket: send, sendall, recv, recv_into, settimeout, shutdown, fileno and close
behave as the socket's own, and any other attribute is the socket's. Each call
that moves bytes appends a `TapEvent` to `tap.events`: when the call started and
returned, which way the bytes went ("sent" or "received"), how many, and the
first `keep_bytes` of them. A recv that returns b"" (the peer closed its side) is
recorded as a received event of size 0. A call that raises records nothing.

The tap needs no privileges and works on every OS because it watches the
program's calls, not the network: it shows the byte stream as the application
sees it, not TCP segments (the packet capture shows those). It is not a socket
subclass, so `ssl` cannot wrap it; tap the SSL socket instead to see plaintext.

`chunk_sizes` and `plot_timeline` turn the events into the lesson that TCP is a
byte stream: one sendall can arrive as many recv chunks, and several sends can
arrive as one.
"""

import itertools
import math
import threading
import time
from dataclasses import dataclass

from . import style

SENT = "sent"
RECEIVED = "received"
DIRECTIONS = (SENT, RECEIVED)

_unnamed_taps = itertools.count(1)

# perf_counter, not time.monotonic: both never go backwards, but on Windows
# monotonic ticks only every ~16 ms, which would put a whole exchange at one instant.
clock = time.perf_counter


@dataclass(frozen=True)
class TapEvent:
    """One send or recv call: on which tap, which way, how many bytes, and when."""

    label: str
    direction: str  # SENT or RECEIVED
    size: int
    data: bytes  # the first keep_bytes of the bytes moved
    started: float  # clock() when the call began; only differences mean anything
    time: float  # clock() when the call returned, i.e. when the bytes moved

    @property
    def truncated(self):
        """True when `data` holds only the start of the bytes moved."""
        return len(self.data) < self.size

    @property
    def waited(self):
        """Seconds the call took: a recv waiting for data, a sendall for buffer room."""
        return self.time - self.started


class Tap:
    """A socket stand-in that records each send and recv as a `TapEvent`."""

    def __init__(self, sock, label=None, keep_bytes=1024):
        self.socket = sock
        self.label = label if label is not None else "tap %d" % next(_unnamed_taps)
        self.keep_bytes = keep_bytes
        self._events = []
        # Two threads may use one socket (one sending, one receiving); the lock
        # keeps the list whole and, since the clock is read inside it, in time order.
        self._lock = threading.Lock()

    def _record(self, direction, data, started):
        data = memoryview(data).cast("B")  # count bytes, whatever the buffer holds
        with self._lock:
            self._events.append(TapEvent(self.label, direction, len(data),
                                         bytes(data[:self.keep_bytes]), started, clock()))

    @property
    def events(self):
        """A snapshot of the events so far, oldest first (a new list each time)."""
        with self._lock:
            return list(self._events)

    def clear(self):
        """Forget the events recorded so far."""
        with self._lock:
            self._events.clear()

    # The calls that move bytes: do the real call, then record what it did.

    def send(self, data, flags=0):
        started = clock()
        sent = self.socket.send(data, flags)
        # send may take only part of the data; record what the kernel accepted
        self._record(SENT, memoryview(data).cast("B")[:sent], started)
        return sent

    def sendall(self, data, flags=0):
        started = clock()
        self.socket.sendall(data, flags)
        # One call, one event, however many send() calls it took underneath:
        # the tap shows what the program asked for.
        self._record(SENT, data, started)

    def recv(self, bufsize, flags=0):
        started = clock()
        data = self.socket.recv(bufsize, flags)
        self._record(RECEIVED, data, started)
        return data

    def recv_into(self, buffer, nbytes=0, flags=0):
        started = clock()
        received = self.socket.recv_into(buffer, nbytes, flags)
        self._record(RECEIVED, memoryview(buffer).cast("B")[:received], started)
        return received

    # The rest are the socket's own, written out so a reader sees they are supported.

    def settimeout(self, seconds):
        self.socket.settimeout(seconds)

    def shutdown(self, how):
        self.socket.shutdown(how)

    def fileno(self):
        return self.socket.fileno()

    def close(self):
        self.socket.close()

    def __getattr__(self, name):
        # Called only for names Tap lacks: getpeername, setsockopt, ...
        return getattr(self.socket, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return "<Tap %r: %d events>" % (self.label, len(self.events))

    def summary(self):
        """The events as a text table, then the totals in each direction."""
        return format_events(self.events)


def tap(sock, label=None, keep_bytes=1024):
    """Wrap a connected socket so that every send and recv on it is recorded."""
    return Tap(sock, label=label, keep_bytes=keep_bytes)


def _events_of(taps_or_events):
    """Accept a Tap, a list of Taps, or a list of TapEvents; return events in time order."""
    if isinstance(taps_or_events, Tap):
        taps_or_events = [taps_or_events]
    events = []
    for item in taps_or_events:
        events.extend(item.events if isinstance(item, Tap) else [item])
    return sorted(events, key=lambda event: event.time)


def chunk_sizes(events, direction):
    """The byte counts of the calls in one direction, in order (a Tap is accepted too).

    An empty recv (end of stream) is not a chunk and is left out.
    """
    if direction not in DIRECTIONS:
        raise ValueError("direction must be %r or %r, not %r" % (SENT, RECEIVED, direction))
    return [event.size for event in _events_of(events)
            if event.direction == direction and event.size > 0]


def human_size(size):
    """A byte count as a short label: 78 B, 64 KiB, 1.5 KiB, 1.0 MiB."""
    if size < 1024:
        return "%d B" % size
    if size < 1024 * 1024:
        kib = size / 1024
        return "%d KiB" % kib if size % 1024 == 0 else "%.1f KiB" % kib
    return "%.1f MiB" % (size / (1024 * 1024))


def format_events(taps_or_events, preview=40):
    """A text table of events (times in ms since the first call began), then totals."""
    events = _events_of(taps_or_events)
    if not events:
        return "(no events recorded)"
    origin = min(event.started for event in events)
    width = max(5, max(len(event.label) for event in events))
    lines = ["%9s  %9s  %-*s  %-8s  %8s  %s"
             % ("t (ms)", "took (ms)", width, "label", "way", "bytes", "first bytes")]
    for event in events:
        shown = repr(event.data[:preview]) + (" …" if event.size > preview else "")
        if event.size == 0 and event.direction == RECEIVED:
            shown = "(end of stream: the peer closed)"
        lines.append("%9.3f  %9.3f  %-*s  %-8s  %8d  %s" % (
            (event.time - origin) * 1000, event.waited * 1000, width, event.label,
            event.direction, event.size, shown))
    lines.append("")
    for label in dict.fromkeys(event.label for event in events):
        totals = []
        for direction in DIRECTIONS:
            sizes = [e.size for e in events if e.label == label and e.direction == direction]
            calls = "call" if len(sizes) == 1 else "calls"
            totals.append("%s %s in %d %s" % (direction, human_size(sum(sizes)), len(sizes), calls))
        lines.append("%s: %s" % (label, ", ".join(totals)))
    return "\n".join(lines)


# Colour and shape both tell sent from received, for readers who do not see colour.
_STYLE = {SENT: (style.BLUE, ">"), RECEIVED: (style.ORANGE, "<")}


def _marker_area(size):
    # Area grows with the log of the byte count, so 1 MiB beside 78 B stays on the page.
    return 20 + 15 * math.log2(size + 1)


TIMELINE_TITLE = "Socket calls over time: what each side sent and received"


def plot_timeline(taps_or_events, ax=None, title=TIMELINE_TITLE, xlim=None):
    """Draw each send/recv call on a time axis, one row per tap label (in the order the taps
    or events are given); return the figure.

    A marker is a call's return, sized and labelled by its byte count; a thin line
    before it shows how long the call waited. Labels that would overlap are left out
    (`Tap.summary()` lists every call). `xlim=(from_ms, to_ms)` zooms in on a stretch.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    events = _events_of(taps_or_events)
    # One row per tap, in the order given (the first on top), so that the same two ends
    # sit the same way up in every figure whatever moved first.
    given = [taps_or_events] if isinstance(taps_or_events, Tap) else list(taps_or_events)
    rows = list(dict.fromkeys(item.label for item in given))
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 1.4 + 1.0 * max(1, len(rows))))
        ax.figure.subplots_adjust(left=0.1, right=0.8, bottom=0.35 / (1 + 0.5 * len(rows)))
    origin = min((event.started for event in events), default=0.0)

    def milliseconds(moment):
        return (moment - origin) * 1000

    for event in events:
        colour, shape = _STYLE[event.direction]
        y = rows.index(event.label)
        ax.plot([milliseconds(event.started), milliseconds(event.time)], [y, y],
                color=colour, linewidth=1, alpha=0.6, zorder=2)
        ax.scatter([milliseconds(event.time)], [y], s=_marker_area(event.size), c=colour,
                   marker=shape, edgecolors="black", linewidths=0.5, zorder=3)

    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    ax.set_ylim(len(rows) - 0.4, -0.6)  # first tap on top, room for labels
    ax.set_xlabel("time since the first call began (ms)")
    ax.set_ylabel("end of the connection")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if xlim is not None:
        ax.set_xlim(*xlim)  # before labelling, which needs the final scale
    _label_byte_counts(ax, events, rows, milliseconds)

    legend_markers = [Line2D([], [], color=_STYLE[d][0], marker=_STYLE[d][1], linestyle="",
                             markeredgecolor="black", markersize=8, label="%s (one call)" % d)
                      for d in DIRECTIONS]
    legend_markers.append(Line2D([], [], color="grey", linewidth=1, label="time the call waited"))
    ax.legend(handles=legend_markers, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="marker size grows\nwith byte count", fontsize=8, title_fontsize=8)
    return ax.figure


def _label_byte_counts(ax, events, rows, milliseconds, min_gap_pixels=45):
    """Write each marker's byte count above or below it, skipping labels that would collide."""
    ax.figure.canvas.draw()  # settle the axis limits, so data maps to pixels for good
    to_pixels = ax.transData.transform
    last_label_x = {}  # (row, above or below) -> pixel x of the last label written there
    for event in events:
        x, y = milliseconds(event.time), rows.index(event.label)
        pixel_x = to_pixels((x, y))[0]
        # Sent counts go above the row, received below, so the two never mix.
        lane = (y, event.direction)
        if pixel_x - last_label_x.get(lane, -math.inf) < min_gap_pixels:
            continue
        last_label_x[lane] = pixel_x
        colour = _STYLE[event.direction][0]
        text = "EOF" if event.size == 0 else human_size(event.size)
        offset = 10 if event.direction == SENT else -18
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(0, offset),
                    ha="center", fontsize=8, color=colour)
