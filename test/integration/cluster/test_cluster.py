"""Cluster mode, the gather's details (issue 15): a three-node nats-server cluster and three
gateways, all on loopback ports this test picks below the ephemeral range. One app instance is
registered over NATS (every gateway scrapes it itself), a metric is pushed through gateway 2
(bound there) and an RSocket client with 200 series connects to gateway 3. Membership (metrics,
log, the status page); the merged answer on g1 and g3 has every one of g3's series (its reply cut
into several 4 KiB chunks) and the pushed series as g2 has it; `/metrics/connected` on gateway 1
has gateway 3's client, not with `?scope=local`; `?scope=local` has this node's own series only.
Then gateway 3 is killed: gateway 1 drops it from its membership within 3.5 heartbeats and
answers without waiting for it. (test_cluster_scenarios.py checks the merged answer with shared
bindings, NATS failures and recovery.) Every process started here is stopped here."""

import base64
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import free_port, http_get, run_tests, wait_until  # noqa: E402
from cluster_checks import (HEARTBEAT_MS, ClusterNode, bind, broker_section, parts,  # noqa: E402
                            provision, push, wait_parts)
from instances import AppInstance, app_tags  # noqa: E402
from nats_cluster import start_nats_cluster, stop_cluster  # noqa: E402
from peers import NatsClient, register_message  # noqa: E402
from rsocket_peers import NodeClient, node_modules_ready  # noqa: E402

SMALL = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
TAGS = app_tags("acme", "prod", "api", 0)
APP = TAGS["app_id"]
RSOCKET_SERIES = 200


def test_any_node_answers_any_app_and_drops_a_dead_peer():
    assert node_modules_ready(), "test/integration/rsocket_client: run scripts/bootstrap"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-") as workdir:
        nats = []
        nodes = []
        rsocket_client = None
        instance = AppInstance(index=0)
        passed = False
        try:
            nats = start_nats_cluster(workdir)
            urls = [n.url for n in nats]
            # g1 runs the RSocket proxy too, with no client of its own: its /metrics/connected
            # is g3's clients, gathered.
            nodes.append(ClusterNode(1, urls, f"""
rsocket:
  tcp_listen: 127.0.0.1:{free_port()}
routes_api: {{ username: operator, password: sd-secret }}
"""))
            nodes.append(ClusterNode(2, urls, f"""
{broker_section(f'{workdir}/broker-g2.db', ('small', SMALL, 600, 6000))}"""))
            rsocket_port = free_port()
            nodes.append(ClusterNode(3, urls, f"""
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
            status, _ = provision(g2.port, "fwd-1", SMALL, TAGS["organization_id"],
                                  TAGS["space_id"])
            assert status == 201
            status, answer = bind(g2.port, "fwd-1", "b-1", SMALL, APP)
            assert status == 201, answer
            assert push(g2.port, answer["credentials"]["access_key"], APP, 42.5,
                        {"area": "heap"}) == 202
            # An RSocket client on g3 naming the app in its SETUP.
            # 200 series: g3's reply is ~30 KB, several 4 KiB chunks.
            rsocket_client = NodeClient(transport="tcp", port=rsocket_port, name="on-g3",
                                        setupData=APP, series=RSOCKET_SERIES)
            rsocket_client.wait_event("key")

            # 1. Any node answers with all three, whichever holds them.
            for n in (g1, g3):
                wait_parts(n, APP, {"scrape", "push", "rsocket"})
            # The series keep their identity whichever node answered, and a reply of many
            # chunks arrives whole.
            _, body1 = g1.get(f"/v2/apps/{APP}/metrics")
            _, body3 = g3.get(f"/v2/apps/{APP}/metrics")
            for body in (body1, body3):
                series = re.findall(r'^demo_series\{client="on-g3",i="\d+"', body, re.M)
                assert len(set(series)) == RSOCKET_SERIES, len(series)
            push_line = [l for l in body1.splitlines() if l.startswith("jvm_memory_used{")]
            _, body2 = g2.get(f"/v2/apps/{APP}/metrics")  # where it was pushed: the local series
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
            wait_parts(g1, APP, {"scrape"}, "?scope=local", timeout=2)
            wait_parts(g2, APP, {"scrape", "push"}, "?scope=local", timeout=2)
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
            status, body = g1.get(f"/v2/apps/{APP}/metrics")
            took = time.monotonic() - t
            assert status == 200 and parts(body, APP) == {"scrape", "push"}, (status, body)
            assert took < 1.0, f"the answer waited {took:.2f}s for a dead peer"
            t = time.monotonic()
            status, connected = g1.get("/metrics/connected")
            took = time.monotonic() - t
            assert status == 200 and "on-g3" not in connected, connected[:1000]
            assert took < 1.0, f"/metrics/connected waited {took:.2f}s for a dead peer"
            assert time.monotonic() - started < 110, "the test must stay under two minutes"
            passed = True
        finally:
            if rsocket_client is not None:
                rsocket_client.stop()
            stop_cluster(nodes, nats, passed)
            instance.stop()


if __name__ == "__main__":
    run_tests([test_any_node_answers_any_app_and_drops_a_dead_peer])
