"""bench/cluster/figures.py at a tiny scale (1 gateway without cluster mode, 1 and 2 gateways
in cluster mode, 5 pushed series each, 20 answers of each scope, 20 pushes, 200 HM events), with
the built gateway (MGW_BINARY): the cluster figures in docs/BENCHMARKS.md are only as good as
the harness, so this proves that it measures what it says: without cluster mode nothing touches
NATS, a single node's answers cost NATS nothing and two nodes' cost about the peer's series,
every cluster-scope answer on two nodes holds both nodes' series, pushes cost NATS bytes (the
rate-limit sync), and every HM event reaches each of the 10 subscription ids once (ten copies
out of NATS per event published)."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "bench", "cluster", "figures.py")
HM_EVENTS = 200


def test_cluster_figures_at_a_tiny_scale():
    with tempfile.TemporaryDirectory(prefix="mgw-bench-cluster-test-") as workdir:
        out = os.path.join(workdir, "results.json")
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, SCRIPT, "--nodes", "0", "1", "2", "--series", "5", "--scrapes", "20",
             "--warmup", "2", "--pushes", "20", "--push-rate", "100", "--hm-events",
             str(HM_EVENTS), "--hm-rate", "1000", "--baseline", "0.5", "--heartbeat", "500ms",
             "--json", out], capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        assert took < 30, f"the smoke run took {took:.1f}s"
        assert "SUMMARY" in done.stdout and "nproc" in done.stdout, done.stdout
        with open(out) as f:
            results = {r["nodes"]: r for r in json.load(f)["results"]}
    off, one, two = results[0], results[1], results[2]
    for r in (off, one, two):
        assert r["partial_answers"] == 0, r
        assert 0 < r["local_p50_ms"] <= r["local_p99_ms"], r
        assert r["hm"]["delivered"] == 10 * HM_EVENTS, r["hm"]
        assert r["hm"]["missing"] == 0 and r["hm"]["duplicates"] == 0, r["hm"]
        assert r["hm"]["delivered_per_s"] > 0, r["hm"]
    assert all(off[k] == 0 for k in ("scrape_in_bytes", "scrape_out_bytes", "push_in_bytes",
                                     "push_out_bytes")), off
    assert off["hm"]["nats_in_bytes"] == 0 and off["hm"]["nats_out_bytes"] == 0, off["hm"]
    for r in (one, two):
        # Each event is published once and handed to one member of each of the 10 ids' queue
        # groups: ten times as many bytes out of NATS as into it.
        assert r["hm"]["nats_in_bytes"] > 100, r["hm"]
        assert 9 < r["hm"]["nats_out_bytes"] / r["hm"]["nats_in_bytes"] < 11, r["hm"]
    # No peer, no gather: a single node's answer publishes nothing (what is left is the noise
    # of the background estimate); with a peer each answer carries its 5 series both ways.
    assert one["scrape_in_bytes"] < 100 and one["scrape_out_bytes"] < 100, one
    assert two["scrape_in_bytes"] > 500 and two["scrape_out_bytes"] > 500, two
    assert two["push_in_bytes"] > 0 and two["push_out_bytes"] > 0, two
    assert two["cluster_p50_ms"] > 0, two


if __name__ == "__main__":
    run_tests([test_cluster_figures_at_a_tiny_scale])
