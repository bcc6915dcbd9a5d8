"""Build your own server: load the learner's `my_server.py` and check it stage by stage.

Contract:

- `load_my_server(path=None)` executes `my_server.py` (by default the one in the
  current folder, which is the notebook's folder when Jupyter or nbval runs a
  chapter) as a fresh module every call, so an edit is seen at once. The exercise
  check cells call it, then check one of its functions.
- `missing_parts(path=None)` lists the parts that still raise
  NotImplementedError("not built yet (chapter NN, stage ...)"), read from the
  source without running it.
- `check_my_server(upto=NN)` runs the stage tester (`httpserver.stages`) on
  `python my_server.py --port {port} --directory {directory} --root {root}`,
  prints a table of the stages up to chapter NN (passed, failed, not reached)
  and, for the first failure, the tester's message, the parts not built yet, and
  the failing exchange drawn as a ladder of the bytes each side sent. It raises
  `BuildFailed` (a `CheckFailed`, so a notebook shows the report, not a
  traceback) unless every stage passed.
- `measure_my_server(...)` and `profile_my_server(...)` are chapter 09's: the
  learner's server under the package's load generator beside `python -m
  http.server` and the package's models, each in a process of its own, bounded
  in requests and seconds; and a cProfile of its request path.
"""

import ast
import importlib.util
import sys
from pathlib import Path

from .checks import CheckFailed

MY_SERVER = "my_server.py"
NOT_BUILT = "not built yet"
MARKS = {"passed": "✓", "failed": "✗", "not reached": "·"}


class BuildFailed(CheckFailed):
    """A stage of the learner's server failed; the message is the whole report."""


def my_server_path(path=None):
    """The path of the learner's server: `path`, or my_server.py in the current folder."""
    return Path(path) if path is not None else Path.cwd() / MY_SERVER


def load_my_server(path=None):
    """`my_server.py` executed as a new module named my_server (re-read on every call)."""
    path = my_server_path(path)
    if not path.is_file():
        raise CheckFailed("no %s in %s: it is the file you build your server in; `make student` "
                          "writes its skeleton beside the chapters" % (path.name, path.parent))
    refuse_package_imports(path)
    spec = importlib.util.spec_from_file_location("my_server", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["my_server"] = module  # dataclasses look their module up while it runs
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise CheckFailed("%s does not run: line %s: %s" % (path.name, error.lineno, error.msg)) from None
    except Exception as error:
        raise CheckFailed("%s does not run: %s: %s" % (path.name, type(error).__name__, error)) from None
    return module


def refuse_package_imports(path=None):
    """CheckFailed when my_server.py imports httpserver: the learner's server is their own."""
    path = my_server_path(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return  # running it reports the syntax error with its line
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        for name in names:
            if name.split(".")[0] == "httpserver":
                raise CheckFailed("%s, line %d, imports %s: your server must be your own, written "
                                  "with the standard library only (calling the package would pass the "
                                  "checks without teaching anything)" % (path.name, node.lineno, name))


def missing_parts(path=None):
    """[(function name, "not built yet (chapter NN, stage ...)")] of my_server.py, read without running it."""
    return parts_not_built(my_server_path(path).read_text(encoding="utf-8"))


def parts_not_built(source):
    """[(function name, "not built yet ...")] in `source`, in file order: each function that still raises it."""
    tree = ast.parse(source)
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for statement in node.body:
            message = _not_built_message(statement)
            if message:
                missing.append((node.lineno, node.name, message))
    return [(name, message) for _, name, message in sorted(missing)]


def _not_built_message(statement):
    """The message of `raise NotImplementedError("not built yet ...")`, else None."""
    if not (isinstance(statement, ast.Raise) and isinstance(statement.exc, ast.Call)):
        return None
    call = statement.exc
    if getattr(call.func, "id", None) != "NotImplementedError" or not call.args:
        return None
    argument = call.args[0]
    if isinstance(argument, ast.Constant) and str(argument.value).startswith(NOT_BUILT):
        return argument.value
    return None


def chapter_of(message):
    """The chapter number in "not built yet (chapter 04, ...)", or None."""
    words = message.replace(",", " ").replace("(", " ").split()
    for word, following in zip(words, words[1:]):
        if word == "chapter" and following.isdigit():
            return int(following)
    return None


def server_command(path=None):
    """The stage tester's command line for the learner's server ({port}, {root}, {directory} filled in by it)."""
    return [sys.executable, str(my_server_path(path)), "--port", "{port}",
            "--directory", "{directory}", "--root", "{root}"]


# ---------------------------------------------------------------- showing a run

def escaped(data, limit=300):
    """Bytes as one readable line: CR and LF shown as \\r \\n, the middle cut when long."""
    text = repr(bytes(data))[2:-1]
    if len(text) > limit:
        text = text[:limit - 40] + " … " + text[-30:]
    return text


def ladder_text(exchange, width=100):
    """The exchange as a ladder: each send an arrow from its side, times in ms from the first.

    `exchange` is [(direction, bytes, time)], "sent" by the tester, "received" from the server.
    """
    if not exchange:
        return "  (no bytes moved: the connection failed before anything was sent)"
    origin = exchange[0][2]
    lines = ["  %8s   %-18s%s" % ("t (ms)", "tester", "your server".rjust(width - 30))]
    for direction, data, moment in exchange:
        label = "%s (%d B)" % (escaped(data, width - 30), len(data)) if data else "(closed its side)"
        if direction == "sent":
            arrow = "── " + label + " ──▶"
        else:
            arrow = "◀── " + label + " ──"
        lines.append("  %8.1f   %s" % ((moment - origin) * 1000, arrow))
    return "\n".join(lines)


def stage_table(results):
    """One line per stage: mark, name, status, title."""
    return "\n".join("  %s %-22s %-12s %s" % (MARKS.get(result.status, "?"), result.name, result.status,
                                              result.title) for result in results)


def failure_report(result, missing):
    """The first failed stage: the tester's message, the parts not built yet, the exchange."""
    lines = ["", result.message.rstrip()]  # the tester's own words name the stage and the rule
    due = [(name, message) for name, message in missing
           if chapter_of(message) is None or chapter_of(message) <= int(result.chapter)]
    if due:
        lines += ["", "parts of my_server.py still to write for this stage and the ones before it:"]
        lines += ["  %-20s %s" % (name, message) for name, message in due]
    if result.exchange:
        lines += ["", "what went over the wire:", ladder_text(result.exchange)]
    return "\n".join(lines)


def check_my_server(upto, path=None, names=None):
    """Run the stages up to chapter `upto` on my_server.py; print the table; BuildFailed unless all passed."""
    from httpserver.stages import run_stages  # only here: the chapters import this module early

    path = my_server_path(path)
    if not path.is_file():
        load_my_server(path)  # raises the friendly "no my_server.py" report
    refuse_package_imports(path)
    try:
        missing = missing_parts(path)
    except SyntaxError as error:
        raise BuildFailed("%s does not run: line %s: %s" % (path.name, error.lineno, error.msg)) from None
    report = run_stages(server_command(path), upto=upto, names=names)
    passed = sum(result.status == "passed" for result in report.results)
    heading = "my_server.py, stages up to chapter %02d: %d of %d passed" % (upto, passed, len(report.results))
    table = heading + "\n" + stage_table(report.results)
    if report.passed:
        print("✓ " + table)
        return report
    failed = next(result for result in report.results if result.status == "failed")
    raise BuildFailed(table + "\n" + failure_report(failed, missing))


# ---------------------------------------------------------------- chapter 09: measuring

def require_complete(path=None):
    """BuildFailed listing the parts still missing, when my_server.py is not complete yet."""
    load_my_server(path)  # a missing file, a syntax error or a package import: said in words
    missing = missing_parts(path)
    if missing:
        raise BuildFailed("measure your server once it is complete; these parts are not built yet:\n"
                          + "\n".join("  %-20s %s" % part for part in missing))


def measure_my_server(path=None, site=None, target="/about.txt", connections=(1, 10),
                      requests=3000, duration=1.0, models=("thread", "select")):
    """{server name: {connections: LoadResult}} for my_server.py, `python -m http.server` and our models.

    Each server runs in a child process on a free port, serving `site` (the
    repository's data/www by default); each measurement stops after `requests`
    requests or `duration` seconds, whichever comes first.
    """
    from httpserver.background import default_folder
    from httpserver.bench import ServerProcess, free_port
    from httpserver.lab.load import run_load

    require_complete(path)
    site = str(site or default_folder("www"))
    python = sys.executable
    commands = {
        "my_server.py": [python, str(my_server_path(path)), "--root", site, "--directory", site, "--port"],
        "http.server": [python, "-m", "http.server", "--bind", "127.0.0.1", "--directory", site],
    }
    for model in models:
        commands[model] = [python, "-m", "httpserver", "--quiet", "--model", model, "--root", site,
                           "--directory", site, "--port"]
    results = {}
    for name, command in commands.items():
        port = free_port()
        server = ServerProcess(name, command + [str(port)], port)
        try:
            results[name] = {count: run_load(("127.0.0.1", port), target, connections=count,
                                             requests=requests, duration=duration)
                             for count in connections}
        finally:
            server.stop()
    return results


def measurement_table(results):
    """Requests per second and p99 latency per server and number of connections, as text."""
    counts = sorted({count for by_count in results.values() for count in by_count})
    lines = ["%-14s" % "server" + "".join("%22s" % ("%d conn: req/s, p99" % count) for count in counts)]
    for name, by_count in results.items():
        cells = []
        for count in counts:
            result = by_count.get(count)
            if result is None or not result.records:
                cells.append("%22s" % "-")
            else:
                cells.append("%22s" % ("%.0f, %.1f ms" % (result.requests_per_second,
                                                          result.percentile(0.99) * 1000)))
        lines.append("%-14s" % name + "".join(cells))
    return "\n".join(lines)


def plot_measurements(results, ax=None):
    """Bars of requests per second, one group per number of connections; returns the figure."""
    import matplotlib.pyplot as plt

    names = list(results)
    counts = sorted({count for by_count in results.values() for count in by_count})
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    from matplotlib.ticker import StrMethodFormatter

    from . import style

    width = 0.8 / len(names)
    hatches = ["", "//", "..", "xx", "\\\\", "++"]  # shape as well as colour tells the bars apart
    for index, name in enumerate(names):
        heights = [results[name][count].requests_per_second if count in results[name] else 0
                   for count in counts]
        bars = ax.bar([position + index * width for position in range(len(counts))], heights, width,
                      label=name, hatch=hatches[index % len(hatches)], edgecolor="black", color=style.colour(index))
        ax.bar_label(bars, labels=[f"{height:,.0f}" for height in heights], fontsize=7, padding=2)
    ax.set_xticks([position + width * (len(names) - 1) / 2 for position in range(len(counts))])
    ax.set_xticklabels(["%d connection%s" % (count, "" if count == 1 else "s") for count in counts])
    ax.set_xlabel("concurrent client connections (keep-alive)")
    ax.set_ylabel("requests per second")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_ylim(0, ax.get_ylim()[1] * 1.1)  # room for the numbers above the bars
    ax.set_title("Your server beside python -m http.server and the package's models")
    style.legend_outside(ax)
    ax.figure.tight_layout()
    return ax.figure


# The client of profile_my_server runs in a process of its own: since Python 3.12
# cProfile records every thread of its process, and the client's own calls would
# be mixed into the server's profile.
_PROFILE_CLIENT = """
import http.client, sys
port, requests, target = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
answered = 0
for _ in range(requests):
    connection.request("GET", target)
    connection.getresponse().read()
    answered += 1
connection.close()
print(answered)
"""


def profile_my_server(path=None, site=None, requests=2000, target="/echo/profile"):
    """pstats.Stats of my_server's handle_connection serving `requests` keep-alive requests.

    The server side runs in this thread under cProfile, on a connection accepted
    here; the client is another process that sends the requests with http.client.
    """
    import cProfile
    import pstats
    import socket
    import subprocess
    import sys

    from httpserver.background import default_folder

    require_complete(path)
    my_server = load_my_server(path)
    site = str(site or default_folder("www"))
    config = my_server.Config(site, site)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = subprocess.Popen([sys.executable, "-c", _PROFILE_CLIENT, str(port), str(requests), target],
                                  stdout=subprocess.PIPE, text=True)
        listener.settimeout(30)
        server_side, _ = listener.accept()
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        my_server.handle_connection(server_side, config)
    finally:
        profiler.disable()
        server_side.close()
        try:
            output, _ = client.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            client.kill()
            output, _ = client.communicate()
    answered = int(output.strip() or 0)
    if answered != requests:
        raise CheckFailed("my_server answered %d of %d requests while profiled" % (answered, requests))
    return pstats.Stats(profiler)
