"""Cluster mode, shared broker bindings (issue 15): three nats-servers with JetStream and three
gateways with cluster on (cluster.bindings.store: kv, R3 bucket). A binding made through g1
authorises pushes on g2 and g3 within a second; the same binding again through g3 is a 200 (the
store decides), a different one under the same id a 409 on any node; a binding made through g2
reaches every node; unbinding through g3 refuses the key (401) on g1 and g2 within a second and
leaves the other binding working. (test_cluster_scenarios.py checks a binding made while a
nats-server is lost.) Every process started here is stopped here; all on loopback ports below
the ephemeral range."""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import run_tests, wait_until  # noqa: E402
from cluster_checks import (FORWARDER, ClusterNode, bind, broker_section, osb,  # noqa: E402
                            provision, push)
from nats_cluster import start_nats_cluster, stop_cluster  # noqa: E402

SMALL = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
APP = "6f0c4a2e-1b7d-4c3a-9e58-2d1f0a9b8c7e"


def gateway(index, urls, workdir):
    return ClusterNode(index, urls, f"""
{broker_section(f'{workdir}/broker-g{index}.db', ('small', SMALL, 6000, 60000))}
""", cluster_extra="  bindings: { store: kv, replicas: 3 }", ready_timeout=20)


def test_bindings_are_shared_across_nodes():
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cbind-") as workdir:
        nats = []
        nodes = []
        passed = False
        try:
            nats = start_nats_cluster(workdir, jetstream=True)
            urls = [n.url for n in nats]
            for i in (1, 2, 3):
                nodes.append(gateway(i, urls, workdir))
            g1, g2, g3 = nodes
            for g in nodes:
                assert "cluster bindings shared through JetStream KV" in g.gateway.output()

            # Provisioned and bound through g1: the key works on g2 and g3 within a second.
            status, answer = provision(g1.port, "fwd-1", SMALL, "org-1", "space-1")
            assert status == 201, answer
            status, answer = bind(g1.port, "fwd-1", "b-1", SMALL, APP)
            assert status == 201, answer
            key1 = answer["credentials"]["access_key"]
            bound = time.monotonic()
            assert push(g1.port, key1, APP) == 202
            wait_until(lambda: push(g2.port, key1, APP) == 202 and
                       push(g3.port, key1, APP) == 202, 1.0,
                       interval=0.05, what="g1's binding accepted on g2 and g3")
            print(f"binding visible everywhere after {time.monotonic() - bound:.2f} s")
            # The same binding again through g3: the store decides (200, a new key), and a
            # different one under the same id is a conflict on any node.
            status, answer = provision(g3.port, "fwd-1", SMALL, "org-1", "space-1")
            assert status == 200, answer
            status, answer = bind(g2.port, "fwd-1", "b-1", SMALL, "another-app")
            assert status == 409, answer

            # A binding made through g2 reaches every node.
            status, answer = bind(g2.port, "fwd-1", "b-2", SMALL, APP)
            assert status == 201, answer
            key2 = answer["credentials"]["access_key"]
            wait_until(lambda: all(push(g.port, key2, APP) == 202 for g in nodes), 1.0,
                       interval=0.05, what="g2's binding accepted on every node")

            # Unbound through g3: refused on g1 and g2 within a second.
            status, answer = osb(g3.port, "DELETE",
                                 f"/service_instances/fwd-1/service_bindings/b-1"
                                 f"?service_id={FORWARDER}&plan_id={SMALL}")
            assert status == 200, answer
            wait_until(lambda: push(g1.port, key1, APP) == 401 and
                       push(g2.port, key1, APP) == 401, 1.0,
                       interval=0.05, what="the unbound key refused on g1 and g2")
            assert push(g3.port, key1, APP) == 401
            assert all(push(g.port, key2, APP) == 202 for g in nodes)
            for g in nodes:
                assert "cluster bindings: change ignored" not in g.gateway.output()
            assert time.monotonic() - started < 120
            passed = True
        finally:
            stop_cluster(nodes, nats, passed)


if __name__ == "__main__":
    run_tests([test_bindings_are_shared_across_nodes])
