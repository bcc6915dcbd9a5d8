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


class HelperThreads:
    """A few threads that run blocking jobs for the event loop."""

    def __init__(self, count, wake, per_key=None, name="helper"):
        self.count = count
        self.per_key = per_key or max(1, count // 2)
        self.wake = wake  # called after a job has run: the loop then calls finished()
        self.name = name
        self.waiting = collections.OrderedDict()  # key → deque of (job, then): whose turn is next
        self.running = collections.Counter()  # key → jobs running now
        self.done = queue.SimpleQueue()  # (then, result, error), for the loop
        self.condition = threading.Condition()
        self.threads = []
        self.idle = 0  # threads waiting for a job
        self.stopping = False

    def run(self, key, job, then=None):
        """Queue `job()` for a helper; `then(result, error)` runs on the loop afterwards."""
        with self.condition:
            self.waiting.setdefault(key, collections.deque()).append((job, then))
            if self.idle:
                self.condition.notify()
            elif len(self.threads) < self.count:
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
        for key, jobs in self.waiting.items():
            if self.running[key] < self.per_key:
                job, then = jobs.popleft()
                if jobs:
                    self.waiting.move_to_end(key)  # its next job waits for the others' turns
                else:
                    del self.waiting[key]
                self.running[key] += 1
                return key, job, then
        return None

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
