"""A real Prometheus scrapes the gateway's merged app endpoint (issue "App metrics" acceptance).

Three real instances of acme/dev/web (static routes), plus one instance of acme/dev/api. The
Prometheus jobs scrape /v2/apps/acme/dev/web/metrics, and /v2/apps/metrics with params
app=<api GUID>, every second with honor_labels: true (so the CF `instance` label is kept). A
third job scrapes one app instance directly, to record the Accept header this Prometheus sends:
if it asks for OpenMetrics first, the gateway answers OpenMetrics, and the ingestion below
proves that output too. The test polls the query API until the series appear and checks every
series of the app for the nine CF labels and the instances' values."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import (CF_LABELS, AppInstance, app_tags, demo_metrics,  # noqa: E402
                       parse_samples, static_routes_yaml, wait_for)
from peers import PROMETHEUS, Prometheus  # noqa: E402


class World:
    def __init__(self):
        self.web = [AppInstance(index=i) for i in range(3)]
        self.web_tags = [app_tags("acme", "dev", "web", i) for i in range(3)]
        self.api = AppInstance(index=0)
        self.api_tags = app_tags("acme", "dev", "api", 0)
        self.probe = AppInstance(index=0)
        routes = [("web.apps.example.com", "127.0.0.1", w.port, t)
                  for w, t in zip(self.web, self.web_tags)]
        routes.append(("api.apps.example.com", "127.0.0.1", self.api.port, self.api_tags))
        self.port, self.health_port = free_port(), free_port()
        self.gateway = Gateway(
            f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
            "threads: 2\nlog: { level: info, access: false }\n" + static_routes_yaml(routes))
        self.gateway.wait_ready(self.port)
        target = [{"targets": [f"127.0.0.1:{self.port}"]}]
        self.prometheus = Prometheus([
            {"job_name": "cf-web", "honor_labels": True, "scrape_interval": "1s",
             "scrape_timeout": "1s", "metrics_path": "/v2/apps/acme/dev/web/metrics",
             "static_configs": target},
            {"job_name": "cf-api", "honor_labels": True, "scrape_interval": "1s",
             "scrape_timeout": "1s", "metrics_path": "/v2/apps/metrics",
             "params": {"app": [self.api_tags["app_id"]]}, "static_configs": target},
            {"job_name": "probe", "scrape_interval": "1s", "scrape_timeout": "1s",
             "static_configs": [{"targets": [self.probe.address]}]},
        ])

    def stop(self):
        self.prometheus.stop()
        self.gateway.stop()
        for instance in self.web + [self.api, self.probe]:
            instance.stop()


W = None


def series(promql, count, timeout=20):
    """Polls an instant query until it returns `count` series."""
    result = []

    def enough():
        result[:] = W.prometheus.query(promql)
        return len(result) == count
    try:
        wait_for(enough, timeout, interval=0.25, what=f"{count} series for {promql}")
    except AssertionError:
        targets = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in W.prometheus.targets()]
        raise AssertionError(f"{promql}: {result}; targets: {targets}") from None
    return result


def assert_nine_labels(labels, tags, address):
    expected = {
        "organization_id": tags["organization_id"], "space_id": tags["space_id"],
        "app_id": tags["app_id"], "organization_name": tags["organization_name"],
        "space_name": tags["space_name"], "app_name": tags["app_name"],
        "index": tags["instance_id"], "instance_id": tags["instance_id"], "instance": address,
    }
    for name in CF_LABELS:
        assert labels.get(name) == expected[name], (name, labels)
    assert not any(name.startswith("exported_") for name in labels), labels


def test_prometheus_version_and_openmetrics_negotiation():
    version = subprocess.run([PROMETHEUS, "--version"], capture_output=True, text=True)
    text = version.stdout + version.stderr
    match = re.search(r"prometheus, version (\d+)\.(\d+)\.(\d+)", text)
    assert match, text
    print(f"  {match.group(0)}")
    wait_for(lambda: W.probe.requests, 15, what="Prometheus scraping the probe instance")
    accept = W.probe.requests[-1]["headers"]["accept"]
    print(f"  Prometheus sends Accept: {accept}")
    assert (int(match.group(1)), int(match.group(2))) >= (2, 5), text
    # Prometheus 2.5+ asks for OpenMetrics first (2.42 here): the gateway must answer it.
    assert accept.startswith("application/openmetrics-text"), accept
    status, headers, body = http_get(f"http://127.0.0.1:{W.port}/v2/apps/acme/dev/web/metrics",
                                     {"Accept": accept})
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0"), \
        dict(headers)
    assert body.endswith(b"# EOF\n")


def test_series_carry_the_nine_labels_and_instance_values():
    temperatures = series('demo_temperature_celsius{app_name="web"}', 3)
    for labels, value in temperatures:
        index = int(labels["index"])
        assert_nine_labels(labels, W.web_tags[index], W.web[index].address)
        assert labels["job"] == "cf-web", labels
        assert value == 21.5 + index, (labels, value)
    requests = series('demo_http_requests_total{app_name="web",method="GET"}', 3)
    assert sorted(v for _, v in requests) == [100.0, 101.0, 102.0], requests
    buckets = series('demo_request_duration_seconds_bucket{app_name="web"}', 15)
    assert {labels["le"] for labels, _ in buckets} == {"0.05", "0.1", "0.5", "1.0", "+Inf"}
    for labels, value in series('demo_request_duration_seconds_bucket{app_name="web",le="+Inf"}',
                                3):
        assert value == 15 + int(labels["index"]), (labels, value)
    quantiles = series('demo_rpc_duration_seconds{app_name="web",quantile="0.99"}', 3)
    for labels, value in quantiles:
        assert abs(value - 0.2 * (int(labels["index"]) + 1)) < 1e-9, (labels, value)
    up = series('mgw_scrape_up{app_name="web"}', 3)
    assert all(value == 1 for _, value in up), up

    # Every series of the app, whatever its name, carries the nine labels.
    everything = W.prometheus.query('{app_name="web"}')
    assert len(everything) > 30, len(everything)
    for labels, _ in everything:
        index = int(labels["index"])
        assert_nine_labels(labels, W.web_tags[index], W.web[index].address)

    # The app reached through params (app=<GUID>) too.
    for labels, value in series('demo_temperature_celsius{job="cf-api"}', 1):
        assert_nine_labels(labels, W.api_tags, W.api.address)
        assert value == 21.5
    targets = {t["labels"]["job"]: t for t in W.prometheus.targets()}
    assert targets["cf-web"]["health"] == "up", targets["cf-web"]
    assert "app=" in targets["cf-api"]["scrapeUrl"], targets["cf-api"]


def test_values_follow_the_instances():
    W.web[0].body = demo_metrics(0, temperature_base=99.5)
    wait_for(lambda: [v for l, v in W.prometheus.query(
        'demo_temperature_celsius{app_name="web",index="0"}')] == [99.5], 15, interval=0.25,
        what="the new value of instance 0")
    W.web[2].stop()  # instance 2 dies: an error sample in Prometheus, the job stays up
    errors = series('promfetcher_scrape_error{app_name="web"}', 1)
    labels, value = errors[0]
    assert labels["index"] == "2" and labels["reason"] in ("refused", "connect_refused"), labels
    assert value == 1
    wait_for(lambda: [v for _, v in W.prometheus.query('mgw_scrape_up{app_name="web",index="2"}')]
             == [0.0], 15, interval=0.25, what="mgw_scrape_up 0 for instance 2")
    assert [v for _, v in W.prometheus.query('up{job="cf-web"}')] == [1.0]


def test_promtool_accepts_a_captured_scrape():
    for accept in (None, "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"):
        status, _, body = http_get(f"http://127.0.0.1:{W.port}/v2/apps/acme/dev/web/metrics",
                                   {"Accept": accept} if accept else {})
        assert status == 200
        assert len(parse_samples(body.decode())) > 30
        promtool = subprocess.run(["promtool", "check", "metrics"], input=body,
                                  capture_output=True)
        # Exit 3 means lint findings only; anything else is a format error.
        assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
        assert b"error" not in promtool.stderr.lower(), promtool.stderr


if __name__ == "__main__":
    W = World()
    try:
        run_tests([
            test_prometheus_version_and_openmetrics_negotiation,
            test_series_carry_the_nine_labels_and_instance_values,
            test_values_follow_the_instances,
            test_promtool_accepts_a_captured_scrape,
        ])
    finally:
        W.stop()
