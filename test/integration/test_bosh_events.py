"""The BOSH HM event path with real processes: the hm-plugin binary fed HM lines on stdin,
the gateway, streaming clients of /v1/bosh/events, a UAA stand-in on loopback. Subscription
sharing, slow clients, bad input, gateway restarts, plugin buffering, SSE and the gauges."""

import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, Gateway, free_port, http_get, run_tests, wait_until  # noqa: E402
from bosh_peers import (EventStream, FakeUaa, Plugin, alert_line, event_id,  # noqa: E402
                        heartbeat_line, metric_value)


class Ports:
    def __init__(self):
        self.http = free_port()
        self.health = free_port()
        self.ingest = free_port()


# Subscription ids with their own series in mgw_bosh_subscription_*: the ones these tests read.
LABELLED = "[forwarder, audit, slow, fast, late, prompt]"


def config_for(ports, uaa, extra=""):
    return (f"listen: 127.0.0.1:{ports.http}\nhealth_listen: 127.0.0.1:{ports.health}\n"
            f"threads: 2\nlog: {{ level: info, access: false }}\n"
            f"bosh:\n  ingest_listen: 127.0.0.1:{ports.ingest}\n"
            f"  uaa: {{ url: \"{uaa.url}\", client_id: gateway, client_secret: s3cret }}\n"
            f"  labelled_subscriptions: {LABELLED}\n"
            + extra)


def bosh_metrics(ports):
    """GET /v1/bosh/metrics as an authorized reader."""
    return http_get(f"http://127.0.0.1:{ports.http}/v1/bosh/metrics",
                    {"Authorization": "bearer good"})


def own_metrics(ports):
    status, _, body = http_get(f"http://127.0.0.1:{ports.http}/metrics")
    assert status == 200
    return body.decode()


def wait_for_clients(ports, n):
    wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_stream_clients") == n,
               what=f"{n} stream clients")


def start(ports, uaa, extra=""):
    gateway = Gateway(config_for(ports, uaa, extra))
    gateway.wait_ready(ports.http)
    gateway.wait_ready(ports.ingest)
    return gateway


def test_shared_subscription_splits_and_other_subscription_gets_all():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa) as gateway, Plugin(ports.ingest) as plugin:
        a = EventStream(ports.http, "forwarder")
        b = EventStream(ports.http, "forwarder")
        other = EventStream(ports.http, "audit")
        assert (a.status, b.status, other.status) == (200, 200, 200)
        assert a.response.getheader("Content-Type") == "application/x-ndjson"
        wait_for_clients(ports, 3)

        lines = []
        for n in range(300):
            lines.append(heartbeat_line(n) if n % 3 else alert_line(n, severity=1 + n % 4))
        for i in range(0, len(lines), 7):  # in bursts, as HM writes
            plugin.send(lines[i:i + 7])
        expected = [event_id(line) for line in lines]

        wait_until(lambda: len(other.received()) == len(lines), timeout=20,
                   what="all events at the other subscription")
        wait_until(lambda: len(a.received()) + len(b.received()) >= len(lines), timeout=20,
                   what="all events at the shared pair")
        time.sleep(0.3)  # anything extra (a duplicate) would arrive now
        shared = [event_id(line) for line in a.received() + b.received()]
        assert sorted(shared) == sorted(expected), "the pair must see each event exactly once"
        assert a.received() and b.received(), (len(a.received()), len(b.received()))
        assert [event_id(line) for line in other.received()] == expected  # all, in order
        # Events are streamed as HM wrote them.
        assert other.received()[1] == lines[1]

        assert plugin.close() == 0, plugin.output()
        text = own_metrics(ports)
        assert metric_value(text, "mgw_bosh_ingest_events_total", {"kind": "heartbeat"}) == 200
        assert metric_value(text, "mgw_bosh_ingest_events_total", {"kind": "alert"}) == 100
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_subscription_sent_total",
                                        {"subscription_id": "audit"}) == 300,
                   what="per-subscription sent counter")
        for stream in (a, b, other):
            stream.close()


def test_slow_client_drops_alone_and_drops_show_in_metrics():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa, "  queue_size: 64\n") as gateway, \
            Plugin(ports.ingest) as plugin:
        slow = EventStream(ports.http, "slow", read=False, rcvbuf=4096)
        fast = EventStream(ports.http, "fast")
        assert (slow.status, fast.status) == (200, 200)
        wait_for_clients(ports, 2)
        # ~19 MB: more than the kernel buffers towards the slow client hold. Sent in bursts
        # smaller than the queue, each once the fast client has the previous one: the fast
        # subscription never overflows while the slow one must.
        total, burst = 12000, 60
        for i in range(0, total, burst):
            plugin.send([heartbeat_line(n) for n in range(i, i + burst)])
            wait_until(lambda: len(fast.received()) == i + burst, timeout=20,
                       what=f"burst {i // burst} at the fast client")
        assert [event_id(line) for line in fast.received()] == [f"hb-{n}" for n in range(total)]

        def slow_drops():
            return metric_value(own_metrics(ports), "mgw_bosh_subscription_dropped_total",
                                {"subscription_id": "slow", "reason": "queue_full"}) or 0
        wait_until(lambda: slow_drops() > 0, what="drops of the slow subscription")
        assert metric_value(own_metrics(ports), "mgw_bosh_subscription_dropped_total",
                            {"subscription_id": "fast", "reason": "queue_full"}) == 0
        assert plugin.close() == 0, plugin.output()
        slow.close()
        fast.close()


def test_bad_lines_are_counted_and_skipped():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa) as gateway, Plugin(ports.ingest) as plugin:
        stream = EventStream(ports.http, "s")
        wait_for_clients(ports, 1)
        plugin.send(["this is not json",
                     '{"kind":"heartbeat","id":"x","timestamp":"soon","deployment":"d"}',
                     '{"kind":"alert","id":"a","severity":"high","title":"t","created_at":1}',
                     '{"kind":"shutdown","id":"agent"}',
                     '[1,2,3]',
                     '{"kind":"alert","id":"a","severity":-1,"title":"t","created_at":1}'])
        plugin.send_raw(b'{"kind":"alert","title":"' + b"x" * (10 << 20) + b'"}\n')
        plugin.send([heartbeat_line(1)])
        wait_until(lambda: len(stream.received()) == 1, what="the good line after the bad ones")
        assert event_id(stream.received()[0]) == "hb-1"
        text = own_metrics(ports)
        for reason, count in (("not_json", 1), ("wrong_type", 2), ("unknown_kind", 1),
                              ("not_object", 1), ("bad_value", 1), ("too_long", 1)):
            assert metric_value(text, "mgw_bosh_ingest_rejected_total",
                                {"reason": reason}) == count, (reason, text)
        assert "bosh ingest line skipped" in gateway.output()
        assert plugin.close() == 0
        stream.close()


def test_gateway_restart_loses_nothing_the_plugin_buffers():
    ports = Ports()
    with FakeUaa() as uaa, Plugin(ports.ingest) as plugin:
        first = start(ports, uaa)
        try:
            plugin.send([heartbeat_line(n) for n in range(0, 50)])
            wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_events_total",
                                            {"kind": "heartbeat"}) == 50, what="first batch")
        finally:
            first.signal(signal.SIGTERM)
            assert first.wait(20) == 0
            first.stop()
        # The gateway is down: HM keeps writing, the plugin keeps reading and buffers.
        plugin.send([heartbeat_line(n) for n in range(50, 150)])
        time.sleep(0.5)
        plugin.send([heartbeat_line(n) for n in range(150, 200)])
        assert plugin.process.poll() is None
        with start(ports, uaa) as second:
            def instances():
                status, _, body = bosh_metrics(ports)
                assert status == 200
                return {line.split('id="', 1)[1].split('"', 1)[0]
                        for line in body.decode().splitlines()
                        if line.startswith("system_cpu_user{")}
            wait_until(lambda: len(instances()) >= 150, timeout=20,
                       what="the buffered heartbeats at the restarted gateway")
            assert instances() == {f"inst-{n:06d}" for n in range(50, 200)}
            assert plugin.close() == 0, plugin.output()
            assert "hm-plugin connected" in plugin.output()
            second.output()


def test_plugin_buffer_is_bounded_and_gives_up_after_the_flush_timeout():
    port = free_port()  # nothing listens there
    with Plugin(port, ["--buffer-lines", "10", "--flush-timeout", "1s"]) as plugin:
        plugin.send([alert_line(n) for n in range(50)])
        started = time.monotonic()
        assert plugin.close(timeout=20) == 1
        assert time.monotonic() - started < 10
        output = plugin.output()
        assert "hm-plugin buffer full, dropping events" in output, output
        assert '"dropped":40' in output and '"unsent":10' in output, output


def test_plugin_defaults_and_environment_override():
    # No arguments (as HM starts it): 127.0.0.1:25594, unless MGW_HM_PLUGIN_SERVER says otherwise.
    port = free_port()
    with Plugin(None, ["--flush-timeout", "200ms"],
                env={"MGW_HM_PLUGIN_SERVER": f"127.0.0.1:{port}"}) as plugin:
        plugin.send([alert_line(1)])
        assert plugin.close() == 1
        assert f'"port":{port}' in plugin.output(), plugin.output()
    help_text = subprocess.run([GATEWAY, "hm-plugin", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "127.0.0.1:25594" in help_text.stdout
    bad = subprocess.run([GATEWAY, "hm-plugin", "--server", "nonsense"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "invalid server address" in bad.stderr


def test_server_sent_events_and_keepalive():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa, "  stream_keepalive: 200ms\n") as gateway, \
            Plugin(ports.ingest) as plugin:
        sse = EventStream(ports.http, "sse", sse=True)
        ndjson = EventStream(ports.http, "nd")
        assert sse.response.getheader("Content-Type").startswith("text/event-stream")
        wait_for_clients(ports, 2)
        wait_until(lambda: sse.comments >= 3 and ndjson.comments >= 2,
                   what="keepalives on idle streams")
        plugin.send([alert_line(7)])
        wait_until(lambda: len(sse.received()) == 1 and len(ndjson.received()) == 1,
                   what="the event on both streams")
        assert event_id(sse.received()[0]) == "alert-7"
        assert plugin.close() == 0
        # Drain: streams end by themselves (ingest stopped, queues flushed), no cut-off needed.
        started = time.monotonic()
        gateway.signal(signal.SIGTERM)
        assert sse.closed.wait(5) and ndjson.closed.wait(5)
        assert gateway.wait(10) == 0
        assert time.monotonic() - started < 5
        sse.close()
        ndjson.close()


def test_heartbeat_gauges_and_alert_counts():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa, "  heartbeat_staleness: 1s\n") as gateway, \
            Plugin(ports.ingest) as plugin:
        plugin.send([heartbeat_line(1, instance="a"), heartbeat_line(2, instance="b", cpu="3.5"),
                     heartbeat_line(3, instance="a", cpu="9.75"),
                     alert_line(1, severity=2, category="vm_health"),
                     alert_line(2, severity=2, category="vm_health"), alert_line(3)])
        wait_until(lambda: "bosh_alerts_total" in bosh_metrics(ports)[2].decode(), what="gauges")
        status, headers, body = bosh_metrics(ports)
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = body.decode()
        assert metric_value(text, "system_cpu_user", {"id": "a"}) == 9.75
        assert metric_value(text, "system_cpu_user", {"id": "b"}) == 3.5
        labels = {"deployment": "cf", "job": "router", "index": "3", "id": "a"}
        for name in ("system_mem_percent", "system_disk_persistent_percent", "system_load_1m",
                     "system_healthy", "system_cpu_sys", "system_swap_kb"):
            assert metric_value(text, name, labels) is not None, name
        assert metric_value(text, "bosh_alerts_total",
                            {"deployment": "cf", "severity": "2", "category": "vm_health"}) == 2
        assert metric_value(text, "bosh_alerts_total",
                            {"severity": "4", "category": ""}) == 1
        promtool = subprocess.run(["promtool", "check", "metrics"], input=body,
                                  capture_output=True)
        assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
        check = subprocess.run([GATEWAY, "check", "--format", "prometheus"], input=body,
                               capture_output=True)
        assert check.returncode == 0, check.stderr
        # Instances that stop heartbeating disappear.
        wait_until(lambda: "system_cpu_user" not in bosh_metrics(ports)[2].decode(), timeout=5,
                   what="stale instances to disappear")
        assert plugin.close() == 0


def test_idle_subscription_expires_so_a_late_reconnect_gets_no_stale_events():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa, "  subscription_idle_expiry: 3s\n") as gateway, \
            Plugin(ports.ingest) as plugin:
        for subscription in ("late", "prompt"):
            first = EventStream(ports.http, subscription)
            wait_for_clients(ports, 1)
            first.close()
            wait_for_clients(ports, 0)
        plugin.send([alert_line(1)])  # queued for both, nobody connected
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_events_total",
                                        {"kind": "alert"}) == 1, what="the alert ingested")
        prompt = EventStream(ports.http, "prompt")  # within the expiry: gets what was queued
        wait_until(lambda: len(prompt.received()) == 1, what="the queued event")
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_subscriptions") == 1,
                   timeout=10, what="the idle subscription to expire")
        assert "bosh subscription expired" in gateway.output()
        assert metric_value(own_metrics(ports), "mgw_bosh_subscription_sent_total",
                            {"subscription_id": "late"}) == 0
        late = EventStream(ports.http, "late")
        wait_for_clients(ports, 2)
        plugin.send([alert_line(2)])
        wait_until(lambda: len(late.received()) == 1 and len(prompt.received()) == 2,
                   what="the new event on both")
        assert event_id(late.received()[0]) == "alert-2"  # alert-1 was not replayed
        assert plugin.close() == 0
        prompt.close()
        late.close()


def test_subscription_id_is_required():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa) as gateway:
        status, _, body = http_get(f"http://127.0.0.1:{ports.http}/v1/bosh/events",
                                   {"Authorization": "bearer good"})
        assert status == 400 and b"subscription_id" in body


# Issue 10 item 9: 64 idle connections locked the real plugin out, and every refused
# connection logged a warning.
def test_idle_ingest_connections_time_out_so_the_plugin_gets_in():
    ports = Ports()
    extra = "  ingest_max_connections: 4\n  ingest_idle_timeout: 1s\n"
    with FakeUaa() as uaa, start(ports, uaa, extra) as gateway:
        squatters = [socket.create_connection(("127.0.0.1", ports.ingest)) for _ in range(4)]
        squatters[0].sendall(b'{"kind":"alert"')  # a partial line keeps no slot either
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_connections") == 4,
                   what="the squatters connected")
        for _ in range(30):  # refused at once while the slots are taken
            with socket.create_connection(("127.0.0.1", ports.ingest)) as refused:
                refused.settimeout(10)
                try:
                    assert refused.recv(1) == b""
                except ConnectionResetError:
                    pass
        squatters[0].sendall(b',"id":1')
        with Plugin(ports.ingest) as plugin:
            plugin.send([heartbeat_line(1)])
            wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_events_total",
                                            {"kind": "heartbeat"}) == 1, timeout=20,
                       what="the plugin's event past the idle squatters")
            assert plugin.close() == 0, plugin.output()
        text = own_metrics(ports)
        assert metric_value(text, "mgw_bosh_ingest_connections_closed_total",
                            {"reason": "idle"}) >= 4
        assert metric_value(text, "mgw_bosh_ingest_connections_closed_total",
                            {"reason": "refused"}) >= 30
        refusal_lines = [line for line in gateway.output().splitlines()
                         if "bosh ingest connection refused" in line]
        assert 1 <= len(refusal_lines) <= 3, refusal_lines
        assert '"occurrences":' in refusal_lines[0]
        for squatter in squatters:
            squatter.close()


def test_quiet_plugin_reconnects_only_when_it_has_lines_after_an_idle_close():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa, "  ingest_idle_timeout: 1s\n") as gateway, \
            Plugin(ports.ingest) as plugin:
        plugin.send([alert_line(1)])

        def closed_idle():
            return metric_value(own_metrics(ports), "mgw_bosh_ingest_connections_closed_total",
                                {"reason": "idle"})
        wait_until(lambda: closed_idle() == 1, what="the idle close")
        time.sleep(2.5)  # more idle periods: nothing to send, so no new connection to close
        assert closed_idle() == 1
        plugin.send([alert_line(2)])
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_events_total",
                                        {"kind": "alert"}) == 2, what="the second alert")
        assert plugin.close() == 0, plugin.output()
        output = plugin.output()
        assert output.count("hm-plugin connected") == 2, output
        assert "the gateway closed an idle connection" in output, output


# Issue 10 item 14: ":25595" bound every interface for an unauthenticated port, silently.
def test_ingest_on_a_routable_address_is_refused_unless_allowed():
    ports = Ports()
    with FakeUaa() as uaa:
        for listen in (f":{ports.ingest}", f"0.0.0.0:{ports.ingest}"):
            config = config_for(ports, uaa).replace(f"127.0.0.1:{ports.ingest}", listen)
            gateway = Gateway(config)
            try:
                assert gateway.wait(20) == 1
                output = gateway.output()
                assert "bosh.ingest_listen" in output and "bosh.ingest_allow_remote" in output, \
                    output
            finally:
                gateway.stop()
        config = (config_for(ports, uaa).replace(f"127.0.0.1:{ports.ingest}",
                                                 f"0.0.0.0:{ports.ingest}")
                  + "  ingest_allow_remote: true\n")
        with Gateway(config) as gateway, Plugin(ports.ingest) as plugin:
            gateway.wait_ready(ports.http)
            gateway.wait_ready(ports.ingest)
            plugin.send([alert_line(1)])
            assert plugin.close() == 0, plugin.output()


# Issue 10 item 6: a subscription was bounded in events only (1,024 x 1 MiB lines).
def test_subscription_queue_is_bounded_in_bytes_and_leased():
    ports = Ports()
    extra = "  queue_size: 100000\n  queue_bytes: 64KiB\n  max_line_bytes: 16KiB\n"
    with FakeUaa() as uaa, start(ports, uaa, extra) as gateway, Plugin(ports.ingest) as plugin:
        first = EventStream(ports.http, "audit")
        wait_for_clients(ports, 1)
        first.close()
        wait_for_clients(ports, 0)  # "audit" now queues for its next client
        lines = [heartbeat_line(n) for n in range(100)]
        plugin.send(lines)
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_events_total",
                                        {"kind": "heartbeat"}) == 100, what="all ingested")
        fit = 65536 // (len(lines[0]) + 0)
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_subscription_dropped_total",
                                        {"subscription_id": "audit", "reason": "queue_full"})
                   == 100 - fit, what="the drops beyond 64 KiB")
        text = own_metrics(ports)
        queued = metric_value(text, "mgw_bosh_subscription_queued_bytes")
        assert 65536 - len(lines[0]) < queued <= 65536, queued
        assert metric_value(text, "mgw_memory_leased_bytes", {"use": "bosh_queues"}) >= queued
        again = EventStream(ports.http, "audit")
        wait_until(lambda: len(again.received()) == fit, what="the queued events")
        assert [event_id(line) for line in again.received()] == [f"hb-{n}" for n in range(fit)]
        assert plugin.close() == 0
        again.close()


# Issue 11 item 6: the HM job's run.sh starts the plugin with the original plugin's flags.
def test_plugin_accepts_the_original_plugin_flags():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa) as gateway:
        spellings = (["--server-port", str(ports.ingest)], [f"--server-port={ports.ingest}"],
                     [f"-server-port={ports.ingest}"], ["-server-port", str(ports.ingest)],
                     ["--addr", f"127.0.0.1:{ports.ingest}"], [f"-addr=127.0.0.1:{ports.ingest}"])
        for n, args in enumerate(spellings):
            with Plugin(None, args) as plugin:
                plugin.send([alert_line(n)])
                assert plugin.close() == 0, (args, plugin.output())
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_ingest_events_total",
                                        {"kind": "alert"}) == len(spellings),
                   what="one alert per spelling")
    help_text = subprocess.run([GATEWAY, "hm-plugin", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0
    assert "--server-port PORT" in help_text.stdout and "--addr HOST:PORT" in help_text.stdout
    for bad in (["--server-port=0"], ["--server-port", "http"], ["--server-port=70000"]):
        result = subprocess.run([GATEWAY, "hm-plugin"] + bad, capture_output=True, text=True)
        assert result.returncode == 2 and "invalid --server-port" in result.stderr, bad


# Own metrics' labels come from a fixed set: an id a client chose counts under "other".
def test_client_chosen_subscription_ids_are_not_label_values():
    ports = Ports()
    with FakeUaa() as uaa, start(ports, uaa) as gateway, Plugin(ports.ingest) as plugin:
        chosen = EventStream(ports.http, "client-chosen-7f3a")
        wait_for_clients(ports, 1)
        plugin.send([alert_line(1)])
        wait_until(lambda: len(chosen.received()) == 1, what="the event")
        wait_until(lambda: metric_value(own_metrics(ports), "mgw_bosh_subscription_sent_total",
                                        {"subscription_id": "other"}) == 1,
                   what="the event counted under other")
        assert "client-chosen-7f3a" not in own_metrics(ports)
        assert plugin.close() == 0
        chosen.close()


if __name__ == "__main__":
    run_tests([
        test_shared_subscription_splits_and_other_subscription_gets_all,
        test_slow_client_drops_alone_and_drops_show_in_metrics,
        test_bad_lines_are_counted_and_skipped,
        test_gateway_restart_loses_nothing_the_plugin_buffers,
        test_plugin_buffer_is_bounded_and_gives_up_after_the_flush_timeout,
        test_plugin_defaults_and_environment_override,
        test_server_sent_events_and_keepalive,
        test_heartbeat_gauges_and_alert_counts,
        test_idle_subscription_expires_so_a_late_reconnect_gets_no_stale_events,
        test_subscription_id_is_required,
        test_idle_ingest_connections_time_out_so_the_plugin_gets_in,
        test_quiet_plugin_reconnects_only_when_it_has_lines_after_an_idle_close,
        test_ingest_on_a_routable_address_is_refused_unless_allowed,
        test_subscription_queue_is_bounded_in_bytes_and_leased,
        test_plugin_accepts_the_original_plugin_flags,
        test_client_chosen_subscription_ids_are_not_label_values,
    ])
