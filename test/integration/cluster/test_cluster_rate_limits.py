"""Cluster-wide push rate limits end to end (issue 15): three routed nats-servers and three
gateways sharing one binding. Bindings are not shared across nodes yet, so the same app is bound
on each gateway through its own broker with the same instance id, binding id and plan: the
limiter keys its windows by binding id, so the three access keys count against one binding.
The plan allows L metrics per window and the test shortens the window to 10 s
(push.rate_window; the plans' limits are per window). For three whole windows, pushes of one
metric each are offered at 1.5 L per window, round-robin over the three gateways and evenly
spread in time: every window admits within [0.95 L, 1.05 L] in total (counting locally, each
node would admit all of its 0.5 L share: 1.5 L), and at the same moment the three gateways'
X-RateLimit-Metrics-Remaining agree within 5% of L (read from 413 answers, which count
nothing). Then all of NATS goes down: pushes are still answered, on local counts, and the
counts not sent are counted. Every process started here is stopped here."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
sys.path.insert(0, HERE)
from harness import free_port, run_tests, wait_until  # noqa: E402
from nats_cluster import RoutedNatsServer  # noqa: E402
from test_cluster import BROKER_AUTH, FORWARDER, Node, osb  # noqa: E402

PLAN = "7b1d9c4e-5f3a-4e2b-8c6d-0a1b2c3d4e5f"
APP = "3c1f6a2e-8d4b-4f7a-9e0c-5b6d7e8f9a0b"
L = 300              # metrics per window
WINDOW = 10          # seconds (push.rate_window)
OFFERED = 1.5 * L    # pushes of one metric per window
WINDOWS = 3
MAX_BODY = 2048      # push.max_body_bytes: a larger body is a 413 that counts nothing


def push_body():
    return json.dumps({"applications": [{"id": APP, "instances": [{
        "id": "instance-guid-0", "index": "0",
        "metrics": [{"name": "requests", "type": "counter", "value": 1, "unit": "",
                     "timestamp": int(time.time() * 1000)}]}]}], "version": 1}).encode()


def post(port, key, body):
    """(status, headers) of POST /v1/metrics; HTTP errors are answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/metrics", data=body,
                                     method="POST", headers={"Authorization": key,
                                                             "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def remaining(port, key):
    """X-RateLimit-Metrics-Remaining without counting anything (a 413)."""
    status, headers = post(port, key, b" " * (MAX_BODY + 1))
    assert status == 413, status
    return int(headers["X-RateLimit-Metrics-Remaining"])


def test_rate_limits_hold_cluster_wide():
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-rl-") as workdir:
        client_ports = [free_port() for _ in range(3)]
        route_ports = [free_port() for _ in range(3)]
        monitor_ports = [free_port() for _ in range(3)]
        nats, nodes = [], []
        passed = False
        try:
            for i in range(3):
                nats.append(RoutedNatsServer(f"n{i + 1}", workdir, client_ports[i], route_ports[i],
                                             route_ports, monitor_port=monitor_ports[i]))
            wait_until(lambda: all(n.routes() == 2 for n in nats), 20, interval=0.2,
                       what="the three nats-servers routed to each other")
            urls = [n.url for n in nats]
            for i in range(1, 4):
                nodes.append(Node(i, urls, workdir, f"""
push: {{ rate_window: {WINDOW}s, max_body_bytes: {MAX_BODY} }}
broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {workdir}/broker-g{i}.db
  metrics_forwarder:
    plans:
      - {{ name: shared, id: {PLAN}, requests_per_minute: unlimited, metrics_per_minute: {L} }}
"""))
            wait_until(lambda: all(n.metric("mgw_cluster_peers") == 2 for n in nodes), 15,
                       interval=0.2, what="every gateway seeing two peers")
            keys = []
            for n in nodes:
                status, _ = osb(n.port, "PUT", "/service_instances/fwd-rl",
                                {"service_id": FORWARDER, "plan_id": PLAN,
                                 "organization_guid": "org", "space_guid": "space"})
                assert status == 201
                status, answer = osb(n.port, "PUT",
                                     "/service_instances/fwd-rl/service_bindings/b-shared",
                                     {"service_id": FORWARDER, "plan_id": PLAN,
                                      "bind_resource": {"app_guid": APP}})
                assert status == 201, answer
                keys.append(answer["credentials"]["access_key"])
            for n in nodes:
                assert "cluster: rate limits shared" in n.gateway.output()

            # From the start of the next window, for WINDOWS windows. A push sent within 50 ms
            # of a window's edge could land in either window: none is sent there.
            first = (int(time.time()) // WINDOW + 1) * WINDOW
            admitted = {w: 0 for w in range(WINDOWS)}
            refused = {w: 0 for w in range(WINDOWS)}
            disagreements = []
            probes = 0
            interval = WINDOW / OFFERED
            i = 0
            while True:
                due = first + i * interval
                window = int((due - first) // WINDOW)
                if window >= WINDOWS:
                    break
                into = (due - first) % WINDOW
                i += 1
                if into < 0.05 or into > WINDOW - 0.05:
                    continue
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                k = i % 3
                status, headers = post(nodes[k].port, keys[k], push_body())
                assert status in (202, 429), status
                assert headers["X-RateLimit-Period"] == str(WINDOW)
                if status == 202:
                    admitted[window] += 1
                else:
                    refused[window] += 1
                # Every 30th push: the three gateways' remaining counts at the same moment.
                if i % 30 == 0 and 0.3 < into < WINDOW - 0.5:
                    seen = [remaining(n.port, key) for n, key in zip(nodes, keys)]
                    probes += 1
                    if max(seen) - min(seen) > 0.05 * L:
                        disagreements.append((window, round(into, 2), seen))
            print(f"admitted per window {admitted}, refused {refused}, {probes} probes")
            for w in range(WINDOWS):
                assert 0.95 * L <= admitted[w] <= 1.05 * L, (w, admitted[w], L)
                assert refused[w] > 0.3 * L, (w, refused[w])
            assert probes >= 3 * WINDOWS
            assert not disagreements, disagreements
            for n in nodes:
                assert n.metric("mgw_cluster_rate_sync_messages_total",
                                'direction="received"') > 0
                assert n.metric("mgw_cluster_rate_sync_bad_messages_total") == 0

            # NATS down: every node falls back to counting locally (counted), pushes go on.
            for n in nats:
                n.kill()
            wait_until(lambda: all(n.metric("mgw_cluster_up") == 0 for n in nodes), 10,
                       interval=0.2, what="every gateway seeing NATS down")
            for k, n in enumerate(nodes):
                status, headers = post(n.port, keys[k], push_body())
                assert status in (202, 429), status
                assert "X-RateLimit-Metrics-Remaining" in headers
            wait_until(lambda: all((n.metric("mgw_cluster_rate_sync_skipped_total",
                                             'reason="nats_down"') or 0) > 0 for n in nodes),
                       5, interval=0.1, what="unsent rate counts counted as nats_down")
            assert time.monotonic() - started < 110, "the test must stay under two minutes"
            passed = True
        finally:
            for n in nodes:
                if n.gateway.process.poll() is None:
                    n.gateway.process.send_signal(signal.SIGTERM)
            for n in nodes:
                try:
                    n.gateway.process.wait(20)
                except subprocess.TimeoutExpired:
                    n.gateway.process.kill()
                    n.gateway.process.wait()
                if not passed:
                    print(f"---- g{n.index} output ----\n" + n.gateway.output()[-3000:])
                n.gateway.stop()
            for n in nats:
                n.stop()


if __name__ == "__main__":
    run_tests([test_rate_limits_hold_cluster_wide])
