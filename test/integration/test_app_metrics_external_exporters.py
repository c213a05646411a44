"""Promfetcher's external exporters, and what /only-app-metrics leaves out (issue 11 item 2).

Real HTTP servers on loopback, known to the gateway through routes.static:
- acme/dev/shop (2 instances), acme/dev/ghost (2 instances answering 404), and the route
  bg.apps.example.com mapped to two apps at once (blue and green, 2 instances each, as in a
  blue-green deployment);
- a container-metrics exporter (python) serving per-`source_id` series, asked with
  `source_id[]={{.AppID}}` as Promfetcher's BOSH spec example does; and, for a second gateway,
  an exporter nobody listens for, one that hangs, and one that answers HTML; for a third,
  one over https with a certificate trusted through scrape.tls.ca_file.

What is shown: /metrics carries the exporter's series with the app's six labels, the exporter is
asked once per app (not per instance) with the templated query and without the client's
Authorization; /only-app-metrics (every form, v1 and v2) never asks the exporter and differs from
/metrics by exactly the exporter's series and the gateway's mgw_scrape_* series; a dead, slow or
broken exporter is a promfetcher_scrape_external_exporter_error sample in a 200 answer that still
has the app's series, a slow one cut at the client's deadline; the gateway's own /metrics counts
each exporter's outcomes. Every answer passes promtool check metrics."""

import http.server
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import (CF_LABELS, AppInstance, app_tags, parse_samples,  # noqa: E402
                       static_routes_yaml)

APP_LABELS = CF_LABELS[:6]
EXPORTER_FAMILIES = ("container_cpu_percentage", "container_memory_bytes")


class ContainerExporter:
    """An exporter of container metrics per Loggregator source_id: GET /metrics?source_id[]=X
    answers the series of every instance of source X (none for an unknown source). `mode`:
    ok, hang (nothing for 30 s, or until stopped), garbage (HTML). Records every request."""

    def __init__(self, instances_by_source=None, mode="ok", tls_files=None):
        self.instances_by_source = instances_by_source or {}
        self.mode = mode
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                with exporter.lock:
                    exporter.requests.append({
                        "path": url.path, "raw_query": url.query,
                        "query": urllib.parse.parse_qs(url.query, keep_blank_values=True),
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                if exporter.mode == "hang":
                    exporter.stopping.wait(30)
                    self.close_connection = True
                    return
                if exporter.mode == "garbage":
                    body = b"<html>not metrics</html>\n"
                else:
                    sources = urllib.parse.parse_qs(url.query).get("source_id[]", [])
                    body = exporter.body(sources).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_files:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_files)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def body(self, sources):
        cpu = ["# HELP container_cpu_percentage CPU used by the app's containers.\n",
               "# TYPE container_cpu_percentage gauge\n"]
        memory = ["# HELP container_memory_bytes Memory used by the app's containers.\n",
                  "# TYPE container_memory_bytes gauge\n"]
        for source in sources:
            for index in range(self.instances_by_source.get(source, 0)):
                labels = f'source_id="{source}",instance_id="{index}"'
                cpu.append(f"container_cpu_percentage{{{labels}}} {12.5 + index}\n")
                memory.append(f"container_memory_bytes{{{labels}}} {1.5e8 + index}\n")
        return "".join(cpu + memory)

    def clear(self):
        with self.lock:
            self.requests.clear()

    def taken(self):
        with self.lock:
            return list(self.requests)

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Platform:
    def __init__(self):
        self.stoppable = []
        routes = []
        self.tags = {}
        self.instances = {}
        for app, uri in (("shop", "shop.apps.example.com"), ("blue", "bg.apps.example.com"),
                         ("green", "bg.apps.example.com")):
            self.tags[app] = [app_tags("acme", "dev", app, i) for i in range(2)]
            self.instances[app] = [self.keep(AppInstance(index=i)) for i in range(2)]
            routes += [(uri, "127.0.0.1", inst.port, tags)
                       for inst, tags in zip(self.instances[app], self.tags[app])]
        self.tags["ghost"] = [app_tags("acme", "dev", "ghost", i) for i in range(2)]
        self.instances["ghost"] = [self.keep(AppInstance(index=i, mode="status", status=404))
                                   for i in range(2)]
        routes += [("ghost.apps.example.com", "127.0.0.1", inst.port, tags)
                   for inst, tags in zip(self.instances["ghost"], self.tags["ghost"])]
        self.routes_yaml = static_routes_yaml(routes)
        self.exporter = self.keep(ContainerExporter(
            {self.app_id(app): 2 for app in ("shop", "blue", "green", "ghost")}))
        self.dead_port = free_port()  # nobody listens there
        self.slow = self.keep(ContainerExporter(mode="hang"))
        self.broken = self.keep(ContainerExporter(mode="garbage"))

        exporters = ("external_exporters:\n"
                     "  - name: containers\n"
                     f"    host: 127.0.0.1:{self.exporter.port}\n"
                     "    params:\n"
                     '      "source_id[]": ["{{.AppID}}"]\n')
        self.gateway, self.port = self.start_gateway(exporters)
        # An exporter over https, its certificate (for 127.0.0.1) trusted through scrape.tls.
        self.cert_dir = tempfile.TemporaryDirectory(prefix="mgw-exporter-tls-")
        cert = os.path.join(self.cert_dir.name, "cert.pem")
        key = os.path.join(self.cert_dir.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=exporter", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        self.tls_exporter = self.keep(ContainerExporter(
            {self.app_id("shop"): 1}, tls_files=(cert, key)))
        self.tls_gateway, self.tls_port = self.start_gateway(
            "external_exporters:\n"
            f"  - {{ name: tls, scheme: https, host: '127.0.0.1:{self.tls_exporter.port}', "
            "params: { 'source_id[]': ['{{.SourceID}}'] } }\n",
            f"  tls: {{ ca_file: '{cert}' }}\n")
        failing = exporters + (
            f"  - {{ name: dead, host: '127.0.0.1:{self.dead_port}' }}\n"
            f"  - {{ name: slow, host: '127.0.0.1:{self.slow.port}', metrics_path: /prom }}\n"
            f"  - {{ host: '127.0.0.1:{self.broken.port}' }}\n")
        self.failing_gateway, self.failing_port = self.start_gateway(failing)

    def start_gateway(self, exporters_yaml, scrape_yaml=""):
        port, health_port = free_port(), free_port()
        config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                  "threads: 2\nscrape:\n  timeout: 10s\n" + scrape_yaml + self.routes_yaml
                  + exporters_yaml)
        gateway = self.keep(Gateway(config))
        gateway.wait_ready(port)
        return gateway, port

    def keep(self, thing):
        self.stoppable.append(thing)
        return thing

    def app_id(self, app):
        return self.tags[app][0]["app_id"]

    def get(self, path, headers=None, port=None, timeout=20.0):
        return http_get(f"http://127.0.0.1:{port or self.port}{path}", headers, timeout)

    def stop(self):
        for thing in reversed(self.stoppable):
            thing.stop()
        self.cert_dir.cleanup()


PLATFORM = None


def promtool_check(body):
    promtool = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    # Exit 3 means lint findings only; anything else is a format error.
    assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
    check = subprocess.run([GATEWAY, "check", "--format", "prometheus"], input=body,
                           capture_output=True)
    assert check.returncode == 0, check.stderr.decode()


def answer(path, headers=None, port=None):
    status, _, body = PLATFORM.get(path, headers, port)
    assert status == 200, (path, status, body[:500])
    promtool_check(body)
    return body.decode()


def is_exporter_series(sample):
    return sample.name in EXPORTER_FAMILIES


def test_metrics_has_the_exporter_series_with_the_app_labels():
    PLATFORM.exporter.clear()
    samples = parse_samples(answer("/v2/apps/acme/dev/shop/metrics",
                                   {"Authorization": "Bearer app-token"}))
    exported = [s for s in samples if is_exporter_series(s)]
    assert len(exported) == 4, exported  # 2 families x the app's 2 instances
    shop = PLATFORM.tags["shop"][0]
    for sample in exported:
        # The exporter's own labels first, then the app's six, in Promfetcher's order; no
        # index/instance: an exporter is not an instance.
        assert sample.label_names() == ["source_id", "instance_id", *APP_LABELS], sample.line
        for name in APP_LABELS:
            assert sample.label(name) == shop[name], (name, sample.line)
        assert sample.label("source_id") == shop["app_id"]
    assert {s.label("instance_id") for s in exported} == {"0", "1"}
    # The app's own series are there too, from both instances.
    assert {s.label("index") for s in samples if s.name == "demo_temperature_celsius"} == \
        {"0", "1"}
    assert not [s for s in samples if s.name.startswith("promfetcher_scrape")]

    # Asked once for the app (not per instance), with the template expanded, nothing of the
    # client's headers, no Accept (as Promfetcher), and the configured host as Host.
    requests = PLATFORM.exporter.taken()
    assert len(requests) == 1, requests
    request = requests[0]
    assert request["path"] == "/metrics"
    assert request["raw_query"] == "source_id%5B%5D=" + shop["app_id"], request
    assert "authorization" not in request["headers"], request["headers"]
    assert "accept" not in request["headers"], request["headers"]
    assert request["headers"]["host"] == f"127.0.0.1:{PLATFORM.exporter.port}"
    # The instances still got the client's Authorization.
    for instance in PLATFORM.instances["shop"]:
        assert instance.last_request()["headers"].get("authorization") == "Bearer app-token"


def test_a_route_of_two_apps_asks_the_exporter_once_per_app():
    PLATFORM.exporter.clear()
    samples = parse_samples(answer("/v1/apps/bg.apps.example.com/metrics"))
    asked = sorted(r["query"]["source_id[]"][0] for r in PLATFORM.exporter.taken())
    assert asked == sorted([PLATFORM.app_id("blue"), PLATFORM.app_id("green")]), asked
    exported = [s for s in samples if is_exporter_series(s)]
    assert len(exported) == 8, exported
    for sample in exported:
        app = sample.label("app_name")
        assert app in ("blue", "green"), sample.line
        assert sample.label("app_id") == PLATFORM.app_id(app) == sample.label("source_id")


def comparable(samples):
    """Sample lines without the gateway's mgw_scrape_* series, whose values change per scrape."""
    return sorted(s.line for s in samples if not s.name.startswith("mgw_scrape_"))


def test_only_app_metrics_differs_exactly_by_the_exporter_and_mgw_scrape_series():
    full = parse_samples(answer("/v2/apps/acme/dev/shop/metrics"))
    assert any(s.name.startswith("mgw_scrape_") for s in full)
    assert any(is_exporter_series(s) for s in full)
    expected = sorted(s.line for s in full
                      if not is_exporter_series(s) and not s.name.startswith("mgw_scrape_"))
    app_id = PLATFORM.app_id("shop")
    forms = ("/apps/acme/dev/shop/only-app-metrics",
             f"/apps/{app_id}/only-app-metrics",
             "/apps/shop.apps.example.com/only-app-metrics",
             "/apps/only-app-metrics?app=acme/dev/shop",
             "/apps/only-app-metrics?route_url=shop.apps.example.com",
             "/apps/acme/dev/shop/metrics?only_from_app=",
             "/apps/acme/dev/shop/metrics?only_from_app=true",
             f"/apps/metrics?app={app_id}&only_from_app=1")
    PLATFORM.exporter.clear()
    for version in ("v1", "v2"):
        for form in forms:
            only = parse_samples(answer(f"/{version}{form}"))
            assert sorted(s.line for s in only) == expected, (version, form)
    assert PLATFORM.exporter.taken() == [], "only-app-metrics asked the exporter"
    # And the other way round: /metrics is the app's own answer plus exactly those series.
    again = parse_samples(answer("/v2/apps/acme/dev/shop/metrics"))
    assert comparable(again) == comparable(full)


def test_exporters_keep_an_app_of_4xx_instances_answering():
    # Promfetcher answers 406 only when no exporter is configured; here the exporter still
    # says something about the app, so /metrics is 200; /only-app-metrics has nothing but
    # 404s and is the 406 of an app without a metrics endpoint.
    samples = parse_samples(answer("/v2/apps/acme/dev/ghost/metrics"))
    assert len([s for s in samples if is_exporter_series(s)]) == 4
    errors = [s for s in samples if s.name == "promfetcher_scrape_error"]
    assert sorted(s.label("reason") for s in errors) == ["status_404", "status_404"]
    status, _, body = PLATFORM.get("/v2/apps/acme/dev/ghost/only-app-metrics")
    assert status == 406, (status, body)


def failing_answer(timeout_header):
    started = time.monotonic()
    text = answer("/v2/apps/acme/dev/shop/metrics",
                  {"X-Prometheus-Scrape-Timeout-Seconds": timeout_header},
                  port=PLATFORM.failing_port)
    return parse_samples(text), time.monotonic() - started


def test_dead_slow_and_broken_exporters_are_error_samples_in_a_200():
    PLATFORM.slow.clear()
    samples, elapsed = failing_answer("3")
    # The slow exporter hangs for 30 s: the answer comes at the client's deadline (3 s less
    # the gateway's 0.5 s margin), whatever the load on the machine, far before the hang ends.
    assert 2.0 <= elapsed < 15.0, elapsed
    assert len(PLATFORM.slow.taken()) == 1
    assert PLATFORM.slow.taken()[0]["path"] == "/prom"

    # The app's own series and the healthy exporter are all there.
    assert {s.label("index") for s in samples if s.name == "demo_temperature_celsius"} == \
        {"0", "1"}
    assert len([s for s in samples if is_exporter_series(s)]) == 4
    assert not [s for s in samples if s.name == "promfetcher_scrape_error"]

    errors = {s.label("name"): s for s in samples
              if s.name == "promfetcher_scrape_external_exporter_error"}
    broken_name = f"127.0.0.1:{PLATFORM.broken.port}/metrics"  # default name: host + path
    assert set(errors) == {"dead", "slow", broken_name}, sorted(errors)
    expected_reason = {"dead": "connect_refused", "slow": "timeout", broken_name: "parse_error"}
    expected_host = {"dead": f"127.0.0.1:{PLATFORM.dead_port}",
                     "slow": f"127.0.0.1:{PLATFORM.slow.port}",
                     broken_name: f"127.0.0.1:{PLATFORM.broken.port}"}
    shop = PLATFORM.tags["shop"][0]
    for name, sample in errors.items():
        assert sample.value == 1
        assert sample.label_names() == [*APP_LABELS, "index", "instance_id", "instance", "name",
                                        "reason"], sample.line
        assert sample.label("reason") == expected_reason[name], sample.line
        assert sample.label("instance") == expected_host[name], sample.line
        assert sample.label("index") == "" and sample.label("instance_id") == ""
        for label in APP_LABELS:
            assert sample.label(label) == shop[label], sample.line

    # Not in /only-app-metrics: the exporters are not asked at all.
    PLATFORM.slow.clear()
    started = time.monotonic()
    only = parse_samples(answer("/v2/apps/acme/dev/shop/only-app-metrics",
                                {"X-Prometheus-Scrape-Timeout-Seconds": "3"},
                                port=PLATFORM.failing_port))
    assert time.monotonic() - started < 2.0
    assert not [s for s in only if s.name.startswith("promfetcher_scrape")]
    assert PLATFORM.slow.taken() == []


def test_an_https_exporter_is_verified_with_scrape_tls():
    samples = parse_samples(answer("/v2/apps/acme/dev/shop/metrics", port=PLATFORM.tls_port))
    exported = [s for s in samples if is_exporter_series(s)]
    assert len(exported) == 2, exported
    assert all(s.label("app_name") == "shop" for s in exported)
    request = PLATFORM.tls_exporter.taken()[-1]
    assert request["query"]["source_id[]"] == [PLATFORM.tags["shop"][0]["source_id"]], request
    assert not [s for s in samples if s.name == "promfetcher_scrape_external_exporter_error"]


def test_gateway_metrics_count_each_exporter_outcome():
    failing_answer("3")
    status, _, body = PLATFORM.get("/metrics", port=PLATFORM.failing_port)
    assert status == 200
    promtool_check(body)
    counts = {}
    for sample in parse_samples(body.decode()):
        if sample.name == "mgw_external_exporter_scrapes_total":
            counts[(sample.label("exporter"), sample.label("result"))] = sample.value
    broken_name = f"127.0.0.1:{PLATFORM.broken.port}/metrics"
    assert counts[("containers", "ok")] >= 2, counts
    assert counts[("dead", "connect_refused")] >= 2, counts
    assert counts[("slow", "timeout")] >= 2, counts
    assert counts[(broken_name, "parse_error")] >= 2, counts
    assert counts[("containers", "timeout")] == 0, counts
    # Every label value comes from the config or a fixed set.
    results = {result for _, result in counts}
    assert results == {"ok", "connect_refused", "connect_timeout", "timeout", "tls_error",
                       "http_status", "body_too_large", "bad_gzip", "redirect_refused",
                       "protocol_error", "cancelled", "parse_error", "memory"}, results
    assert {exporter for exporter, _ in counts} == {"containers", "dead", "slow", broken_name}


def main():
    global PLATFORM
    PLATFORM = Platform()
    try:
        run_tests([
            test_metrics_has_the_exporter_series_with_the_app_labels,
            test_a_route_of_two_apps_asks_the_exporter_once_per_app,
            test_only_app_metrics_differs_exactly_by_the_exporter_and_mgw_scrape_series,
            test_exporters_keep_an_app_of_4xx_instances_answering,
            test_dead_slow_and_broken_exporters_are_error_samples_in_a_200,
            test_an_https_exporter_is_verified_with_scrape_tls,
            test_gateway_metrics_count_each_exporter_outcome,
        ])
    finally:
        PLATFORM.stop()


if __name__ == "__main__":
    main()
