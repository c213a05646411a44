"""The prometheus-rsocket-proxy path (issue "Reverse-connected apps") against an independent
implementation: rsocket-js 0.0.27 clients (TCP and WebSocket) that answer like
prometheus-rsocket-client, crypto included (Node's crypto, snappyjs), plus raw-socket clients for
the faults no library would produce.

Covered: key after SETUP (294-byte SPKI DER) and the same key in every pull; /metrics/connected
merges every client into one exposition with one HELP/TYPE per family, in 0.0.4 or OpenMetrics;
MGF1-SHA-256 and plaintext replies; push on close (REQUEST_RESPONSE acked, REQUEST_FNF) served
exactly once, dropped after rsocket.push_ttl; reconnect with a new key; hung, failing, wrong-key,
bad-padding and snappy-bomb clients skipped within the Prometheus timeout and counted; garbage,
truncated and oversized frames answered with ERROR and closed; silence past max lifetime closed;
1,000 connects and disconnects with memory back to baseline; /metrics/proxy's original names;
where the operator trusts declarations, clients named by their SETUP or their labels in their
app's /v1|v2/apps answer (proofs, budgets and deadlines: test_rsocket_security.py)."""

import base64
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import OPENMETRICS, http_get, run_tests, wait_until  # noqa: E402
from rsocket_peers import (NodeClient, ProxyGateway, RawClient, error_frame,  # noqa: E402
                           frame_header, node_modules_ready, prefixed, rss_bytes, setup_frame)

INVALID_SETUP, CONNECTION_ERROR = 0x001, 0x101



class Proxy(ProxyGateway):
    """A gateway with both RSocket listeners on free ports."""

    def __init__(self, extra=""):
        super().__init__(extra, log_level="debug")

    def connected(self, headers=None, timeout=30.0):
        status, response_headers, body = http_get(
            f"http://127.0.0.1:{self.http_port}/metrics/connected", headers, timeout)
        assert status == 200, (status, body)
        return response_headers, body.decode()

    def own_metrics(self, path="/metrics"):
        status, body = self.get(path)
        assert status == 200
        return body

    def client(self, transport="tcp", **options):
        return NodeClient(transport=transport, port=self.port(transport), **options)


def families(body):
    return re.findall(r"^# TYPE (\S+)", body, re.M)


def test_tcp_and_websocket_clients_are_pulled_and_merged():
    with Proxy() as proxy, proxy.client("tcp", name="tcp-app", series=3) as a, \
            proxy.client("websocket", name="ws-app", series=2) as b:
        keys = {}
        for client in (a, b):
            client.wait_event("connected")
            key = client.wait_event("key")
            assert key["bytes"] == 294, key  # SPKI DER of an RSA-2048 key
            keys[client] = key["id"]
        assert keys[a] != keys[b]  # a key pair per connection
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 2, what="two connections")

        headers, body = proxy.connected()
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        for client in (a, b):
            assert client.wait_event("scrape")["id"] == keys[client]  # the key of the FNF
        assert 'demo_series{client="tcp-app",i="2"} 2' in body, body
        assert 'demo_series{client="ws-app",i="1"} 1' in body, body
        assert 'demo_scrapes_total{client="tcp-app"} 1' in body
        # One metadata block per family, unlike the original's concatenation.
        assert families(body) == ["demo_scrapes_total", "demo_series"], body
        assert body.count("# HELP demo_series ") == 1

        headers, body = proxy.connected({"Accept": OPENMETRICS})
        assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
        assert body.endswith("# EOF\n"), body
        assert 'demo_scrapes_total{client="ws-app"} 2' in body
        assert "# TYPE demo_scrapes counter" in body

        proxy_metrics = proxy.own_metrics("/metrics/proxy")
        assert "prometheus_proxy_scrape_active_connections 2" in proxy_metrics
        assert re.search(r'prometheus_proxy_scrape_seconds_count\{exception="none",'
                         r'outcome="success"\} 4', proxy_metrics), proxy_metrics
        assert "prometheus_proxy_scrape_payload_bytes_count 4" in proxy_metrics
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="success"') == 4
        assert proxy.metric("mgw_rsocket_connections_accepted_total", "websocket") == 1


def test_mgf1_sha256_and_plaintext_replies():
    with Proxy() as proxy, proxy.client(name="bc", reply="sha256") as a, \
            proxy.client("websocket", name="plain", reply="plaintext") as b:
        a.wait_event("key")
        b.wait_event("key")
        _, body = proxy.connected()
        assert 'demo_series{client="bc",i="0"} 0' in body, body
        assert 'demo_series{client="plain",i="0"} 0' in body, body


def test_push_on_close_is_served_once():
    with Proxy() as proxy, proxy.client(name="rr-app") as rr, \
            proxy.client("websocket", name="fnf-app") as fnf, proxy.client(name="live") as live:
        for client in (rr, fnf, live):
            client.wait_event("key")
        # pushAndCloseBlockingly: REQUEST_RESPONSE, answered with an empty payload.
        rr.command("push-close rr 11")
        assert rr.wait_event("pushed")["ack_bytes"] == 0
        # pushAndClose: REQUEST_FNF.
        fnf.command("push-close fnf 22")
        fnf.wait_event("pushed")
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 1, what="pushers gone")
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="held"') == 2

        _, body = proxy.connected()
        assert 'demo_dying_push{client="rr-app"} 11' in body, body
        assert 'demo_dying_push{client="fnf-app"} 22' in body, body
        assert 'demo_series{client="live",i="0"} 0' in body
        assert body.count("# TYPE demo_dying_push gauge") == 1
        _, body = proxy.connected()
        assert "demo_dying_push" not in body, body
        assert 'demo_series{client="live",i="0"} 0' in body
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="served"') == 2


def test_push_dropped_after_push_ttl():
    with Proxy("  push_ttl: 1s") as proxy, proxy.client(name="gone") as client:
        client.wait_event("key")
        client.command("push-close rr 5")
        client.wait_event("pushed")
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 0, what="closed")
        time.sleep(1.5)
        _, body = proxy.connected()
        assert "demo_dying_push" not in body, body
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="expired"') == 1


def test_reconnect_gets_a_new_key_and_is_pulled_again():
    with Proxy() as proxy, proxy.client(name="again") as client:
        first = client.wait_event("key")["id"]
        _, body = proxy.connected()
        assert 'demo_scrapes_total{client="again"} 1' in body
        client.command("reconnect")
        second = client.wait_event("key")["id"]
        assert second != first
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 1, what="one connection")
        _, body = proxy.connected()
        assert 'demo_scrapes_total{client="again"} 2' in body, body
        assert client.wait_event("scrape")["id"] == first
        assert client.wait_event("scrape")["id"] == second


def test_failing_clients_are_skipped_within_the_scrape_timeout():
    # The bomb client sends 8 MiB of zeros in a few hundred KiB of Snappy.
    with Proxy("  max_text_bytes: 1048576") as proxy, proxy.client(name="good") as good, \
            proxy.client(name="hung", reply="hang") as hung, \
            proxy.client("websocket", name="err", reply="error") as err, \
            proxy.client(name="wrongkey", reply="wrong-key") as wrong, \
            proxy.client(name="badpad", reply="bad-padding") as badpad, \
            proxy.client(name="bomb", reply="bomb") as bomb:
        for client in (good, hung, err, wrong, badpad, bomb):
            client.wait_event("key")
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 6, what="six clients")
        for _ in range(2):
            started = time.monotonic()
            _, body = proxy.connected({"X-Prometheus-Scrape-Timeout-Seconds": "2"})
            elapsed = time.monotonic() - started
            # The hung client costs its deadline (2 s less the 0.5 s margin), not the request.
            assert 1.0 <= elapsed < 4.0, elapsed
            assert 'demo_series{client="good",i="0"} 0' in body, body
            for name in ("hung", "err", "wrongkey", "badpad", "bomb"):
                assert f'client="{name}"' not in body, body
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="timeout"') == 2
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="error"') == 2
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="decrypt"') == 6
        assert proxy.metric("mgw_rsocket_pulls_total", 'outcome="success"') == 2
        # Every connection stays: an application failure is not a transport failure.
        assert proxy.metric("mgw_rsocket_connections") == 6
        proxy_metrics = proxy.own_metrics("/metrics/proxy")
        assert 'exception="too_large",outcome="error"' in proxy_metrics, proxy_metrics
        assert 'exception="aes_padding",outcome="error"' in proxy_metrics
        assert 'exception="key_unwrap",outcome="error"' in proxy_metrics


def test_raw_protocol_faults_get_error_frames_and_close():
    with Proxy("  max_frame_bytes: 1048576") as proxy, proxy.client(name="bystander") as good:
        good.wait_event("key")
        # Garbage before SETUP.
        with RawClient(proxy.tcp_port) as raw:
            raw.send(prefixed(b"\x13\x37garbage!"))
            code, _ = error_frame(raw.read_frame())
            assert code == INVALID_SETUP
            assert raw.closed_by_peer()
        # A valid frame, but not SETUP, first.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(frame_header(0, 0x03, 0x80) + bytes(8))
            code, message = error_frame(raw.read_frame())
            assert (code, message) == (INVALID_SETUP, "first frame must be SETUP")
        # A SETUP of an unsupported version.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame(major=2))
            code, message = error_frame(raw.read_frame())
            assert (code, message) == (INVALID_SETUP, "Unsupported version: 2.0")
        # A truncated frame: the length covers half a SETUP.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame()[:10])
            code, _ = error_frame(raw.read_frame())
            assert code == INVALID_SETUP
            assert raw.closed_by_peer()
        # Garbage after a valid SETUP: the key comes, then the garbage closes the connection.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame())
            key = raw.read_until(0x05)
            assert key[0] == 2 and len(key[3]) == 294  # REQUEST_FNF on stream 2
            raw.send_frame(frame_header(0, 0x0A, 0x60))  # PAYLOAD on stream 0
            code, _ = error_frame(raw.read_until(0x0B))
            assert code == CONNECTION_ERROR
            assert raw.closed_by_peer()
        # A 16 MB frame (over rsocket.max_frame_bytes here): refused from its length alone.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame())
            raw.read_until(0x05)
            raw.send((16_000_000).to_bytes(3, "big") + frame_header(1, 0x05) + b"x" * 65536)
            code, message = error_frame(raw.read_until(0x0B))
            assert (code, message) == (CONNECTION_ERROR, "frame too large")
            assert raw.closed_by_peer()
        # A truncated frame that never completes: the client is silent past its max lifetime.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame(keepalive_ms=200, lifetime_ms=1000))
            raw.read_until(0x05)
            raw.send(b"\x00\x01\x00\x00\x00")
            started = time.monotonic()
            assert raw.closed_by_peer()
            assert time.monotonic() - started < 5
        # A client that takes the key and never answers a pull.
        with RawClient(proxy.tcp_port) as raw:
            raw.send_frame(setup_frame())
            raw.read_until(0x05)
            _, body = proxy.connected({"X-Prometheus-Scrape-Timeout-Seconds": "1.5"})
            assert 'demo_series{client="bystander",i="0"} 0' in body, body
            request = raw.read_until(0x04)  # the REQUEST_RESPONSE it ignored ...
            cancel = raw.read_until(0x09)   # ... and the CANCEL after the deadline
            assert cancel[0] == request[0]

        errors = proxy.own_metrics()
        for reason in ("no_setup", "setup_version", "invalid_frame", "frame_too_large",
                       "keepalive_timeout"):
            assert f'mgw_rsocket_connection_errors_total{{reason="{reason}"}}' in errors, reason
        _, body = proxy.connected()
        assert 'demo_series{client="bystander",i="0"} 0' in body, body


APP_A = "6f0bc0ae-6f6c-4d4c-9b2a-0f5b0c6c1a11"
APP_B = "0a9d2e55-7a1c-4c6e-b1c8-3e2f4d5a6b7c"


def test_trusted_clients_join_the_app_they_declare():
    # Declarations are believed only with the operator's opt-in; a key the broker issued is
    # the way in otherwise (test_rsocket_security.py).
    labelled = (f'# TYPE labelled_up gauge\nlabelled_up{{app_id="{APP_B}",instance_index="0"}} 1\n')
    with Proxy("  trust_declared_app_identity: true\n"
               "routes_api: { username: operator, password: sd-secret }") as proxy, \
            proxy.client(name="named", setupData=APP_A) as named, \
            proxy.client("websocket", name="labelled", text=labelled) as by_labels, \
            proxy.client(name="nobody") as other:
        for client in (named, by_labels, other):
            client.wait_event("key")
        # Clients whose SETUP names no app are pulled once, off every app's path, to learn it.
        wait_until(lambda: proxy.metric("mgw_rsocket_pulls_total") == 2, what="learning pulls")
        status, _, body = http_get(f"http://127.0.0.1:{proxy.http_port}/v1/apps/{APP_A}/metrics")
        body = body.decode()
        assert status == 200, (status, body)
        # Named by its SETUP: app_id is added, and which client it is.
        assert re.search(r'demo_series\{client="named",i="0",app_id="' + APP_A
                         + r'",instance_id="rsocket-\d+",source="rsocket"\} 0', body), body
        assert "labelled_up" not in body and 'client="nobody"' not in body, body
        status, _, body = http_get(f"http://127.0.0.1:{proxy.http_port}/v2/apps/{APP_B}/metrics")
        body = body.decode()
        assert status == 200, (status, body)
        assert re.search(r'labelled_up\{app_id="' + APP_B + r'",instance_index="0",'
                         r'instance_id="rsocket-\d+",source="rsocket"\} 1', body), body
        assert 'client="named"' not in body and 'client="nobody"' not in body, body
        # An app request pulls its own clients only.
        pulls = proxy.metric("mgw_rsocket_pulls_total")
        status, _, _ = http_get(f"http://127.0.0.1:{proxy.http_port}/v1/apps/{APP_B}/metrics")
        assert status == 200
        assert proxy.metric("mgw_rsocket_pulls_total") == pulls + 1
        status, _, _ = http_get(f"http://127.0.0.1:{proxy.http_port}/v1/apps/"
                                "11111111-2222-3333-4444-555555555555/metrics")
        assert status == 404
        assert proxy.metric("mgw_rsocket_pulls_total") == pulls + 1
        # Service discovery lists both joined apps (not the client that joined none).
        sd_auth = "Basic " + base64.b64encode(b"operator:sd-secret").decode()
        status, _, body = http_get(f"http://127.0.0.1:{proxy.http_port}/v1/sd",
                                   {"Authorization": sd_auth})
        assert status == 200, (status, body)
        groups = {g["labels"]["__meta_cf_app_id"]: g["labels"] for g in json.loads(body)}
        assert sorted(groups) == sorted([APP_A, APP_B]), groups
        for app, labels in groups.items():
            assert labels["__meta_cf_sources"] == ",rsocket,", labels
            assert labels["__metrics_path__"] == f"/v2/apps/{app}/metrics", labels


def test_thousand_connects_and_disconnects_leave_memory_at_baseline():
    with Proxy("  key_bits: 1024") as proxy, proxy.client(name="steady") as steady:
        steady.wait_event("key")
        pid = proxy.gateway.process.pid

        def churn(count):
            for i in range(count):
                with RawClient(proxy.tcp_port) as raw:
                    if i % 3 == 0:
                        continue  # connect and leave without a word
                    raw.send_frame(setup_frame())
                    if i % 3 == 1:
                        assert raw.read_until(0x05) is not None  # the key came

        def settled():
            return proxy.metric("mgw_rsocket_connections") == 1

        churn(100)
        wait_until(settled, timeout=60, what="warm-up connections closed")
        baseline = rss_bytes(pid)
        churn(1000)
        wait_until(settled, timeout=120, what="churned connections closed")
        after = rss_bytes(pid)
        print(f"rss baseline {baseline >> 10} KiB, after 1000 connects {after >> 10} KiB")
        assert after < baseline + (16 << 20), (baseline, after)
        assert proxy.metric("mgw_rsocket_connections_accepted_total") >= 1101
        _, body = proxy.connected()
        assert 'demo_series{client="steady",i="0"} 0' in body, body


if __name__ == "__main__":
    if not node_modules_ready():
        print("FAIL: test/integration/rsocket_client/node_modules missing; run scripts/bootstrap")
        sys.exit(1)
    run_tests([
        test_tcp_and_websocket_clients_are_pulled_and_merged,
        test_mgf1_sha256_and_plaintext_replies,
        test_push_on_close_is_served_once,
        test_push_dropped_after_push_ttl,
        test_reconnect_gets_a_new_key_and_is_pulled_again,
        test_failing_clients_are_skipped_within_the_scrape_timeout,
        test_raw_protocol_faults_get_error_frames_and_close,
        test_trusted_clients_join_the_app_they_declare,
        test_thousand_connects_and_disconnects_leave_memory_at_baseline,
    ])
