"""HM event subscriptions across a cluster (issue 15): three routed nats-servers and three
gateways, HM events ingested on g1 only (through the real hm-plugin). Clients of subscription
id A on every node (HTTP on g1 and g2, HTTP and gRPC on g3) share A's events: disjoint sets
whose union is every event. B (HTTP on g2) and C (HTTP on g1) each get every event. When A's
member on g1 leaves, g1 leaves A's queue group and A's events reach g2 and g3 instead. A
nats-server with gateways on it dies: they reconnect to another and the checks hold again (the test waits out the
reconnect window, so no checked event may be lost). g3 dies: A's events go to g2. With all
of NATS down g1 hands its events to its own subscriptions only (counted); NATS comes back and
the cluster distribution recovers without a restart. Loopback only, every process started here
is stopped here."""

import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import Gateway, free_port, http_get, run_tests, wait_until  # noqa: E402
from bosh_peers import (EventStream, FakeUaa, Plugin, alert_line, event_id,  # noqa: E402
                        heartbeat_line, metric_value)
from grpc_peers import Certificates, PythonSubscriber, grpc_config  # noqa: E402
from nats_cluster import RoutedNatsServer  # noqa: E402

EVENTS = 300


class Node:
    """One gateway with the HM ingest, cluster mode on."""

    def __init__(self, index, nats_urls, uaa, extra_bosh=""):
        self.index = index
        self.port, self.ingest = free_port(), free_port()
        servers = ", ".join(nats_urls[index - 1:] + nats_urls[:index - 1])
        config = f"""
listen: 127.0.0.1:{self.port}
health_listen: 127.0.0.1:{free_port()}
threads: 2
log: {{ level: info, format: text, access: false }}
shutdown: {{ drain_timeout: 5s }}
nats: {{ servers: [{servers}] }}
cluster: {{ enabled: true, name: hmtest, node_id: g{index}, heartbeat: 500ms }}
bosh:
  ingest_listen: 127.0.0.1:{self.ingest}
  uaa: {{ url: "{uaa.url}", client_id: gateway, client_secret: s3cret, timeout: 2s }}
{extra_bosh}"""
        self.gateway = Gateway(config)
        self.gateway.wait_ready(self.port)

    def metric(self, name, labels=None):
        _, _, body = http_get(f"http://127.0.0.1:{self.port}/metrics")
        return metric_value(body.decode(), name, labels)


def lines_for(first, count):
    """Unique HM lines: alerts and heartbeats in turn (both map to gRPC events)."""
    return [alert_line(n) if n % 2 else heartbeat_line(n) for n in range(first, first + count)]


def ids(streams):
    """The event ids each stream received so far, HTTP or gRPC."""
    return [s.ids() if isinstance(s, PythonSubscriber)
            else [event_id(line) for line in s.received()] for s in streams]


def probe_until(plugin, stream, base, what, timeout=10):
    """Sends alerts numbered above `base` through `plugin` until `stream` has one of them: the
    queue subscriptions on the servers' side are in place."""
    sent = [0]

    def arrived():
        sent[0] += 1
        plugin.send([alert_line(base + sent[0])])
        return any(base < int(i.split("-")[1]) < base + 1_000_000
                   for i in ids([stream])[0] if i.startswith("alert-"))
    wait_until(arrived, timeout, interval=0.2, what=what)


def check_shared(members, expected, what):
    """Each of `expected` reached exactly one of the members."""
    got = [set(x) & expected for x in ids(members)]
    for i, a in enumerate(got):
        for b in got[i + 1:]:
            assert not a & b, f"{what}: an event reached two members of one id: {sorted(a & b)[:5]}"
    union = set().union(*got)
    assert union == expected, f"{what}: {len(expected - union)} events missing"
    return [len(x) for x in got]


def test_subscription_ids_keep_their_meaning_across_nodes():
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cluster-hm-") as workdir:
        client_ports = [free_port() for _ in range(3)]
        route_ports = [free_port() for _ in range(3)]
        nats, nodes, streams = [], [], []
        a3g = None
        uaa = FakeUaa()
        certs = Certificates()
        grpc_port = free_port()
        passed = False
        try:
            for i in range(3):
                nats.append(RoutedNatsServer(f"n{i + 1}", workdir, client_ports[i], route_ports[i],
                                             route_ports, cluster="mgwhm"))
            wait_until(lambda: all(n.routes() == 2 for n in nats), 20, interval=0.2,
                       what="the three nats-servers routed to each other")
            urls = [n.url for n in nats]
            nodes = [Node(1, urls, uaa), Node(2, urls, uaa),
                     Node(3, urls, uaa, grpc_config(grpc_port, certs))]
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

                # 1. Every event once to A (wherever its members are), to B and to C.
                lines = lines_for(0, EVENTS)
                for i in range(0, EVENTS, 50):
                    plugin.send(lines[i:i + 50])
                expected = {event_id(line) for line in lines}
                members = [a1, a2, a3, a3g]
                wait_until(lambda: expected <= set(ids([b2])[0]) and
                           expected <= set(ids([c1])[0]) and
                           sum(len(set(x) & expected) for x in ids(members)) >= EVENTS,
                           20, interval=0.2, what="A, B and C getting the events")
                time.sleep(0.5)  # a duplicate would arrive now
                shares = check_shared(members, expected, "A with a member on the ingest node")
                print(f"A's shares (g1, g2, g3 http, g3 grpc): {shares}")
                published = g1.metric("mgw_cluster_hm_events_published_total")
                assert published >= EVENTS, published
                assert g2.metric("mgw_cluster_hm_events_received_total") >= EVENTS
                assert g1.metric("mgw_cluster_hm_events_local_total",
                                 {"reason": "nats_down"}) == 0

                # 2. A's member on g1 leaves: g1 leaves A's group, g2 and g3 share A's events.
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

                # 3. A nats-server with gateways on it dies (nats.c picks a server at random):
                # they reconnect to another one. Events published before their queue
                # subscriptions are back on the remaining servers may be lost for their members
                # (at most once); the probes wait that window out, so none of the checked events
                # may be missing.
                victim = next(n for n in nats if n.clients() > 0)
                victim.stop()
                wait_until(lambda: sum(n.metric("mgw_nats_reconnects_total") for n in nodes) >= 1
                           and all(n.metric("mgw_nats_connected") == 1 for n in nodes), 20,
                           interval=0.2, what=f"the gateways on {victim.name} reconnected")
                probe_until(plugin, b2, 11_000_000, "a probe reaching g2 after the reconnect")
                probe_until(plugin, c1, 12_000_000, "a probe reaching g1 after the reconnect")
                time.sleep(0.5)
                lines = lines_for(2 * EVENTS, 100)
                plugin.send(lines)
                expected = {event_id(line) for line in lines}
                wait_until(lambda: expected <= set(ids([b2])[0]) and
                           expected <= set(ids([c1])[0]) and
                           sum(len(set(x) & expected) for x in ids(members)) >= 100,
                           20, interval=0.2, what="the events after the reconnect")
                time.sleep(0.5)
                check_shared(members, expected, "A after the reconnect")

                # 4. g3 dies: A's events all go to its member on g2.
                g3.gateway.process.kill()
                g3.gateway.process.wait()
                time.sleep(0.5)
                lines = lines_for(2 * EVENTS + 100, 100)
                plugin.send(lines)
                expected = {event_id(line) for line in lines}
                wait_until(lambda: expected <= set(ids([a2])[0]) and
                           expected <= set(ids([b2])[0]), 20, interval=0.2,
                           what="A's events reaching g2 alone")
                members = [a2]

            # 5. NATS down: g1's own subscriptions (C) still get g1's events, nobody else does.
            for n in nats:
                n.stop()
            wait_until(lambda: g1.metric("mgw_nats_connected") == 0, 10, interval=0.1,
                       what="g1 noticing NATS is gone")
            before_b = len(b2.received())
            lines = lines_for(3 * EVENTS, 20)
            with Plugin(g1.ingest) as plugin:
                plugin.send(lines)
                expected = {event_id(line) for line in lines}
                wait_until(lambda: expected <= set(ids([c1])[0]), 10, interval=0.1,
                           what="C on g1 getting g1's events without NATS")
            assert g1.metric("mgw_cluster_hm_events_local_total", {"reason": "nats_down"}) == 20
            assert len(b2.received()) == before_b

            # 6. NATS back: the cluster distribution resumes without a restart.
            for n in nats:
                n.start()
            wait_until(lambda: all(n.routes() == 2 for n in nats), 20, interval=0.2,
                       what="the nats-servers routed again")
            wait_until(lambda: all(n.metric("mgw_nats_connected") == 1 for n in (g1, g2)), 20,
                       interval=0.2, what="every gateway reconnected")
            with Plugin(g1.ingest) as plugin:
                probe_until(plugin, b2, 20_000_000, "a probe reaching g2 again", timeout=15)
                time.sleep(0.5)
                lines = lines_for(4 * EVENTS, 30)
                plugin.send(lines)
                expected = {event_id(line) for line in lines}
                wait_until(lambda: expected <= set(ids([b2])[0]) and
                           expected <= set(ids([c1])[0]), 15, interval=0.2,
                           what="B and C getting every event after recovery")
                wait_until(lambda: sum(len(set(x) & expected) for x in ids(members)) >= 30, 10,
                           interval=0.2, what="A getting the events after recovery")
                time.sleep(0.5)
                check_shared(members, expected, "A after recovery")
            assert g1.metric("mgw_cluster_hm_events_dropped_total", {"reason": "bad_message"}) == 0
            assert time.monotonic() - started < 110
            passed = True
        finally:
            for s in streams:
                s.close()
            if a3g is not None:
                a3g.close()
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
            uaa.stop()
            certs.close()


if __name__ == "__main__":
    run_tests([test_subscription_ids_keep_their_meaning_across_nodes])
