"""The RSocket proxy against the real client (issue 11, "Also"): Micrometer's own
prometheus-rsocket-client 1.5.3 from Maven Central, unchanged, in a small Java app
(test/integration/micrometer_client, built into the build tree by the micrometer_rsocket_peer
target) with a counter, a timer, a distribution summary and a gauge.

Covered: one registry over TCP and over WebSocket, pulled on /metrics/connected with the client's
own values (the `_max` gauges of timers and summaries included) and valid under
`promtool check metrics`; pushAndCloseBlockingly() (after N seconds, as the app's shutdown hook
does) served exactly once after the close.

Written and waiting for gateway features that are not merged yet (reported as SKIP with the
feature, never run half): several registries concatenated as the client's README shows (lenient
reading of repeated families), and the identity proof that lets a client join its app's answer
(the access key in the SETUP data over TCP, in the WebSocket upgrade's Authorization header)."""

import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import basic_auth, broker_request, run_tests, wait_until  # noqa: E402
from rsocket_peers import ProxyGateway  # noqa: E402

BUILD_DIR = os.environ.get("MGW_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "build"))
PEER_JAR = os.path.join(BUILD_DIR, "micrometer_peer", "micrometer-rsocket-peer.jar")
# A JVM starting on a loaded machine takes seconds; Reactor Netty's connect and the first key a
# few more.
KEY_TIMEOUT = 90.0


class MicrometerPeer:
    """One Java process running prometheus-rsocket-client; `wait_event` returns its JSON events."""

    def __init__(self, transport, port, name, registries=1, access_key=None, push_after=None):
        command = ["java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", PEER_JAR,
                   "--transport", transport, "--port", str(port), "--name", name,
                   "--registries", str(registries)]
        if access_key is not None:
            command += ["--access-key", access_key]
        if push_after is not None:
            command += ["--push-after", str(push_after)]
        self.name = name
        self.events = []
        self.changed = threading.Condition()
        self.stderr = open(os.devnull, "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self.changed:
                self.events.append(event["event"])
                self.changed.notify_all()

    def wait_event(self, name, timeout=KEY_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.changed:
            while name not in self.events:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None and name not in self.events:
                    raise AssertionError(f"peer {self.name}: no '{name}' within {timeout}s "
                                         f"(events {self.events}, exit {self.process.poll()})")
                self.changed.wait(min(remaining, 0.5))

    def command(self, line):
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()

    def stop(self):
        if self.process.poll() is None:
            try:
                self.command("close")
                self.process.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Proxy(ProxyGateway):
    def __init__(self, extra=""):
        super().__init__(extra, log_level="debug")

    def peer(self, transport, name, **options):
        return MicrometerPeer(transport, self.port(transport), name, **options)

    def text(self, path, headers=None):
        status, body = self.get(path, headers)
        assert status == 200, (path, status, body)
        return body


def samples(body):
    """{series: value} of an exposition, values as floats."""
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def check_with_promtool(body):
    promtool = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                              capture_output=True)
    # Exit 3 means lint findings only (Micrometer's `_max` gauges have no HELP text); anything
    # else is a format error.
    assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
    assert b"error" not in promtool.stderr.lower(), promtool.stderr


def expect_one_registry(values, app, registry="top"):
    tags = f'app="{app}",registry="{registry}"'
    assert values[f"demo_requests_total{{{tags}}}"] == 3, values
    assert values[f'http_server_requests_seconds_count{{{tags},uri="/hello"}}'] == 2, values
    assert values[f'http_server_requests_seconds_sum{{{tags},uri="/hello"}}'] == 1.0, values
    assert values[f'http_server_requests_seconds_max{{{tags},uri="/hello"}}'] == 0.75, values
    assert values[f"demo_payload_bytes_count{{{tags}}}"] == 2, values
    assert values[f"demo_payload_bytes_sum{{{tags}}}"] == 400, values
    assert values[f"demo_payload_bytes_max{{{tags}}}"] == 300, values
    assert values[f"demo_queue_size{{{tags}}}"] == 7, values


def test_one_registry_over_tcp_and_websocket():
    with Proxy() as proxy, proxy.peer("tcp", "micrometer-tcp") as tcp, \
            proxy.peer("websocket", "micrometer-ws") as ws:
        tcp.wait_event("key")
        ws.wait_event("key")
        body = proxy.text("/metrics/connected")
        values = samples(body)
        expect_one_registry(values, "micrometer-tcp")
        expect_one_registry(values, "micrometer-ws")
        assert len(re.findall(r"^# TYPE http_server_requests_seconds_max gauge$", body,
                              re.M)) == 1, body
        check_with_promtool(body)
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="success"') == 2
        assert proxy.metric("mgw_rsocket_parse_errors_total") == 0
        assert proxy.metric("mgw_rsocket_connections_accepted_total", "websocket") == 1
        # The client answers every pull, as often as it is asked.
        body = proxy.text("/metrics/connected", {"Accept": "application/openmetrics-text"})
        assert body.endswith("# EOF\n"), body[-200:]
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="success"') == 4


def test_push_and_close_is_served_once_after_the_close():
    with Proxy() as proxy, proxy.peer("tcp", "micrometer-dying", push_after=1) as dying, \
            proxy.peer("websocket", "micrometer-alive") as alive:
        alive.wait_event("key")
        dying.wait_event("pushed")  # pushAndCloseBlockingly() got the proxy's acknowledgement
        dying.wait_event("closed")
        assert dying.process.wait(30) == 0
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 1, timeout=30,
                   what="the pushing client's connection closed")
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="held"') == 1
        first = proxy.text("/metrics/connected")
        check_with_promtool(first)
        values = samples(first)
        expect_one_registry(values, "micrometer-dying")
        expect_one_registry(values, "micrometer-alive")
        second = samples(proxy.text("/metrics/connected"))
        assert not any('app="micrometer-dying"' in series for series in second), second
        expect_one_registry(second, "micrometer-alive")
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="served"') == 1


def test_several_registries_concatenated_as_the_readme_shows():
    with Proxy() as proxy, proxy.peer("tcp", "multi-tcp", registries=3) as tcp, \
            proxy.peer("websocket", "multi-ws", registries=2) as ws:
        tcp.wait_event("key")
        ws.wait_event("key")
        body = proxy.text("/metrics/connected")
        values = samples(body)
        for registry in ("top", "comp1", "comp2"):
            expect_one_registry(values, "multi-tcp", registry)
        for registry in ("top", "comp1"):
            expect_one_registry(values, "multi-ws", registry)
        # Repeated blocks of a family are joined into one.
        assert len(re.findall(r"^# TYPE demo_requests_total counter$", body, re.M)) == 1, body
        check_with_promtool(body)
        assert proxy.metric("mgw_rsocket_parse_errors_total") == 0


# The identity proof: a key the broker issued for the app's binding.
FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
PLAN = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
APP = "3c9d2e1f-4a5b-4c6d-8e7f-90a1b2c3d4e5"
BROKER_AUTH = basic_auth("cc", "broker-secret")


def broker_key(proxy):
    """Provisions a Metrics Forwarder instance, binds APP to it, returns the binding's key."""
    def osb(method, path, body):
        return broker_request(proxy.http_port, method, path, body, BROKER_AUTH)

    context = {"platform": "cloudfoundry", "organization_guid": "org-guid",
               "space_guid": "space-guid"}
    status, _ = osb("PUT", "/service_instances/fwd-1",
                    {"service_id": FORWARDER, "plan_id": PLAN, "organization_guid": "org-guid",
                     "space_guid": "space-guid", "context": context})
    assert status == 201, status
    status, answer = osb("PUT", "/service_instances/fwd-1/service_bindings/b-1",
                         {"service_id": FORWARDER, "plan_id": PLAN,
                          "bind_resource": {"app_guid": APP}, "context": context})
    assert status == 201, answer
    return answer["credentials"]["access_key"]


def test_identity_proof_joins_the_apps_answer():
    broker = f"""broker:
  enabled: true
  username: cc
  password: broker-secret
  metrics_forwarder:
    plans:
      - {{ name: small, id: {PLAN}, requests_per_minute: 60, metrics_per_minute: 600 }}
"""
    with Proxy(broker) as proxy:
        key = broker_key(proxy)
        with proxy.peer("tcp", "proven-tcp", access_key=key) as tcp, \
                proxy.peer("websocket", "proven-ws", access_key=key) as ws, \
                proxy.peer("tcp", "wrong-key", access_key="not-a-key") as wrong, \
                proxy.peer("websocket", "no-proof") as unproven:
            for peer in (tcp, ws, wrong, unproven):
                peer.wait_event("key")
            everyone = proxy.text("/metrics/connected")
            for name in ("proven-tcp", "proven-ws", "wrong-key", "no-proof"):
                assert f'app="{name}"' in everyone, everyone
            app = proxy.text(f"/v1/apps/{APP}/metrics")
            assert 'app="proven-tcp"' in app and 'app="proven-ws"' in app, app
            assert 'app="wrong-key"' not in app and 'app="no-proof"' not in app, app
            check_with_promtool(app)


if __name__ == "__main__":
    if not os.path.isfile(PEER_JAR):
        print(f"FAIL: {PEER_JAR} missing: build the micrometer_rsocket_peer target "
              "(scripts/bootstrap installs Maven and a JDK)")
        sys.exit(1)
    tests = [
        test_one_registry_over_tcp_and_websocket,
        test_push_and_close_is_served_once_after_the_close,
        test_several_registries_concatenated_as_the_readme_shows,
        test_identity_proof_joins_the_apps_answer,
    ]
    run_tests(tests)
