"""Cluster-wide push rate limits, the gateways' answers agreeing (issue 15): three routed
nats-servers and three gateways, the same app bound on each gateway through its own broker (no
JetStream here: bindings stay local) with the same instance id, binding id and plan: the limiter
keys its windows by binding id, so the three access keys count against one binding. The plan
allows L metrics per window and the test shortens the window to 10 s (push.rate_window; the
plans' limits are per window). For one whole window, pushes of one metric each are offered at
1.5 L, round-robin over the three gateways and evenly spread in time (the limit is reached), and
at the same moments the three gateways' X-RateLimit-Metrics-Remaining agree within 5% of L (read
from 413 answers, which count nothing). (test_cluster_scenarios.py checks the admitted counts
over three windows, after failures and with NATS down.) Every process started here is stopped
here."""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import run_tests, wait_until  # noqa: E402
from cluster_checks import ClusterNode, bind, broker_section, offer_windows, provision  # noqa: E402
from nats_cluster import start_nats_cluster, stop_cluster  # noqa: E402

PLAN = "7b1d9c4e-5f3a-4e2b-8c6d-0a1b2c3d4e5f"
APP = "3c1f6a2e-8d4b-4f7a-9e0c-5b6d7e8f9a0b"
L = 300              # metrics per window
WINDOW = 10          # seconds (push.rate_window)
OFFERED = 1.5 * L    # pushes of one metric per window
MAX_BODY = 2048      # push.max_body_bytes: a larger body is a 413 that counts nothing


def test_rate_limit_headers_agree_cluster_wide():
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-rl-") as workdir:
        nats, nodes = [], []
        passed = False
        try:
            nats = start_nats_cluster(workdir)
            urls = [n.url for n in nats]
            for i in range(1, 4):
                nodes.append(ClusterNode(i, urls, f"""
push: {{ rate_window: {WINDOW}s, max_body_bytes: {MAX_BODY} }}
{broker_section(f'{workdir}/broker-g{i}.db', ('shared', PLAN, 'unlimited', L))}"""))
            wait_until(lambda: all(n.metric("mgw_cluster_peers") == 2 for n in nodes), 15,
                       interval=0.2, what="every gateway seeing two peers")
            keys = []
            for n in nodes:
                status, _ = provision(n.port, "fwd-rl", PLAN)
                assert status == 201
                status, answer = bind(n.port, "fwd-rl", "b-shared", PLAN, APP)
                assert status == 201, answer
                keys.append(answer["credentials"]["access_key"])
            for n in nodes:
                assert "cluster: rate limits shared" in n.gateway.output()

            admitted, refused, probes = offer_windows(
                [(n.port, key) for n, key in zip(nodes, keys)], APP, L, WINDOW, 1, OFFERED,
                probe_every=30, max_body=MAX_BODY)
            print(f"admitted {admitted}, refused {refused}, {len(probes)} probes")
            assert refused[0] > 0.3 * L, refused  # the limit was reached
            assert len(probes) >= 10, probes
            disagreements = [p for p in probes if max(p[2]) - min(p[2]) > 0.05 * L]
            assert not disagreements, disagreements
            assert time.monotonic() - started < 110, "the test must stay under two minutes"
            passed = True
        finally:
            stop_cluster(nodes, nats, passed)


if __name__ == "__main__":
    run_tests([test_rate_limit_headers_agree_cluster_wide])
