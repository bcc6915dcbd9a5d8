"""`make bench`: every server model against `python -m http.server`, in one run.

    python -m httpserver.bench [--quick] [--duration 5] [--out build/bench]

Each server runs in its own process on 127.0.0.1, serving the same generated
files; nginx and uvicorn (with httptools, and with h11) join in when they are
installed. For each concurrency (1, 10, 100 keep-alive connections) it measures
requests per second and p50/p99 latency of a 1 KiB file, with `wrk` when it is
installed and the package's own load generator otherwise; then the time and the
server's CPU to send a large file; then, for the event loop, how many idle
connections it holds, at what memory cost, while still answering a newcomer.

On Linux the server is pinned to one core and the load generator to the other,
so they do not fight over one core while the second sits idle. Results go to
build/bench/: results.md (the table), results.json, bench.png. Everything is
bounded: each measurement by its duration, each server by a stop at the end.
"""

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .bench_pressure import pipelining_memory, upload_delay

from .lab.load import run_load

SMALL_FILE = "1k.txt"
LARGE_FILE = "large.bin"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# `--no-pin` turns pinning off: server and load generator then share every core,
# as in a plain `wrk` run by hand.
PINNING = True


def pin(command, core):
    """Prefix `command` with taskset when this is Linux with two cores or more."""
    if PINNING and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)] + command
    return command


class ServerProcess:
    """One server under test, in a child process we start and stop ourselves."""

    def __init__(self, name, command, port, cwd=None):
        self.name, self.port = name, port
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # ready once it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{name} did not start on port {port}")

    def cpu_seconds(self):
        """User + system CPU time so far of the server and the processes it started
        (`--workers`), on Linux; else None."""
        try:
            return sum(process_cpu_seconds(pid) for pid in process_tree(self.process.pid))
        except (OSError, IndexError, ValueError, AttributeError):
            return None

    def rss_kib(self):
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        except (OSError, AttributeError):
            return None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def process_tree(pid):
    """`pid` and its descendants, from Linux's /proc/<pid>/task/<tid>/children."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread that ended while we looked (the thread model)
            continue
        for child in children:
            pids.extend(process_tree(int(child)))
    return pids


def process_cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_commands(site, port, nginx_folder):
    """name → command line for every server this machine can run."""
    python = sys.executable
    ours = [python, "-m", "httpserver", "--quiet", "--port", str(port), "--root", str(site),
            "--directory", str(site)]
    commands = {"http.server": pin([python, "-m", "http.server", "--bind", "127.0.0.1",
                                    "--directory", str(site), str(port)], 0)}
    for model in ("iterative", "thread", "pool", "select"):
        commands[model] = pin(ours + ["--model", model], 0)
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) >= 2:
        commands["select ×2 processes"] = ours + ["--model", "select", "--workers", "2"]
    if shutil.which("nginx"):
        commands["nginx (1 worker)"] = pin(nginx_command(site, port, nginx_folder), 0)
    if importlib.util.find_spec("uvicorn"):
        uvicorn = uvicorn_command(site, port, nginx_folder.parent / "uvicorn")
        if importlib.util.find_spec("httptools"):
            commands["uvicorn + httptools"] = pin(uvicorn + ["--http", "httptools"], 0)
        commands["uvicorn + h11"] = pin(uvicorn + ["--http", "h11"], 0)  # a pure-Python parser, like ours
    return commands


ASGI_APP = """\
# Written by httpserver.bench: the benchmark's files, read once, for uvicorn.
import os

SITE = {site!r}
FILES = {{"/" + name: open(os.path.join(SITE, name), "rb").read() for name in os.listdir(SITE)}}


async def app(scope, receive, send):
    body = FILES.get(scope["path"])
    status = 200 if body is not None else 404
    body = body if body is not None else b"not found\\n"
    await send({{"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/octet-stream"),
                            (b"content-length", str(len(body)).encode())]}})
    await send({{"type": "http.response.body", "body": body}})
"""


def uvicorn_command(site, port, folder):
    """uvicorn with its C parser (httptools), the fastest common Python server, when
    installed: an ASGI app that answers from files it read at start-up."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_app.py").write_text(ASGI_APP.format(site=str(site.resolve())))
    return [sys.executable, "-m", "uvicorn", "bench_app:app", "--app-dir", str(folder.resolve()),
            "--host", "127.0.0.1", "--port", str(port), "--loop", "asyncio",
            "--log-level", "warning", "--no-access-log"]


def nginx_command(site, port, folder):
    folder.mkdir(parents=True, exist_ok=True)
    site, folder = site.resolve(), folder.resolve()  # nginx reads relative paths from its prefix
    user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{ worker_connections 16384; }}\n"
        f"http {{\n  access_log off;\n  sendfile on;\n  keepalive_requests 1000000;\n"
        f"  client_body_temp_path {folder}/tmp;\n  default_type application/octet-stream;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {site}; }}\n}}\n")
    return ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")]


def measure_small(port, connections, duration, tool):
    """(requests/s, p50 ms, p99 ms) for the 1 KiB file at `connections`."""
    return measure_small_path(port, "/" + SMALL_FILE, connections, duration, tool)


def measure_small_path(port, path, connections, duration, tool, scheme="http"):
    """(requests/s, p50 ms, p99 ms) for GET `path` at `connections` (https: wrk only)."""
    url = f"{scheme}://127.0.0.1:{port}{path}"
    if tool == "wrk":  # wrk counts whole seconds; one of warm-up first
        seconds = max(1, round(duration))
        subprocess.run(pin(["wrk", "-t1", f"-c{connections}", "-d1s", url], 1), capture_output=True, timeout=30)
        output = subprocess.run(pin(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url], 1),
                                capture_output=True, text=True, timeout=seconds + 60).stdout
        return (float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
                wrk_ms(output, "50%"), wrk_ms(output, "99%"))
    run_load(("127.0.0.1", port), path, connections=connections, requests=10**9,
             duration=min(0.5, duration))
    result = run_load(("127.0.0.1", port), path, connections=connections,
                      requests=10**9, duration=duration)
    return (result.requests_per_second, result.percentile(0.5) * 1000, result.percentile(0.99) * 1000)


def wrk_ms(output, label):
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def measure_large(server, size, repeat, min_seconds=1.0):
    """(MiB/s, server CPU seconds per GiB) fetching the large file at least `repeat`
    times and for at least `min_seconds`, so the CPU time spans many clock ticks."""
    request = f"GET /{LARGE_FILE} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode()
    buffer = bytearray(1024 * 1024)
    cpu_before = server.cpu_seconds()
    start = time.perf_counter()
    fetches = 0
    while fetches < repeat or (time.perf_counter() - start < min_seconds and fetches < 100 * repeat):
        # A connection each: http.server closes after every response.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request)
            received = 0
            while True:
                count = sock.recv_into(buffer)
                if not count:
                    break
                received += count
        if received < size:
            raise ConnectionError(f"{server.name} sent {received} bytes of a {size}-byte file")
        fetches += 1
    elapsed = time.perf_counter() - start
    cpu_after = server.cpu_seconds()
    gib = size * fetches / 2**30
    cpu_per_gib = None
    # CPU time comes in clock ticks (usually 10 ms): below a few, it says nothing.
    if cpu_before is not None and cpu_after is not None and elapsed > 0.2:
        cpu_per_gib = (cpu_after - cpu_before) / gib
    return size * fetches / 2**20 / elapsed, cpu_per_gib


def measure_idle(site, count):
    """Hold `count` idle keep-alive connections on the select model; time a newcomer."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Each side (this process, the server) holds one descriptor per connection.
    wanted = count + 1000 if hard == resource.RLIM_INFINITY else min(hard, count + 1000)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        # Raised here, and inherited by the server we start: the server itself never raises it.
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    count = min(count, wanted - 1000)
    port = free_port()
    # The caps (1,000 connections, 500 per address) would close or refuse most of them:
    # this row measures what an idle connection costs, so it lifts them.
    caps = ["--max-connections", str(count + 100), "--max-per-address", str(count + 100)]
    server = ServerProcess("select", pin([sys.executable, "-m", "httpserver", "--quiet", "--port", str(port),
                                          "--root", str(site), "--directory", str(site), "--model", "select",
                                          *caps], 0), port)
    sockets = []
    try:
        request = b"GET /" + SMALL_FILE.encode() + b" HTTP/1.1\r\nHost: bench\r\n\r\n"
        warm = socket.create_connection(("127.0.0.1", port))
        warm.sendall(request)
        warm.recv(65536)
        time.sleep(0.2)
        rss_before = server.rss_kib()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(request)  # one request each, then silence: idle keep-alive
            sockets.append(sock)
        for sock in sockets:
            sock.recv(65536)
        time.sleep(0.5)
        rss_after = server.rss_kib()
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=10) as newcomer:
                newcomer.sendall(request)
                newcomer.recv(65536)
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        per_connection = (rss_after - rss_before) / count if rss_before and rss_after else None
        return {"connections": count, "newcomer_ms_median": timings[len(timings) // 2],
                "newcomer_ms_max": timings[-1], "kib_per_idle_connection": per_connection}
    finally:
        for sock in sockets:
            sock.close()
        warm.close()
        server.stop()


def make_site(folder, large_size):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SMALL_FILE).write_bytes((b"0123456789abcdef" * 64)[:1024])
    large = folder / LARGE_FILE
    if not large.exists() or large.stat().st_size != large_size:
        with open(large, "wb") as file:
            block = os.urandom(1024 * 1024)
            for _ in range(large_size // len(block)):
                file.write(block)
    return folder


def run(arguments):
    """Measure every server; our own client side (large file, idle) runs on the load core."""
    if pin(["true"], 1)[0] != "taskset":
        return measure_all(arguments)
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {1})
    try:
        return measure_all(arguments)
    finally:  # a notebook or test that called us keeps all its cores
        os.sched_setaffinity(0, cores)


def measure_all(arguments):
    out = Path(arguments.out)
    site = make_site(out / "site", arguments.large_mib * 2**20)
    concurrencies = [int(c) for c in arguments.connections.split(",")]
    tool = arguments.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "own"
    results = {"machine": f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "tool": tool, "duration": arguments.duration, "pinned": pin(["true"], 1)[0] == "taskset",
               "servers": {}}
    print(f"load generator: {tool}; {arguments.duration} s per measurement; results in {out}/", flush=True)
    for name in arguments.only or list(server_commands(site, 0, out / "nginx")):
        port = free_port()
        command = server_commands(site, port, out / "nginx").get(name)
        if command is None:
            continue
        try:
            server = ServerProcess(name, command, port)
        except RuntimeError as error:  # one server that cannot start does not end the run
            print(f"  {error}; skipped", flush=True)
            continue
        entry = results["servers"][name] = {"small": {}}
        try:
            for connections in concurrencies:
                if name == "iterative" and connections > 1:
                    continue  # one connection at a time: the others would only time out
                rps, p50, p99 = measure_small(port, connections, arguments.duration, tool)
                entry["small"][connections] = {"rps": rps, "p50_ms": p50, "p99_ms": p99}
                print(f"  {name:22} {connections:4} conn: {rps:9,.0f} req/s  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms", flush=True)
            if name != "iterative":
                mib_s, cpu_per_gib = measure_large(server, arguments.large_mib * 2**20, arguments.large_repeat,
                                                     arguments.large_seconds)
                entry["large"] = {"mib_per_s": mib_s, "cpu_s_per_gib": cpu_per_gib}
                cpu_text = f"{cpu_per_gib:.3f} s CPU/GiB" if cpu_per_gib is not None else "CPU n/a"
                print(f"  {name:22} large file: {mib_s:9,.0f} MiB/s  {cpu_text}", flush=True)
        finally:
            server.stop()
    if arguments.pressure:
        results["pressure"] = {}
        for model in ("thread", "pool", "select"):
            memory, delay = pipelining_memory(site, model), upload_delay(site, model)
            results["pressure"][model] = {"pipelining_kib": memory, "upload": delay}
            print(f"  {model:22} one pipelining client that never reads: {memory} KiB; during a 64 MiB "
                  f"upload another client waited {delay['median_ms']:.2f} ms (median), "
                  f"{delay['max_ms']:.1f} ms at most", flush=True)
    if arguments.tls_rounds and tool == "wrk":
        from .bench_tls import measure_tls
        results["tls"] = measure_tls(out, [c for c in concurrencies if c in (1, 100)] or concurrencies,
                                     arguments.duration, arguments.tls_rounds)
    if arguments.wsgi_rounds:
        from .bench_wsgi import measure_wsgi
        results["wsgi"] = measure_wsgi(arguments.wsgi_rounds, concurrencies, min(arguments.duration, 3.0), tool)
    idle = measure_idle(site, arguments.idle) if arguments.idle else None
    if idle:
        results["idle"] = idle
        memory = idle["kib_per_idle_connection"]
        print(f"  idle connections: {idle['connections']:,} held; a newcomer answered in "
              f"{idle['newcomer_ms_median']:.2f} ms (median)"
              + (f"; {memory:.2f} KiB of memory each" if memory is not None else ""), flush=True)
    write_reports(results, out, concurrencies)
    return results


def write_reports(results, out, concurrencies):
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    baseline = results["servers"].get("http.server", {}).get("small", {})
    placement = ("server and load generator pinned to different cores" if results.get("pinned")
                 else "server and load generator not pinned")
    lines = [f"Machine: {results['machine']}. Load: {results['tool']}, {results['duration']} s each, "
             f"1 KiB file, keep-alive; {placement}.", "",
             "| server | " + " | ".join(f"{c} conn: req/s (× http.server), p50 / p99 ms" for c in concurrencies)
             + " | large file MiB/s | CPU s/GiB |",
             "|---" * (len(concurrencies) + 3) + "|"]
    for name, entry in results["servers"].items():
        cells = []
        for c in concurrencies:
            small = entry["small"].get(c) or entry["small"].get(str(c))
            if not small:
                cells.append("n/a")
                continue
            base = baseline.get(c) or baseline.get(str(c))
            ratio = f" ({small['rps'] / base['rps']:.1f}×)" if base and base["rps"] else ""
            cells.append(f"{small['rps']:,.0f}{ratio}, {small['p50_ms']:.2f} / {small['p99_ms']:.2f}")
        large = entry.get("large") or {}
        cpu = large.get("cpu_s_per_gib")
        cells.append(f"{large['mib_per_s']:,.0f}" if large else "n/a")
        cells.append(f"{cpu:.3f}" if cpu is not None else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "idle" in results:
        idle = results["idle"]
        memory = idle["kib_per_idle_connection"]
        lines += ["", f"Idle keep-alive connections held by `select`: {idle['connections']:,}; "
                  f"a new client answered in {idle['newcomer_ms_median']:.2f} ms (median of 20, "
                  f"max {idle['newcomer_ms_max']:.2f} ms); "
                  + (f"{memory:.2f} KiB of server memory per idle connection." if memory is not None else "")]
    if results.get("pressure"):
        lines += ["", "| hostile client (one connection) | " + " | ".join(results["pressure"]) + " |",
                  "|---" * (len(results["pressure"]) + 1) + "|"]
        rows = {"server memory held by a client that pipelines 2,520 GETs of 256 KiB and never reads (KiB)":
                lambda entry: "n/a" if entry["pipelining_kib"] is None else f"{entry['pipelining_kib']:,}",
                "another client's latency during a 64 MiB upload: median / max (ms)":
                lambda entry: f"{entry['upload']['median_ms']:.2f} / {entry['upload']['max_ms']:.1f}",
                "the same client's median latency with no upload (ms)":
                lambda entry: f"{entry['upload']['quiet_ms']:.2f}"}
        for label, cell in rows.items():
            lines.append(f"| {label} | " + " | ".join(cell(entry) for entry in results["pressure"].values()) + " |")
    if results.get("tls"):
        from .bench_tls import report_lines as tls_lines
        lines += [""] + tls_lines(results["tls"], [c for c in concurrencies if c in (1, 100)] or concurrencies)
    if results.get("wsgi"):
        from .bench_wsgi import report_lines
        lines += [""] + report_lines(results["wsgi"], concurrencies)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines), flush=True)
    plot(results, out / "bench.png", concurrencies)


def plot(results, path, concurrencies):
    try:  # a Figure without pyplot: the caller's backend (a notebook's) stays as it was
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return
    from .lab.benchplots import plot_comparison

    figure = plot_comparison(results, concurrencies, figure=Figure(),
                             title=f"httpserver models vs python -m http.server ({results['machine']})")
    figure.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m httpserver.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--connections", default="1,10,100", help="concurrency levels (default 1,10,100)")
    parser.add_argument("--large-mib", type=int, default=100, help="size of the large file (default 100)")
    parser.add_argument("--large-repeat", type=int, default=5, help="large file fetches (default 5)")
    parser.add_argument("--large-seconds", type=float, default=1.0,
                        help="keep fetching the large file for at least this long (default 1)")
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections for select (0: skip)")
    parser.add_argument("--only", nargs="*", help="servers to run (default: all available)")
    parser.add_argument("--no-pressure", dest="pressure", action="store_false",
                        help="skip the hostile-client rows (pipelining memory, upload delay)")
    parser.add_argument("--out", default="build/bench", help="where results go (default build/bench)")
    parser.add_argument("--tool", choices=["auto", "wrk", "own"], default="auto",
                        help="load generator: wrk if installed (auto), or the package's own")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let server and load generator share all cores (default: pinned apart)")
    parser.add_argument("--wsgi-rounds", type=int, default=None,
                        help="rounds of the WSGI row: a Flask app on ours, waitress, gunicorn, wsgiref "
                             "(default 3; 0, and the default with --quick or --only: skip)")
    parser.add_argument("--tls-rounds", type=int, default=None,
                        help="rounds of the HTTPS rows: ours, nginx and uvicorn over TLS, with wrk "
                             "(default 3; 0, and the default with --quick or --only: skip)")
    parser.add_argument("--quick", action="store_true", help="a few seconds in all, for a smoke test")
    arguments = parser.parse_args(argv)
    global PINNING
    PINNING = arguments.pin
    if arguments.quick:
        arguments.duration, arguments.large_mib, arguments.large_repeat = 0.3, 2, 2
        arguments.large_seconds = 0
        arguments.idle = min(arguments.idle, 50)
        arguments.tool = "own" if arguments.tool == "auto" else arguments.tool
    if arguments.wsgi_rounds is None:  # a quick or partial run is about the models: no WSGI row
        arguments.wsgi_rounds = 0 if arguments.quick or arguments.only else 3
    if arguments.tls_rounds is None:  # the same for the HTTPS rows
        arguments.tls_rounds = 0 if arguments.quick or arguments.only else 3
    run(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
