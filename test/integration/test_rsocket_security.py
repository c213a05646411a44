"""The RSocket listeners under hostile or careless clients (issue "Hardening", items 2, 5, 6, 7
and 13; issue "Drop-in replacement", item 8): who may join an app's answer (a key the service
broker issued, in the SETUP payload or the WebSocket upgrade's Authorization header, or the
operator's opt-in), unknown clients kept off every app's path, duplicate series across clients,
label values of the proxy's own metrics from a fixed set, byte budgets and read deadlines on both
transports, and the `_max` series of the original's timer and summary.

Peers: rsocket-js 0.0.27 clients (TCP and WebSocket) answering like prometheus-rsocket-client,
raw TCP and raw WebSocket clients for the frames no library would send, and the gateway's own
service broker issuing the keys over OSB."""

import base64
import threading
import json
import os
import re
import select
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import broker_request, run_tests, wait_until  # noqa: E402
from rsocket_peers import (NodeClient, ProxyGateway, RawClient, RawWebSocket,  # noqa: E402
                           error_frame, error_reply, frame_header, node_modules_ready,
                           setup_frame)

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
PLAN = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
BROKER_AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
BROKER_SECTION = f"""broker:
  enabled: true
  username: cc
  password: broker-secret
  metrics_forwarder:
    plans:
      - {{ name: small, id: {PLAN} }}"""
APP = "2f1e0d9c-8b7a-4654-a321-0fedcba98765"
OTHER_APP = "6f0bc0ae-6f6c-4d4c-9b2a-0f5b0c6c1a11"
CONNECTION_ERROR = 0x101


class Proxy(ProxyGateway):
    """A gateway with both RSocket listeners and the service broker (which issues the keys)."""

    def __init__(self, rsocket="", extra=""):
        super().__init__(extra, rsocket=rsocket, sections=BROKER_SECTION)
        self.instance_created = False

    def osb(self, method, path, body=None):
        return broker_request(self.http_port, method, path, body, BROKER_AUTH)

    def bind(self, app, binding_id):
        """A metrics-forwarder binding for `app`; returns its access key."""
        if not self.instance_created:
            status, _ = self.osb("PUT", "/service_instances/fwd-1", {
                "service_id": FORWARDER, "plan_id": PLAN, "organization_guid": "org-guid",
                "space_guid": "space-guid"})
            assert status == 201, status
            self.instance_created = True
        status, answer = self.osb(
            "PUT", f"/service_instances/fwd-1/service_bindings/{binding_id}",
            {"service_id": FORWARDER, "plan_id": PLAN, "bind_resource": {"app_guid": app},
             "context": {"platform": "cloudfoundry", "organization_guid": "org-guid",
                         "organization_name": "demo-org", "space_guid": "space-guid",
                         "space_name": "demo-space"}})
        assert status == 201, status
        return answer["credentials"]["access_key"]

    def unbind(self, binding_id):
        status, _ = self.osb("DELETE", f"/service_instances/fwd-1/service_bindings/{binding_id}"
                             f"?service_id={FORWARDER}&plan_id={PLAN}")
        assert status == 200, status

    def connected(self, headers=None):
        status, body = self.get("/metrics/connected", headers)
        assert status == 200, (status, body)
        return body

    def app_answer(self, app=APP):
        return self.get(f"/v1/apps/{app}/metrics")

    def client(self, transport="tcp", **options):
        return NodeClient(transport=transport, port=self.port(transport), **options)

    def ready(self, count):
        wait_until(lambda: self.metric("prometheus_proxy_scrape_active_connections",
                                       path="/metrics/proxy") == count,
                   timeout=20, what=f"{count} ready clients")


def exposition(name, value, labels=""):
    return f"# TYPE {name} gauge\n{name}{{{labels}}} {value}\n"


def series_lines(body, name):
    return [line for line in body.splitlines() if line.startswith(name + "{")
            or line.startswith(name + " ")]


# Item 2: joining an app's answer is earned, not declared.

def test_declared_app_identity_is_not_trusted_by_default():
    labelled = exposition("labelled_up", 1, f'app_id="{APP}"')
    with Proxy() as proxy, proxy.client(name="by-setup", setupData=APP) as by_setup, \
            proxy.client("websocket", name="by-labels", text=labelled) as by_labels, \
            proxy.client(name="by-json", setupData=json.dumps({"app_id": APP})) as by_json:
        for client in (by_setup, by_labels, by_json):
            client.wait_event("key")
        proxy.ready(3)
        status, body = proxy.app_answer()
        # Nothing is known of the app: no instance, no push, no client joined it.
        assert status == 404, (status, body)
        body = proxy.connected()
        assert 'client="by-setup"' in body and "labelled_up" in body, body
        assert proxy.metric("mgw_rsocket_identity_total", 'result="anonymous"') == 3


def test_access_key_in_setup_joins_the_app_with_cf_labels():
    own = exposition("orders_total", 7, f'app_id="forged",organization_name="forged",shard="a"')
    with Proxy() as proxy:
        key = proxy.bind(APP, "b-1")
        other_key = proxy.bind(OTHER_APP, "b-2")
        with proxy.client(name="data", text=own,
                          setupData=json.dumps({"access_key": key})) as by_data, \
                proxy.client(name="meta", setupMetadata=json.dumps(
                    {"access_key": key, "app_id": APP})) as by_metadata, \
                proxy.client(name="wrong-app", setupData=json.dumps(
                    {"access_key": other_key, "app_id": APP})) as wrong_app, \
                proxy.client(name="bad-key",
                             setupData=json.dumps({"access_key": "not-a-key"})) as bad_key:
            for client in (by_data, by_metadata, wrong_app, bad_key):
                client.wait_event("key")
            proxy.ready(4)
            status, body = proxy.app_answer()
            assert status == 200, (status, body)
            lines = series_lines(body, "orders_total")
            assert len(lines) == 1, body
            # The CF labels are the gateway's; the client's colliding ones are kept renamed.
            for label in (f'app_id="{APP}"', 'organization_name="demo-org"',
                          'space_name="demo-space"', 'exported_app_id="forged"',
                          'exported_organization_name="forged"', 'shard="a"',
                          'source="rsocket"'):
                assert label in lines[0], (label, lines[0])
            assert 'client="meta"' in body, body
            for absent in ('client="wrong-app"', 'client="bad-key"'):
                assert absent not in body, body
            status, body = proxy.app_answer(OTHER_APP)
            assert 'client="wrong-app"' not in body, body
            # Refused proofs still get served where everyone is: /metrics/connected.
            body = proxy.connected()
            assert 'client="wrong-app"' in body and 'client="bad-key"' in body, body
            assert proxy.metric("mgw_rsocket_identity_total", 'result="key"') == 2
            assert proxy.metric("mgw_rsocket_identity_total", 'result="wrong_app"') == 1
            assert proxy.metric("mgw_rsocket_identity_total", 'result="unknown_key"') == 1
            assert "rsocket client identity refused" in proxy.gateway.output()

            # Unbinding revokes the join for the next app request.
            proxy.unbind("b-1")
            status, body = proxy.app_answer()
            assert "orders_total" not in body and 'client="meta"' not in body, (status, body)
            assert proxy.metric("mgw_rsocket_identity_total", 'result="revoked"') == 2
            assert "orders_total" in proxy.connected()


def test_websocket_authorization_header_joins_the_app():
    with Proxy() as proxy:
        key = proxy.bind(APP, "b-ws")
        with proxy.client("websocket", name="bearer",
                          headers={"Authorization": "Bearer " + key}) as bearer, \
                proxy.client("websocket", name="raw", headers={"Authorization": key}) as raw, \
                proxy.client("websocket", name="forged",
                             headers={"Authorization": "Bearer nope"}) as forged:
            for client in (bearer, raw, forged):
                client.wait_event("key")
            proxy.ready(3)
            status, body = proxy.app_answer()
            assert status == 200, (status, body)
            assert 'client="bearer"' in body and 'client="raw"' in body, body
            assert 'client="forged"' not in body, body
            assert proxy.metric("mgw_rsocket_identity_total", 'result="key"') == 2
            assert proxy.metric("mgw_rsocket_identity_total", 'result="unknown_key"') == 1


def test_trusting_declared_identity_is_an_explicit_opt_in():
    labelled = exposition("labelled_up", 1, f'app_id="{APP}"')
    with Proxy("  trust_declared_app_identity: true") as proxy, \
            proxy.client(name="by-setup", setupData=APP) as by_setup, \
            proxy.client("websocket", name="by-labels", text=labelled) as by_labels:
        for client in (by_setup, by_labels):
            client.wait_event("key")
        proxy.ready(2)

        def joined():
            status, body = proxy.app_answer()
            return status == 200 and "labelled_up" in body and 'client="by-setup"' in body
        # The labelled client is learnt by a pull off the app's path, right after its key.
        wait_until(joined, timeout=20, what="both declared clients in the app's answer")
        _, body = proxy.app_answer()
        assert f'app_id="{APP}"' in series_lines(body, "labelled_up")[0], body
        # One declared by its SETUP, one by its labels.
        assert proxy.metric("mgw_rsocket_identity_total", 'result="declared"') == 2


# Item 7: unknown clients are never on an app's path.

def test_a_silent_unknown_client_does_not_delay_app_requests():
    for trust in ("false", "true"):
        with Proxy(f"  trust_declared_app_identity: {trust}") as proxy:
            key = proxy.bind(APP, "b-fast")
            with proxy.client(name="joined", setupData=json.dumps({"access_key": key})) as joined, \
                    RawClient(proxy.tcp_port) as silent:
                joined.wait_event("key")
                silent.send_frame(setup_frame())
                silent.read_until(0x05)  # takes its key, then never answers a pull
                proxy.ready(2)
                for _ in range(3):
                    started = time.monotonic()
                    status, body = proxy.app_answer()
                    elapsed = time.monotonic() - started
                    assert status == 200 and 'client="joined"' in body, (status, body)
                    # scrape.timeout is 10 s: waiting for the silent client would show.
                    assert elapsed < 4.0, (trust, elapsed)


# Item 13: two clients exposing the same series.

def test_two_clients_with_the_same_series():
    with Proxy() as proxy:
        key = proxy.bind(APP, "b-dup")
        proof = json.dumps({"access_key": key})
        with proxy.client(name="first", setupData=proof,
                          text=exposition("shared_gauge", 1, 'area="heap"')) as first:
            first.wait_event("key")
            proxy.ready(1)
            with proxy.client("websocket", name="second", setupData=proof,
                              text=exposition("shared_gauge", 2, 'area="heap"')) as second:
                second.wait_event("key")
                proxy.ready(2)
                # /metrics/connected: the series once, from the client connected longest.
                for _ in range(2):
                    lines = series_lines(proxy.connected(), "shared_gauge")
                    assert lines == ['shared_gauge{area="heap"} 1'], lines
                assert proxy.metric("mgw_rsocket_duplicate_series_total") == 2
                # The app's answer: one series per client, told apart by instance_id.
                status, body = proxy.app_answer()
                lines = series_lines(body, "shared_gauge")
                assert len(lines) == 2, body
                ids = {re.search(r'instance_id="([^"]+)"', line).group(1) for line in lines}
                assert len(ids) == 2, lines


# Item 5 (RSocket part): label values of own metrics come from a fixed set.

def test_client_error_codes_do_not_become_label_values():
    with Proxy() as proxy, RawClient(proxy.tcp_port) as raw:
        raw.send_frame(setup_frame())
        raw.read_until(0x05)
        proxy.ready(1)
        for i in range(30):
            # The pull and its answer: an ERROR with a code never seen before.
            answered = threading.Thread(target=lambda: proxy.connected())
            answered.start()
            request = raw.read_until(0x04)
            raw.send_frame(error_reply(request[0], 0x300 + i, b"code %d" % i))
            answered.join()
        text = proxy.get("/metrics/proxy")[1]
        exceptions = set(re.findall(r'exception="([^"]*)"', text))
        assert len(exceptions) <= 2, exceptions
        own = proxy.get("/metrics")[1]
        rsocket_series = [line for line in own.splitlines()
                          if line.startswith(("mgw_rsocket", "mgw_memory"))]
        assert not any("0x3" in line or "code " in line for line in rsocket_series), rsocket_series
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="error"') == 30


# Item 5/6 (RSocket part): bytes, not counts, and deadlines the gateway chooses.

def test_a_frame_must_complete_within_the_frame_timeout_on_both_transports():
    config = "  frame_timeout: 1s\n  setup_timeout: 1s"
    with Proxy(config) as proxy, proxy.client(name="bystander") as bystander:
        bystander.wait_event("key")
        # TCP: a 16 MiB frame announced, 64 KiB sent, then nothing (lifetime says one hour).
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame(keepalive_ms=3_600_000, lifetime_ms=3_600_000))
            raw.read_until(0x05)
            raw.send((16_000_000).to_bytes(3, "big") + frame_header(1, 0x05) + b"x" * 65536)
            started = time.monotonic()
            code, message = error_frame(raw.read_until(0x0B))
            assert (code, message) == (CONNECTION_ERROR, "frame incomplete after 1000 ms")
            assert raw.closed_by_peer()
            assert time.monotonic() - started < 5
        # WebSocket: a message whose last fragment never comes.
        with RawWebSocket(proxy.ws_port) as ws:
            assert ws.status == 101
            ws.send_frame(setup_frame(keepalive_ms=3_600_000, lifetime_ms=3_600_000))
            ws.read_until(0x05)
            ws.send_ws_frame(frame_header(1, 0x05) + b"x" * 65536, fin=False)
            started = time.monotonic()
            code, message = error_frame(ws.read_until(0x0B))
            assert (code, message) == (CONNECTION_ERROR, "frame incomplete after 1000 ms")
            assert ws.closed_by_peer()
            assert time.monotonic() - started < 5
        # No SETUP within setup_timeout, on either transport.
        with RawClient(proxy.tcp_port) as raw, RawWebSocket(proxy.ws_port) as ws:
            assert raw.closed_by_peer() and ws.closed_by_peer()
        assert proxy.metric("mgw_rsocket_connection_errors_total", 'reason="frame_timeout"') == 2
        assert proxy.metric("mgw_rsocket_connection_errors_total", 'reason="setup_timeout"') == 2
        assert 'client="bystander"' in proxy.connected()


def test_frames_are_limited_the_same_on_websocket():
    with Proxy("  max_frame_bytes: 1048576") as proxy, RawWebSocket(proxy.ws_port) as ws:
        ws.send_frame(setup_frame())
        ws.read_until(0x05)
        ws.send_frame(frame_header(1, 0x05) + b"x" * (2 << 20))
        code, message = error_frame(ws.read_until(0x0B))
        assert (code, message) == (CONNECTION_ERROR, "frame too large")
        assert ws.closed_by_peer()


def test_partial_frames_lease_from_the_memory_budget():
    with Proxy(extra="limits:\n  memory: 64MiB") as proxy, \
            proxy.client(name="bystander") as bystander:
        bystander.wait_event("key")
        budget = proxy.metric("mgw_memory_budget_bytes")
        assert 1 << 20 <= budget < 64 << 20, budget
        # k partial frames fit with half a frame to spare; one more does not.
        k = max(2, -(-int(budget) // (15 << 20)))
        frame = int(budget / (k + 0.5))
        holders = []
        try:
            for _ in range(k + 1):
                raw = RawClient(proxy.tcp_port)
                holders.append(raw)
                # No keepalive for an hour: the only frame that can come is the refusal.
                raw.send_frame(setup_frame(keepalive_ms=3_600_000, lifetime_ms=3_600_000))
                raw.read_until(0x05)
                try:
                    raw.send(frame.to_bytes(3, "big") + frame_header(1, 0x05)
                             + b"x" * (frame - 7))
                except OSError:
                    pass  # the refused one: the gateway stopped reading it
            wait_until(lambda: proxy.metric("mgw_rsocket_connection_errors_total",
                                            'reason="memory"') == 1,
                       timeout=20, what="one partial frame refused")
            assert proxy.metric("mgw_memory_refusals_total", 'use="rsocket_frames"') >= 1
            assert proxy.metric("mgw_memory_leased_bytes") <= budget
            readable, _, _ = select.select([raw.sock for raw in holders], [], [], 5)
            refused = [raw for raw in holders if raw.sock in readable]
            assert len(refused) == 1, len(refused)
            code, message = error_frame(refused[0].read_until(0x0B))
            assert (code, message) == (CONNECTION_ERROR, "memory budget exhausted")
            # The refused client alone is affected.
            assert 'client="bystander"' in proxy.connected()
            assert proxy.metric("mgw_rsocket_connections") == k + 1
        finally:
            for raw in holders:
                raw.close()
        wait_until(lambda: proxy.metric("mgw_memory_leased_bytes", 'use="rsocket_frames"')
                   < (1 << 20), what="partial frames given back")


def test_a_connection_has_its_own_byte_budget():
    with Proxy("  max_connection_bytes: 1048576\n  max_frame_bytes: 4194304") as proxy, \
            RawClient(proxy.tcp_port) as raw:
        raw.send_frame(setup_frame())
        raw.read_until(0x05)
        raw.send_frame(frame_header(1, 0x05) + b"x" * (2 << 20))
        code, message = error_frame(raw.read_until(0x0B))
        assert (code, message) == (CONNECTION_ERROR, "connection byte budget exhausted")
        assert proxy.metric("mgw_rsocket_connection_errors_total",
                            'reason="connection_bytes"') == 1


def test_held_pushes_are_bounded_in_bytes():
    def blob(name):  # about 38 KB: one fits in 64 KiB, two do not
        return f"# TYPE pushed_blob gauge\n" + "".join(
            f'pushed_blob{{client="{name}",i="{i}",pad="{"p" * 64}"}} {i}\n' for i in range(400))
    with Proxy("  max_held_push_bytes: 65536") as proxy:
        for name in ("one", "two", "three"):
            with proxy.client(name=name, pushText=blob(name)) as client:
                client.wait_event("key")
                client.command("push-close rr 1")
                client.wait_event("pushed")
        wait_until(lambda: proxy.metric("mgw_rsocket_pushes_total", 'outcome="held"') == 3,
                   what="three pushes")
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 0, what="closed")
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="dropped"') == 2
        assert proxy.metric("mgw_memory_leased_bytes", 'use="rsocket_pushes"') > 30000
        body = proxy.connected()
        assert 'client="three"' in body and 'client="one"' not in body, body[:300]
        # The served pushes go back when the answer's handler ends, just after its last chunk
        # reached us.
        wait_until(lambda: proxy.metric("mgw_memory_leased_bytes", 'use="rsocket_pushes"') == 0,
                   timeout=5, what="the served pushes' memory back")


def test_a_merge_past_the_memory_budget_is_a_503_for_that_request():
    # 600,000 series: about 27 MB of text, several times that once parsed; the budget (three
    # quarters of what 128 MiB leaves above the gateway's own size) holds the text, not both.
    with Proxy(extra="limits:\n  memory: 128MiB") as proxy, \
            proxy.client(name="big", series=600_000) as big:
        big.wait_event("key")
        proxy.ready(1)
        # The reply must fit (text and its decryption reserve) for the merge to be what fails:
        # true of a release build, whose own size leaves about 85 MB of the 128 MiB.
        budget = proxy.metric("mgw_memory_budget_bytes")
        assert budget > (70 << 20), f"budget {budget}: the gateway itself is too large here"
        status, body = proxy.get("/metrics/connected", timeout=60)
        assert status == 503, (status, body[:200])
        assert "memory budget exhausted" in body, body[:200]
        assert proxy.metric("mgw_memory_refusals_total", 'use="rsocket_pulls"') >= 1
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="success"') == 1
        # Nothing stays leased, and the gateway serves everything else as before.
        wait_until(lambda: proxy.metric("mgw_memory_leased_bytes", 'use="rsocket_pulls"') == 0,
                   what="the refused merge's bytes given back")
        assert proxy.get("/metrics/proxy")[0] == 200


# Item 7 (beyond the list): the WebSocket listener serves `/` only, as the original.

def test_websocket_listener_serves_the_root_path_only():
    with Proxy() as proxy:
        with RawWebSocket(proxy.ws_port, path="/elsewhere") as ws:
            assert ws.status == 404, ws.status
        with RawWebSocket(proxy.ws_port, path="/") as ws:
            assert ws.status == 101, ws.status
            ws.send_frame(setup_frame())
            assert ws.read_until(0x05) is not None


# Issue 11 item 8: the original's _max series.

def test_max_series_as_micrometer_exposes_them():
    with Proxy() as proxy, proxy.client(name="big", series=50) as big, \
            proxy.client(name="small", series=1) as small:
        big.wait_event("key")
        small.wait_event("key")
        proxy.ready(2)
        proxy.connected()
        text = proxy.get("/metrics/proxy")[1]
        for line in ("# HELP prometheus_proxy_scrape_seconds_max  ",
                     "# TYPE prometheus_proxy_scrape_seconds_max gauge",
                     "# HELP prometheus_proxy_scrape_payload_bytes_max  ",
                     "# TYPE prometheus_proxy_scrape_payload_bytes_max gauge",
                     "# TYPE prometheus_proxy_scrape_seconds summary",
                     "# TYPE prometheus_proxy_scrape_payload_bytes summary"):
            assert line + "\n" in text, (line, text)
        seconds_max = proxy.metric("prometheus_proxy_scrape_seconds_max",
                                   'exception="none",outcome="success"', "/metrics/proxy")
        assert 0 < seconds_max < 10, text
        payload_max = proxy.metric("prometheus_proxy_scrape_payload_bytes_max", "",
                                   "/metrics/proxy")
        payload_sum = proxy.metric("prometheus_proxy_scrape_payload_bytes_sum", "",
                                   "/metrics/proxy")
        # The bigger of the two answers, which is most of their sum.
        assert payload_sum / 2 < payload_max < payload_sum, (payload_max, payload_sum)


if __name__ == "__main__":
    if not node_modules_ready():
        print("FAIL: test/integration/rsocket_client/node_modules missing; run scripts/bootstrap")
        sys.exit(1)
    run_tests([
        test_declared_app_identity_is_not_trusted_by_default,
        test_access_key_in_setup_joins_the_app_with_cf_labels,
        test_websocket_authorization_header_joins_the_app,
        test_trusting_declared_identity_is_an_explicit_opt_in,
        test_a_silent_unknown_client_does_not_delay_app_requests,
        test_two_clients_with_the_same_series,
        test_client_error_codes_do_not_become_label_values,
        test_a_frame_must_complete_within_the_frame_timeout_on_both_transports,
        test_frames_are_limited_the_same_on_websocket,
        test_partial_frames_lease_from_the_memory_budget,
        test_a_connection_has_its_own_byte_budget,
        test_held_pushes_are_bounded_in_bytes,
        test_a_merge_past_the_memory_budget_is_a_503_for_that_request,
        test_websocket_listener_serves_the_root_path_only,
        test_max_series_as_micrometer_exposes_them,
    ])
