"""`make bench`'s HTTPS rows: the same 1 KiB file over TLS, ours against nginx and uvicorn.

    python -m httpserver.bench_tls [--rounds 3] [--duration 5] [--connections 1,100]

Every server gets the same certificate and key (issued by a throwaway CA of our
own, localca.py, in the output folder), serves the same file, and is measured
with `wrk` over `https://`, in rounds that alternate the servers, so that a
slow moment of the machine falls on all of them alike; each row reports the
median round and the spread. The handshake is done once per connection: at
keep-alive, TLS costs the encryption of each record, which is what is compared.
Needs wrk (built with TLS, as Debian's is); nginx and uvicorn join in when
installed. Servers that are missing are skipped and said so.
"""

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
from pathlib import Path

from .bench import ServerProcess, free_port, make_site, measure_small_path, pin, SMALL_FILE, ASGI_APP


def certificate(folder):
    """(certfile, keyfile) for localhost, issued by a new CA kept in `folder`."""
    from .localca import LocalCA

    folder.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = folder / "server.pem", folder / "server-key.pem"
    if not certfile.exists():
        chain, key = LocalCA.create(str(folder / "ca.pem")).issue_localhost()
        keyfile.write_bytes(key)
        os.chmod(keyfile, 0o600)
        certfile.write_bytes(chain)
    return str(certfile), str(keyfile)


def tls_commands(site, port, folder):
    """name → command line of every HTTPS server this machine can run."""
    certfile, keyfile = certificate(folder / "tls")
    ours = [sys.executable, "-m", "httpserver", "--quiet", "--port", str(port), "--root", str(site),
            "--directory", str(site), "--certfile", certfile, "--keyfile", keyfile]
    commands = {"select": pin(ours + ["--model", "select"], 0), "pool": pin(ours + ["--model", "pool"], 0)}
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) >= 2:
        commands["select ×2 processes"] = ours + ["--model", "select", "--workers", "2"]
    if shutil.which("nginx"):
        commands["nginx (1 worker)"] = pin(nginx_tls_command(site, port, folder / "nginx-tls", certfile, keyfile), 0)
    if importlib.util.find_spec("uvicorn"):
        app_folder = folder / "uvicorn"
        app_folder.mkdir(parents=True, exist_ok=True)
        (app_folder / "bench_app.py").write_text(ASGI_APP.format(site=str(Path(site).resolve())))
        base = [sys.executable, "-m", "uvicorn", "bench_app:app", "--app-dir", str(app_folder.resolve()),
                "--host", "127.0.0.1", "--port", str(port), "--loop", "asyncio", "--log-level", "warning",
                "--no-access-log", "--ssl-certfile", certfile, "--ssl-keyfile", keyfile]
        if importlib.util.find_spec("httptools"):
            commands["uvicorn + httptools"] = pin(base + ["--http", "httptools"], 0)
        commands["uvicorn + h11"] = pin(base + ["--http", "h11"], 0)
    return commands


def nginx_tls_command(site, port, folder, certfile, keyfile):
    folder.mkdir(parents=True, exist_ok=True)
    site, folder = Path(site).resolve(), folder.resolve()
    user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{ worker_connections 16384; }}\n"
        f"http {{\n  access_log off;\n  keepalive_requests 1000000;\n"
        f"  client_body_temp_path {folder}/tmp;\n  default_type application/octet-stream;\n"
        f"  server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {certfile}; "
        f"ssl_certificate_key {keyfile}; root {site}; }}\n}}\n")
    return ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")]


def measure_tls(out, concurrencies, duration, rounds, only=None):
    """{server: {connections: {"rps": median, "spread": (min, max), "p99_ms": median}}}."""
    out = Path(out)
    site = make_site(out / "site", 2**20)
    names = [name for name in tls_commands(site, 0, out) if not only or name in only]
    runs = {name: {c: [] for c in concurrencies} for name in names}
    for round_number in range(rounds):
        for name in names:
            port = free_port()
            try:
                server = ServerProcess(name, tls_commands(site, port, out)[name], port)
            except RuntimeError as error:
                print(f"  {error}; skipped", flush=True)
                continue
            try:
                for connections in concurrencies:
                    rps, p50, p99 = measure_small_path(port, "/" + SMALL_FILE, connections, duration, "wrk",
                                                       scheme="https")
                    runs[name][connections].append((rps, p99))
                    print(f"  TLS round {round_number + 1} {name:22} {connections:4} conn: {rps:9,.0f} req/s  "
                          f"p99 {p99:7.2f} ms", flush=True)
            finally:
                server.stop()
    return {name: {c: summarise(values) for c, values in by_connections.items() if values}
            for name, by_connections in runs.items()}


def summarise(values):
    rates = [rps for rps, _ in values]
    return {"rps": statistics.median(rates), "spread": (min(rates), max(rates)),
            "p99_ms": statistics.median(p99 for _, p99 in values), "rounds": len(values)}


def report_lines(tls, concurrencies):
    """The HTTPS table, in Markdown, with each server's ratio to ours (select)."""
    ours = tls.get("select", {})
    lines = ["HTTPS, the 1 KiB file over TLS with keep-alive (wrk, median of the rounds, "
             "min-max in brackets; × select):", "",
             "| server | " + " | ".join(f"{c} conn: req/s, p99 ms" for c in concurrencies) + " |",
             "|---" * (len(concurrencies) + 1) + "|"]
    for name, entry in tls.items():
        cells = []
        for c in concurrencies:
            row = entry.get(c) or entry.get(str(c))
            if not row:
                cells.append("n/a")
                continue
            base = ours.get(c) or ours.get(str(c))
            ratio = f" ({row['rps'] / base['rps']:.2f}×)" if base and name != "select" else ""
            low, high = row["spread"]
            cells.append(f"{row['rps']:,.0f} [{low:,.0f}-{high:,.0f}]{ratio}, {row['p99_ms']:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m httpserver.bench_tls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", default="1,100")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--out", default="build/bench")
    arguments = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("the HTTPS rows need wrk (apt install wrk)", file=sys.stderr)
        return 2
    concurrencies = [int(c) for c in arguments.connections.split(",")]
    tls = measure_tls(arguments.out, concurrencies, arguments.duration, arguments.rounds, arguments.only)
    print("\n".join(report_lines(tls, concurrencies)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
