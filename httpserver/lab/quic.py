"""QUIC packets in a capture, as anyone on the path sees them (RFC 9000 §17).

Contract: `read_datagrams(path)` reads the UDP datagrams of a pcap file (IPv4,
the link types `pcap.read_frames` reads); `split_packets(payload)` cuts one
datagram into its QUIC packets (a datagram may hold several, "coalesced",
§12.2), reading only the parts that are never encrypted: the long header's
type, version and connection IDs, or the short header's first byte.
`describe(packet)` says it in one line. Everything else is encrypted.
"""

from typing import NamedTuple

from .pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW, read_frames

LONG_TYPES = {0: "Initial", 1: "0-RTT", 2: "Handshake", 3: "Retry"}  # §17.2, QUIC version 1
IP_OFFSETS = {LINKTYPE_ETHERNET: 14, LINKTYPE_LINUX_SLL: 16, LINKTYPE_NULL: 4, LINKTYPE_RAW: 0}


class Datagram(NamedTuple):
    time: float
    source: tuple
    destination: tuple
    payload: bytes


class Packet(NamedTuple):
    kind: str  # "Initial", "Handshake", "0-RTT", "Retry" or "1-RTT" (short header)
    version: int  # 0 for a short header, which does not carry it
    destination_id: bytes
    source_id: bytes
    length: int  # bytes of the packet, header included


def read_datagrams(path):
    """Every IPv4 UDP datagram in a pcap file."""
    linktype, frames = read_frames(path)
    datagrams = []
    for time, frame in frames:
        packet = frame[IP_OFFSETS[linktype]:]
        if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != 17:  # IPv4, protocol 17: UDP
            continue
        header = (packet[0] & 0x0F) * 4
        udp = packet[header:]
        source = (".".join(map(str, packet[12:16])), int.from_bytes(udp[0:2], "big"))
        destination = (".".join(map(str, packet[16:20])), int.from_bytes(udp[2:4], "big"))
        datagrams.append(Datagram(time, source, destination, bytes(udp[8:int.from_bytes(udp[4:6], "big")])))
    return datagrams


def read_varint(data, offset):
    """(value, next offset) of a QUIC variable-length integer (§16): the first two bits say 1, 2, 4 or 8 bytes."""
    size = 1 << (data[offset] >> 6)
    value = int.from_bytes(data[offset:offset + size], "big") & ((1 << (8 * size - 2)) - 1)
    return value, offset + size


def split_packets(payload, id_length=8):
    """The QUIC packets in one datagram. A short header does not say how long its
    destination connection ID is (the receiver knows): `id_length` is assumed."""
    packets, offset = [], 0
    while offset < len(payload):
        first = payload[offset]
        if not first & 0x40:  # every packet has the fixed bit set (§17.2): what follows is padding
            break
        if not first & 0x80:  # short header (§17.3): the rest of the datagram is one packet
            packets.append(Packet("1-RTT", 0, payload[offset + 1:offset + 1 + id_length], b"",
                                  len(payload) - offset))
            break
        version = int.from_bytes(payload[offset + 1:offset + 5], "big")
        at = offset + 5
        destination = payload[at + 1:at + 1 + payload[at]]
        at += 1 + payload[at]
        source = payload[at + 1:at + 1 + payload[at]]
        at += 1 + payload[at]
        kind = LONG_TYPES[(first >> 4) & 0x3]
        if kind == "Retry":
            packets.append(Packet(kind, version, destination, source, len(payload) - offset))
            break
        if kind == "Initial":
            token_length, at = read_varint(payload, at)
            at += token_length
        length, at = read_varint(payload, at)
        packets.append(Packet(kind, version, destination, source, at + length - offset))
        offset = at + length
    return packets


def describe(packet):
    """E.g. "Initial v1 DCID 8f3a… SCID 21c0… 1162 B", or "1-RTT (short header) 41 B"."""
    if packet.kind == "1-RTT":
        return f"1-RTT (short header) {packet.length} B"
    return (f"{packet.kind} v{packet.version} DCID {packet.destination_id.hex()[:8]}… "
            f"SCID {packet.source_id.hex()[:8]}… {packet.length} B")
