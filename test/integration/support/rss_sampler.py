"""The resident memory of a process, watched from outside: VmRSS from /proc/<pid>/status
sampled on a thread (a timeline for the report), and VmHWM, the kernel's own high-water mark,
which also catches a peak between two samples. Optionally kills the process once it passes a
hard limit, so that a test of a memory ceiling cannot take a shared machine's memory with it."""

import os
import signal
import threading
import time


def proc_status_bytes(pid, field):
    """A `kB` field of /proc/<pid>/status in bytes, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class RssSampler:
    def __init__(self, pid, interval=0.1, kill_above=None):
        self.pid = pid
        self.interval = interval
        self.kill_above = kill_above
        self.started = time.monotonic()
        self.samples = []  # (seconds since start, bytes)
        self.killed_at = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            rss = proc_status_bytes(self.pid, "VmRSS")
            if rss is None:
                return
            now = time.monotonic() - self.started
            self.samples.append((now, rss))
            if self.kill_above and rss > self.kill_above and self.killed_at is None:
                self.killed_at = now
                os.kill(self.pid, signal.SIGKILL)
                return
            self._stop.wait(self.interval)

    def high_water_mark(self):
        """VmHWM now (None once the process is gone), at least the largest sample."""
        hwm = proc_status_bytes(self.pid, "VmHWM")
        peak = self.peak()[1]
        return max(hwm or 0, peak) if hwm is not None or peak else None

    def peak(self):
        """(seconds since start, bytes) of the largest sample."""
        return max(self.samples, key=lambda s: s[1], default=(0.0, 0))

    def first_above(self, limit):
        return next(((t, rss) for t, rss in self.samples if rss > limit), None)

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def timeline(self, step=5.0):
        """The largest sample of every `step` seconds, as "t:MiB" text for a report."""
        buckets = {}
        for t, rss in self.samples:
            key = int(t // step)
            buckets[key] = max(buckets.get(key, 0), rss)
        return " ".join(f"{int(k * step)}s:{v >> 20}" for k, v in sorted(buckets.items()))
