"""A Micrometer app with several registries behind one prometheus-rsocket-client, served the way
prometheus-rsocket-proxy's README shows (`topLevelRegistry.scrape() + "\\n" + comp1Registry.scrape()
+ ...`): the text repeats every family with its own HELP/TYPE. Before the lenient reader the
gateway dropped such a client whole (mgw_rsocket_parse_errors_total +1) from /metrics/connected,
and its push on close too. Now its families are joined: every registry's series are served, one
HELP/TYPE per family, and the answer is valid for the gateway's own `check`, `promtool check
metrics` and Python's prometheus_client parsers, in 0.0.4 and OpenMetrics.

The pulled text is real Micrometer 1.9.16 output (fixtures/micrometer_three_registries.prom, made
by fixtures/MicrometerRegistries.java); the client is the rsocket-js test client."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, OPENMETRICS, http_get, run_tests, wait_until  # noqa: E402
from rsocket_peers import NodeClient, ProxyGateway  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "micrometer_three_registries.prom")

# The README's form with registries that share series (no common tag tells them apart) and one
# that gives a family another TYPE: what is repeated keeps the first, the rest is served.
PUSHED = (
    "# HELP jobs_pushed_total  \n"
    "# TYPE jobs_pushed_total counter\n"
    "jobs_pushed_total{registry=\"top\",} 3.0\n"
    "# HELP queue_size  \n"
    "# TYPE queue_size gauge\n"
    "queue_size 4.0\n"
    "\n"
    "# HELP jobs_pushed_total  \n"
    "# TYPE jobs_pushed_total counter\n"
    "jobs_pushed_total{registry=\"comp1\",} 5.0\n"
    "# HELP queue_size  \n"
    "# TYPE queue_size gauge\n"
    "queue_size 9.0\n"
    "\n"
    "# HELP jobs_pushed_total  \n"
    "# TYPE jobs_pushed_total gauge\n"
    "jobs_pushed_total{registry=\"comp2\",} 7.0\n")


def fixture():
    with open(FIXTURE) as f:
        return f.read()


class Proxy(ProxyGateway):
    def connected(self, headers=None):
        status, response_headers, body = http_get(
            f"http://127.0.0.1:{self.http_port}/metrics/connected", headers, 30.0)
        assert status == 200, (status, body)
        return response_headers, body.decode()


def assert_valid(body, openmetrics):
    """The gateway's strict check, promtool (0.0.4) and Python's parsers accept the answer."""
    fmt = "openmetrics" if openmetrics else "prometheus"
    check = subprocess.run([GATEWAY, "check", "--format", fmt], input=body.encode(),
                           capture_output=True)
    assert check.returncode == 0, (check.stderr, body)
    if openmetrics:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    else:
        from prometheus_client.parser import text_string_to_metric_families
        promtool = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                                  capture_output=True)
        # Exit 3 means lint findings only (Micrometer's empty HELP); 1 is a format error.
        assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
    families = list(text_string_to_metric_families(body))
    assert families, body
    return families


def test_a_multi_registry_client_is_served_merged():
    text = fixture()
    strict = subprocess.run([GATEWAY, "check"], input=text.encode(), capture_output=True)
    assert strict.returncode == 1, "the fixture must repeat families"
    with Proxy() as proxy, \
            NodeClient(transport="tcp", port=proxy.tcp_port, name="multi", text=text) as tcp, \
            NodeClient(transport="websocket", port=proxy.ws_port, name="single") as ws:
        tcp.wait_event("key")
        ws.wait_event("key")
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 2, what="two clients")

        _, body = proxy.connected()
        # Every registry's series, under one HELP/TYPE per family.
        assert re.findall(r"^jvm_threads_live_threads(\S*) ", body, re.M) == [
            "", '{component="comp1"}', '{component="comp2"}'], body
        assert 'jobs_done_total{component="comp2"} 7.0' in body, body
        assert re.search(r'^http_server_requests_seconds_max\{component="comp1",method="GET"',
                         body, re.M), body
        assert body.count("# TYPE jvm_threads_live_threads gauge") == 1
        assert body.count("# TYPE http_server_requests_seconds_max gauge") == 1
        assert 'demo_series{client="single",i="0"} 0' in body  # the other client too
        families = assert_valid(body, openmetrics=False)
        live = [f for f in families if f.name == "jvm_threads_live_threads"][0]
        assert len(live.samples) == 3, live

        headers, body = proxy.connected({"Accept": OPENMETRICS})
        assert headers["Content-Type"].startswith("application/openmetrics-text")
        assert "# TYPE jobs_done counter" in body and body.endswith("# EOF\n"), body
        assert_valid(body, openmetrics=True)

        assert proxy.metric("mgw_rsocket_parse_errors_total") == 0
        assert proxy.metric("mgw_rsocket_repairs_total", 'action="joined"') >= 2 * 26


def test_a_multi_registry_push_on_close_is_served_merged():
    with Proxy() as proxy, NodeClient(transport="tcp", port=proxy.tcp_port, name="pusher",
                                      pushText=PUSHED) as client:
        client.wait_event("key")
        client.command("push-close rr 0")
        assert client.wait_event("pushed")["ack_bytes"] == 0
        wait_until(lambda: proxy.metric("mgw_rsocket_connections") == 0, what="pusher gone")

        _, body = proxy.connected()
        assert 'jobs_pushed_total{registry="top"} 3.0' in body, body
        assert 'jobs_pushed_total{registry="comp1"} 5.0' in body, body
        # Another TYPE for the family in the third registry: its block is left out.
        assert 'registry="comp2"' not in body, body
        # The same series from two registries: the first is kept.
        assert re.findall(r"^queue_size (\S+)$", body, re.M) == ["4.0"], body
        assert_valid(body, openmetrics=False)
        assert proxy.metric("mgw_rsocket_pushes_total", 'outcome="served"') == 1
        assert proxy.metric("mgw_rsocket_parse_errors_total") == 0
        assert proxy.metric("mgw_rsocket_repairs_total", 'action="dropped_family"') == 1


if __name__ == "__main__":
    run_tests([test_a_multi_registry_client_is_served_merged,
               test_a_multi_registry_push_on_close_is_served_merged])
