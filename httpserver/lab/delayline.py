"""A wide-area link on one machine: two network namespaces joined by a delay line.

Contract: `DelayLine(rtt)` (Linux, root, /dev/net/tun and the `ip` tool) makes two
network namespaces, "client" (10.200.0.1) and "server" (10.200.0.2), each with a TUN
device, and one thread in this process that carries every IP packet from one to the
other after rtt/2 seconds: what `tc netem delay` does, in user space, for kernels
without netem. `run_in(side, argv)` starts a program in a namespace; `frames` holds
every packet as the client's end saw it (leaving or arriving), for `write_pcap` with
LINKTYPE_RAW. Leaving the `with` block stops the line, ends what it started and
removes both namespaces. Traffic never leaves these two namespaces.

`python -m httpserver.lab.delayline fetch HOST PORT PATH [PATH...]` is the client the
chapters run inside the client namespace: it GETs each path on one keep-alive
connection, then the last path once more on a new connection, and prints the
timings as JSON.
`record_slow_start(folder)` records `slow_start.pcap` and `slow_start.json` for the
chapters' readers who cannot run the line. Lab code: the server never imports it.
"""

import fcntl
import heapq
import json
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CLIENT_ADDRESS, SERVER_ADDRESS = "10.200.0.1", "10.200.0.2"  # only ever inside our namespaces
TUNSETIFF = 0x400454CA  # <linux/if_tun.h>
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
MTU = 576  # the least every IPv4 host accepts (RFC 791): segments of 536 bytes, small captures


def delay_line_available():
    """(True, "") where a DelayLine can run here, else (False, why not)."""
    if not sys.platform.startswith("linux"):
        return False, "network namespaces are Linux only"
    if os.geteuid() != 0:
        return False, "making network namespaces needs root"
    if not os.path.exists("/dev/net/tun") or shutil.which("ip") is None:
        return False, "no /dev/net/tun or no `ip` tool"
    return True, ""


def _ip(*arguments, namespace=None):
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *arguments], check=True, capture_output=True, timeout=10)


class DelayLine:
    """Two namespaces and a delay of `rtt` seconds between them (see the module docstring)."""

    def __init__(self, rtt=0.05):
        self.rtt = rtt
        tag = f"{os.getpid()}-{id(self) % 10000}"
        self.namespaces = {"client": f"hfs-client-{tag}", "server": f"hfs-server-{tag}"}
        self.devices = {"client": f"hfsc{tag}"[:15], "server": f"hfss{tag}"[:15]}
        self.frames = []  # (time, IP packet) as the client's end saw them
        self.processes = []
        self._fds = {}
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        try:
            for side, address, peer in (("client", CLIENT_ADDRESS, SERVER_ADDRESS),
                                        ("server", SERVER_ADDRESS, CLIENT_ADDRESS)):
                namespace, device = self.namespaces[side], self.devices[side]
                _ip("netns", "add", namespace)
                descriptor = os.open("/dev/net/tun", os.O_RDWR)
                self._fds[side] = descriptor
                fcntl.ioctl(descriptor, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
                _ip("link", "set", device, "netns", namespace)
                _ip("link", "set", "lo", "up", namespace=namespace)
                _ip("link", "set", device, "mtu", str(MTU), "up", namespace=namespace)
                _ip("addr", "add", address, "peer", peer, "dev", device, namespace=namespace)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self._thread = threading.Thread(target=self._carry, name="delay-line", daemon=True)
        self._thread.start()
        return self

    def _carry(self):
        # Read each packet as it leaves one side; write it into the other rtt/2 later.
        selector = selectors.DefaultSelector()
        for side, descriptor in self._fds.items():
            selector.register(descriptor, selectors.EVENT_READ, side)
        other = {"client": "server", "server": "client"}
        due = []  # heap of (time to deliver, sequence, side to write to, packet)
        sequence = 0
        while not self._stop.is_set():
            timeout = 0.05 if not due else max(0.0, min(0.05, due[0][0] - time.time()))
            for key, _ in selector.select(timeout):
                packet = os.read(key.fd, 65536)
                now = time.time()
                if key.data == "client":
                    self.frames.append((now, packet))
                heapq.heappush(due, (now + self.rtt / 2, sequence, other[key.data], packet))
                sequence += 1
            while due and due[0][0] <= time.time():
                deliver_at, _, side, packet = heapq.heappop(due)
                if side == "client":
                    self.frames.append((deliver_at, packet))
                try:
                    os.write(self._fds[side], packet)
                except OSError:
                    pass  # the device went away while stopping
        selector.close()

    def run_in(self, side, argv, **options):
        """Start `argv` in the `side` namespace ("client" or "server"); ended on exit."""
        process = subprocess.Popen(["ip", "netns", "exec", self.namespaces[side], *argv], **options)
        self.processes.append(process)
        return process

    def __exit__(self, *exc_info):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for descriptor in self._fds.values():
            os.close(descriptor)
        for namespace in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)


# -- the client, run inside the client namespace --------------------------------


def _get(sock, path, host):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"!"  # b"!" never ends a head: the loop fails below
        if data.endswith(b"!"):
            raise ConnectionError("closed before the head")
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return len(body)


def fetch(host, port, paths):
    """Each path on one keep-alive connection, then the last on a new one: timings."""
    results = {"keep_alive": [], "new_connection": []}
    for _ in range(100):  # the server may still be starting: wait up to 10 s for it to listen
        try:
            socket.create_connection((host, port), timeout=10).close()
            break
        except ConnectionRefusedError:
            time.sleep(0.1)
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=10) as sock:
        connected = time.perf_counter()
        results["connect"] = connected - started
        for path in paths:
            begin = time.perf_counter()
            size = _get(sock, path, f"{host}:{port}")
            results["keep_alive"].append({"path": path, "bytes": size, "seconds": time.perf_counter() - begin})
    for path in paths[-1:]:
        begin = time.perf_counter()
        with socket.create_connection((host, port), timeout=10) as sock:
            size = _get(sock, path, f"{host}:{port}")
        results["new_connection"].append({"path": path, "bytes": size, "seconds": time.perf_counter() - begin})
    return results


def measure(rtt=0.05, paths=("/big.bin", "/big.bin", "/small.txt"), big=45_000):
    """Serve a small and a big file across a DelayLine: (timings, frames, rtt)."""
    site = Path(tempfile.mkdtemp(prefix="delay-line-"))
    try:
        (site / "small.txt").write_bytes(b"x" * 1000)
        (site / "big.bin").write_bytes(bytes(range(256)) * (big // 256))
        with DelayLine(rtt) as line:
            line.run_in("server", [sys.executable, "-m", "httpserver", "--host", SERVER_ADDRESS,
                                            "--port", "4221", "--root", str(site), "--directory", str(site),
                                            "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            client = line.run_in("client", [sys.executable, "-m", "httpserver.lab.delayline", "fetch",
                                            SERVER_ADDRESS, "4221", *paths], stdout=subprocess.PIPE)
            output, _ = client.communicate(timeout=60)
            time.sleep(rtt)  # the last packets are still on the line
            return json.loads(output), list(line.frames), rtt
    finally:
        shutil.rmtree(site, ignore_errors=True)


def live_or_recorded(rtt=0.05, folder=None, clean=None):
    """(timings, segments, note): a live run across a DelayLine where one can run here,
    else the recording in data/captures/; the note says which, and why.

    `clean(timings, segments)`, if given, says whether a live run is clean enough
    to show: the delay line is a thread of this machine, and a machine busy with
    other work delays its packets unevenly. A run that is not clean is set aside
    for the recording, and the note says so."""
    from .pcap import LINKTYPE_RAW, decode_frame, read_pcap

    available, why = delay_line_available()
    if available:
        try:
            timings, frames, rtt = measure(rtt)
            segments = [segment for segment in (decode_frame(frame, LINKTYPE_RAW, moment)
                                                for moment, frame in frames) if segment]
            timings = {"rtt": rtt, **timings}
            if clean is None or clean(timings, segments):
                return (timings, segments,
                        f"Live: two network namespaces joined by a delay line of {rtt * 1000:.0f} ms round trip.")
            why = "the live run was disturbed (this machine was busy, and the delay line's packets came unevenly)"
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            why = f"the delay line failed ({error})"
    folder = Path(folder) if folder else Path(__file__).resolve().parents[2] / "data" / "captures"
    timings = json.loads((folder / "slow_start.json").read_text())
    return (timings, read_pcap(folder / "slow_start.pcap"),
            f"Recorded capture data/captures/slow_start.pcap ({timings['rtt'] * 1000:.0f} ms round trip); "
            f"live run unavailable: {why}.")


def record_slow_start(folder, rtt=0.05):
    """Record slow_start.pcap and slow_start.json in `folder` (needs what DelayLine needs)."""
    from .pcap import LINKTYPE_RAW, write_pcap

    timings, frames, rtt = measure(rtt)
    folder = Path(folder)
    write_pcap(folder / "slow_start.pcap", frames, LINKTYPE_RAW)
    (folder / "slow_start.json").write_text(json.dumps({"rtt": rtt, **timings}, indent=1) + "\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fetch"]:
        print(json.dumps(fetch(argv[1], int(argv[2]), argv[3:])))
        return 0
    if argv[:1] == ["record"]:
        record_slow_start(argv[1] if len(argv) > 1 else Path(__file__).resolve().parents[2] / "data" / "captures")
        return 0
    print("usage: python -m httpserver.lab.delayline fetch HOST PORT PATH... | record [FOLDER]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
