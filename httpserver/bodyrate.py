"""How long a request body may take: silence, and a minimum rate.

Contract: a `BodyClock` starts when a body's head has arrived (`started`),
hears of every piece of body with `received(now, count)`, and says when the
wait for more ends with `deadline(now)` (`now`: when bytes last came). The
connection answers 408 once that time has passed. No I/O, and time is given,
never read: a chapter can replay the rule with a clock moved by hand.

Two rules, as servers in front of the internet use:
- Silence may last `body_timeout` seconds (like nginx's client_body_timeout).
- Every window of `body_timeout` seconds after the first must bring
  `min_body_rate × body_timeout` bytes (a minimum rate, like Apache's
  mod_reqtimeout, but over a recent window, so bytes sent fast long ago cannot
  pay for a trickle now). The first window is free: a client may take its time
  to start.
"""


class BodyClock:
    """The deadline of one request body under the silence and rate rules."""

    __slots__ = ("started", "window", "min_bytes", "current", "bytes_in_window", "too_slow_at")

    def __init__(self, started, body_timeout, min_body_rate):
        self.started = started  # when the head ended
        self.window = body_timeout  # seconds per window
        self.min_bytes = min_body_rate * body_timeout  # what each window after the first must bring
        self.current = 0  # which window the body is in
        self.bytes_in_window = 0
        self.too_slow_at = None  # the deadline, once a window fell short

    def received(self, now, count):
        """`count` bytes of body arrived at `now`."""
        window = int((now - self.started) / self.window)
        if window == self.current:
            self.bytes_in_window += count
            return
        if self._short():  # the window that just ended brought too little
            self._too_slow(self.current)
        elif window > self.current + 1:  # a whole window went by without a byte
            self._too_slow(self.current + 1)
        self.current, self.bytes_in_window = window, count

    def deadline(self, now):
        """When the wait for the rest of the body ends (`now`: the last bytes' time)."""
        if self.too_slow_at is not None:
            return self.too_slow_at
        window_end = self.started + (self.current + 1) * self.window
        by_rate = window_end if self._short() else window_end + self.window
        return min(now + self.window, by_rate)

    def _short(self):
        """True when the current window (after the first) is below the minimum rate."""
        return self.current >= 1 and self.bytes_in_window < self.min_bytes

    def _too_slow(self, window):
        if self.too_slow_at is None:  # the first failure counts; the deadline has passed
            self.too_slow_at = self.started + (window + 1) * self.window
