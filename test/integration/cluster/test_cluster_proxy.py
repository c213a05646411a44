"""A cluster's /metrics/proxy and /v1/sd end to end (issue 15): one nats-server and two
gateways, both running the RSocket proxy. An RSocket client connects to g2 only, naming an app
no route registers. g1's /metrics/proxy then has g2's proxy metrics beside its own, each series
labelled with its node (gateway_node), g2's pull of its client (asked for by g1's
/metrics/connected) counted under g2; g1's /v1/sd lists the app only g2 knows. With
`?scope=local` g1 answers with its own alone. A peer of an earlier version (a heartbeat that
lists no request kinds, sent by a raw NATS client) is then left out of both at once, counted as
`peer_version`, not waited for until the gather's timeout. Two gateways suffice: a gather asks
every live peer alike (test_cluster.py covers three nodes, lost peers and NATS outages for the
same gather machinery). Every process started here is stopped here."""

import base64
import json
import os
import re
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import free_port, http_get, run_tests, wait_until  # noqa: E402
from nats_cluster import RoutedNatsServer, stop_cluster  # noqa: E402
from rsocket_peers import NodeClient, node_modules_ready  # noqa: E402
from cluster_checks import ClusterNode  # noqa: E402
from peers import NatsClient  # noqa: E402

APP = "5e2d7c1a-9b3f-4a6e-8d0c-1f2a3b4c5d6e"
SD_AUTH = {"Authorization": "Basic " + base64.b64encode(b"operator:sd-secret").decode()}


def series(body, name, node):
    """The value of `name`'s series labelled gateway_node=<node> (summed), None when absent."""
    total = None
    for match in re.finditer(r"^" + re.escape(name) + r"\{([^}]*)\} (\S+)$", body, re.M):
        if f'gateway_node="{node}"' in match.group(1):
            total = (total or 0.0) + float(match.group(2))
    return total


def sd_apps(node, query=""):
    status, _, body = http_get(f"http://127.0.0.1:{node.port}/v1/sd{query}", SD_AUTH)
    assert status == 200, body[:300]
    return {group["labels"]["__meta_cf_app_id"]: group["labels"]
            for group in json.loads(body)}


def test_proxy_metrics_and_service_discovery_span_the_cluster():
    assert node_modules_ready(), "test/integration/rsocket_client: run scripts/bootstrap"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-proxy-") as workdir:
        route_port = free_port()
        nats = RoutedNatsServer("n1", workdir, free_port(), route_port, [route_port])
        nodes = []
        client = None
        passed = False
        try:
            rsocket_port = free_port()
            for index, extra in ((1, f"""
rsocket:
  tcp_listen: 127.0.0.1:{free_port()}
routes_api: {{ username: operator, password: sd-secret }}
"""), (2, f"""
rsocket:
  tcp_listen: 127.0.0.1:{rsocket_port}
  trust_declared_app_identity: true
routes_api: {{ username: operator, password: sd-secret }}
""")):
                nodes.append(ClusterNode(index, [nats.url], extra=extra))
            g1, g2 = nodes
            wait_until(lambda: all(n.metric("mgw_cluster_peers") == 1 for n in nodes), 15,
                       interval=0.2, what="each gateway seeing the other")
            assert APP not in sd_apps(g1) and APP not in sd_apps(g2)

            client = NodeClient(transport="tcp", port=rsocket_port, name="on-g2", setupData=APP,
                                series=3)
            client.wait_event("key")

            # /metrics/proxy: g2's client counted on g1, under g2's label; g1's own at 0.
            active = "prometheus_proxy_scrape_active_connections"

            def g1_sees_g2_client():
                status, body = g1.get("/metrics/proxy")
                return status == 200 and series(body, active, "g2") == 1
            wait_until(g1_sees_g2_client, 10, interval=0.2, what="g1's /metrics/proxy with g2")
            _, body = g1.get("/metrics/proxy")
            assert series(body, active, "g1") == 0, body
            assert body.count(f"# TYPE {active} gauge") == 1, body
            assert not re.search(r"^prometheus_proxy_\w+( |\{\} )", body, re.M), body
            # A pull g1 asks for is g2's pull of its client: counted by g2, seen from g1.
            pulls = "prometheus_proxy_scrape_seconds_count"
            before = series(body, pulls, "g2") or 0.0
            status, connected = g1.get("/metrics/connected")
            assert status == 200 and 'client="on-g2"' in connected, connected[:500]
            _, body = g1.get("/metrics/proxy")
            assert series(body, pulls, "g2") >= before + 1, body
            # OpenMetrics is negotiated as for a single node.
            status, headers, om = http_get(
                f"http://127.0.0.1:{g1.port}/metrics/proxy",
                {"Accept": "application/openmetrics-text;version=1.0.0"})
            assert status == 200 and om.decode().endswith("# EOF\n"), om[-200:]
            assert f'{active}{{gateway_node="g2"}} 1' in om.decode(), om[:800]
            # ?scope=local: g1's own series only, still labelled.
            status, local = g1.get("/metrics/proxy?scope=local")
            assert status == 200 and series(local, active, "g1") == 0, local
            assert 'gateway_node="g2"' not in local, local
            # g2's own view agrees.
            _, body2 = g2.get("/metrics/proxy")
            assert series(body2, active, "g2") == 1 and series(body2, active, "g1") == 0, body2

            # /v1/sd: the app only g2's client named is a target on g1 too.
            apps1 = sd_apps(g1)
            assert APP in apps1, apps1
            assert apps1[APP]["__meta_cf_sources"] == ",rsocket,", apps1[APP]
            assert apps1[APP]["__metrics_path__"] == f"/v2/apps/{APP}/metrics"
            assert apps1 == sd_apps(g2), (apps1, sd_apps(g2))
            assert APP not in sd_apps(g1, "?scope=local")
            assert APP in sd_apps(g2, "?scope=local")
            # Every gather was answered in full.
            assert g1.metric("mgw_cluster_gather_partial_total") == 0
            assert g1.metric("mgw_cluster_bad_messages_total") in (None, 0)

            # A node of an earlier version joins: its heartbeat lists no request kinds, so it
            # answers app and connected requests only. /metrics/proxy and /v1/sd do not wait
            # the gather's 2 s for it: they leave it out at once and count it.
            older = NatsClient(nats.port, name="older-gateway")
            stop_beating = threading.Event()

            def heartbeats():
                message = json.dumps({"node": "g-older", "boot": "b0", "interval_ms": 200,
                                      "version": "0.9.0"})
                while not stop_beating.is_set():
                    older.publish("mgw.itest.node.hb", message.encode())
                    stop_beating.wait(0.1)

            beating = threading.Thread(target=heartbeats, daemon=True)
            beating.start()
            try:
                wait_until(lambda: g1.metric("mgw_cluster_peers") == 2, 10, interval=0.1,
                           what="g1 seeing the older node")
                version = {"reason": "peer_version"}
                skipped = g1.metric("mgw_cluster_gather_partial_total", version)
                status, body = g1.get("/metrics/proxy")
                assert status == 200 and series(body, active, "g2") == 1, body
                assert 'gateway_node="g-older"' not in body, body
                assert APP in sd_apps(g1)
                # Left out, not waited for: a gather that waited would count a deadline.
                assert g1.metric("mgw_cluster_gather_partial_total", version) == skipped + 2
                assert g1.metric("mgw_cluster_gather_partial_total", {"reason": "deadline"}) == 0
            finally:
                stop_beating.set()
                beating.join()
                older.close()
            wait_until(lambda: g1.metric("mgw_cluster_peers") == 1, 10, interval=0.2,
                       what="the older node leaving")

            # The client leaves: g1's view follows.
            client.stop()
            client = None
            wait_until(lambda: APP not in sd_apps(g1), 10, interval=0.2,
                       what="the app leaving g1's /v1/sd")
            wait_until(lambda: series(g1.get("/metrics/proxy")[1], active, "g2") == 0, 10,
                       interval=0.2, what="g2's client leaving g1's /metrics/proxy")
            assert time.monotonic() - started < 80, "the test must stay lean"
            passed = True
        finally:
            if client is not None:
                client.stop()
            stop_cluster(nodes, [nats], passed)


if __name__ == "__main__":
    run_tests([test_proxy_metrics_and_service_discovery_span_the_cluster])
