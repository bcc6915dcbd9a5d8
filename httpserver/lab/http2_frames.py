"""HTTP/2 frames as a reader sees them on the wire (RFC 9113 §4.1, §6).

Contract: `split_frames(data)` cuts the bytes of one direction of an HTTP/2
connection (the client's may start with the 24-byte connection preface) into
`Frame`s: type, flags, stream id and payload, from the 9-byte header every frame
starts with. `describe(frame)` says what a frame means in one line
("SETTINGS MAX_CONCURRENT_STREAMS=100 …", "WINDOW_UPDATE +983041"). Header
blocks stay HPACK-encoded here; `hpack_size` and the chapter decode them.
Written from the RFC for reading, apart from the h2 library the server uses, so
the two can be checked against each other.
"""

from typing import NamedTuple

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # §3.4: what an HTTP/2 client sends first
HEADER_SIZE = 9

# §6 and the IANA registry: type number → name.
FRAME_TYPES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
               5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}
# The flags each type defines (bit → name); other bits are unused and ignored (§4.1).
FLAGS = {
    "DATA": {0x1: "END_STREAM", 0x8: "PADDED"},
    "HEADERS": {0x1: "END_STREAM", 0x4: "END_HEADERS", 0x8: "PADDED", 0x20: "PRIORITY"},
    "SETTINGS": {0x1: "ACK"},
    "PING": {0x1: "ACK"},
    "CONTINUATION": {0x4: "END_HEADERS"},
    "PUSH_PROMISE": {0x4: "END_HEADERS", 0x8: "PADDED"},
}
SETTINGS = {1: "HEADER_TABLE_SIZE", 2: "ENABLE_PUSH", 3: "MAX_CONCURRENT_STREAMS",
            4: "INITIAL_WINDOW_SIZE", 5: "MAX_FRAME_SIZE", 6: "MAX_HEADER_LIST_SIZE",
            8: "ENABLE_CONNECT_PROTOCOL", 9: "NO_RFC7540_PRIORITIES"}
ERROR_CODES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
               8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
               12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}


class Frame(NamedTuple):
    """One frame: the fields of its 9-byte header, and the payload that follows."""

    length: int
    type: int
    flags: int
    stream_id: int
    payload: bytes

    @property
    def type_name(self):
        return FRAME_TYPES.get(self.type, f"type {self.type:#x}")

    @property
    def flag_names(self):
        names = FLAGS.get(self.type_name, {})
        return [name for bit, name in names.items() if self.flags & bit]


def parse_frame_header(header):
    """(length, type, flags, stream id) from the 9 bytes that start a frame (§4.1).

    Length is 24 bits, type and flags 8 bits each, then one reserved bit and a
    31-bit stream identifier, all big-endian.
    """
    if len(header) < HEADER_SIZE:
        raise ValueError(f"a frame header has {HEADER_SIZE} bytes, got {len(header)}")
    length = int.from_bytes(header[0:3], "big")
    stream_id = int.from_bytes(header[5:9], "big") & 0x7FFF_FFFF  # the reserved bit is ignored
    return length, header[3], header[4], stream_id


def split_frames(data):
    """Every complete frame in `data` (after the client's preface, if it starts with one)."""
    data = bytes(data)
    if data.startswith(PREFACE):
        data = data[len(PREFACE):]
    frames, offset = [], 0
    while offset + HEADER_SIZE <= len(data):
        length, kind, flags, stream_id = parse_frame_header(data[offset:offset + HEADER_SIZE])
        end = offset + HEADER_SIZE + length
        if end > len(data):
            break  # the rest has not arrived (or was cut off)
        frames.append(Frame(length, kind, flags, stream_id, data[offset + HEADER_SIZE:end]))
        offset = end
    return frames


def settings_of(frame):
    """{name: value} of a SETTINGS frame's payload: 6 bytes per setting (§6.5.1)."""
    payload = frame.payload
    return {SETTINGS.get(int.from_bytes(payload[i:i + 2], "big"), f"setting {payload[i:i + 2].hex()}"):
            int.from_bytes(payload[i + 2:i + 6], "big") for i in range(0, len(payload) - 5, 6)}


def error_name(code):
    return ERROR_CODES.get(code, f"error {code:#x}")


def describe(frame):
    """One line saying what a frame is and carries."""
    name, payload = frame.type_name, frame.payload
    flags = f" [{', '.join(frame.flag_names)}]" if frame.flag_names else ""
    where = f" stream {frame.stream_id}"
    if name == "SETTINGS":
        settings = settings_of(frame)
        detail = " ".join(f"{key}={value}" for key, value in settings.items()) if settings else ""
        return f"SETTINGS{flags} {detail}".rstrip()
    if name == "WINDOW_UPDATE":
        increment = int.from_bytes(payload[:4], "big") & 0x7FFF_FFFF
        return f"WINDOW_UPDATE{where if frame.stream_id else ' connection'} +{increment}"
    if name == "RST_STREAM":
        return f"RST_STREAM{where} {error_name(int.from_bytes(payload[:4], 'big'))}"
    if name == "GOAWAY":
        last = int.from_bytes(payload[:4], "big") & 0x7FFF_FFFF
        return f"GOAWAY last stream {last} {error_name(int.from_bytes(payload[4:8], 'big'))}"
    if name == "PING":
        return f"PING{flags} {payload.hex()}"
    if name in ("HEADERS", "CONTINUATION"):
        return f"{name}{where}{flags} {frame.length} bytes of HPACK"
    if name == "DATA":
        return f"DATA{where}{flags} {frame.length} bytes"
    return f"{name}{where}{flags} {frame.length} bytes"


def frame_bytes(kind, flags, stream_id, payload=b""):
    """The wire form of a frame, for writing frames by hand (hostile ones included)."""
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags])
            + (stream_id & 0x7FFF_FFFF).to_bytes(4, "big") + payload)
