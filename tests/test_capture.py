"""Packet capture: pcap files, frame decoding, TLS records, ladders, and live loopback capture.

Offline tests build frames by hand (an oracle independent of the decoder) and use
the recorded captures in data/captures/. Live tests skip, with the reason, where
capture_available() says no; their traffic stays on 127.0.0.1 and every thread
they start is joined.
"""

import ipaddress
import socket
import ssl
import struct
import threading
from dataclasses import replace

import pytest

from httpserver.lab import capture as capture_module
from httpserver.lab.capture import capture, capture_available, live_or_recorded, load_recorded
from httpserver.lab.ladder import ladder_text, payload_summary, plot_ladder
from httpserver.lab.pcap import (
    LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW, Segment, client_endpoint,
    connections, conversation, decode_frame, flags_text, read_frames, read_pcap, reassemble,
    relative_sequence_numbers, write_pcap,
)
from httpserver.lab.tlsrecords import describe, split_records

LIVE, WHY_NOT_LIVE = capture_available()
live = pytest.mark.skipif(not LIVE, reason=f"live capture unavailable: {WHY_NOT_LIVE}")
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


# --- Frames built by hand --------------------------------------------------------------

def tcp_bytes(sport, dport, seq, ack, flags, payload=b"", options=b"", window=65535):
    options += b"\x00" * (-len(options) % 4)  # pad options to whole 32-bit words
    offset_words = (20 + len(options)) // 4
    header = struct.pack("!HHIIHHHH", sport, dport, seq, ack, (offset_words << 12) | flags,
                         window, 0, 0)
    return header + options + payload


def ipv4_bytes(src, dst, tcp, options=b""):
    header_length = 20 + len(options)
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | header_length // 4, 0, header_length + len(tcp),
                         1, 0x4000, 64, 6, 0, ipaddress.ip_address(src).packed,
                         ipaddress.ip_address(dst).packed)
    return header + options + tcp


def ipv6_bytes(src, dst, tcp, hop_by_hop=False):
    extension = bytes([6, 0]) + b"\x01\x04\x00\x00\x00\x00" if hop_by_hop else b""  # 8 bytes, PadN
    next_header = 0 if hop_by_hop else 6
    header = struct.pack("!IHBB16s16s", 6 << 28, len(extension) + len(tcp), next_header, 64,
                         ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    return header + extension + tcp


def ethernet_bytes(packet, ethertype=0x0800):
    frame = b"\x00" * 12 + struct.pack("!H", ethertype) + packet
    return frame + b"\x00" * (60 - len(frame))  # Ethernet pads short frames: must be ignored


MSS_OPTION = b"\x02\x04\xff\xd7"   # kind 2, length 4, MSS 65495
TIMESTAMPS_OPTION = b"\x01\x01\x08\x0a" + b"\x00" * 8


def handshake_frames():
    """A hand-built connection: handshake, one request, one response, teardown."""
    c, s = ("127.0.0.1", 50000), ("127.0.0.1", 8080)
    client_isn, server_isn = 2**32 - 2, 1000  # the client's numbers wrap around 2**32
    steps = [
        (c, s, client_isn, 0, SYN, b""),
        (s, c, server_isn, client_isn + 1, SYN | ACK, b""),
        (c, s, client_isn + 1, server_isn + 1, ACK, b""),
        (c, s, client_isn + 1, server_isn + 1, PSH | ACK, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        (s, c, server_isn + 1, client_isn + 28, PSH | ACK, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        (c, s, client_isn + 28, server_isn + 39, FIN | ACK, b""),
        (s, c, server_isn + 39, client_isn + 29, FIN | ACK, b""),
        (c, s, client_isn + 29, server_isn + 40, ACK, b""),
    ]
    frames = []
    for i, (source, destination, seq, ack, flags, payload) in enumerate(steps):
        tcp = tcp_bytes(source[1], destination[1], seq % 2**32, ack % 2**32, flags, payload)
        frame = ethernet_bytes(ipv4_bytes(source[0], destination[0], tcp))
        frames.append((1700000000.25 + i * 0.001, frame))
    return frames


# --- pcap files and decoding ----------------------------------------------------------------

def test_flags_text_names_bits_in_wireshark_order():
    assert flags_text(SYN | ACK) == "SYN,ACK"
    assert flags_text(FIN | PSH | ACK) == "FIN,PSH,ACK"
    assert flags_text(0) == ""


def test_write_then_read_round_trip(tmp_path):
    frames = handshake_frames()
    path = tmp_path / "round_trip.pcap"
    write_pcap(path, frames, LINKTYPE_ETHERNET)
    linktype, read_back = read_frames(path)
    assert linktype == LINKTYPE_ETHERNET
    assert [frame for _, frame in read_back] == [frame for _, frame in frames]
    assert all(abs(a - b) < 1e-6 for (a, _), (b, _) in zip(read_back, frames))
    segments = read_pcap(path)
    assert [s.flags for s in segments] == ["SYN", "SYN,ACK", "ACK", "PSH,ACK", "PSH,ACK",
                                           "FIN,ACK", "FIN,ACK", "ACK"]
    assert segments[3].payload.startswith(b"GET / HTTP/1.1")


def test_reads_big_endian_nanosecond_files(tmp_path):
    packet = ipv4_bytes("10.0.0.1", "10.0.0.2", tcp_bytes(1234, 80, 7, 0, SYN))
    path = tmp_path / "big_endian.pcap"
    with open(path, "wb") as file:
        file.write(struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        file.write(struct.pack(">IIII", 10, 500_000_000, len(packet), len(packet)) + packet)
    [segment] = read_pcap(path)
    assert segment.time == pytest.approx(10.5)
    assert (segment.src, segment.sport, segment.dst, segment.dport) == ("10.0.0.1", 1234, "10.0.0.2", 80)


def test_decodes_ipv4_and_tcp_options_and_ignores_ethernet_padding():
    tcp = tcp_bytes(40000, 443, 123456, 0, SYN, options=MSS_OPTION + TIMESTAMPS_OPTION, window=64240)
    ip_options = b"\x01\x01\x01\x00"  # four bytes of NOP/EOL options: IHL = 6 words
    segment = decode_frame(ethernet_bytes(ipv4_bytes("192.0.2.1", "192.0.2.2", tcp, ip_options)),
                           LINKTYPE_ETHERNET, time=3.0)
    assert segment == Segment(3.0, "192.0.2.1", 40000, "192.0.2.2", 443, 123456, 0, "SYN", 64240, b"")


def test_decodes_ipv6_with_a_hop_by_hop_header():
    tcp = tcp_bytes(50000, 8080, 1, 2, PSH | ACK, payload=b"hello", options=TIMESTAMPS_OPTION)
    for hop_by_hop in (False, True):
        frame = ethernet_bytes(ipv6_bytes("::1", "2001:db8::2", tcp, hop_by_hop), ethertype=0x86DD)
        segment = decode_frame(frame, LINKTYPE_ETHERNET)
        assert (segment.src, segment.dst, segment.flags, segment.payload) == ("::1", "2001:db8::2", "PSH,ACK", b"hello")


def test_decodes_every_link_type_and_skips_what_is_not_tcp():
    packet = ipv4_bytes("127.0.0.1", "127.0.0.1", tcp_bytes(1, 2, 3, 4, ACK, b"x"))
    link_headers = {
        LINKTYPE_NULL: struct.pack("<I", 2),                      # AF_INET, little-endian host
        LINKTYPE_RAW: b"",
        LINKTYPE_LINUX_SLL: struct.pack("!HHH8sH", 0, 772, 6, b"", 0x0800),
        LINKTYPE_ETHERNET: b"\x00" * 12 + b"\x08\x00",
    }
    for linktype, header in link_headers.items():
        assert decode_frame(header + packet, linktype).payload == b"x", linktype
    udp = bytearray(packet)
    udp[9] = 17  # protocol field: UDP
    assert decode_frame(bytes(udp), LINKTYPE_RAW) is None
    assert decode_frame(b"\x00" * 12 + b"\x08\x06" + b"\x00" * 28, LINKTYPE_ETHERNET) is None  # ARP


def test_relative_sequence_numbers_read_like_wireshark_even_across_wraparound(tmp_path):
    path = tmp_path / "c.pcap"
    write_pcap(path, handshake_frames())
    relative = relative_sequence_numbers(read_pcap(path))
    assert [(s.seq, s.ack) for s in relative] == [(0, 0), (0, 1), (1, 1), (1, 1), (1, 28),
                                                  (28, 39), (39, 29), (29, 40)]
    assert relative_sequence_numbers(relative) == relative  # applying twice changes nothing


def test_conversations_and_reassembly(tmp_path):
    path = tmp_path / "c.pcap"
    write_pcap(path, handshake_frames())
    segments = read_pcap(path)
    assert conversation(segments, 8080) == segments and conversation(segments, 9999) == []
    assert len(connections(segments)) == 1
    assert client_endpoint(segments) == ("127.0.0.1", 50000)
    assert reassemble(segments, ("127.0.0.1", 50000)) == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    retransmitted = segments[:4] + [segments[3]] + segments[4:]
    assert reassemble(retransmitted, ("127.0.0.1", 50000)) == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


# --- TLS records -----------------------------------------------------------------------

def client_hello_record(server_name=b"example.org"):
    name_entry = b"\x00" + struct.pack("!H", len(server_name)) + server_name
    sni = struct.pack("!HH", 0, len(name_entry) + 2) + struct.pack("!H", len(name_entry)) + name_entry
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00"          # version, random, empty session id
            + b"\x00\x02\x13\x01" + b"\x01\x00"           # one cipher suite, null compression
            + struct.pack("!H", len(sni)) + sni)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def test_split_records_across_segments_and_read_the_client_hello():
    stream = client_hello_record() + b"\x14\x03\x03\x00\x01\x01" + b"\x16\x03\x03\x00\x05" + b"\xAA" * 5
    cut = 20  # a record split over two TCP segments is whole again once concatenated
    records = split_records(stream[:cut] + stream[cut:])
    assert [r.type_name for r in records] == ["Handshake", "ChangeCipherSpec", "Handshake"]
    hello = records[0]
    assert hello.handshake_types == ["ClientHello"] and hello.server_name == "example.org"
    assert describe(hello).startswith("Handshake ClientHello (SNI example.org)")
    assert records[2].encrypted and describe(records[2]).startswith("Handshake (encrypted)")
    partial = split_records(stream[:cut])
    assert len(partial) == 1 and not partial[0].complete and "only 15 captured" in describe(partial[0])
    assert split_records(b"GET / HTTP/1.1\r\n\r\n") == []


def tls_contexts():
    """(server context, client context) that trust each other, from a fresh trustme CA."""
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    return server_context, client_context


def memory_tls_handshake():
    """A real TLS handshake between two in-memory SSL objects: (client bytes, server bytes)."""
    server_context, client_context = tls_contexts()
    pipes = {side: (ssl.MemoryBIO(), ssl.MemoryBIO()) for side in ("client", "server")}
    client = client_context.wrap_bio(*pipes["client"], server_hostname="localhost")
    server = server_context.wrap_bio(*pipes["server"], server_side=True)
    sent = {"client": b"", "server": b""}
    for _ in range(10):  # each round moves one flight of messages across
        for name, endpoint, peer in (("client", client, "server"), ("server", server, "client")):
            try:
                endpoint.do_handshake()
            except ssl.SSLWantReadError:
                pass
            outgoing = pipes[name][1].read()
            sent[name] += outgoing
            pipes[peer][0].write(outgoing)
    return sent["client"], sent["server"]


@pytest.mark.timeout(30)
def test_split_records_of_a_real_tls_handshake():
    client_bytes, server_bytes = memory_tls_handshake()
    client_records, server_records = split_records(client_bytes), split_records(server_bytes)
    assert client_records[0].handshake_types == ["ClientHello"]
    assert client_records[0].server_name == "localhost"
    assert server_records[0].handshake_types == ["ServerHello"]
    assert server_records[0].negotiated_version in ("TLS 1.3", "TLS 1.2")
    assert all(r.complete for r in client_records + server_records)


# --- Ladders and recorded captures -----------------------------------------------------

@pytest.mark.parametrize("name", ["http_get", "keepalive", "three_connections", "tls_handshake"])
def test_recorded_captures_load_and_start_with_a_handshake(name):
    segments = load_recorded(name)
    assert [s.flags for s in segments[:3]] == ["SYN", "SYN,ACK", "ACK"]
    assert any(s.has("FIN") for s in segments)
    expected_connections = 3 if name == "three_connections" else 1
    assert len(connections(segments)) == expected_connections


def test_load_recorded_names_the_choices_when_missing():
    with pytest.raises(FileNotFoundError, match="http_get"):
        load_recorded("no_such_capture")


def test_ladder_text_of_the_recorded_get():
    text = ladder_text(load_recorded("http_get"))
    for expected in ("SYN seq=0", "SYN-ACK seq=0 ack=1", "ACK seq=1 ack=1", "GET / HTTP/1.1",
                     "HTTP/1.1 200 OK", "FIN-ACK"):
        assert expected in text, expected
    lines = text.splitlines()
    assert lines[1].rstrip().endswith(">") and lines[2].split()[1].startswith("<")


def test_ladder_names_tls_records():
    text = ladder_text(load_recorded("tls_handshake"))
    assert "TLS ClientHello" in text and "TLS ServerHello" in text
    assert payload_summary(b"HTTP/1.1 404 Not Found\r\n\r\n") == "HTTP/1.1 404 Not Found"
    assert payload_summary(b"hello") == ""


def test_plot_ladder_returns_a_titled_figure():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for spacing in ("auto", "time", "event"):
        figure = plot_ladder(load_recorded("keepalive"), title="Keep-alive", spacing=spacing)
        ax = figure.axes[0]
        assert ax.get_title() == "Keep-alive" and "ms" in ax.get_ylabel()
        assert len([t for t in ax.texts if "seq=" in t.get_text()]) == len(load_recorded("keepalive"))
        plt.close(figure)


def test_live_or_recorded_falls_back_and_says_so(monkeypatch):
    monkeypatch.setattr(capture_module, "capture_available", lambda: (False, "testing the fallback"))
    ran = []
    segments, note = live_or_recorded(lambda: ran.append(True), "http_get")
    assert ran == [True] and segments == load_recorded("http_get")
    assert note.startswith("Recorded capture") and "testing the fallback" in note


def test_capture_available_answers_without_raising():
    available, reason = capture_available()
    assert isinstance(available, bool) and (available or reason)


# --- Live capture on loopback -----------------------------------------------------------

class EchoServer:
    """Echoes one connection on 127.0.0.1 in a thread, then closes; join() waits for it."""

    def __init__(self, ssl_context=None):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.ssl_context = ssl_context
        self.thread = threading.Thread(target=self._serve_one, daemon=True)
        self.thread.start()

    def _serve_one(self):
        try:
            connection, _ = self.listener.accept()
            connection.settimeout(10)
            if self.ssl_context is not None:
                connection = self.ssl_context.wrap_socket(connection, server_side=True)
            with connection:
                while True:
                    data = connection.recv(65536)
                    if not data:
                        break
                    connection.sendall(data)
        except (OSError, ssl.SSLError):
            pass  # the test's own assertions report what went wrong
        finally:
            self.listener.close()

    def join(self):
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def read_exactly(connection, size):
    received = b""
    while len(received) < size:
        chunk = connection.recv(size - len(received))
        assert chunk, "connection closed early"
        received += chunk
    return received


@live
@pytest.mark.timeout(30)
def test_live_capture_sees_handshake_payload_and_teardown(tmp_path):
    server = EchoServer()
    with capture(port=server.port) as cap:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(b"ping over loopback")
            assert read_exactly(client, 18) == b"ping over loopback"
        server.join()
    segments = cap.segments
    flags = [s.flags for s in segments]
    assert flags[:3] == ["SYN", "SYN,ACK", "ACK"], flags
    assert sum(s.payload == b"ping over loopback" for s in segments) == 2  # there and back, once each
    assert sum(s.has("FIN") for s in segments) == 2
    assert all(server.port in (s.sport, s.dport) for s in segments)
    times = [s.time for s in segments]
    assert times == sorted(times)
    path = tmp_path / "live.pcap"
    cap.save(path)
    from_file = read_pcap(path)  # the file keeps microseconds, the kernel gave nanoseconds
    assert [replace(s, time=0) for s in from_file] == [replace(s, time=0) for s in segments]
    assert all(abs(a.time - b.time) < 1e-6 for a, b in zip(from_file, segments))
    assert "SYN-ACK seq=0 ack=1" in ladder_text(segments)


@live
@pytest.mark.timeout(30)
def test_live_capture_of_a_tls_handshake_shows_the_hellos():
    server_context, client_context = tls_contexts()
    server = EchoServer(server_context)
    with capture(port=server.port) as cap:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with client_context.wrap_socket(raw, server_hostname="localhost") as client:
            client.sendall(b"secret")
            assert read_exactly(client, 6) == b"secret"
        server.join()
    segments = cap.segments
    client_side = client_endpoint(segments)
    server_side = next(s.destination for s in segments if s.source == client_side)
    client_records = split_records(reassemble(segments, client_side))
    server_records = split_records(reassemble(segments, server_side))
    assert client_records[0].handshake_types == ["ClientHello"]
    assert client_records[0].server_name == "localhost"
    assert server_records[0].handshake_types == ["ServerHello"]
    assert not any(b"secret" in s.payload for s in segments)  # encrypted on the wire


@live
@pytest.mark.timeout(30)
def test_live_or_recorded_captures_live_when_it_can():
    def make_traffic():
        server = EchoServer()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(b"x")
            read_exactly(client, 1)
        server.join()
        return server.port

    segments, note = live_or_recorded(make_traffic, "http_get")
    assert note.startswith("Live capture") and segments[0].flags == "SYN"


@live
@pytest.mark.timeout(60)
def test_record_captures_script_writes_readable_files(tmp_path):
    from httpserver.lab.record_captures import one_get, record, start_minimal_server

    # The capture reads every loopback frame of the machine and keeps ours: while other
    # tests of the suite push gigabytes through loopback, its buffer can overflow and drop
    # a frame. A whole exchange in one of three tries shows the recording works.
    for _ in range(3):
        path = record("http_get", tmp_path, start_minimal_server, one_get)
        text = ladder_text(read_pcap(path))
        if "GET / HTTP/1.1" in text and "HTTP/1.1 200 OK" in text:
            break
    assert "GET / HTTP/1.1" in text and "HTTP/1.1 200 OK" in text
    assert path.stat().st_size < 50_000
