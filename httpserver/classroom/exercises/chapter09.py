"""Chapter 09's exercises: latency percentiles, a speed-up table, the hottest function of a profile."""

from . import exercise, pick, token, unchanged_arguments, within


@exercise("ch09-summarize-check", "summarize", where="ch09-summarize", judge=unchanged_arguments())
def summarize_cases(rng):
    cases = [{"args": ([round(rng.uniform(0.1, 50), 3)],), "keep_args": True}]  # one latency
    for _ in range(12):
        count = pick(rng, 1, rng.randint(2, 20), rng.randint(21, 300))
        values = [round(rng.uniform(0.1, 50), 3) if rng.random() < 0.9 else rng.uniform(500, 2000)
                  for _ in range(count)]
        cases.append({"args": (values,), "keep_args": True})
    return cases + [{"args": ([],)}]


SERVERS = ["http.server", "select", "thread", "pool", "iterative", token]


def results(rng, baseline, missing_baseline=False):
    servers = {}
    names = {name if isinstance(name, str) else name(rng) for name in SERVERS}
    for name in names:
        if name == baseline and missing_baseline:
            continue
        small = {}
        for connections in rng.sample(["1", "10", "100", "1000"], rng.randint(1, 4)):
            small[connections] = {"rps": pick(rng, 0.0, round(rng.uniform(10, 20000), 1)) if name == baseline
                                  else round(rng.uniform(10, 20000), 1)}
        servers[name] = {"small": small}
    return {"servers": servers}


@exercise("ch09-speedup_table-check", "speedup_table", where="ch09-speedup_table", judge=within(1e-9))
def speedup_table_cases(rng):
    cases = []
    for _ in range(10):
        baseline = pick(rng, "http.server", "select")
        arguments = (results(rng, baseline),) if baseline == "http.server" and rng.random() < 0.5 \
            else (results(rng, baseline), baseline)
        cases.append({"args": arguments})
    zero = results(rng, "http.server")
    zero["servers"]["http.server"]["small"]["1"] = {"rps": 0.0}  # a ratio to 0 is left out
    zero["servers"]["select"]["small"]["1"] = {"rps": 900.0}
    cases.append({"args": (zero,)})
    cases.append({"args": (results(rng, "http.server", missing_baseline=True),)})
    return cases


def function_row(rng, package):
    folder = pick(rng, "/home/%s/course" % token(rng), "/srv/" + token(rng), "C:\\work\\" + token(rng))
    separator = "\\" if folder.startswith("C:") else "/"
    kind = rng.random()
    if kind < 0.45:
        path = separator.join([folder, package, token(rng) + ".py"])
    elif kind < 0.6:
        path = separator.join([folder, "my" + package, token(rng) + ".py"])  # a folder named like it
    elif kind < 0.7:
        path = separator.join([folder, "tools", package + ".py"])          # a file named like it
    elif kind < 0.85:
        return ("{built-in method %s}" % pick(rng, "posix.lstat", "select.select", "time.sleep"),
                round(rng.uniform(0, 1), 3), 1.0)
    else:
        path = "<frozen %s>" % pick(rng, "posixpath", "os")
    function = "%s:%d(%s)" % (path, rng.randint(1, 900), token(rng))
    own = round(rng.uniform(0, 1), pick(rng, 1, 3))  # one decimal: ties happen
    return (function, own, round(own + rng.uniform(0, 1), 3))


@exercise("ch09-hottest_own_code-check", "hottest_own_code", where="ch09-hottest_own_code")
def hottest_own_code_cases(rng):
    own = "/home/%s/httpserver/%s.py:%d(%s)" % (token(rng), token(rng), rng.randint(1, 99), token(rng))
    windows = "C:\\%s\\httpserver\\%s.py:%d(%s)" % (token(rng), token(rng), rng.randint(1, 99), token(rng))
    tie = [(own, 0.05, 0.1), (own.replace(".py", "2.py"), 0.05, 0.2)]               # a tie: the first wins
    builtin = ("{built-in method posix.lstat}", 0.9, 0.9)
    cases = [{"args": ([],)}, {"args": (tie,)}, {"args": ([builtin, (windows, 0.2, 0.3)],)},
             {"args": ([builtin, ("<frozen posixpath>:71(join)", 0.5, 0.5)],)},
             {"args": ([("/srv/myhttpserver/app.py:3(handle)", 0.8, 0.8), ("/t/tools/httpserver.py:1(m)", 0.7, 0.7),
                        (own, 0.1, 0.2)],)}]
    for _ in range(10):
        package = pick(rng, "httpserver", "httpserver", "email", token(rng))
        rows = [function_row(rng, package) for _ in range(rng.randint(1, 10))]
        cases.append({"args": (rows,) if package == "httpserver" and rng.random() < 0.5 else (rows, package)})
    return cases


@exercise("ch09-slow_start_round_trips-check", "slow_start_round_trips", where="ch09-slow_start_round_trips")
def slow_start_round_trips_cases(rng):
    cases = [{"args": (0,)}, {"args": (1,)}]
    for _ in range(10):
        mss, window = pick(rng, 1460, 536, rng.randint(100, 9000)), pick(rng, 10, 4, rng.randint(1, 20))
        rounds = rng.randint(1, 8)
        edge = mss * window * (2 ** rounds - 1)  # exactly what `rounds` rounds carry
        size = pick(rng, edge, edge + 1, edge - 1, rng.randint(1, edge))
        cases.append({"args": (size, mss, window) if rng.random() < 0.7 else (size,)})
    cases += [{"args": (-rng.randint(1, 100),)}, {"args": (10, 0)}, {"args": (10, 1460, 0)}]
    return rng.sample(cases, len(cases))
