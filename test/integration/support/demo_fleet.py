#!/usr/bin/env python3
"""The demo's app: N instances of one Cloud Foundry app on loopback, each a small real HTTP
server with evolving metrics (counter, gauge, histogram, summary), registered with gorouter's
`router.register` messages over NATS and re-registered every --interval seconds and whenever a
router announces itself with `router.start`, as route-emitter does. SIGTERM or SIGINT
unregisters them and exits 0.

    demo_fleet.py --nats-port 4222 [--instances 3] [--org demo-org] [--space demo-space]
                  [--app demo-app] [--route demo-app.apps.internal] [--interval 5]
                  [--ready-file PATH]
"""

import argparse
import math
import os
import queue
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from instances import AppInstance, app_tags  # noqa: E402
from peers import NatsClient, register_message  # noqa: E402


class Workload:
    """Metrics of one instance that move between scrapes, like a live app's."""

    def __init__(self, index):
        self.index = index
        self.started = time.time()
        self.lock = threading.Lock()
        self.requests = {("GET", "200"): 1000 * (index + 1), ("POST", "201"): 50 * (index + 1),
                         ("GET", "500"): index}
        self.bounds = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
        self.buckets = [0] * len(self.bounds)
        self.count = 0
        self.total = 0.0

    def observe(self):
        # A deterministic pseudo-random latency per request: no RNG state to share.
        with self.lock:
            for _ in range(7 + self.index):
                self.count += 1
                latency = 0.004 + 0.3 * (math.sin(self.count * 12.9898 + self.index) ** 2)
                self.total += latency
                # Per-bucket counts: each observation in the first bucket it fits (none when
                # above every bound: only +Inf, which is the count, holds it); body() makes
                # them cumulative.
                for i, bound in enumerate(self.bounds):
                    if latency <= bound:
                        self.buckets[i] += 1
                        break
                self.requests[("GET", "200")] += 1
            if self.count % 5 == 0:
                self.requests[("POST", "201")] += 1

    def body(self):
        self.observe()
        with self.lock:
            lines = [
                "# HELP http_server_requests_total Requests handled, by method and status.",
                "# TYPE http_server_requests_total counter",
            ]
            for (method, code), value in sorted(self.requests.items()):
                lines.append(f'http_server_requests_total{{method="{method}",code="{code}"}} '
                             f"{value}")
            uptime = time.time() - self.started
            lines += [
                "# HELP process_uptime_seconds Seconds since the instance started.",
                "# TYPE process_uptime_seconds gauge",
                f"process_uptime_seconds {uptime:.3f}",
                "# HELP jvm_memory_used_bytes Memory in use.",
                "# TYPE jvm_memory_used_bytes gauge",
                f'jvm_memory_used_bytes{{area="heap"}} '
                f"{int(80e6 + 5e6 * self.index + 1e6 * math.sin(uptime))}",
                f'jvm_memory_used_bytes{{area="nonheap"}} {int(40e6 + 1e6 * self.index)}',
                "# HELP http_server_request_duration_seconds Request latency.",
                "# TYPE http_server_request_duration_seconds histogram",
            ]
            cumulative = 0
            for bound, n in zip(self.bounds, self.buckets):
                cumulative += n
                lines.append(f'http_server_request_duration_seconds_bucket{{le="{bound}"}} '
                             f"{cumulative}")
            lines += [
                f'http_server_request_duration_seconds_bucket{{le="+Inf"}} {self.count}',
                f"http_server_request_duration_seconds_sum {self.total:.6f}",
                f"http_server_request_duration_seconds_count {self.count}",
                "# HELP db_query_duration_seconds Database query latency.",
                "# TYPE db_query_duration_seconds summary",
                f'db_query_duration_seconds{{quantile="0.5"}} {0.002 + 0.001 * self.index}',
                f'db_query_duration_seconds{{quantile="0.9"}} {0.008 + 0.001 * self.index}',
                f'db_query_duration_seconds{{quantile="0.99"}} {0.03 + 0.002 * self.index}',
                f"db_query_duration_seconds_sum {0.004 * self.count:.6f}",
                f"db_query_duration_seconds_count {self.count}",
            ]
        return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nats-port", type=int, required=True)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--org", default="demo-org")
    parser.add_argument("--space", default="demo-space")
    parser.add_argument("--app", default="demo-app")
    parser.add_argument("--route", default="demo-app.apps.internal")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--ready-file")
    args = parser.parse_args()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    instances, messages = [], []
    for index in range(args.instances):
        workload = Workload(index)
        instance = AppInstance(index=index, body=workload.body)
        instances.append(instance)
        tags = app_tags(args.org, args.space, args.app, index)
        messages.append(register_message("127.0.0.1", instance.port, [args.route], tags))
    nats = NatsClient(args.nats_port, name="demo-route-emitter")
    _, starts = nats.subscribe("router.start")

    def register_all():
        for message in messages:
            nats.publish("router.register", {**message, "endpoint_updated_at_ns": time.time_ns()})
        nats.flush()

    try:
        register_all()
        for instance, message in zip(instances, messages):
            print(f"demo-fleet: instance {message['tags']['instance_id']} of "
                  f"{args.org}/{args.space}/{args.app} on {instance.address}, registered as "
                  f"{args.route}", flush=True)
        if args.ready_file:
            with open(args.ready_file, "w") as f:
                f.write("\n".join(i.address for i in instances) + "\n")
        next_emit = time.monotonic() + args.interval
        while not stop.is_set() and not nats.closed.is_set():
            try:
                starts.get(timeout=min(0.2, max(0.0, next_emit - time.monotonic())))
                register_all()  # a router (re)started: re-send every route at once
                continue
            except queue.Empty:
                pass
            if time.monotonic() >= next_emit:
                register_all()
                next_emit = time.monotonic() + args.interval
    finally:
        if not nats.closed.is_set():
            for message in messages:
                nats.publish("router.unregister", message)
            try:
                nats.flush(2)
            except (AssertionError, OSError):
                pass
        nats.close()
        for instance in instances:
            instance.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
