"""App instances in a child process of their own (`InstanceFarm`), for tests whose own process
is busy: a load test's driver threads hold the GIL for long stretches, and an instance that
answers a second late would look like a gateway fault. The child runs `instances.AppInstance`
servers described by JSON specs, prints their ports as one JSON line, and stops when its stdin
closes (so it never outlives the test).

A spec: {"index": 0, "mode": "ok"|"hang"|..., "body": "demo"|"no_inf"|"wide",
         "wide_bytes": 2097152, "hang_seconds": 1.0}"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def wide_body(size, index):
    """A 0.0.4 body of about `size` bytes of distinct gauge series (a big app's instance)."""
    head = ("# HELP chaos_wide_series A series of a wide app.\n"
            "# TYPE chaos_wide_series gauge\n")
    lines, total, i = [head], len(head), 0
    while total < size:
        line = f'chaos_wide_series{{shard="{index}",n="{i}"}} {i}.5\n'
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines).encode()


def no_inf_body(index):
    """A realistic body whose histogram has no +Inf bucket (legal to write in 0.0.4, and what
    issue 10 item 11 found let through into merged OpenMetrics answers)."""
    from instances import demo_metrics
    return (demo_metrics(index) + "# HELP chaos_latency_seconds Latency without +Inf.\n"
            "# TYPE chaos_latency_seconds histogram\n"
            'chaos_latency_seconds_bucket{le="0.1"} 3\n'
            'chaos_latency_seconds_bucket{le="1"} 5\n'
            "chaos_latency_seconds_sum 2.5\n"
            "chaos_latency_seconds_count 6\n").encode()


def _serve(specs):
    sys.path.insert(0, HERE)
    from instances import AppInstance
    servers = []
    for spec in specs:
        kind = spec.get("body", "demo")
        index = spec.get("index", 0)
        body = None
        if kind == "wide":
            body = wide_body(spec.get("wide_bytes", 2 << 20), index)
        elif kind == "no_inf":
            body = no_inf_body(index)
        servers.append(AppInstance(index=index, mode=spec.get("mode", "ok"), body=body,
                                   hang_seconds=spec.get("hang_seconds", 30.0)))
    print(json.dumps([s.port for s in servers]), flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    for server in servers:
        server.stop()


class InstanceFarm:
    """Starts the child; `ports[i]` is where spec i listens."""

    def __init__(self, specs):
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                         json.dumps(specs)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError("instance farm did not start")
        self.ports = json.loads(line)

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
