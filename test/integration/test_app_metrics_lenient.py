"""Instances read as Prometheus ingests them, and the merged answer always valid.

An instance whose 0.0.4 histogram has no `+Inf` bucket used to be merged as it was: the
OpenMetrics answer then failed the gateway's own `check` and Python's parser. An instance that
serves several Micrometer registries' expositions concatenated (families repeated) used to be
dropped whole as a parse error. Now the first is repaired (`+Inf` from `_count`), the second
joined, what cannot be served is dropped and counted (`mgw_scrape_samples_dropped` per instance
in the answer, `mgw_app_source_repairs_total` on /metrics), and every answer passes the
gateway's `check`, `promtool check metrics` and Python's parsers in both formats.

Also `metrics-gateway check --lenient`, which says what the gateway would change, line by line."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, OPENMETRICS, Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, static_routes_yaml  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "micrometer_three_registries.prom")

NO_INF = (
    "# HELP latency_seconds Request latency.\n"
    "# TYPE latency_seconds histogram\n"
    'latency_seconds_bucket{path="/a",le="0.1"} 3\n'
    'latency_seconds_bucket{path="/a",le="1"} 7\n'
    'latency_seconds_sum{path="/a"} 4.5\n'
    'latency_seconds_count{path="/a"} 9\n'
    "# HELP jobs_total Jobs.\n"
    "# TYPE jobs_total counter\n"
    'jobs_total{kind="ok"} 5\n'
    'jobs_total{kind="broken"} -1\n')


def fixture():
    with open(FIXTURE) as f:
        return f.read()


class World:
    def __init__(self):
        self.no_inf = AppInstance(index=0, body=NO_INF)
        self.registries = AppInstance(index=1, body=fixture())
        routes = [("shop.example.com", "127.0.0.1", self.no_inf.port,
                   app_tags("acme", "dev", "shop", 0)),
                  ("shop.example.com", "127.0.0.1", self.registries.port,
                   app_tags("acme", "dev", "shop", 1))]
        self.port, health_port = free_port(), free_port()
        self.gateway = Gateway(
            f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{health_port}\n"
            "threads: 2\nlog: { level: info, access: false }\n" + static_routes_yaml(routes))
        self.gateway.wait_ready(self.port)

    def answer(self, accept=None):
        status, headers, body = http_get(
            f"http://127.0.0.1:{self.port}/v2/apps/acme/dev/shop/metrics",
            {"Accept": accept} if accept else None)
        assert status == 200, (status, body[:300])
        return headers, body.decode()

    def metric(self, name, labels=""):
        _, _, body = http_get(f"http://127.0.0.1:{self.port}/metrics")
        total = 0.0
        for match in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$",
                                 body.decode(), re.M):
            if labels in (match.group(1) or ""):
                total += float(match.group(2))
        return total

    def stop(self):
        self.gateway.stop()
        self.no_inf.stop()
        self.registries.stop()


W = None


def assert_valid(body, openmetrics):
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
        assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
    return {f.name: f for f in text_string_to_metric_families(body)}


def samples_dropped(body, index):
    match = re.search(r'^mgw_scrape_samples_dropped\{[^}]*index="' + str(index) + r'"[^}]*\} (\S+)$',
                      body, re.M)
    assert match, body
    return float(match.group(1))


def test_a_histogram_without_inf_is_served_valid_in_both_formats():
    _, body = W.answer(OPENMETRICS)
    families = assert_valid(body, openmetrics=True)
    latency = families["latency_seconds"]
    buckets = {s.labels["le"]: s.value for s in latency.samples if s.name.endswith("_bucket")}
    assert buckets == {"0.1": 3, "1": 7, "+Inf": 9}, buckets
    assert 'latency_seconds_bucket{path="/a",le="+Inf",organization_id=' in body, body
    # The negative counter cannot be served; the rest of its family is.
    jobs = [s for s in families["jobs"].samples if s.name == "jobs_total"]
    assert [s.labels["kind"] for s in jobs] == ["ok"], jobs

    _, body = W.answer()
    families = assert_valid(body, openmetrics=False)
    assert 'latency_seconds_bucket{path="/a",le="+Inf",organization_id=' in body, body
    assert samples_dropped(body, 0) == 1


def test_an_instance_serving_several_registries_is_joined_not_dropped():
    _, body = W.answer()
    families = assert_valid(body, openmetrics=False)
    assert 'mgw_scrape_up{organization_id=' in body
    assert re.search(r'^mgw_scrape_up\{[^}]*index="1"[^}]*\} 1$', body, re.M), body
    assert samples_dropped(body, 1) == 0
    live = families["jvm_threads_live_threads"]
    assert sorted(s.labels.get("component", "") for s in live.samples) == ["", "comp1", "comp2"]
    assert body.count("# TYPE jvm_threads_live_threads gauge") == 1

    _, body = W.answer(OPENMETRICS)
    assert_valid(body, openmetrics=True)
    assert W.metric("mgw_scrape_parse_errors_total") == 0
    assert W.metric("mgw_app_source_repairs_total", 'action="joined"') >= 26
    assert W.metric("mgw_app_source_repairs_total", 'action="repaired"') >= 1
    assert W.metric("mgw_app_source_repairs_total", 'action="dropped_metric"') >= 1


def run_check(args, text):
    return subprocess.run([GATEWAY, "check", *args], input=text.encode(), capture_output=True)


def test_check_lenient_says_what_the_gateway_would_change():
    strict = run_check([], fixture())
    assert strict.returncode == 1
    assert strict.stderr.decode() == "74:8: duplicate family: metadata for a family seen earlier\n"

    lenient = run_check(["--lenient"], fixture())
    assert lenient.returncode == 0, lenient.stderr
    lines = lenient.stderr.decode().splitlines()
    assert lines[0] == "74:1: joined: family repeated further down: joined to its first block"
    assert lines[-1] == "26 changes, 0 samples of the input left out", lines

    repaired = run_check(["-l", "--format", "prometheus", "-"], NO_INF)
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stderr.decode().splitlines() == [
        "6:1: repaired: histogram without a +Inf bucket: one made from its _count",
        "10:1: dropped_metric: counter-like value that is negative",
        "2 changes, 1 samples of the input left out"]

    garbage = run_check(["--lenient"], "not an exposition\n")
    assert garbage.returncode == 1
    assert garbage.stderr.decode() == "1:5: invalid value\n"
    clean = run_check(["--lenient"], "a 1\n")
    assert clean.returncode == 0 and clean.stderr == b""


if __name__ == "__main__":
    W = World()
    try:
        run_tests([test_a_histogram_without_inf_is_served_valid_in_both_formats,
                   test_an_instance_serving_several_registries_is_joined_not_dropped,
                   test_check_lenient_says_what_the_gateway_would_change])
    finally:
        W.stop()
