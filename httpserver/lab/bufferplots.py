"""One big send seen from both ends: how far the receiver has read while the sender waits.

Contract: `plot_bytes_read(sender, receiver, ax)` draws, on one time axis in
milliseconds, the sender's one `sendall` as a bar from its call to its return
and, below it, the bytes the receiver has read so far: a step per `recv`, a dot
where each call returned. At the moment `sendall` returns, a bracket marks the
bytes that were not yet read: they sat in the kernel's buffers. `sender` and
`receiver` are `wiretap.Tap`s. Returns the figure; matplotlib is imported
inside the function.
"""

from . import style
from .wiretap import RECEIVED, SENT, human_size


def plot_bytes_read(sender, receiver, ax, title="One sendall, and the receiver's recv calls"):
    """The figure described in the module's docstring."""
    (send,) = [event for event in sender.events if event.direction == SENT]
    reads = [event for event in receiver.events if event.direction == RECEIVED and event.size]
    origin = min([send.started] + [event.started for event in reads])

    def ms(moment):
        return (moment - origin) * 1000

    kib = 1024
    total, so_far, times, amounts = send.size / kib, 0, [0.0], [0.0]
    for event in reads:
        so_far += event.size / kib
        times.append(ms(event.time))
        amounts.append(so_far)
    ax.step(times, amounts, where="post", color=style.SERVER, linewidth=1.5)
    ax.plot(times[1:], amounts[1:], "o", color=style.SERVER, markersize=4, markeredgecolor="black",
            markeredgewidth=0.4, label=f"bytes the receiver has read ({len(reads)} recv calls)")
    ax.barh(total * 1.1, ms(send.time) - ms(send.started), left=ms(send.started), height=total * 0.06,
            color=style.CLIENT, label=f"sendall({human_size(send.size)}) waiting for room")
    returned = ms(send.time)
    ax.axvline(returned, color=style.NEUTRAL, linestyle="--", linewidth=1)
    read_by_then = max([amount for moment, amount in zip(times, amounts) if moment <= returned], default=0)
    ax.annotate("", xy=(returned, total), xytext=(returned, read_by_then),
                arrowprops=dict(arrowstyle="<->", color=style.ERROR, linewidth=1.2))
    end = max(times[-1], returned)
    ax.text(end * 1.03, (total + read_by_then) / 2, f"not yet read when sendall\nreturned (dashed line): "
            f"{total - read_by_then:,.0f} KiB,\nwaiting in the kernel's buffers", color=style.ERROR,
            fontsize=9, va="center", ha="left")
    ax.axhline(total, color=style.NEUTRAL, linewidth=0.8, linestyle=":")
    ax.set_xlim(0, end * 1.5)  # room on the right for the words
    ax.set_ylim(0, total * 1.2)
    ax.set_xlabel("time since the first call began (ms)")
    ax.set_ylabel("bytes (KiB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    style.legend_below(ax, columns=2)
    return ax.figure
