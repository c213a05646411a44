"""The Loggregator egress through the real binary, against a Loggregator agent stand-in built on
grpc-go with go-loggregator's generated loggregator.v2 types, requiring client certificates
(test/integration/loggregator_agent). Pushes of gauges and counters and an HM heartbeat fed
through `metrics-gateway hm-plugin` reach the agent as the Metrics Forwarder and the System
Metrics Forwarder sent them, field by field; the faults: the agent down at start (queued up
to the bound, drops counted, then delivered), restarted mid-stream (nothing accepted after
the loss is lost), a client certificate from another CA (a clear log line and a counter), a
slow agent (bounded memory, the gateway keeps serving), and SIGTERM flushing the queue."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests, wait_until  # noqa: E402
from bosh_peers import Plugin, alert_line, heartbeat_line, metric_value  # noqa: E402
from loggregator_peers import (Agent, Certificates, bind_app, gauge_body,  # noqa: E402
                               loggregator_yaml, now_ms, push, wait_metric)

APP = "5d2c1e4a-7b8f-4c1e-9a0d-2f6e8b3c4d5e"


def push_config(port, health, agent_port, certs, extra="", client=None):
    return (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health}\nthreads: 2\n"
            "broker: { enabled: true, username: cc, password: broker-secret }\n"
            + loggregator_yaml(agent_port, certs, "  push: true\n" + extra, client))


def bosh_config(port, health, ingest, agent_port, certs, extra=""):
    return (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health}\nthreads: 2\n"
            f"bosh:\n  ingest_listen: 127.0.0.1:{ingest}\n"
            "  uaa: { url: 'http://127.0.0.1:9', client_id: gateway, client_secret: s }\n"
            + loggregator_yaml(agent_port, certs, "  bosh: true\n" + extra))


class Stack:
    """Certificates, an agent (unless `agent` is False) and a gateway pushing to it."""

    def __init__(self, config, agent=True, slow=None):
        self.certs = Certificates()
        self.port, self.health = free_port(), free_port()
        self.ingest = free_port()
        self.agent_port = free_port()
        self.agent = Agent(self.certs, self.agent_port, slow=slow) if agent else None
        self.gateway = Gateway(config(self))
        self.gateway.wait_ready(self.port)

    def metrics(self):
        return http_get(f"http://127.0.0.1:{self.port}/metrics")[2].decode()

    def metric(self, name, labels=None):
        return metric_value(self.metrics(), name, labels) or 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- gateway output ----\n" + self.gateway.output())
            if self.agent:
                print("---- agent stderr ----\n" + self.agent.errors())
        self.gateway.stop()
        if self.agent:
            self.agent.stop()
        self.certs.close()


def heartbeat_with_ephemeral_disk(n, **kwargs):
    """heartbeat_line with an ephemeral disk too: all 15 system metrics the forwarder mapped."""
    event = json.loads(heartbeat_line(n, **kwargs))
    event["vitals"]["disk"]["ephemeral"] = {"inode_percent": "2", "percent": "5"}
    tags = event["metrics"][0]["tags"]
    event["metrics"] += [{"name": name, "value": value, "timestamp": event["timestamp"],
                          "tags": tags}
                         for name, value in (("system.disk.ephemeral.percent", "5"),
                                             ("system.disk.ephemeral.inode_percent", "2"))]
    return json.dumps(event, separators=(",", ":"))


def tags_of(envelope):
    return envelope.get("tags", {})


def test_pushed_gauges_and_counters_arrive_as_the_metrics_forwarder_sent_them():
    with Stack(lambda s: push_config(s.port, s.health, s.agent_port, s.certs)) as s:
        key = bind_app(s.port, APP)
        # Timestamps within the push path's window (an hour back, five minutes ahead).
        stamp = now_ms() - 60_000
        body = {"applications": [{"id": APP, "instances": [
            {"id": "6f1e5b52-1a6b-4a0e-9d5a-31e2b14c1c00", "index": "2", "metrics": [
                {"name": "jvm.memory.used", "type": "gauge", "value": 1.5, "unit": "bytes",
                 "timestamp": stamp, "tags": {"area": "heap"}},
                {"name": "http.server.requests", "type": "counter", "value": 42,
                 "timestamp": stamp + 333}]}]}], "version": 1}
        assert push(s.port, key, body) == 202
        gauge, counter = s.agent.wait_for(2)
        assert gauge == {
            "timestamp": str(stamp * 10**6), "source_id": APP, "instance_id": "2",
            "tags": {"area": "heap", "type": "gauge", "origin": "metrics-forwarder",
                     "applicationGuid": APP,
                     "applicationInstance": "6f1e5b52-1a6b-4a0e-9d5a-31e2b14c1c00",
                     "applicationInstanceIndex": "2"},
            "gauge": {"metrics": {"jvm.memory.used": {"unit": "bytes", "value": 1.5}}}}, gauge
        assert counter == {
            "timestamp": str((stamp + 333) * 10**6), "source_id": APP, "instance_id": "2",
            "tags": {"type": "counter", "origin": "metrics-forwarder", "applicationGuid": APP,
                     "applicationInstance": "6f1e5b52-1a6b-4a0e-9d5a-31e2b14c1c00",
                     "applicationInstanceIndex": "2"},
            "gauge": {"metrics": {"http.server.requests": {"value": 42}}}}, counter

        # Batches of at most 100, all of them.
        before = time.time()
        for i in range(5):
            assert push(s.port, key, gauge_body(APP, [f"m{i}.{n}" for n in range(99)],
                                                value=i)) == 202
        wait_until(lambda: len(s.agent.records()) >= 2 + 495, 20, what="495 more envelopes")
        records = s.agent.records()[2:]
        assert len(records) == 495
        assert all(r["size"] <= 100 for r in records), {r["size"] for r in records}
        stamped = int(records[0]["envelope"]["timestamp"]) / 1e9  # no timestamp: receipt time
        assert before - 5 <= stamped <= time.time() + 5, stamped
        text = wait_metric(s.port, lambda t: metric_value(
            t, "mgw_loggregator_envelopes_sent_total", {"source": "push"}) == 497,
            what="sent counter")
        assert metric_value(text, "mgw_loggregator_agent_up") == 1
        assert metric_value(text, "mgw_loggregator_envelopes_total", {"source": "push"}) == 497
        assert metric_value(text, "mgw_loggregator_connections_total") == 1
        assert (metric_value(text, "mgw_loggregator_envelopes_dropped_total",
                             {"source": "push", "reason": "queue_full"}) == 0)

        # The scrape side is unchanged: the same push is in the app's merged answer.
        status, _, answer = http_get(f"http://127.0.0.1:{s.port}/v1/apps/{APP}/metrics")
        assert status == 200, (status, answer)
        assert b"jvm_memory_used{" in answer and b'source="push"' in answer, answer


def test_counters_as_v2_counters_when_the_operator_chooses():
    with Stack(lambda s: push_config(s.port, s.health, s.agent_port, s.certs,
                                     "  counters: counter\n")) as s:
        key = bind_app(s.port, APP)
        stamp = now_ms() - 1000
        body = gauge_body(APP, ["http.requests"], value=7, index="1", kind="counter",
                          timestamp=stamp)
        assert push(s.port, key, body) == 202
        (envelope,) = s.agent.wait_for(1)
        assert envelope == {
            "timestamp": str(stamp * 10**6), "source_id": APP, "instance_id": "1",
            "tags": {"type": "counter", "origin": "metrics-forwarder", "applicationGuid": APP,
                     "applicationInstanceIndex": "1"},
            "counter": {"name": "http.requests", "total": "7"}}, envelope


def test_hm_heartbeat_through_hm_plugin_as_the_system_metrics_forwarder_sent_it():
    with Stack(lambda s: bosh_config(s.port, s.health, s.ingest, s.agent_port, s.certs,
                                     "  alerts: true\n  bosh_ip_tag: 10.0.0.6\n")) as s:
        with Plugin(s.ingest) as plugin:
            plugin.send([heartbeat_with_ephemeral_disk(
                7, deployment="cf", job="router", instance="eca69415-6770-467f-a0aa-6cb620a0b6d0"),
                         alert_line(3, severity=2, category="vm_health")])
            heartbeat, alert = s.agent.wait_for(2)
        expected_metrics = {
            "system.load.1m": ("Load", 0.45), "system.cpu.user": ("Load", 22.1),
            "system.cpu.sys": ("Load", 7.0), "system.cpu.wait": ("Load", 0.8),
            "system.mem.percent": ("Percent", 37), "system.mem.kb": ("Kb", 1502632),
            "system.swap.percent": ("Percent", 0), "system.swap.kb": ("Kb", 4944),
            "system.disk.system.percent": ("Percent", 27),
            "system.disk.system.inode_percent": ("Percent", 14),
            "system.disk.persistent.percent": ("Percent", 80),
            "system.disk.persistent.inode_percent": ("Percent", 3),
            "system.disk.ephemeral.percent": ("Percent", 5),
            "system.disk.ephemeral.inode_percent": ("Percent", 2),
            "system.healthy": ("b", 1)}
        assert len(expected_metrics) == 15  # the names `cf tail` showed for the forwarder
        assert heartbeat == {
            "timestamp": str((1700000000 + 7) * 10**9),
            "tags": {"job": "router", "index": "eca69415-6770-467f-a0aa-6cb620a0b6d0",
                     "id": "eca69415-6770-467f-a0aa-6cb620a0b6d0",
                     "origin": "bosh-system-metrics-forwarder", "deployment": "cf",
                     "ip": "10.0.0.6"},
            "gauge": {"metrics": {name: ({"unit": unit, "value": value} if value else
                                         {"unit": unit})
                                  for name, (unit, value) in expected_metrics.items()}}}, heartbeat
        assert alert == {
            "timestamp": str((1499359162 + 3) * 10**9),
            "tags": {"origin": "bosh-system-metrics-forwarder", "deployment": "cf",
                     "severity": "2", "category": "vm_health",
                     "source": "cf: router(inst) [id=agent, index=0, cid=vm-1]",
                     "alert_id": "alert-3", "ip": "10.0.0.6"},
            "event": {"title": "SSH Access Denied",
                      "body": "Failed password for vcap from 10.244.0.1"}}, alert
        wait_metric(s.port, lambda t: metric_value(
            t, "mgw_loggregator_envelopes_sent_total", {"source": "bosh"}) == 2,
            what="bosh envelopes sent")


def test_agent_down_at_start_queues_to_its_bound_and_counts_drops():
    config = (lambda s: push_config(s.port, s.health, s.agent_port, s.certs,
                                    "  queue_bytes: 64KiB\n"))
    with Stack(config, agent=False) as s:
        key = bind_app(s.port, APP)
        assert http_get(f"http://127.0.0.1:{s.health}/")[0] == 200
        start = now_ms() - 60_000
        for i in range(30):
            assert push(s.port, key, gauge_body(APP, [f"queued.{i}.{n}" for n in range(50)],
                                                timestamp=start + i)) == 202
        text = wait_metric(s.port, lambda t: (metric_value(
            t, "mgw_loggregator_send_errors_total", {"reason": "connect"}) or 0) >= 1 and
            metric_value(t, "mgw_loggregator_envelopes_total", {"source": "push"}) == 1500,
            what="connect errors and every envelope counted")
        assert metric_value(text, "mgw_loggregator_agent_up") == 0
        dropped = metric_value(text, "mgw_loggregator_envelopes_dropped_total",
                               {"source": "push", "reason": "queue_full"})
        queued = metric_value(text, "mgw_loggregator_queue_envelopes")
        assert dropped > 0 and queued > 0, (dropped, queued)
        assert dropped + queued == 1500, (dropped, queued)
        assert metric_value(text, "mgw_loggregator_queue_bytes") <= 65536
        assert metric_value(text, "mgw_memory_leased_bytes", {"use": "loggregator"}) <= 65536
        assert "loggregator agent unreachable" in s.gateway.output()

        # The agent comes up: what was queued arrives, the oldest first.
        s.agent = Agent(s.certs, s.agent_port)
        received = s.agent.wait_for(int(queued), timeout=30)
        assert len(received) == queued
        order = {f"queued.{i}.{n}": i * 50 + n for i in range(30) for n in range(50)}
        positions = [order[next(iter(e["gauge"]["metrics"]))] for e in received]
        assert positions == sorted(positions) and positions[0] == 0, positions[:20]
        wait_metric(s.port, lambda t: metric_value(t, "mgw_loggregator_agent_up") == 1,
                    what="agent up")


def test_agent_restarted_mid_stream_nothing_accepted_after_the_loss_is_lost():
    with Stack(lambda s: push_config(s.port, s.health, s.agent_port, s.certs)) as s:
        key = bind_app(s.port, APP)
        assert push(s.port, key, gauge_body(APP, [f"a.{n}" for n in range(100)])) == 202
        s.agent.wait_for(100)
        s.agent.kill()
        wait_metric(s.port, lambda t: metric_value(t, "mgw_loggregator_agent_up") == 0,
                    what="the loss noticed")
        # Accepted while the agent is away: queued.
        for i in range(5):
            assert push(s.port, key, gauge_body(APP, [f"b.{i}.{n}" for n in range(40)])) == 202
        time.sleep(0.5)
        s.agent.start()
        wait_metric(s.port, lambda t: metric_value(t, "mgw_loggregator_agent_up") == 1,
                    what="reconnected", timeout=30)
        for i in range(5):
            assert push(s.port, key, gauge_body(APP, [f"c.{i}.{n}" for n in range(40)])) == 202
        wait_until(lambda: {f"c.4.{n}" for n in range(40)} <= names(s.agent), 20,
                   what="the pushes after the reconnect")
        got = names(s.agent)
        expected = ({f"a.{n}" for n in range(100)} | {f"b.{i}.{n}" for i in range(5)
                                                     for n in range(40)}
                    | {f"c.{i}.{n}" for i in range(5) for n in range(40)})
        assert expected <= got, sorted(expected - got)[:10]
        text = s.metrics()
        assert metric_value(text, "mgw_loggregator_send_errors_total",
                            {"reason": "connection"}) >= 1
        assert metric_value(text, "mgw_loggregator_reconnects_total") >= 1
        assert metric_value(text, "mgw_loggregator_connections_total") >= 2
        assert "loggregator agent connection lost" in s.gateway.output()


def names(agent):
    return {name for e in agent.envelopes() for name in e.get("gauge", {}).get("metrics", {})}


def test_a_client_certificate_the_agent_does_not_trust():
    def config(s):
        return push_config(s.port, s.health, s.agent_port, s.certs,
                           client=(s.certs.rogue_cert, s.certs.rogue_key))
    with Stack(config) as s:
        key = bind_app(s.port, APP)
        assert push(s.port, key, gauge_body(APP, ["refused"])) == 202
        wait_metric(s.port, lambda t: (metric_value(
            t, "mgw_loggregator_send_errors_total", {"reason": "tls"}) or 0) >= 2,
            what="TLS errors counted")
        output = s.gateway.output()
        assert "loggregator agent TLS failed: check loggregator.tls" in output, output
        line = output.split("loggregator agent TLS failed")[1].split("\n")[0]
        # OpenSSL's reading of the agent's alert (Go sends unknown_ca for a foreign CA).
        assert "alert unknown ca" in line or "alert bad certificate" in line, line
        assert s.agent.envelopes() == []
        assert s.metric("mgw_loggregator_agent_up") == 0
        # Everything else keeps working.
        assert http_get(f"http://127.0.0.1:{s.health}/")[0] == 200
        assert push(s.port, key, gauge_body(APP, ["still.accepted"])) == 202


def test_a_slow_agent_keeps_memory_bounded_and_the_gateway_serving():
    config = (lambda s: push_config(s.port, s.health, s.agent_port, s.certs,
                                    "  queue_bytes: 256KiB\n"))
    with Stack(config, slow="300ms") as s:
        key = bind_app(s.port, APP)
        tag = {"padding": "x" * 200}
        started = time.monotonic()
        for i in range(150):
            # The same 100 series each time (an app holds at most 10,000), new values.
            assert push(s.port, key, gauge_body(APP, [f"slow.{n}" for n in range(100)],
                                                value=float(i), tags=tag)) == 202
            if i % 10 == 0:
                text = s.metrics()
                assert metric_value(text, "mgw_loggregator_queue_bytes") <= 256 * 1024
                assert (metric_value(text, "mgw_memory_leased_bytes",
                                     {"use": "loggregator"}) <= 256 * 1024)
        text = wait_metric(s.port, lambda t: (metric_value(
            t, "mgw_loggregator_envelopes_dropped_total",
            {"source": "push", "reason": "queue_full"}) or 0) > 0, what="drops counted")
        # 15,000 envelopes of ~400 bytes (6 MB) went through a 256 KiB queue and the agent's
        # HTTP/2 window: the process stays small.
        rss = metric_value(text, "process_resident_memory_bytes")
        assert rss < 200 * 1024 * 1024, rss
        assert http_get(f"http://127.0.0.1:{s.health}/")[0] == 200
        assert time.monotonic() - started < 120
        assert len(s.agent.envelopes()) > 0


def test_sigterm_flushes_what_is_queued():
    config = (lambda s: push_config(s.port, s.health, s.agent_port, s.certs,
                                    "  batch_interval: 1m\n  batch_size: 1000\n"))
    with Stack(config) as s:
        key = bind_app(s.port, APP)
        for i in range(3):
            assert push(s.port, key, gauge_body(APP, [f"late.{i}.{n}" for n in range(10)])) == 202
        time.sleep(0.5)
        assert s.agent.envelopes() == []  # waiting for the batch interval
        s.gateway.signal(signal.SIGTERM)
        assert s.gateway.wait(30) == 0
        assert len(s.agent.envelopes()) == 30
        assert "loggregator drained" in s.gateway.output()


if __name__ == "__main__":
    run_tests([test_pushed_gauges_and_counters_arrive_as_the_metrics_forwarder_sent_them,
               test_counters_as_v2_counters_when_the_operator_chooses,
               test_hm_heartbeat_through_hm_plugin_as_the_system_metrics_forwarder_sent_it,
               test_agent_down_at_start_queues_to_its_bound_and_counts_drops,
               test_agent_restarted_mid_stream_nothing_accepted_after_the_loss_is_lost,
               test_a_client_certificate_the_agent_does_not_trust,
               test_a_slow_agent_keeps_memory_bounded_and_the_gateway_serving,
               test_sigterm_flushes_what_is_queued])
