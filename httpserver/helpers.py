"""Helper threads for the event loop: they run the steps that may wait on a disk.

Contract: `HelperThreads.run(key, job, then)` queues `job()` to run on one of
at most `count` threads (started when first needed); when it has run,
`then(result, error)` is queued for the loop, which collects it with
`finished()` after `wake()` has woken it. The loop itself never calls
anything that can block.

Fair to every client: jobs wait in one queue per client (`key`, its address)
and are taken in turn, one client after another, and no client has more than
`per_key` jobs running at once. So a client that makes 100 slow reads queues
behind itself, while another client's first read goes straight to a free
thread: one client cannot take every helper, however slow its disk.
"""

import collections
import queue
import threading


class TakeTurns:
    """A queue per key, served in turn: one item of each key, then the next key.

    With one client's thousand items and another's one, the other's comes
    second, not a thousand and first. `ready(key)` may hold a key back."""

    def __init__(self):
        self.queues = collections.OrderedDict()  # key → deque, in the order of their turns

    def __len__(self):
        return len(self.queues)  # keys waiting (0: empty)

    def add(self, key, item):
        self.queues.setdefault(key, collections.deque()).append(item)

    def take(self, ready=None):
        """(key, item) of the next turn (`ready(key)` false: skip that key), or None."""
        for key, items in self.queues.items():
            if ready is None or ready(key):
                item = items.popleft()
                if items:
                    self.queues.move_to_end(key)  # its next item waits for the others' turns
                else:
                    del self.queues[key]
                return key, item
        return None


class HelperThreads:
    """A few threads that run blocking jobs for the event loop."""

    def __init__(self, count, wake, per_key=None, name="helper"):
        self.count = count
        self.per_key = per_key or max(1, count // 2)
        self.wake = wake  # called after a job has run: the loop then calls finished()
        self.name = name
        self.waiting = TakeTurns()  # (job, then) per key
        self.running = collections.Counter()  # key → jobs running now
        self.done = queue.SimpleQueue()  # (then, result, error), for the loop
        self.condition = threading.Condition()
        self.threads = []
        self.idle = 0  # threads waiting for a job
        self.queued = 0  # jobs waiting for a thread
        self.stopping = False

    def run(self, key, job, then=None):
        """Queue `job()` for a helper; `then(result, error)` runs on the loop afterwards."""
        with self.condition:
            self.waiting.add(key, (job, then))
            self.queued += 1
            self.condition.notify()
            # A thread woken a moment ago may not have taken its job yet: count jobs,
            # not wake-ups, so no job waits while a thread could be started for it.
            if self.queued > self.idle and len(self.threads) < self.count:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self.threads)}",
                                          daemon=True)
                self.threads.append(thread)
                thread.start()

    def finished(self):
        """(then, result, error) of every job that has run since the last call."""
        while True:
            try:
                yield self.done.get_nowait()
            except queue.Empty:
                return

    def stop(self, timeout=5.0):
        """Let running jobs end (at most `timeout` each), start no more."""
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        for thread in self.threads:
            thread.join(timeout)

    def _next(self):
        """The next job, in turn across clients, skipping those at their limit (under the lock)."""
        chosen = self.waiting.take(lambda key: self.running[key] < self.per_key)
        if chosen is None:
            return None
        key, (job, then) = chosen
        self.running[key] += 1
        self.queued -= 1
        return key, job, then

    def _work(self):
        while True:
            with self.condition:
                chosen = None
                while not self.stopping and (chosen := self._next()) is None:
                    self.idle += 1
                    self.condition.wait()
                    self.idle -= 1
                if chosen is None:
                    return
            key, job, then = chosen
            result = error = None
            try:
                result = job()
            except BaseException as failure:  # reported to the loop, which decides
                error = failure
            with self.condition:
                self.running[key] -= 1
                if not self.running[key]:
                    del self.running[key]
                if self.waiting:
                    self.condition.notify()  # a job held back by the per-key limit may go now
            self.done.put((then, result, error))
            self.wake()
