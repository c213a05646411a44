"""HM event subscriptions across a cluster (issue 15), the case of a member leaving: three
routed nats-servers and three gateways, HM events ingested on g1 only (through the real
hm-plugin). Subscription id A has clients on every node (HTTP on g1 and g2, HTTP and gRPC on
g3), B one on g2 and C one on g1 (HTTP). When A's member on g1 leaves, g1 leaves A's queue group
and A's events reach g2 and g3 instead, shared (disjoint sets whose union is every event), while
B and C still get every one. (test_cluster_scenarios.py checks these semantics with every node a
member, through NATS and gateway failures and NATS outages.) Loopback only, every process
started here is stopped here."""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import free_port, run_tests, wait_until  # noqa: E402
from bosh_peers import EventStream, FakeUaa, Plugin, event_id  # noqa: E402
from cluster_checks import (ClusterNode, check_shared, ids, lines_for,  # noqa: E402
                            probe_until)
from grpc_peers import Certificates, PythonSubscriber, grpc_config  # noqa: E402
from nats_cluster import start_nats_cluster, stop_cluster  # noqa: E402

EVENTS = 300


def hm_node(index, nats_urls, uaa, extra_bosh=""):
    """A gateway with the HM ingest; `ingest` is its ingest port."""
    ingest = free_port()
    node = ClusterNode(index, nats_urls, f"""
shutdown: {{ drain_timeout: 5s }}
bosh:
  ingest_listen: 127.0.0.1:{ingest}
  uaa: {{ url: "{uaa.url}", client_id: gateway, client_secret: s3cret, timeout: 2s }}
{extra_bosh}""", name="hmtest")
    node.ingest = ingest
    return node


def test_subscription_ids_keep_their_meaning_across_nodes():
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-hm-") as workdir:
        nats, nodes, streams = [], [], []
        a3g = None
        uaa = FakeUaa()
        certs = Certificates()
        grpc_port = free_port()
        passed = False
        try:
            nats = start_nats_cluster(workdir, cluster="mgwhm")
            urls = [n.url for n in nats]
            nodes = [hm_node(1, urls, uaa), hm_node(2, urls, uaa),
                     hm_node(3, urls, uaa, grpc_config(grpc_port, certs))]
            g1, g2, g3 = nodes
            nodes[2].gateway.wait_ready(grpc_port)
            wait_until(lambda: all(n.metric("mgw_cluster_peers") == 2 for n in nodes), 15,
                       interval=0.2, what="every gateway seeing two peers")

            a1 = EventStream(g1.port, "A")
            a2 = EventStream(g2.port, "A")
            a3 = EventStream(g3.port, "A")
            a3g = PythonSubscriber(grpc_port, certs, "A")
            b2 = EventStream(g2.port, "B")
            c1 = EventStream(g1.port, "C")
            streams = [a1, a2, a3, b2, c1]
            for s in streams:
                assert s.status == 200
            held = {1: 2, 2: 2, 3: 1}  # A and C on g1, A and B on g2, A on g3
            wait_until(lambda: all(n.metric("mgw_cluster_hm_queue_subscriptions") ==
                                   held[n.index] for n in nodes), 10, interval=0.1,
                       what="every node in the queue groups of its ids")
            # The servers tell each other about the new interest: a probe reaches B on g2.
            with Plugin(g1.ingest) as plugin:
                probe_until(plugin, b2, 10_000_000, "a probe reaching g2")
                time.sleep(0.5)

                # A's member on g1 leaves: g1 leaves A's group, g2 and g3 share A's events.
                a1.close()
                streams.remove(a1)
                wait_until(lambda: g1.metric("mgw_cluster_hm_queue_subscriptions") == 1, 10,
                           interval=0.1, what="g1 leaving A's queue group")
                time.sleep(0.5)
                lines = lines_for(EVENTS, EVENTS)
                for i in range(0, EVENTS, 50):
                    plugin.send(lines[i:i + 50])
                expected = {event_id(line) for line in lines}
                members = [a2, a3, a3g]
                wait_until(lambda: expected <= set(ids([b2])[0]) and
                           expected <= set(ids([c1])[0]) and
                           sum(len(set(x) & expected) for x in ids(members)) >= EVENTS,
                           20, interval=0.2, what="A's events reaching g2 and g3")
                time.sleep(0.5)
                shares = check_shared(members, expected, "A without a member on the ingest node")
                print(f"A's shares without g1 (g2, g3 http, g3 grpc): {shares}")
                published = g1.metric("mgw_cluster_hm_events_published_total")
                assert published >= EVENTS, published
                assert g2.metric("mgw_cluster_hm_events_received_total") >= EVENTS

            assert g1.metric("mgw_cluster_hm_events_dropped_total", {"reason": "bad_message"}) == 0
            assert time.monotonic() - started < 110
            passed = True
        finally:
            for s in streams:
                s.close()
            if a3g is not None:
                a3g.close()
            stop_cluster(nodes, nats, passed)
            uaa.stop()
            certs.close()


if __name__ == "__main__":
    run_tests([test_subscription_ids_keep_their_meaning_across_nodes])
