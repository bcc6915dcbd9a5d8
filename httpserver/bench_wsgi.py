"""`make bench`'s WSGI row: one Flask application on our server and on the others.

    python -m httpserver.bench_wsgi [--rounds 3] [--duration 3] [--out build/bench]

The application is httpserver/lab/flaskapp.py; two of its views are measured,
`/hello` ("Hello, World!") and `/json` (1 KiB of JSON), at 1, 10 and 100
keep-alive connections, with wrk (or the package's own load generator), on:

- our server, `--model select` (the default) and `--model thread`;
- waitress (4 threads, its default), what many deploy on every system;
- gunicorn, one worker process, `sync` (one request at a time, no keep-alive)
  and `gthread` (4 threads);
- `wsgiref.simple_server`, the standard library's.

One process each, pinned to one core, the load generator on the other, as in
bench.py. A shared machine makes single numbers noisy, so the servers are run in
`rounds`, in alternating order, and the report gives each point's median and its
spread (lowest-highest) over the rounds, and the ratio of ours to the best of
the others. Needs the wsgi extra (`pip install -e ".[wsgi]"`); a server whose
package is missing is skipped.
"""

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
from pathlib import Path

from .bench import ServerProcess, free_port, measure_small_path, pin

APP = "httpserver.lab.flaskapp:app"
PATHS = ("/hello", "/json")
OURS = "httpserver select"

WSGIREF = """\
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server
from httpserver.lab.flaskapp import app

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", int(sys.argv[1]), app, handler_class=Quiet).serve_forever()
"""


def wsgi_servers(port):
    """name → command line, for the servers installed here."""
    python = sys.executable
    ours = [python, "-m", "httpserver", "--wsgi", APP, "--quiet", "--port", str(port)]
    commands = {OURS: ours + ["--model", "select"], "httpserver thread": ours + ["--model", "thread"]}
    if importlib.util.find_spec("waitress"):
        commands["waitress (4 threads)"] = [python, "-m", "waitress", "--host", "127.0.0.1",
                                            f"--port={port}", "--threads=4", APP]
    if importlib.util.find_spec("gunicorn") and sys.platform != "win32":
        gunicorn = [python, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                    "--log-level", "warning"]
        commands["gunicorn sync"] = gunicorn + ["--worker-class", "sync", APP]
        commands["gunicorn gthread (4 threads)"] = gunicorn + ["--worker-class", "gthread", "--threads", "4", APP]
    commands["wsgiref.simple_server"] = [python, "-c", WSGIREF, str(port)]
    return {name: pin(command, 0) for name, command in commands.items()}


def measure_round(names, concurrencies, duration, tool, log=print, paths=PATHS):
    """One round: each server started, every (path, connections) point measured, stopped."""
    points = {}
    for name in names:
        port = free_port()
        try:
            server = ServerProcess(name, wsgi_servers(port)[name], port)
        except RuntimeError as error:
            log(f"  {error}; skipped")
            continue
        try:
            for path in paths:
                for connections in concurrencies:
                    rps, p50, p99 = measure_small_path(port, path, connections, duration, tool)
                    points[(name, path, connections)] = (rps, p50, p99)
                    log(f"  {name:30} {path:7} {connections:4} conn: {rps:9,.0f} req/s  "
                        f"p50 {p50:8.2f} ms  p99 {p99:8.2f} ms")
        finally:
            server.stop()
    return points


def measure_wsgi(rounds=3, concurrencies=(1, 10, 100), duration=3.0, tool="auto", log=print,
                 names=None, paths=PATHS):
    """Every server (or those `names`), `rounds` times in alternating order; returns
    the summary (see `summarise`)."""
    if importlib.util.find_spec("flask") is None:
        log('  the WSGI row needs Flask: pip install -e ".[wsgi]"; skipped')
        return None
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "own"
    names = [name for name in wsgi_servers(0) if names is None or name in names]
    samples = []
    for number in range(rounds):
        order = names if number % 2 == 0 else names[::-1]  # drift over time hits every server alike
        log(f"WSGI round {number + 1} of {rounds} ({tool}, {duration} s per point)")
        samples.append(measure_round(order, concurrencies, duration, tool, log, paths))
    return summarise(samples, names, concurrencies, tool, duration, paths)


def summarise(samples, names, concurrencies, tool, duration, paths=PATHS):
    """Medians and spreads over the rounds, and ours against the best of the others."""
    summary = {"tool": tool, "duration": duration, "rounds": len(samples), "paths": list(paths),
               "servers": {}, "ratios": {}}
    for name in names:
        for path in paths:
            for connections in concurrencies:
                values = [round_[(name, path, connections)] for round_ in samples
                          if (name, path, connections) in round_]
                if not values:
                    continue
                rps = [value[0] for value in values]
                summary["servers"].setdefault(name, {}).setdefault(path, {})[str(connections)] = {
                    "rps_median": statistics.median(rps), "rps_low": min(rps), "rps_high": max(rps),
                    "p50_ms": statistics.median(value[1] for value in values),
                    "p99_ms": statistics.median(value[2] for value in values)}
    for path in paths:
        for connections in concurrencies:
            key = str(connections)
            ours = summary["servers"].get(OURS, {}).get(path, {}).get(key)
            others = {name: entry[path][key]["rps_median"] for name, entry in summary["servers"].items()
                      if not name.startswith("httpserver") and key in entry.get(path, {})}
            if ours and others:
                best = max(others, key=others.get)
                # The ratio in each round, so its spread shows how much the machine moved.
                per_round = [round_[(OURS, path, connections)][0] / max(
                    round_[(other, path, connections)][0] for other in others if (other, path, connections) in round_)
                    for round_ in samples if (OURS, path, connections) in round_
                    and any((other, path, connections) in round_ for other in others)]
                summary["ratios"][f"{path} {key}"] = {
                    "best_other": best, "ratio_median": statistics.median(per_round),
                    "ratio_low": min(per_round), "ratio_high": max(per_round)}
    return summary


def report_lines(summary, concurrencies=(1, 10, 100)):
    """The WSGI table, in Markdown."""
    paths = summary.get("paths", PATHS)
    lines = [f"WSGI: the Flask app of chapter 10, one process each; {summary['tool']}, "
             f"{summary['duration']} s per point, median of {summary['rounds']} rounds (lowest-highest).", ""]
    header = " | ".join(f"{path} {c} conn" for path in paths for c in concurrencies)
    lines += [f"| server | {header} |", "|---" * (len(paths) * len(concurrencies) + 1) + "|"]
    for name, entry in summary["servers"].items():
        cells = []
        for path in paths:
            for c in concurrencies:
                point = entry.get(path, {}).get(str(c))
                cells.append("n/a" if not point else
                             f"{point['rps_median']:,.0f} ({point['rps_low']:,.0f}-{point['rps_high']:,.0f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if summary["ratios"]:
        lines += ["", "Ours (select) ÷ the best of the others in the same round, median (lowest-highest round):", ""]
        for point, ratio in summary["ratios"].items():
            lines.append(f"- {point} connections: {ratio['ratio_median']:.2f}× "
                         f"({ratio['ratio_low']:.2f}-{ratio['ratio_high']:.2f}) against {ratio['best_other']}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m httpserver.bench_wsgi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, in alternating order (default 3)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per point (default 3)")
    parser.add_argument("--connections", default="1,10,100", help="concurrency levels (default 1,10,100)")
    parser.add_argument("--tool", choices=["auto", "wrk", "own"], default="auto")
    parser.add_argument("--out", default="build/bench", help="where wsgi.json and wsgi.md go")
    arguments = parser.parse_args(argv)
    concurrencies = [int(c) for c in arguments.connections.split(",")]
    summary = measure_wsgi(arguments.rounds, concurrencies, arguments.duration, arguments.tool)
    if summary is None:
        return 1
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "wsgi.json").write_text(json.dumps(summary, indent=2))
    lines = report_lines(summary, concurrencies)
    (out / "wsgi.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
