"""Record data/captures/http3.pcap: one HTTP/3 GET over QUIC on loopback, with its key log.

    sudo python -m httpserver.lab.record_http3 [--out data/captures]

Needs aioquic (`pip install aioquic trustme`, not a dependency of the course),
tcpdump, and the right to capture on the loopback interface (root, or
CAP_NET_RAW). An aioquic HTTP/3 server and client talk on a free UDP port of
127.0.0.1 while tcpdump records it. It writes:

- `http3.pcap`: the datagrams, as anyone on the path would see them;
- `http3.keys`: the TLS secrets of that one session (SSLKEYLOGFILE format), so
  Wireshark can decrypt the capture. The certificate and its private key are
  made for the recording by trustme and never written to disk; the secrets
  open this capture and nothing else;
- `http3_decrypted.txt`: what the session carried, decrypted: with tshark, one
  line per datagram naming its QUIC packets and the frames inside; then the
  HTTP/3 request and response as the two ends decoded them.

Chapter 11 reads these files; rerun this to make them again.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BODY = b"hello over HTTP/3\n"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def aioquic_version():
    import aioquic
    return aioquic.__version__


async def one_request(port, keys):
    """Serve and fetch one GET over HTTP/3; returns the HTTP/3 events the client received."""
    import trustme
    from aioquic.asyncio import connect, serve
    from aioquic.asyncio.protocol import QuicConnectionProtocol
    from aioquic.h3.connection import H3_ALPN, H3Connection
    from aioquic.h3.events import DataReceived, HeadersReceived
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.events import ProtocolNegotiated

    class Server(QuicConnectionProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.http = None

        def quic_event_received(self, event):
            if isinstance(event, ProtocolNegotiated):
                self.http = H3Connection(self._quic)
            for h3_event in self.http.handle_event(event) if self.http else ():
                server_events.append(h3_event)
                if isinstance(h3_event, HeadersReceived) and h3_event.stream_ended:
                    self.http.send_headers(h3_event.stream_id, [
                        (b":status", b"200"), (b"content-type", b"text/plain"),
                        (b"content-length", str(len(BODY)).encode())])
                    self.http.send_data(h3_event.stream_id, BODY, end_stream=True)
                    self.transmit()

    class Client(QuicConnectionProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.http = H3Connection(self._quic)
            self.events, self.done = [], asyncio.Event()

        def quic_event_received(self, event):
            for h3_event in self.http.handle_event(event):
                self.events.append(h3_event)
                if isinstance(h3_event, (DataReceived, HeadersReceived)) and h3_event.stream_ended:
                    self.done.set()

    server_events = []
    authority = trustme.CA()
    leaf = authority.issue_cert("localhost")
    with tempfile.TemporaryDirectory() as folder:  # the key exists on disk only while loading
        certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        leaf.cert_chain_pems[0].write_to_path(certfile)
        leaf.private_key_pem.write_to_path(keyfile)
        server_configuration = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
        server_configuration.load_cert_chain(certfile, keyfile)
    server = await serve("127.0.0.1", port, configuration=server_configuration, create_protocol=Server)
    with open(keys, "w") as key_log:
        client_configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN,
                                                 secrets_log_file=key_log, server_name="localhost")
        client_configuration.load_verify_locations(cadata=authority.cert_pem.bytes())
        async with connect("127.0.0.1", port, configuration=client_configuration,
                           create_protocol=Client) as client:
            stream_id = client._quic.get_next_available_stream_id()
            client.http.send_headers(stream_id, [
                (b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"),
                (b":path", b"/hello"), (b"user-agent", b"aioquic")], end_stream=True)
            client.transmit()
            await asyncio.wait_for(client.done.wait(), 5)
            events = list(client.events)
    server.close()
    return server_events, events


QUIC_FRAMES = {0: "PADDING", 1: "PING", 2: "ACK", 3: "ACK", 6: "CRYPTO", 7: "NEW_TOKEN",
               24: "NEW_CONNECTION_ID", 28: "CONNECTION_CLOSE", 29: "CONNECTION_CLOSE", 30: "HANDSHAKE_DONE"}
HTTP3_FRAMES = {0: "DATA", 1: "HEADERS", 4: "SETTINGS", 7: "GOAWAY", 13: "MAX_PUSH_ID"}
LONG_TYPES = {0: "Initial", 1: "0-RTT", 2: "Handshake", 3: "Retry"}


def names(field, table, default):
    return [table.get(int(value), default(int(value))) for value in field.split(",") if value]


def tshark_summary(tshark, pcap, keys, port):
    """One line per datagram: its QUIC packets and, decrypted, the frames inside (tshark's fields)."""
    fields = subprocess.run(
        [tshark, "-r", str(pcap), "-o", f"tls.keylog_file:{keys}", "-d", f"udp.port=={port},quic",
         "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "frame.time_relative",
         "-e", "udp.srcport", "-e", "udp.length", "-e", "quic.long.packet_type", "-e", "quic.header_form",
         "-e", "quic.frame_type", "-e", "http3.frame_type"],
        capture_output=True, text=True, timeout=120).stdout
    lines, client_port = [], None
    for row in fields.splitlines():
        number, seconds, source, length, long_types, forms, frames, http3 = row.split("|")
        client_port = client_port or source
        long_names = iter(names(long_types, LONG_TYPES, str))
        packets = [next(long_names) if form == "1" else "1-RTT" for form in forms.split(",") if form]
        quic_frames = names(frames, QUIC_FRAMES, lambda v: "STREAM" if 8 <= v <= 15 else f"frame {v:#x}")
        http3_frames = names(http3, HTTP3_FRAMES, lambda v: f"type {v:#x}")
        lines.append(f"{number:>2} {float(seconds) * 1000:7.2f} ms {'client' if source == client_port else 'server'} "
                     f"{int(length) - 8:5} B  packets: {' + '.join(packets)}  |  QUIC frames: {', '.join(quic_frames)}"
                     + (f"  |  HTTP/3 frames: {', '.join(http3_frames)}" if http3_frames else ""))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/captures", help="folder for the three files")
    arguments = parser.parse_args(argv)
    out = Path(arguments.out)
    port = free_udp_port()
    pcap, keys, summary = out / "http3.pcap", out / "http3.keys", out / "http3_decrypted.txt"
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(pcap), "udp", "port", str(port)],
                            stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # tcpdump is listening (it says so on stderr only)
    try:
        server_events, client_events = asyncio.run(one_request(port, keys))
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(10)
    lines = [f"One HTTP/3 GET on 127.0.0.1 UDP port {port}, recorded with aioquic {aioquic_version()}."]
    tshark = shutil.which("tshark")
    if tshark:
        lines.append("\n== Each datagram, decrypted with http3.keys by tshark (its QUIC and HTTP/3 dissectors)")
        lines.extend(tshark_summary(tshark, pcap, keys, port))
    lines.append("\n== The HTTP/3 request as the server decoded it (QPACK, RFC 9204), and the answer the client decoded")
    lines.extend(repr(event) for event in server_events + client_events)
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {pcap}, {keys}, {summary}")


if __name__ == "__main__":
    main()
