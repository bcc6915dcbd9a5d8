"""Split one direction of a TLS connection into records and name what is visible.

Contract: `split_records(data)` takes the bytes one side sent (the TCP payloads of
one direction, concatenated in order: a record may span segments and a segment may
hold several records) and returns a `Record` for each record header found. A last
record cut short is returned with `complete == False`. `describe(record)` gives one
line such as "Handshake ClientHello (SNI localhost)". Pure functions: no sockets.

What an observer can read: the 5-byte record header always, and the handshake
messages until that side switches to encryption. In TLS 1.3 that happens right
after ServerHello, so the certificate, Finished and all HTTP bytes appear as
ApplicationData (RFC 8446 §5.2).

Layouts: record header RFC 8446 §5.1 (same as RFC 5246 §6.2.1); handshake header
RFC 8446 §4; ClientHello/ServerHello RFC 8446 §4.1.2-4.1.3; server_name RFC 6066 §3.
"""

import dataclasses
import struct
from typing import List, Optional

CONTENT_TYPES = {20: "ChangeCipherSpec", 21: "Alert", 22: "Handshake", 23: "ApplicationData"}

HANDSHAKE_TYPES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate",
    12: "ServerKeyExchange", 13: "CertificateRequest", 14: "ServerHelloDone",
    15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished", 24: "KeyUpdate",
}

VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
            0x0304: "TLS 1.3"}

ALERT_DESCRIPTIONS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
                      40: "handshake_failure", 42: "bad_certificate", 46: "certificate_unknown",
                      48: "unknown_ca", 70: "protocol_version", 80: "internal_error",
                      112: "unrecognized_name"}

EXTENSION_SERVER_NAME = 0          # RFC 6066 §3
EXTENSION_SUPPORTED_VERSIONS = 43  # RFC 8446 §4.2.1: how a TLS 1.3 ServerHello says "1.3"

RECORD_HEADER = struct.Struct("!BHH")  # content type, legacy version, length


@dataclasses.dataclass(frozen=True)
class Record:
    """One TLS record: its header fields and the bytes after the header."""

    content_type: int
    version: int
    length: int          # from the header; len(fragment) is less when incomplete
    fragment: bytes
    encrypted: bool      # sent after this side's ChangeCipherSpec, so unreadable

    @property
    def complete(self) -> bool:
        return len(self.fragment) == self.length

    @property
    def type_name(self) -> str:
        return CONTENT_TYPES.get(self.content_type, f"type {self.content_type}")

    @property
    def version_name(self) -> str:
        return VERSIONS.get(self.version, hex(self.version))

    @property
    def handshake_types(self) -> List[str]:
        """Names of the handshake messages that start in this record, if readable."""
        if self.content_type != 22 or self.encrypted:
            return []
        names, offset = [], 0
        while offset + 4 <= len(self.fragment):  # type (1 byte) + length (3 bytes)
            message_type = self.fragment[offset]
            length = int.from_bytes(self.fragment[offset + 1:offset + 4], "big")
            names.append(HANDSHAKE_TYPES.get(message_type, f"handshake {message_type}"))
            offset += 4 + length
        return names

    @property
    def server_name(self) -> Optional[str]:
        """The SNI host name from a ClientHello, or None."""
        extensions = self._hello_extensions(1)
        data = extensions.get(EXTENSION_SERVER_NAME)
        if not data or len(data) < 5:
            return None
        # server_name_list length (2), then entries of name type (1), length (2), name.
        name_type, length = struct.unpack_from("!BH", data, 2)
        return data[5:5 + length].decode("ascii", "replace") if name_type == 0 else None

    @property
    def negotiated_version(self) -> Optional[str]:
        """The version a ServerHello chose: supported_versions if present (TLS 1.3)."""
        if self.handshake_types[:1] != ["ServerHello"] or len(self.fragment) < 6:
            return None
        chosen = self._hello_extensions(2).get(EXTENSION_SUPPORTED_VERSIONS)
        version_bytes = chosen[:2] if chosen else self.fragment[4:6]  # else legacy_version
        version = struct.unpack("!H", version_bytes)[0]
        return VERSIONS.get(version, hex(version))

    def _hello_extensions(self, hello_type: int) -> dict:
        """{extension type: data} of a ClientHello (1) or ServerHello (2) at the start."""
        body = self.fragment
        if self.handshake_types[:1] != [HANDSHAKE_TYPES[hello_type]]:
            return {}
        offset = 4 + 2 + 32  # handshake header, legacy_version, random
        try:
            offset += 1 + body[offset]                                      # session id
            if hello_type == 1:
                offset += 2 + struct.unpack_from("!H", body, offset)[0]     # cipher suites
                offset += 1 + body[offset]                                  # compression methods
            else:
                offset += 2 + 1                                             # cipher suite, compression
            end = offset + 2 + struct.unpack_from("!H", body, offset)[0]
            offset += 2
            extensions = {}
            while offset + 4 <= min(end, len(body)):
                kind, length = struct.unpack_from("!HH", body, offset)
                extensions[kind] = body[offset + 4:offset + 4 + length]
                offset += 4 + length
            return extensions
        except (IndexError, struct.error):  # a hello cut short: report what we have
            return {}


def split_records(data: bytes) -> List[Record]:
    """Split the bytes one side sent into TLS records, in order."""
    records, offset, encrypted = [], 0, False
    while offset + RECORD_HEADER.size <= len(data):
        content_type, version, length = RECORD_HEADER.unpack_from(data, offset)
        if content_type not in CONTENT_TYPES or version >> 8 != 3:
            break  # not TLS (or we lost the record boundary): stop rather than guess
        start = offset + RECORD_HEADER.size
        fragment = bytes(data[start:start + length])
        records.append(Record(content_type, version, length, fragment, encrypted))
        if content_type == 20:  # from here on this side's handshake messages are encrypted
            encrypted = True
        offset = start + length
    return records


def looks_like_tls(data: bytes) -> bool:
    """True when data starts with a plausible TLS record header."""
    return (len(data) >= RECORD_HEADER.size and data[0] in CONTENT_TYPES and data[1] == 3
            and data[2] <= 4)


def describe(record: Record) -> str:
    """One line for a record, e.g. "Handshake ClientHello (SNI localhost), 512 bytes"."""
    detail = ""
    if record.handshake_types:
        detail = " " + ", ".join(record.handshake_types)
        if record.server_name:
            detail += f" (SNI {record.server_name})"
        if record.negotiated_version:
            detail += f" ({record.negotiated_version})"
    elif record.content_type == 22 and record.encrypted:
        detail = " (encrypted)"
    elif record.content_type == 21 and not record.encrypted and len(record.fragment) >= 2:
        level = {1: "warning", 2: "fatal"}.get(record.fragment[0], "level ?")
        detail = f" {level} {ALERT_DESCRIPTIONS.get(record.fragment[1], record.fragment[1])}"
    cut = "" if record.complete else f" (only {len(record.fragment)} captured)"
    return f"{record.type_name}{detail}, {record.length} bytes{cut}"
