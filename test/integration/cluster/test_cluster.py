"""Cluster mode end to end (issue 15, first slice): a three-node nats-server cluster and three
gateways, all on loopback ports this test picks below the ephemeral range. One app instance is
registered over NATS (every gateway scrapes it itself), a metric is pushed through gateway 2
(bound on gateway 2: bindings are not shared yet) and an RSocket client connects to gateway 3.
The merged answer on every gateway has all three; `?scope=local` has only the scrape;
`/metrics/connected` on gateway 1 has gateway 3's client (its reply cut into several chunks),
not with `?scope=local`. Then
gateway 3 is killed: gateway 1 drops it from its membership and answers without waiting for
it. Then all of NATS goes down: local-only answers, counted, no hang; NATS comes back and the
gather recovers without a restart. Every process started here is stopped here."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import Gateway, free_port, http_get, run_tests, wait_until  # noqa: E402
from instances import AppInstance, app_tags  # noqa: E402
from nats_cluster import RoutedNatsServer  # noqa: E402
from peers import NatsClient, register_message  # noqa: E402
from rsocket_peers import NodeClient, node_modules_ready  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
SMALL = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
BROKER_AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
TAGS = app_tags("acme", "prod", "api", 0)
APP = TAGS["app_id"]
HEARTBEAT_MS = 500
RSOCKET_SERIES = 200


def osb(port, method, path, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/broker/v2{path}", data=json.dumps(body).encode(),
        method=method, headers={"Authorization": BROKER_AUTH, "X-Broker-API-Version": "2.16",
                                "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def push(port, key, value):
    body = {"applications": [{"id": APP, "instances": [{
        "id": "instance-guid-0", "index": "0",
        "metrics": [{"name": "jvm.memory.used", "type": "gauge", "value": value,
                     "unit": "bytes", "timestamp": int(time.time() * 1000),
                     "tags": {"area": "heap"}}]}]}], "version": 1}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/metrics",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": key,
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


class Node:
    """One gateway of the cluster."""

    def __init__(self, index, nats_urls, workdir, extra=""):
        self.index = index
        self.port, self.health_port = free_port(), free_port()
        servers = ", ".join(nats_urls[index - 1:] + nats_urls[:index - 1])
        config = f"""
listen: 127.0.0.1:{self.port}
health_listen: 127.0.0.1:{self.health_port}
threads: 2
log: {{ level: info, format: text, access: false }}
nats: {{ servers: [{servers}] }}
cluster:
  enabled: true
  name: itest
  node_id: g{index}
  heartbeat: {HEARTBEAT_MS}ms
  gather: {{ timeout: 2s, chunk_bytes: 4KiB }}
{extra}
"""
        self.gateway = Gateway(config)
        self.gateway.wait_ready(self.port)

    def get(self, path, timeout=10):
        status, _, body = http_get(f"http://127.0.0.1:{self.port}{path}", timeout=timeout)
        return status, body.decode("utf-8", "replace")

    def metric(self, name, labels=""):
        _, body = self.get("/metrics")
        total = None
        for match in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", body, re.M):
            if labels in (match.group(1) or ""):
                total = (total or 0.0) + float(match.group(2))
        return total

    def app(self, query=""):
        return self.get(f"/v2/apps/{APP}/metrics{query}")


def parts(body):
    """Which of the three kinds of series a merged answer has."""
    found = set()
    if re.search(r'^demo_temperature_celsius\{[^}]*app_id="' + APP + '"', body, re.M):
        found.add("scrape")
    if re.search(r'^jvm_memory_used\{[^}]*area="heap"[^}]*source="push"[^}]*\} 42\.5', body,
                 re.M):
        found.add("push")
    if re.search(r'^demo_series\{client="on-g3"[^}]*source="rsocket"[^}]*\} 0', body, re.M):
        found.add("rsocket")
    return found


def wait_parts(node, expected, query="", timeout=15):
    seen = []

    def done():
        status, body = node.app(query)
        seen.append((status, parts(body) if status == 200 else body[:300]))
        return status == 200 and parts(body) == expected
    try:
        wait_until(done, timeout, interval=0.2, what=f"g{node.index} answer with {expected}")
    except AssertionError:
        raise AssertionError(f"g{node.index}{query}: last answers {seen[-3:]}") from None


def test_any_node_answers_any_app_and_survives_losses():
    assert node_modules_ready(), "test/integration/rsocket_client: run scripts/bootstrap"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-") as workdir:
        client_ports = [free_port() for _ in range(3)]
        route_ports = [free_port() for _ in range(3)]
        monitor_ports = [free_port() for _ in range(3)]
        nats = []
        nodes = []
        rsocket_client = None
        instance = AppInstance(index=0)
        passed = False
        try:
            for i in range(3):
                nats.append(RoutedNatsServer(f"n{i + 1}", workdir, client_ports[i], route_ports[i],
                                             route_ports, monitor_port=monitor_ports[i]))
            wait_until(lambda: all(n.routes() == 2 for n in nats), 20, interval=0.2,
                       what="the three nats-servers routed to each other")
            urls = [n.url for n in nats]
            # g1 runs the RSocket proxy too, with no client of its own: its /metrics/connected
            # is g3's clients, gathered.
            nodes.append(Node(1, urls, workdir, f"""
rsocket:
  tcp_listen: 127.0.0.1:{free_port()}
routes_api: {{ username: operator, password: sd-secret }}
"""))
            nodes.append(Node(2, urls, workdir, f"""
broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {workdir}/broker-g2.db
  metrics_forwarder:
    plans:
      - {{ name: small, id: {SMALL}, requests_per_minute: 600, metrics_per_minute: 6000 }}
"""))
            rsocket_port = free_port()
            nodes.append(Node(3, urls, workdir, f"""
rsocket:
  tcp_listen: 127.0.0.1:{rsocket_port}
  trust_declared_app_identity: true
"""))
            g1, g2, g3 = nodes
            # The gateways find each other: every node sees two peers.
            wait_until(lambda: all(n.metric("mgw_cluster_peers") == 2 for n in nodes), 15,
                       interval=0.2, what="every gateway seeing two peers")
            for n in nodes:
                assert n.metric("mgw_cluster_up") == 1
                assert n.metric("mgw_cluster_node_info", f'node="g{n.index}"') == 1
                assert "cluster node starting" in n.gateway.output()
                assert "cluster membership changed" in n.gateway.output()
            # The status console shows the node and its live peers.
            # (Its copy is refreshed on the cluster's next tick, a second at most.)
            status_auth = "Basic " + base64.b64encode(b"operator:sd-secret").decode()

            def status_page():
                status, _, page = http_get(f"http://127.0.0.1:{g1.port}/status",
                                           {"Authorization": status_auth})
                assert status == 200, page[:500]
                return page.decode()
            wait_until(lambda: all(f"<td>{peer}</td>" in status_page() for peer in ("g2", "g3")),
                       5, interval=0.2, what="g1's status page listing both peers")
            assert "<dt>Cluster</dt><dd>itest, node g1</dd>" in status_page()

            # The app's instance, registered over NATS (through n1; every gateway hears it).
            with NatsClient(nats[0].port, name="route-emitter") as emitter:
                emitter.publish("router.register",
                                json.dumps(register_message("127.0.0.1", instance.port,
                                                            ["api.example.com"], TAGS)).encode())
                emitter.flush()
            # Bound and pushed on g2.
            status, _ = osb(g2.port, "PUT", "/service_instances/fwd-1",
                            {"service_id": FORWARDER, "plan_id": SMALL,
                             "organization_guid": TAGS["organization_id"],
                             "space_guid": TAGS["space_id"]})
            assert status == 201
            status, answer = osb(g2.port, "PUT",
                                 "/service_instances/fwd-1/service_bindings/b-1",
                                 {"service_id": FORWARDER, "plan_id": SMALL,
                                  "bind_resource": {"app_guid": APP}})
            assert status == 201, answer
            assert push(g2.port, answer["credentials"]["access_key"], 42.5) == 202
            # An RSocket client on g3 naming the app in its SETUP.
            # 200 series: g3's reply is ~30 KB, several 4 KiB chunks.
            rsocket_client = NodeClient(transport="tcp", port=rsocket_port, name="on-g3",
                                        setupData=APP, series=RSOCKET_SERIES)
            rsocket_client.wait_event("key")

            # 1. Any node answers with all three, whichever holds them.
            for n in nodes:
                wait_parts(n, {"scrape", "push", "rsocket"})
            # The series keep their identity whichever node answered, and a reply of many
            # chunks arrives whole.
            _, body1 = g1.app()
            _, body3 = g3.app()
            for body in (body1, body3):
                series = re.findall(r'^demo_series\{client="on-g3",i="\d+"', body, re.M)
                assert len(set(series)) == RSOCKET_SERIES, len(series)
            push_line = [l for l in body1.splitlines() if l.startswith("jvm_memory_used{")]
            _, body2 = g2.app()  # where it was pushed: the local series
            assert len(push_line) == 1 and push_line[0] in body3.splitlines(), (push_line, body3)
            assert push_line[0] in body2.splitlines(), (push_line, body2)
            # /metrics/connected on g1 has g3's client, not with scope=local.
            status, connected = g1.get("/metrics/connected")
            assert status == 200, connected
            series = re.findall(r'^demo_series\{client="on-g3",i="\d+"\} ', connected, re.M)
            assert len(set(series)) == RSOCKET_SERIES, connected[:1000]
            status, connected = g1.get("/metrics/connected?scope=local")
            assert status == 200 and "on-g3" not in connected, connected[:1000]
            # 2. scope=local: this node's own series only.
            wait_parts(g1, {"scrape"}, "?scope=local", timeout=2)
            wait_parts(g2, {"scrape", "push"}, "?scope=local", timeout=2)
            assert g1.get(f"/v2/apps/{APP}/metrics?scope=everywhere")[0] == 400
            assert g1.metric("mgw_cluster_gathers_total") >= 1
            assert g2.metric("mgw_cluster_requests_answered_total") >= 1

            # 3. Gateway 3 dies: g1 drops it within 3.5 heartbeats (+ one tick) and answers
            # without waiting for it.
            g3.gateway.process.kill()
            g3.gateway.process.wait()
            killed = time.monotonic()
            wait_until(lambda: g1.metric("mgw_cluster_peers") == 1, 6, interval=0.1,
                       what="g1 dropping g3")
            dropped_after = time.monotonic() - killed
            assert dropped_after < 3.5 * HEARTBEAT_MS / 1000 + 1.5, dropped_after
            assert re.search(r"cluster membership changed.*event=left.*peer=g3",
                             g1.gateway.output()), g1.gateway.output()[-2000:]
            t = time.monotonic()
            status, body = g1.app()
            took = time.monotonic() - t
            assert status == 200 and parts(body) == {"scrape", "push"}, (status, body)
            assert took < 1.0, f"the answer waited {took:.2f}s for a dead peer"
            t = time.monotonic()
            status, connected = g1.get("/metrics/connected")
            took = time.monotonic() - t
            assert status == 200 and "on-g3" not in connected, connected[:1000]
            assert took < 1.0, f"/metrics/connected waited {took:.2f}s for a dead peer"
            rsocket_client.stop()
            rsocket_client = None

            # 4. All of NATS down: local-only answers at once, counted, no hang.
            for n in nats:
                n.kill()
            wait_until(lambda: g1.metric("mgw_cluster_up") == 0, 10, interval=0.1,
                       what="g1 noticing NATS is gone")
            before = g1.metric("mgw_cluster_gather_partial_total", 'reason="nats_down"') or 0
            for _ in range(3):
                t = time.monotonic()
                status, body = g1.app()
                took = time.monotonic() - t
                assert status == 200 and parts(body) == {"scrape"}, (status, body[:500])
                assert took < 1.0, f"answer took {took:.2f}s with NATS down"
            after = g1.metric("mgw_cluster_gather_partial_total", 'reason="nats_down"')
            assert after >= before + 3, (before, after)
            assert g2.app()[0] == 200

            # 5. NATS back: the gather recovers without a restart.
            for n in nats:
                n.start()
            wait_until(lambda: all(n.routes() == 2 for n in nats), 20, interval=0.2,
                       what="the nats-servers routed again")
            wait_until(lambda: g1.metric("mgw_cluster_up") == 1 and
                       g1.metric("mgw_cluster_peers") == 1, 20, interval=0.2,
                       what="g1 reconnected and seeing g2 again")
            wait_parts(g1, {"scrape", "push"}, timeout=10)
            assert time.monotonic() - started < 110, "the test must stay under two minutes"
            passed = True
        finally:
            if rsocket_client is not None:
                rsocket_client.stop()
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
            instance.stop()


if __name__ == "__main__":
    run_tests([test_any_node_answers_any_app_and_survives_losses])
