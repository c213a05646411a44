"""Soak of the Loggregator egress (issue 14's RSS figure): the real gateway binary with the
broker, pushes and `loggregator.push` on, the grpc-go agent stand-in
(test/integration/loggregator_agent, counting only) on loopback with mutual TLS, pushes of
100-metric bodies at a fixed rate for --seconds, and the agent killed for --outage seconds in
the middle. Every --sample seconds it records the gateway's RSS (/proc/PID/status VmRSS) and the
emitter's counters; at the end it prints them per phase (before, during and after the outage)
and RESULT lines. Run from the source tree after the release build:

    /usr/bin/python3 bench/loggregator/soak.py [--seconds 600] [--outage 60] [--rate 100]

The bound it shows is loggregator.queue_bytes (8 MiB by default) leased from limits.memory:
while the agent is away the queue fills, drops are counted, and RSS stays flat."""

import argparse
import http.client
import json
import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "integration", "support"))
from harness import Gateway, free_port, http_get  # noqa: E402
from loggregator_peers import Agent, Certificates, bind_app, loggregator_yaml  # noqa: E402

APP = "9b0f6a2e-3c1d-4e5f-8a7b-6c5d4e3f2a1b"


def metric(text, name, labels=None):
    total = None
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        if labels and not all(f'{k}="{v}"' in (match.group(2) or "") for k, v in labels.items()):
            continue
        total = (total or 0) + float(match.group(3))
    return total or 0


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def body(sequence):
    """100 gauges of one instance, the same series every time (an app holds at most 10,000),
    three tags each like the Java buildpack's metric writer."""
    metrics = [{"name": f"soak.metric.{n}", "type": "gauge", "value": float(sequence + n),
                "unit": "bytes", "tags": {"area": "heap", "id": f"pool-{n % 7}",
                                          "application": "soak"}}
               for n in range(100)]
    return json.dumps({"applications": [{"id": APP, "instances": [
        {"id": "7c2b1a00-0000-4000-8000-000000000001", "index": "0", "metrics": metrics}]}],
        "version": 1}).encode()


class Pusher(threading.Thread):
    """One keep-alive connection posting at `rate` requests per second on a fixed schedule."""

    def __init__(self, port, key, rate, stop):
        super().__init__(daemon=True)
        self.port, self.key, self.rate, self.stop = port, key, rate, stop
        self.accepted = 0
        self.refused = 0

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Authorization": self.key, "Content-Type": "application/json"}
        next_at = time.monotonic()
        sequence = 0
        while not self.stop.is_set():
            try:
                connection.request("POST", "/v1/metrics", body(sequence), headers)
                response = connection.getresponse()
                response.read()
                if response.status == 202:
                    self.accepted += 1
                else:
                    self.refused += 1
            except (OSError, http.client.HTTPException):
                self.refused += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            sequence += 1
            next_at += 1.0 / self.rate
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--outage", type=int, default=60)
    parser.add_argument("--rate", type=float, default=100, help="requests/s (x100 metrics)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--sample", type=int, default=5)
    args = parser.parse_args()

    certs = Certificates()
    agent = Agent(certs, record=False)
    port, health = free_port(), free_port()
    config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health}\nthreads: 2\n"
              "log: { access: false }\n"
              "broker: { enabled: true, username: cc, password: broker-secret }\n"
              + loggregator_yaml(agent.port, certs, "  push: true\n"))
    gateway = Gateway(config)
    samples = []
    stop = threading.Event()
    pushers = []
    try:
        gateway.wait_ready(port)
        key = bind_app(port, APP)
        pushers = [Pusher(port, key, args.rate / args.connections, stop)
                   for _ in range(args.connections)]
        for p in pushers:
            p.start()
        outage_start = (args.seconds - args.outage) / 2
        outage_end = outage_start + args.outage
        started = time.monotonic()
        agent_down = False
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= args.seconds:
                break
            if not agent_down and outage_start <= elapsed < outage_end:
                agent.kill()
                agent_down = True
            elif agent_down and elapsed >= outage_end:
                agent.start()
                agent_down = False
            text = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
            phase = ("before" if elapsed < outage_start else
                     "outage" if elapsed < outage_end else "after")
            samples.append({
                "t": round(elapsed), "phase": phase, "rss": rss_bytes(gateway.process.pid),
                "sent": metric(text, "mgw_loggregator_envelopes_sent_total"),
                "offered": metric(text, "mgw_loggregator_envelopes_total"),
                "dropped": metric(text, "mgw_loggregator_envelopes_dropped_total"),
                "queue_bytes": metric(text, "mgw_loggregator_queue_bytes"),
                "up": metric(text, "mgw_loggregator_agent_up")})
            s = samples[-1]
            print(f"t={s['t']:4d}s {phase:6s} rss={s['rss'] / 2**20:6.1f} MiB "
                  f"offered={s['offered']:.0f} sent={s['sent']:.0f} dropped={s['dropped']:.0f} "
                  f"queue={s['queue_bytes'] / 2**20:.2f} MiB up={s['up']:.0f}", flush=True)
            time.sleep(args.sample)
    finally:
        stop.set()
        for p in pushers:
            p.join(15)
        gateway.stop()
        agent.stop()
        received = agent.process.stdout.read().decode() if agent.process else ""
        certs.close()

    for phase in ("before", "outage", "after"):
        rss = [s["rss"] for s in samples if s["phase"] == phase]
        if rss:
            print(f"RESULT phase={phase} samples={len(rss)} rss_min_mib={min(rss) / 2**20:.1f} "
                  f"rss_max_mib={max(rss) / 2**20:.1f}")
    last = samples[-1] if samples else {}
    accepted = sum(p.accepted for p in pushers)
    refused = sum(p.refused for p in pushers)
    print(f"RESULT seconds={args.seconds} outage_s={args.outage} pushes_accepted={accepted} "
          f"pushes_refused={refused} envelopes_offered={last.get('offered', 0):.0f} "
          f"envelopes_sent={last.get('sent', 0):.0f} "
          f"envelopes_dropped={last.get('dropped', 0):.0f} agent_after_restart="
          f"{received.strip().split(' ', 1)[-1] if received.strip() else '?'}")


if __name__ == "__main__":
    main()
