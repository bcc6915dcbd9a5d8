"""Read and write classic libpcap files, and decode the TCP segments inside them.

Contract: `read_pcap(path)` returns every TCP segment in a capture file as a
`Segment` (other packets are skipped); `write_pcap(path, frames, linktype)` writes
(time, frame bytes) pairs so Wireshark and tcpdump can open them. Decoding is
pure: `decode_frame(frame, linktype)` turns bytes into a `Segment` or None and
touches no file or socket. `relative_sequence_numbers` rewrites seq/ack the way
Wireshark shows them (0 for a SYN, 1 for the first byte after it).

File format: pcap-savefile(5), https://www.tcpdump.org/manpages/pcap-savefile.5.html
Link types: https://www.tcpdump.org/linktypes.html
"""

import dataclasses
import ipaddress
import struct
from typing import Iterable, List, Optional, Tuple

# Link types (the "network" field of the file header) that this module decodes.
LINKTYPE_NULL = 0          # BSD loopback: 4-byte address family, then the IP packet
LINKTYPE_ETHERNET = 1      # Ethernet II: 14-byte header (Linux loopback uses zero MACs)
LINKTYPE_RAW = 101         # the IP packet and nothing before it
LINKTYPE_LINUX_SLL = 113   # Linux "cooked" capture: 16-byte header (tcpdump -i any)

# The magic number tells the byte order of the writer and the timestamp unit.
MAGIC_MICROSECONDS = 0xA1B2C3D4
MAGIC_NANOSECONDS = 0xA1B23C4D

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100
IP_PROTOCOL_TCP = 6
# IPv6 extension headers whose length is (8-octet units + 1), RFC 8200 §4.3-4.6.
IPV6_SKIPPABLE_HEADERS = {0: "hop-by-hop", 43: "routing", 60: "destination options"}

# TCP flag bits, lowest first, RFC 9293 §3.1 (plus ECE/CWR from RFC 3168).
TCP_FLAG_NAMES = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")


def flags_text(bits: int) -> str:
    """Name the TCP flag bits that are set, e.g. 0x12 -> "SYN,ACK"."""
    return ",".join(name for i, name in enumerate(TCP_FLAG_NAMES) if bits & (1 << i))


@dataclasses.dataclass(frozen=True)
class Segment:
    """One TCP segment as seen on the wire; `time` is seconds since the epoch."""

    time: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: str       # e.g. "SYN,ACK"; see flags_text
    window: int      # the raw 16-bit field, before any window scaling
    payload: bytes

    def has(self, flag: str) -> bool:
        """True when the named flag ("SYN", "ACK", ...) is set."""
        return flag in self.flags.split(",")

    @property
    def source(self) -> Tuple[str, int]:
        return (self.src, self.sport)

    @property
    def destination(self) -> Tuple[str, int]:
        return (self.dst, self.dport)


# --- Decoding: link layer -> IP -> TCP -------------------------------------------

def decode_frame(frame: bytes, linktype: int, time: float = 0.0) -> Optional[Segment]:
    """Decode one captured frame; return its TCP segment, or None for anything else."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        # Ethernet II: destination MAC (6), source MAC (6), EtherType (2), IEEE 802.3.
        ethertype, offset = struct.unpack_from("!H", frame, 12)[0], 14
        if ethertype == ETHERTYPE_VLAN and len(frame) >= 18:  # 802.1Q tag: 4 more bytes
            ethertype, offset = struct.unpack_from("!H", frame, 16)[0], 18
        if ethertype not in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
            return None
        packet = frame[offset:]
    elif linktype == LINKTYPE_LINUX_SLL:
        # packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2)
        if len(frame) < 16:
            return None
        packet = frame[16:]
    elif linktype == LINKTYPE_NULL:
        # The 4-byte family is in the byte order of the machine that captured, and
        # AF_INET6 differs between BSDs (24, 28, 30); the IP version nibble is simpler.
        packet = frame[4:]
    elif linktype == LINKTYPE_RAW:
        packet = frame
    else:
        raise ValueError(f"unsupported link type {linktype}")
    return decode_ip(packet, time)


def decode_ip(packet: bytes, time: float = 0.0) -> Optional[Segment]:
    """Decode an IPv4 or IPv6 packet carrying TCP; None for anything else."""
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        # RFC 791 §3.1: IHL is in 32-bit words, so options make the header longer than 20.
        header_length = (packet[0] & 0x0F) * 4
        total_length, flags_and_fragment, protocol = struct.unpack_from("!H2xHxB", packet, 2)
        if protocol != IP_PROTOCOL_TCP or flags_and_fragment & 0x1FFF:
            return None  # not TCP, or a later fragment that has no TCP header
        src, dst = packet[12:16], packet[16:20]
        # Total length, not the frame length: Ethernet pads short frames to 60 bytes.
        tcp = packet[header_length:total_length]
    elif version == 6 and len(packet) >= 40:
        # RFC 8200 §3: fixed 40-byte header; payload length excludes it.
        payload_length, next_header = struct.unpack_from("!HB", packet, 4)
        src, dst = packet[8:24], packet[24:40]
        offset, end = 40, 40 + payload_length
        while next_header in IPV6_SKIPPABLE_HEADERS and offset + 2 <= end:
            next_header, units = packet[offset], packet[offset + 1]
            offset += (units + 1) * 8
        if next_header != IP_PROTOCOL_TCP:
            return None
        tcp = packet[offset:end]
    else:
        return None
    return decode_tcp(tcp, str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst)), time)


def decode_tcp(tcp: bytes, src: str, dst: str, time: float = 0.0) -> Optional[Segment]:
    """Decode a TCP header and payload (RFC 9293 §3.1); None when too short."""
    if len(tcp) < 20:
        return None
    sport, dport, seq, ack, offset_and_flags, window = struct.unpack_from("!HHIIHH", tcp)
    data_offset = (offset_and_flags >> 12) * 4  # header length incl. options, in bytes
    flag_bits = offset_and_flags & 0xFF
    return Segment(time, src, sport, dst, dport, seq, ack, flags_text(flag_bits), window,
                   bytes(tcp[data_offset:]))


# --- Files -------------------------------------------------------------------------

def read_frames(path) -> Tuple[int, List[Tuple[float, bytes]]]:
    """Read a pcap file; return (linktype, [(time, frame bytes), ...])."""
    with open(path, "rb") as file:
        data = file.read()
    if len(data) < 24:
        raise ValueError(f"{path}: too short to be a pcap file")
    for byte_order in ("<", ">"):
        magic = struct.unpack_from(byte_order + "I", data)[0]
        if magic in (MAGIC_MICROSECONDS, MAGIC_NANOSECONDS):
            break
    else:
        raise ValueError(f"{path}: not a classic pcap file (pcapng is not supported)")
    fraction = 1e-6 if magic == MAGIC_MICROSECONDS else 1e-9
    # Global header: magic, version major/minor, thiszone, sigfigs, snaplen, linktype.
    linktype = struct.unpack_from(byte_order + "I", data, 20)[0] & 0xFFFF
    frames, offset = [], 24
    record_header = struct.Struct(byte_order + "IIII")  # seconds, fraction, saved, original
    while offset + record_header.size <= len(data):
        seconds, fractional, saved_length, _ = record_header.unpack_from(data, offset)
        offset += record_header.size
        frames.append((seconds + fractional * fraction, data[offset:offset + saved_length]))
        offset += saved_length
    return linktype, frames


def write_pcap(path, frames: Iterable[Tuple[float, bytes]], linktype: int = LINKTYPE_ETHERNET,
               snaplen: int = 262144) -> None:
    """Write (time, frame bytes) pairs as a little-endian, microsecond pcap file."""
    with open(path, "wb") as file:
        file.write(struct.pack("<IHHiIII", MAGIC_MICROSECONDS, 2, 4, 0, 0, snaplen, linktype))
        for time, frame in frames:
            seconds = int(time)
            microseconds = min(int(round((time - seconds) * 1e6)), 999_999)
            saved = frame[:snaplen]
            file.write(struct.pack("<IIII", seconds, microseconds, len(saved), len(frame)))
            file.write(saved)


def read_pcap(path) -> List[Segment]:
    """Every TCP segment in a pcap file, in file order; other packets are skipped."""
    linktype, frames = read_frames(path)
    segments = (decode_frame(frame, linktype, time) for time, frame in frames)
    return [segment for segment in segments if segment is not None]


# --- Looking at conversations ----------------------------------------------------------

def conversation(segments: Iterable[Segment], port: int) -> List[Segment]:
    """The segments with `port` on either side (one server port, or one connection)."""
    return [s for s in segments if port in (s.sport, s.dport)]


def connection_key(segment: Segment) -> Tuple:
    """The same key for both directions of one TCP connection."""
    return tuple(sorted([segment.source, segment.destination]))


def connections(segments: Iterable[Segment]) -> List[List[Segment]]:
    """Split segments into TCP connections, in order of each one's first segment."""
    grouped = {}
    for segment in segments:
        grouped.setdefault(connection_key(segment), []).append(segment)
    return list(grouped.values())


def client_endpoint(segments: List[Segment]) -> Optional[Tuple[str, int]]:
    """The (address, port) that opened the connection: the sender of a bare SYN.

    Without a SYN in view, guess the side with the higher (ephemeral) port.
    """
    for segment in segments:
        if segment.has("SYN") and not segment.has("ACK"):
            return segment.source
    if not segments:
        return None
    first = segments[0]
    return first.source if first.sport > first.dport else first.destination


def relative_sequence_numbers(segments: Iterable[Segment]) -> List[Segment]:
    """Rewrite seq and ack relative to each side's initial sequence number (ISN).

    As in Wireshark, a SYN has seq=0 and the first data byte seq=1. A side whose SYN
    was not captured counts from its first segment. Applying it twice changes nothing.
    """
    segments = list(segments)
    base = {}  # (source, destination) -> the ISN of that direction
    for segment in segments:  # a first guess for directions that never show a SYN
        base.setdefault((segment.source, segment.destination), segment.seq - 1)
    rewritten = []
    for segment in segments:
        direction = (segment.source, segment.destination)
        if segment.has("SYN"):  # a new connection on the same ports starts counting again
            base[direction] = segment.seq
        # Sequence numbers are 32-bit and wrap around (RFC 9293 §3.4).
        seq = (segment.seq - base[direction]) % 2**32
        reverse = (segment.destination, segment.source)
        ack = (segment.ack - base[reverse]) % 2**32 if segment.has("ACK") and reverse in base else segment.ack
        rewritten.append(dataclasses.replace(segment, seq=seq, ack=ack))
    return rewritten


def reassemble(segments: Iterable[Segment], sender: Tuple[str, int]) -> bytes:
    """The bytes `sender` (address, port) sent, in sequence order, each byte once.

    Retransmitted bytes are kept once; a gap (a segment the capture missed) is skipped.
    """
    sent = [s for s in relative_sequence_numbers(segments) if s.source == sender and s.payload]
    data, next_seq = bytearray(), None
    for segment in sorted(sent, key=lambda s: s.seq):
        if next_seq is None:
            next_seq = segment.seq
        already_have = next_seq - segment.seq  # > 0 when this overlaps what we have
        if already_have < len(segment.payload):
            data += segment.payload[max(already_have, 0):]
            next_seq = segment.seq + len(segment.payload)
    return bytes(data)
