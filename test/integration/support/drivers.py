"""The frame of a load test: a `Tally` of outcomes per kind of request (successes with their
times, clear refusals, failures with reasons), a `Driver` thread that repeats one action at a
seeded random pace until stopped, and a `PushLedger` that remembers every push the gateway
answered 202 so that a later answer can be checked against it."""

import abc
import collections
import random
import threading
import time


class Tally:
    """Outcomes of one kind of request. Thread-safe.

    ok       the request did what a legitimate client needs (or a fault was handled right)
    refused  a clear refusal a client may get under pressure (503 from the memory budget):
             neither a success nor a defect
    fail     a defect: a wrong answer, a crash, a hang; the reason says which"""

    def __init__(self, kind):
        self.kind = kind
        self._lock = threading.Lock()
        self.ok_times = []
        self.refusals = collections.Counter()
        self.failures = collections.Counter()
        self.examples = {}  # failure reason -> first detail seen

    def ok(self):
        with self._lock:
            self.ok_times.append(time.monotonic())

    def refused(self, reason):
        with self._lock:
            self.refusals[reason] += 1

    def fail(self, reason, detail=""):
        with self._lock:
            self.failures[reason] += 1
            self.examples.setdefault(reason, str(detail)[:300])

    @property
    def oks(self):
        return len(self.ok_times)

    def longest_gap(self, start, end):
        """The longest time in [start, end] without a success (the whole span if none)."""
        with self._lock:
            times = [t for t in self.ok_times if start <= t <= end]
        points = [start] + times + [end]
        return max(b - a for a, b in zip(points, points[1:]))

    def summary(self, start, end):
        parts = [f"{self.kind}: ok={self.oks}"]
        if self.refusals:
            parts.append("refused=" + ",".join(f"{r}:{n}" for r, n in
                                               sorted(self.refusals.items())))
        if self.failures:
            parts.append("FAILED=" + "; ".join(f"{r} x{n} (e.g. {self.examples[r]})"
                                               for r, n in sorted(self.failures.items())))
        parts.append(f"longest gap {self.longest_gap(start, end):.1f}s")
        return " ".join(parts)


class Driver(abc.ABC):
    """A thread that runs `step()` every `interval` seconds (jittered by its own seeded
    random generator) until `stop()`. An exception out of `step()` is a failure of its tally,
    never the end of the driver. Subclasses set `tally`, may override `close()`."""

    interval = 1.0

    def __init__(self, name, seed, tally=None, interval=None):
        self.name = name
        self.rng = random.Random(f"{seed}:{name}")
        self.tally = tally or Tally(name)
        if interval is not None:
            self.interval = interval
        self.stopping = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception as error:  # noqa: BLE001 - counted, the driver keeps going
                if not self.stopping.is_set():
                    self.tally.fail(f"{self.name} raised {type(error).__name__}", error)
            self.stopping.wait(self.interval * self.rng.uniform(0.5, 1.5))

    @abc.abstractmethod
    def step(self):
        """One round of the driver's work; every subclass defines it."""

    def close(self):
        """Releases what the driver holds (sockets, processes); called once it stopped."""

    def stop(self, timeout=15.0):
        """Idempotent; also for a driver that never started."""
        self.stopping.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        if not self._closed:
            self._closed = True
            self.close()


class PushLedger:
    """Per pushed series, every value the gateway answered 202 for and when. Values of a series
    increase with each push (one writer per series), so "served" is checked as: the value in an
    answer is at least the last one answered 202 before that answer was asked for."""

    def __init__(self):
        self._lock = threading.Lock()
        self._accepted = collections.defaultdict(list)  # series -> [(answered_at, value)]

    def accepted(self, series, value, answered_at):
        with self._lock:
            self._accepted[series].append((answered_at, value))

    def floor(self, series, before):
        """The last value answered 202 before `before`, or None."""
        with self._lock:
            values = [v for t, v in self._accepted[series] if t < before]
        return values[-1] if values else None

    def series(self):
        with self._lock:
            return list(self._accepted)

    def count(self):
        with self._lock:
            return sum(len(v) for v in self._accepted.values())

    def check(self, served, asked_at):
        """Problems of an answer asked for at `asked_at` whose pushed series are `served`
        ({series: value}): a series answered 202 before and missing, or older than that."""
        problems = []
        for series in self.series():
            floor = self.floor(series, asked_at)
            if floor is None:
                continue
            value = served.get(series)
            if value is None:
                problems.append(f"{series} missing (last 202 value {floor})")
            elif value < floor:
                problems.append(f"{series} served {value}, but {floor} was answered 202 before")
        return problems
