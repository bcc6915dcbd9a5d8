"""Live packet capture on the loopback interface, with recorded captures as a fallback.

Contract: `with capture(port=4221) as cap: ...` records the TCP segments to or from
that port on loopback while the block runs; afterwards `cap.segments` holds them and
`cap.save(path)` writes a pcap file. Capturing needs Linux and root or CAP_NET_RAW;
`capture_available()` says whether it will work, and why not, without raising.
`live_or_recorded(make_traffic, name)` captures live when it can and otherwise
loads `data/captures/{name}.pcap`, with a note saying which one you are looking at.

Only the loopback interface "lo" is ever opened. The recording thread never prints,
stops within a bounded time, and keeps at most `max_frames` frames.
"""

import platform
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from .pcap import LINKTYPE_ETHERNET, Segment, decode_frame, read_pcap, write_pcap

LOOPBACK_INTERFACE = "lo"
ETH_P_ALL = 0x0003  # every protocol; <linux/if_ether.h>
CAPTURES_DIR = Path(__file__).resolve().parents[2] / "data" / "captures"

# Kernel receive timestamps: the recording thread may wait for the GIL for
# milliseconds, so time.time() after recv would blur the gaps between packets.
# SO_TIMESTAMPNS is 35 in asm-generic/socket.h; a few architectures use other
# numbers, so ask for it only where that value holds and fall back to time.time().
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@ll")
TIMESTAMP_MACHINES = {"x86_64", "amd64", "i386", "i686", "aarch64", "arm64", "armv7l",
                      "armv6l", "riscv64", "ppc64le", "s390x"}


class CaptureUnavailable(RuntimeError):
    """Live capture cannot run here; the message says why in one line."""


def _open_loopback_socket():
    """A raw AF_PACKET socket bound to loopback; raises CaptureUnavailable."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "AF_PACKET"):
        raise CaptureUnavailable(f"live capture uses Linux AF_PACKET sockets; this is {platform.system()}")
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    except PermissionError:
        raise CaptureUnavailable("live capture needs root or the CAP_NET_RAW capability") from None
    except OSError as error:
        raise CaptureUnavailable(f"cannot open a packet socket: {error}") from None
    try:
        sock.bind((LOOPBACK_INTERFACE, 0))
    except OSError as error:
        sock.close()
        raise CaptureUnavailable(f"cannot bind to the loopback interface: {error}") from None
    return sock


def capture_available() -> Tuple[bool, str]:
    """(True, "") when live loopback capture works here, else (False, the reason)."""
    try:
        _open_loopback_socket().close()
    except CaptureUnavailable as reason:
        return False, str(reason)
    return True, ""


class LoopbackCapture:
    """Records loopback frames in a background thread between start() and stop()."""

    def __init__(self, port: Optional[int] = None, max_seconds: float = 60.0,
                 max_frames: int = 10_000):
        self.port = port  # None keeps every TCP segment; may be set before reading .segments
        self.max_seconds = max_seconds
        self.max_frames = max_frames
        self.frames: List[Tuple[float, bytes]] = []
        self.error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._socket = None

    def start(self) -> "LoopbackCapture":
        """Open the socket now (so nothing sent after start() is missed) and start recording."""
        self._socket = _open_loopback_socket()
        try:  # a large buffer, so a busy machine's other loopback traffic does not push ours out
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        except OSError:
            pass
        self._socket.settimeout(0.05)  # how often the thread checks whether to stop
        kernel_time = platform.machine().lower() in TIMESTAMP_MACHINES
        if kernel_time:
            self._socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._thread = threading.Thread(target=self._record, args=(kernel_time,),
                                        name="loopback-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self, settle: float = 0.1) -> None:
        """Wait `settle` seconds for the last packets, then stop and join the thread."""
        if self._thread is None:
            return
        time.sleep(settle)
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._socket.close()
        self._thread = None

    def _record(self, kernel_time: bool) -> None:
        deadline, draining = time.monotonic() + self.max_seconds, False
        try:
            while time.monotonic() < deadline and len(self.frames) < self.max_frames:
                if self._stop.is_set() and not draining:  # drain the queue, for at most 1 s
                    deadline, draining = min(deadline, time.monotonic() + 1.0), True
                try:
                    frame, ancillary, _, address = self._socket.recvmsg(65535, 64)
                except socket.timeout:
                    if self._stop.is_set():  # the queue is empty: done
                        return
                    continue
                # Loopback shows each packet twice: leaving (PACKET_OUTGOING) and
                # arriving (PACKET_HOST). Keep the arriving copy, as tcpdump does.
                if address[2] == socket.PACKET_OUTGOING:
                    continue
                stamp = _kernel_timestamp(ancillary) if kernel_time else None
                segment = decode_frame(frame, LINKTYPE_ETHERNET)
                if segment is not None and self._wanted(segment):
                    self.frames.append((stamp or time.time(), frame))
        except Exception as error:  # kept for the caller: a thread must never print
            self.error = error

    def _wanted(self, segment: Segment) -> bool:
        return self.port is None or self.port in (segment.sport, segment.dport)

    @property
    def segments(self) -> List[Segment]:
        """The recorded TCP segments (with `port` on either side, when set)."""
        decoded = (decode_frame(frame, LINKTYPE_ETHERNET, stamp) for stamp, frame in self.frames)
        return [s for s in decoded if s is not None and self._wanted(s)]

    def save(self, path) -> None:
        """Write the recorded frames (only those matching `port`) as a pcap file."""
        kept = [(t, f) for t, f in self.frames if self._wanted(decode_frame(f, LINKTYPE_ETHERNET))]
        write_pcap(path, kept, LINKTYPE_ETHERNET)

    def __enter__(self) -> "LoopbackCapture":
        return self.start()

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.stop()
        if self.error is not None and exc_type is None:
            raise RuntimeError(f"the capture thread failed: {self.error!r}") from self.error


def _kernel_timestamp(ancillary) -> Optional[float]:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(data)
            return seconds + nanoseconds / 1e9
    return None


def capture(port: Optional[int] = None, max_seconds: float = 60.0) -> LoopbackCapture:
    """A context manager that captures loopback TCP traffic on `port` while it is open."""
    return LoopbackCapture(port=port, max_seconds=max_seconds)


def load_recorded(name: str) -> List[Segment]:
    """The segments of the recorded capture data/captures/{name}.pcap."""
    path = CAPTURES_DIR / f"{name}.pcap"
    if not path.exists():
        choices = ", ".join(sorted(p.stem for p in CAPTURES_DIR.glob("*.pcap")))
        raise FileNotFoundError(f"no recorded capture {path}; available: {choices}")
    return read_pcap(path)


def live_or_recorded(make_traffic: Callable[[], Optional[int]], recorded_name: str,
                     ) -> Tuple[List[Segment], str]:
    """Run make_traffic() under a live capture; return (segments, a note saying which).

    make_traffic returns the server port to keep (or None for all loopback TCP). It
    always runs; when live capture is unavailable, the recorded capture is returned.
    """
    available, reason = capture_available()
    if not available:
        make_traffic()
        segments = load_recorded(recorded_name)
        return segments, (f"Recorded capture data/captures/{recorded_name}.pcap "
                          f"({len(segments)} TCP segments); live capture unavailable: {reason}.")
    with capture() as cap:
        cap.port = make_traffic()
    where = f"port {cap.port}" if cap.port is not None else "all TCP"
    segments = cap.segments
    return segments, f"Live capture on loopback ({where}): {len(segments)} TCP segments."
