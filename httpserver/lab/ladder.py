"""Ladder (sequence) diagrams of a TCP conversation, as a plot or as text.

Contract: `plot_ladder(segments)` draws the client lane on the left, the server lane
on the right and one arrow per segment, time flowing downward; it returns the
matplotlib Figure. `ladder_text(segments)` gives the same rows as plain text, for
assertions and for readers without plots. Both label each arrow with its flags,
relative seq/ack (as Wireshark shows them), payload length, and what the payload
starts with: an HTTP request or status line, or the TLS records it carries.
The plot also says what each bare ACK acknowledges (`acknowledged`).
matplotlib is imported inside plot_ladder only.
"""

import re
from typing import List, NamedTuple, Optional

from . import style
from .pcap import Segment, client_endpoint, connection_key, relative_sequence_numbers
from .tlsrecords import looks_like_tls, split_records

# An HTTP request line ("GET / HTTP/1.1", RFC 9112 §3) or status line ("HTTP/1.1 200 OK", §4).
HTTP_START_LINE = re.compile(rb"^(?:[A-Z]+ \S+ HTTP/\d\.\d|HTTP/\d\.\d \d{3}[^\r\n]*)(?=\r?\n)")


class LadderRow(NamedTuple):
    """One arrow: when (ms since the first segment), which way, and its label."""

    milliseconds: float
    from_client: bool
    label: str
    segment: Segment


def payload_summary(payload: bytes) -> str:
    """What a payload starts with: an HTTP start line, TLS record names, or ""."""
    match = HTTP_START_LINE.match(payload)
    if match:
        return match.group(0).decode("latin-1").strip()
    if looks_like_tls(payload):
        names = []
        for record in split_records(payload):
            names.extend(record.handshake_types or [record.type_name])
        # "ApplicationData ×3" reads better than the name three times.
        counted = []
        for name in names:
            if counted and counted[-1][0] == name:
                counted[-1][1] += 1
            else:
                counted.append([name, 1])
        return "TLS " + ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in counted)
    return ""


def segment_label(segment: Segment) -> str:
    """E.g. "PSH-ACK seq=1 ack=1 len=78  GET / HTTP/1.1" (pass relative numbers in)."""
    parts = [segment.flags.replace(",", "-"), f"seq={segment.seq}"]
    if segment.has("ACK"):
        parts.append(f"ack={segment.ack}")
    if segment.payload:
        parts.append(f"len={len(segment.payload)}")
    summary = payload_summary(segment.payload)
    return " ".join(parts) + (f"  {summary}" if summary else "")


def ladder_rows(segments: List[Segment], client_port: Optional[int] = None):
    """(client lane name, server lane name, [LadderRow, ...]) for drawing or printing.

    With client_port, only that connection is kept and that side is the client;
    otherwise the client is the side that sent the first bare SYN.
    """
    if client_port is not None:
        segments = [s for s in segments if client_port in (s.sport, s.dport)]
    if not segments:
        raise ValueError("no segments to draw")
    segments = relative_sequence_numbers(sorted(segments, key=lambda s: s.time))
    client = client_endpoint(segments)
    if client_port is not None and client[1] != client_port:
        client = next(s.source for s in segments if s.sport == client_port)
    # The server is the far end of the client's first segment; with several
    # connections, the client lane holds every port that talks to that server.
    first = next(s for s in segments if client in (s.source, s.destination))
    server = first.destination if first.source == client else first.source
    several = len({connection_key(s) for s in segments}) > 1
    start, rows = segments[0].time, []
    for segment in segments:
        from_client = segment.destination == server
        label = segment_label(segment)
        if several:  # say which connection, by its client port
            label = f"[:{segment.sport if from_client else segment.dport}] {label}"
        rows.append(LadderRow((segment.time - start) * 1000, from_client, label, segment))
    client_ports = sorted({r.segment.sport if r.from_client else r.segment.dport for r in rows})
    client_name = f"{client[0]}:{','.join(map(str, client_ports))}"
    return client_name, f"{server[0]}:{server[1]}", rows


def ladder_text(segments: List[Segment], client_port: Optional[int] = None) -> str:
    """The ladder as text lines: time in ms, then an arrow with its label."""
    client_name, server_name, rows = ladder_rows(segments, client_port)
    width = max(len(row.label) for row in rows) + 6
    half = width // 2
    lines = [f"{'ms':>9}  {'client ' + client_name:<{half}}{'server ' + server_name:>{width - half}}"]
    for row in rows:
        if row.from_client:
            arrow = f"-- {row.label} ".ljust(width - 1, "-") + ">"
        else:
            arrow = "<" + f" {row.label} --".rjust(width - 1, "-")
        lines.append(f"{row.milliseconds:9.3f}  {arrow}")
    return "\n".join(lines)


def acknowledged(rows: List[LadderRow]) -> List[str]:
    """For each row, what a bare ACK (no data, SYN or FIN) acknowledges, else "".

    A bare ACK answers the other side's latest segment whose end it names: "the
    SYN-ACK" (the handshake's third segment), "the FIN", or "172 B" of data. So an
    ACK that shows up away from what it answers still says what it answers.
    """
    notes, sent_ends = [], {}  # (connection, from_client) -> [(end seq, what)]
    for row in rows:
        segment, note = row.segment, ""
        key = connection_key(segment)
        bare = not (segment.payload or segment.has("SYN") or segment.has("FIN") or segment.has("RST"))
        if bare and segment.has("ACK"):
            for end, what in reversed(sent_ends.get((key, not row.from_client), [])):
                if end == segment.ack:
                    note = f"for the {what}" if what in ("SYN-ACK", "SYN", "FIN") else f"for {what}"
                    break
        length = len(segment.payload) + segment.has("SYN") + segment.has("FIN")
        if length:
            if segment.has("SYN"):
                what = "SYN-ACK" if segment.has("ACK") else "SYN"
            elif segment.has("FIN") and not segment.payload:
                what = "FIN"
            else:
                what = f"{len(segment.payload)} B"
            sent_ends.setdefault((key, row.from_client), []).append((segment.seq + length, what))
        notes.append(note)
    return notes


ROW_INCHES = 0.42  # room for one arrow and its label
MIN_ROW_INCHES = 0.24  # below this, labels touch


def plot_ladder(segments: List[Segment], client_port: Optional[int] = None, ax=None,
                title: str = "TCP segments between client and server", spacing: str = "auto"):
    """Draw a ladder diagram and return the Figure.

    Colour always means who sent the segment (the course's CLIENT and SERVER
    colours; ERROR for a reset); with several connections, each connection also
    has its own line style and its client port in the label. A bare ACK is
    annotated with what it acknowledges. spacing="time" puts arrows at their real
    times, "event" one row per segment (real times on the axis ticks); "auto"
    picks "event" when real times would crowd labels. Rows shrink so that a long
    ladder stays within style.MAX_FIGURE_HEIGHT.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    client_name, server_name, rows = ladder_rows(segments, client_port)
    notes = acknowledged(rows)
    times = [row.milliseconds for row in rows]
    if spacing == "auto":
        # Real times only when every gap leaves room for a label (half an average gap).
        gaps = [b - a for a, b in zip(times, times[1:])]
        average_gap = (times[-1] - times[0]) / max(len(gaps), 1)
        spacing = "time" if gaps and average_gap > 0 and min(gaps) >= 0.5 * average_gap else "event"
    if spacing == "time":
        positions, step = times, (times[-1] - times[0]) / max(len(rows) - 1, 1) or 1.0
    else:
        positions, step = list(range(len(rows))), 1.0

    row_inches = max(MIN_ROW_INCHES, min(ROW_INCHES, (style.MAX_FIGURE_HEIGHT - 1.9) / len(rows)))
    font = 8.5 if row_inches >= 0.34 else 7.5
    if ax is None:
        figure, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, 1.9 + row_inches * len(rows)))
    else:
        figure = ax.figure
    client_x, server_x = 0.0, 1.0
    drop = 0.3 * step  # the slant is only for the eye: on loopback, transit takes microseconds
    for lane in (client_x, server_x):
        ax.plot([lane, lane], [positions[0] - 0.8 * step, positions[-1] + 1.2 * step],
                color=style.NEUTRAL, linewidth=2, zorder=1)
    # Colour says who sent it, in every ladder; a line style per connection tells connections apart.
    line_styles = {}
    for row in rows:
        line_styles.setdefault(connection_key(row.segment), style.LINESTYLES[len(line_styles) % 4])
    several = len(line_styles) > 1
    for y, row, note in zip(positions, rows, notes):
        start, end = (client_x, server_x) if row.from_client else (server_x, client_x)
        if row.segment.has("RST"):
            color = style.ERROR
        else:
            color = style.CLIENT if row.from_client else style.SERVER
        ax.annotate("", xy=(end, y + drop), xytext=(start, y),
                    arrowprops=dict(arrowstyle="-|>", color=color, linewidth=1.4,
                                    linestyle=line_styles[connection_key(row.segment)]), zorder=2)
        reset = row.segment.has("RST")
        bold = reset or row.segment.has("SYN") or row.segment.has("FIN") or bool(row.segment.payload)
        label = row.label + (f"  ({note})" if note else "")
        ax.text(0.5, y - 0.04 * step, label, ha="center", va="bottom", fontsize=font,
                color=style.ERROR if reset else "black" if bold else "0.3",
                fontweight="bold" if bold else "normal", zorder=3,
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.8))
    if spacing == "event":
        _mark_long_pauses(ax, positions, times)

    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(positions[-1] + 1.2 * step, positions[0] - 0.8 * step)  # time flows down
    ax.set_xticks([client_x, server_x])
    ax.set_xticklabels([f"client\n{client_name}", f"server\n{server_name}"], fontsize=10)
    ax.xaxis.tick_top()
    if spacing == "event":
        ax.set_yticks(positions)
        ax.set_yticklabels([f"{t:.3f}" for t in times], fontsize=font - 0.5)
        ax.set_ylabel("time since first segment (ms)\none row per segment, not to scale")
    else:
        ax.set_ylabel("time since first segment (ms)")
    for side in ("left", "right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], color=style.CLIENT, label="sent by the client"),
               Line2D([], [], color=style.SERVER, label="sent by the server")]
    if any(row.segment.has("RST") for row in rows):
        handles.append(Line2D([], [], color=style.ERROR, label="reset (RST)"))
    if several:
        ports = {}
        for row in rows:
            key = connection_key(row.segment)
            ports.setdefault(key, row.segment.sport if row.from_client else row.segment.dport)
        handles += [Line2D([], [], color="black", linestyle=line_styles[key], label=f"connection :{port}")
                    for key, port in ports.items()]
    # Under the last arrow, outside the axes: it covers no segment.
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 5),
              fontsize=8, frameon=False, handlelength=2.5)
    ax.set_title(title, fontsize=12, pad=12)
    figure.tight_layout()
    return figure


def _mark_long_pauses(ax, positions, times) -> None:
    """Rows hide real time; write "+40.2 ms" where one gap dwarfs the others."""
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    if not gaps:
        return
    typical = gaps[len(gaps) // 2]
    for i in range(1, len(times)):
        gap = times[i] - times[i - 1]
        if gap >= 5.0 and gap > 10 * typical:  # e.g. a 40 ms delayed ACK
            ax.text(-0.02, positions[i] - 0.55, f"+{gap:.1f} ms", ha="right", va="center",
                    fontsize=8, style="italic", color="0.3")


def plot_messages(rows, client_name="client", server_name="server", ax=None,
                  title="Messages between client and server"):
    """A ladder of messages that are not TCP segments (HTTP/2 frames, say), in the same look.

    `rows` are (milliseconds, from_client, label) tuples, in order; one row per
    message, real times on the axis ticks. Colour says who sent it, as in
    `plot_ladder`. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if not rows:
        raise ValueError("no messages to draw")
    row_inches = max(MIN_ROW_INCHES, min(ROW_INCHES, (style.MAX_FIGURE_HEIGHT - 1.9) / len(rows)))
    font = 8.5 if row_inches >= 0.34 else 7.5
    if ax is None:
        figure, ax = plt.subplots(figsize=(style.FIGURE_WIDTH, 1.9 + row_inches * len(rows)))
    else:
        figure = ax.figure
    for lane in (0.0, 1.0):
        ax.plot([lane, lane], [-0.8, len(rows) + 0.2], color=style.NEUTRAL, linewidth=2, zorder=1)
    for y, (_, from_client, label) in enumerate(rows):
        start, end = (0.0, 1.0) if from_client else (1.0, 0.0)
        colour = style.CLIENT if from_client else style.SERVER
        ax.annotate("", xy=(end, y + 0.3), xytext=(start, y),
                    arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=1.4), zorder=2)
        ax.text(0.5, y - 0.04, label, ha="center", va="bottom", fontsize=font, zorder=3,
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.8))
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(len(rows) + 0.2, -0.8)  # time flows down
    ax.set_xticks([0.0, 1.0])
    ax.set_xticklabels([f"client\n{client_name}", f"server\n{server_name}"], fontsize=10)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{row[0]:.1f}" for row in rows], fontsize=font - 0.5)
    ax.set_ylabel("time since the first message (ms)\none row per message, not to scale")
    for side in ("left", "right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], color=style.CLIENT, label="sent by the client"),
               Line2D([], [], color=style.SERVER, label="sent by the server")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8, frameon=False)
    ax.set_title(title, fontsize=12, pad=12)
    figure.tight_layout()
    return figure
