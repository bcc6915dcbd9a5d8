"""Chapter 05's exercises: a thread per connection (my_server.py), percentiles, requests at once."""

import os
import socket
import threading
import time

from . import exercise, outcome_text, token, unchanged_arguments

SLOW_SECONDS = 0.5  # the slow handler's sleep; four clients served one after another wait 2 s


def read_all(sock):
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


class Clients:
    """The grader's clients, outside the sandbox: they connect to each trial's Unix socket and
    time the answers. What they see is what the judge believes."""

    def __init__(self, exchange, cases):
        self.exchange, self.cases, self.seen = exchange, cases, [None] * len(cases)

    def before(self):
        self.finished = threading.Event()  # set once the sandbox ended: stop waiting for it
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        for index, trial in enumerate(self.cases):
            path = os.path.join(self.exchange, trial["socket"])
            if not wait_for(path, self.finished):
                return
            answers = [None] * trial["clients"]
            sent = threading.Semaphore(0)
            threads = [threading.Thread(target=self.client, args=(path, target, answers, number, sent), daemon=True)
                       for number, target in enumerate(trial["targets"])]
            for thread in threads:
                thread.start()
            for _ in threads:  # every request is queued: now the probe may accept them
                sent.acquire(timeout=10)
            open(path + ".go", "w").close()
            for thread in threads:
                thread.join(15)
            self.seen[index] = answers
            if trial["kind"] == "busy":
                time.sleep(SLOW_SECONDS)  # threads give their places back just after answering
        if wait_for(os.path.join(self.exchange, "done.sock"), self.finished):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                try:
                    sock.connect(os.path.join(self.exchange, "done.sock"))
                except OSError:  # the probe is gone already
                    pass

    @staticmethod
    def client(path, target, answers, number, sent):
        """One client: send a request for `target`, say so, keep (sent, answered, bytes) in answers[number].

        The clock starts when the probe may accept: the request waited in the queue before."""
        started = None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(3)  # the slow handler answers in SLOW_SECONDS
                sock.connect(path)
                sock.sendall(b"GET %s HTTP/1.1\r\nHost: grader\r\n\r\n" % target.encode())
                started = time.monotonic()
                sent.release()
                answer = read_all(sock)
        except OSError as error:
            if started is None:
                sent.release()
            answer = ("no answer: %s" % error).encode()
        answers[number] = (started or time.monotonic(), time.monotonic(), answer)

    def after(self):
        self.finished.set()
        self.thread.join(1)
        return [{"answers": answers} for answers in self.seen], None


def wait_for(path, finished, seconds=15):
    """True once `path` exists; False after `seconds`, or as soon as the sandbox has ended."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline or finished.is_set():
            return False
        time.sleep(0.01)
    return True


def judge_trial(case, observed, expected):
    if "raised" in observed:
        return "serve_in_thread %s" % outcome_text(observed)
    answers = (observed.get("outside") or {}).get("answers")
    if not answers or None in answers:
        return "the grader's clients were not all accepted (does serve_in_thread return?)"
    served = [target for target, (_, _, answer) in zip(case["targets"], answers)
              if answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"you asked for %s\n" % target.encode())]
    busy = [answer for _, _, answer in answers if answer.startswith(b"HTTP/1.1 503")]
    kind = case["kind"]
    if kind == "busy":
        if len(busy) != case["clients"] - case["places"] or len(served) != case["places"]:
            return ("FREE_PLACES had %d places and %d clients came: %d should be served and %d answered "
                    "`503 Service Unavailable`; %d were served and %d got 503"
                    % (case["places"], case["clients"], case["places"], case["clients"] - case["places"],
                       len(served), len(busy)))
        return None
    if len(served) != case["clients"]:
        what = ("the places of the trial before were not given back (release() in a finally: block)"
                if kind == "freed" else "start a thread that runs serve_one(connection, config)")
        return "%d of %d clients got their answer: %s" % (len(served), case["clients"], what)
    if any(got - sent < SLOW_SECONDS * 0.8 for sent, got, _ in answers):
        return "the answers came before the slow handler could have run: serve_one must be the module's"
    took = max(got for _, got, _ in answers) - min(sent for sent, _, _ in answers)
    if kind == "together" and took > SLOW_SECONDS * 2.5:
        return ("%d clients took %.1f s: the handlers ran one after another. Start a thread for each "
                "connection and return at once, without join()" % (case["clients"], took))
    return None


@exercise("ch05-handing_over_with-check", "serve_in_thread", probe="concurrency", judge=judge_trial,
          outside=Clients, seconds=30, extra={"slow_seconds": SLOW_SECONDS, "folder": "exchange"})
def concurrency_trials(rng):
    def trial(number, kind, clients, places=None):
        return {"socket": "trial-%d.sock" % number, "kind": kind, "clients": clients, "places": places,
                "targets": ["/%s-%d" % (token(rng), client) for client in range(clients)]}
    return [trial(1, "one", 1, 100), trial(2, "together", 4, 100), trial(3, "busy", 3, 2), trial(4, "freed", 2)]


@exercise("ch05-percentile-check", "percentile", where="ch05-percentile", judge=unchanged_arguments())
def percentile_cases(rng):
    cases = []
    for _ in range(14):
        values = [rng.choice([rng.randint(1, 500), round(rng.uniform(0.1, 99.9), 3)])
                  for _ in range(rng.randint(1, 120))]
        cases.append({"args": (values, rng.choice([rng.randint(0, 100), 0, 100, 50, 99, 7])), "keep_args": True})
    cases += [{"args": ([], rng.randint(0, 100))}, {"args": ([1, 2, 3], rng.randint(101, 200))},
              {"args": ([1, 2, 3], -rng.randint(1, 50))}]
    return rng.sample(cases, len(cases))


@exercise("ch05-max_concurrency-check", "max_concurrency", where="ch05-max_concurrency",
          probe="handling_records")
def max_concurrency_cases(rng):
    start = rng.randint(0, 10)
    cases = [{"args": ([],)}, {"args": ([(start, start + 1), (start + 1, start + 2)],)},  # touching: one at a time
             {"args": ([(0, 10), (2, 3), (4, 5)],)}, {"args": ([(0, 2), (1, 3), (2.5, 4)],)}]
    for _ in range(10):
        spans = []
        for _ in range(rng.randint(1, 12)):
            start = rng.randint(0, 20) / 2
            spans.append((start, start + rng.randint(1, 10) / 2))  # halves: ends meet starts often
        cases.append({"args": (spans,)})
    cases.append({"args": ([(0, 1)] * rng.randint(2, 9),)})
    return cases
