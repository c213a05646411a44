"""The merged app endpoint against misbehaving instances (issue "App metrics" acceptance).

Static routes (routes.static) describe three apps of real HTTP servers on loopback:
- acme/dev/shop: healthy instances (plain, gzip, OpenMetrics, same-host redirect) and broken
  ones (refused, 500, hang, garbage, 50 MB chunked, 50 MB Content-Length, gzip bomb, redirect to
  another host, 404, body stalled or cut short, no HTTP at all, corrupt gzip, Content-Encoding
  br). The answer is 200 within the client's deadline, merges the healthy ones
  with the nine CF labels in Promfetcher's order, and reports each broken one with exactly one
  promfetcher_scrape_error{reason} sample and mgw_scrape_up 0.
- acme/dev/cart: two healthy instances, for every identifier form and the request headers
  instances receive (Accept on v1/v2, Authorization, the scrape timeout).
- acme/dev/ghost: every instance answers 404, so the whole answer is 406.
Also: 400/404 bodies, metric_path validation, a client leaving mid-request (instance fetches
cancelled at once, gateway unharmed), GET /routes auth,
and the promfetch_* counters on the gateway's own /metrics."""

import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import (CF_LABELS, AppInstance, app_tags, assert_cf_labels,  # noqa: E402
                       parse_samples, samples_named, static_routes_yaml, wait_for)

ACCEPT_V1 = ("application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,"
             "*/*;q=0.1")
ACCEPT_V2 = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0"
MAX_BODY = 1024 * 1024
ROUTES_USER, ROUTES_PASSWORD = "admin", "s3cret"

# Reasons the gateway may give per fault: low-cardinality classes, never raw error strings.
HEALTHY = ("ok", "gzip", "openmetrics", "redirect_same")
FAULTS = {
    "refused": {"connect_refused"},
    "status_500": {"status_500"},
    "hang": {"timeout"},
    "garbage": {"parse_error"},
    "huge_chunked": {"body_too_large"},
    "huge_length": {"body_too_large"},
    "gzip_bomb": {"body_too_large"},
    "redirect_other_host": {"redirect_refused"},
    "status_404": {"status_404"},
    "stall_body": {"timeout"},
    "truncated": {"protocol_error"},
    "not_http": {"protocol_error"},
    "bad_gzip": {"bad_gzip"},
    "brotli": {"protocol_error"},
}


class Fleet:
    """Every instance and the gateway that knows them through routes.static."""

    def __init__(self):
        self.instances = {}   # kind -> AppInstance (shop)
        self.index_of = {}    # kind -> instance index (shop)
        self.tags = {}        # index -> tags (shop)
        self.address = {}     # index -> host:port (shop)
        self.stoppable = []
        routes = []
        kinds = list(HEALTHY) + list(FAULTS)
        self.decoy = self._keep(AppInstance(index=99, host="127.0.0.2"))
        for index, kind in enumerate(kinds):
            tags = app_tags("acme", "dev", "shop", index)
            self.index_of[kind] = index
            self.tags[index] = tags
            if kind == "refused":
                port = free_port()  # nobody listens there
            else:
                instance = self._keep(self._instance(kind, index))
                self.instances[kind] = instance
                port = instance.port
            self.address[index] = f"127.0.0.1:{port}"
            routes.append(("shop.apps.example.com", "127.0.0.1", port, tags))

        self.cart = [self._keep(AppInstance(index=i)) for i in range(2)]
        self.cart_tags = [app_tags("acme", "dev", "cart", i) for i in range(2)]
        routes += [("cart.apps.example.com", "127.0.0.1", c.port, t)
                   for c, t in zip(self.cart, self.cart_tags)]
        self.ghost = [self._keep(AppInstance(index=i, mode="status", status=404))
                      for i in range(2)]
        routes += [("ghost.apps.example.com", "127.0.0.1", g.port,
                    app_tags("acme", "dev", "ghost", i)) for i, g in enumerate(self.ghost)]

        self.port, self.health_port = free_port(), free_port()
        config = (f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
                  "threads: 2\nlog: { level: debug }\n"
                  f"scrape: {{ timeout: 5s, max_body_bytes: {MAX_BODY} }}\n"
                  f"routes_api: {{ username: {ROUTES_USER}, password: {ROUTES_PASSWORD} }}\n"
                  + static_routes_yaml(routes))
        self.gateway = Gateway(config)
        self.gateway.wait_ready(self.port)

    def _keep(self, instance):
        self.stoppable.append(instance)
        return instance

    def _instance(self, kind, index):
        if kind in ("ok", "gzip", "openmetrics"):
            return AppInstance(index=index, mode=kind)
        if kind == "redirect_same":
            return AppInstance(index=index, redirects={"/metrics": "/real/metrics"})
        if kind.startswith("status_"):
            return AppInstance(index=index, mode="status", status=int(kind[7:]))
        if kind in ("hang", "stall_body"):
            return AppInstance(index=index, mode=kind, hang_seconds=30)
        if kind in ("truncated", "not_http", "bad_gzip", "brotli"):
            return AppInstance(index=index, mode=kind)
        if kind == "garbage":
            return AppInstance(index=index, mode="garbage")
        if kind == "huge_chunked":
            return AppInstance(index=index, mode="huge", huge_bytes=50 * 1024 * 1024)
        if kind == "huge_length":
            return AppInstance(index=index, mode="huge", huge_bytes=50 * 1024 * 1024,
                               huge_length=True)
        if kind == "gzip_bomb":
            return AppInstance(index=index, mode="gzip_bomb", bomb_bytes=8 * MAX_BODY)
        if kind == "redirect_other_host":
            return AppInstance(index=index, mode="redirect",
                               location=f"http://127.0.0.2:{self.decoy.port}/metrics")
        raise ValueError(kind)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, headers=None, timeout=15.0):
        return http_get(self.url(path), headers, timeout)

    def stop(self):
        self.gateway.stop()
        for instance in self.stoppable:
            instance.stop()


FLEET = None
REASONS_SEEN = {}


def check_with_tools(body, openmetrics=False):
    if openmetrics:
        check = subprocess.run([GATEWAY, "check", "--format", "openmetrics"], input=body,
                               capture_output=True)
        assert check.returncode == 0, check.stderr.decode()
        return
    promtool = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    # Exit 3 means lint findings only; anything else is a format error.
    assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
    check = subprocess.run([GATEWAY, "check", "--format", "prometheus"], input=body,
                           capture_output=True)
    assert check.returncode == 0, check.stderr.decode()


def assert_shop_answer(text):
    samples = parse_samples(text)
    fleet = FLEET
    for sample in samples:
        index = int(sample.label("index"))
        assert_cf_labels(sample, fleet.tags[index], fleet.address[index],
                         ("reason",) if sample.name == "promfetcher_scrape_error"
                         else ("le", "quantile"))

    # Healthy instances: merged, values from the right instance.
    temperatures = {s.label("index"): s.value for s in samples_named(samples,
                                                                     "demo_temperature_celsius")}
    expected = {str(fleet.index_of[k]): 21.5 + fleet.index_of[k] for k in HEALTHY}
    assert temperatures == expected, (temperatures, expected)
    requests = {s.label("index") for s in samples if s.name == "demo_http_requests_total"
                and s.label("method") == "GET"}
    assert requests == set(expected), requests
    buckets = [s for s in samples if s.name == "demo_request_duration_seconds_bucket"]
    assert {s.label("index") for s in buckets} == set(expected)
    for sample in buckets:
        # Label order carries no meaning to Prometheus; Promfetcher wrote `le` last, the gateway
        # keeps the instance's own order (le before the CF labels). Either is accepted.
        assert sample.label("le") is not None and sample.label("path") == "/", sample.line
    quantiles = [s for s in samples if s.name == "demo_rpc_duration_seconds"]
    assert len(quantiles) == 2 * len(HEALTHY), quantiles
    assert not any(s.name == "bomb_metric" or s.name.startswith("huge_metric") for s in samples)

    # Failing instances: exactly one error sample each, with a sensible reason.
    errors = samples_named(samples, "promfetcher_scrape_error")
    by_index = {}
    for sample in errors:
        by_index.setdefault(sample.label("index"), []).append(sample)
        names = sample.label_names()
        assert names[:len(CF_LABELS)] == list(CF_LABELS) and names[-1] == "reason", sample.line
        assert sample.value == 1
    assert set(by_index) == {str(fleet.index_of[k]) for k in FAULTS}, sorted(by_index)
    for kind, reasons in FAULTS.items():
        found = by_index[str(fleet.index_of[kind])]
        assert len(found) == 1, found
        reason = found[0].label("reason")
        assert reason in reasons, (kind, reason, reasons)
        assert re.fullmatch(r"[a-z0-9_]{1,32}", reason), reason
        REASONS_SEEN[kind] = reason

    up = {s.label("index"): s.value for s in samples_named(samples, "mgw_scrape_up")}
    assert up == {**{str(fleet.index_of[k]): 1.0 for k in HEALTHY},
                  **{str(fleet.index_of[k]): 0.0 for k in FAULTS}}, up


def test_faulty_instances_merged_within_deadline():
    started = time.monotonic()
    status, headers, body = FLEET.get("/v2/apps/acme/dev/shop/metrics",
                                      {"X-Prometheus-Scrape-Timeout-Seconds": "2"})
    elapsed = time.monotonic() - started
    assert status == 200, (status, body[:500])
    assert elapsed < 2.0, elapsed
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    assert_shop_answer(body.decode())
    print(f"  answer in {elapsed:.3f}s with a 2s client timeout; reasons: {REASONS_SEEN}")
    check_with_tools(body)
    # The same-host redirect was followed; the other host was never contacted.
    redirected = FLEET.instances["redirect_same"]
    assert redirected.requests_to("/metrics") and redirected.requests_to("/real/metrics")
    assert FLEET.decoy.requests == [], FLEET.decoy.requests
    # The instances were told less time than the client gave the gateway.
    sent = FLEET.instances["ok"].last_request()["headers"]["x-prometheus-scrape-timeout-seconds"]
    assert 0 < float(sent) < 2.0, sent


def test_openmetrics_answer_when_asked():
    started = time.monotonic()
    status, headers, body = FLEET.get("/v1/apps/acme/dev/shop/metrics",
                                      {"Accept": OPENMETRICS_ACCEPT,
                                       "X-Prometheus-Scrape-Timeout-Seconds": "2"})
    assert time.monotonic() - started < 2.0
    assert status == 200, (status, body[:500])
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0"), \
        headers
    assert body.endswith(b"# EOF\n"), body[-200:]
    assert body.count(b"# EOF") == 1
    check_with_tools(body, openmetrics=True)
    assert_shop_answer(body.decode())


def test_gzip_answer_to_the_client():
    import gzip
    status, headers, body = FLEET.get("/v2/apps/acme/dev/cart/metrics",
                                      {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.get("Content-Encoding") == "gzip", dict(headers)
    samples = parse_samples(gzip.decompress(body).decode())
    assert len(samples_named(samples, "demo_temperature_celsius")) == 2


def cart_temperatures(path, headers=None):
    status, _, body = FLEET.get(path, headers)
    assert status == 200, (path, status, body[:300])
    samples = parse_samples(body.decode())
    for sample in samples:
        index = int(sample.label("index"))
        assert_cf_labels(sample, FLEET.cart_tags[index], FLEET.cart[index].address)
    return sorted(s.value for s in samples_named(samples, "demo_temperature_celsius"))


def test_every_identifier_form():
    app_id = FLEET.cart_tags[0]["app_id"]
    quoted = urllib.parse.quote('"acme/dev/cart"', safe="")
    forms = [
        "/apps/acme/dev/cart/metrics",
        f"/apps/{app_id}/metrics",
        "/apps/cart.apps.example.com/metrics",
        "/apps/CART.apps.example.com/metrics",
        "/apps/metrics?app=" + urllib.parse.quote("acme/dev/cart", safe=""),
        "/apps/metrics?app=acme/dev/cart",
        f"/apps/metrics?app={app_id}",
        "/apps/metrics?route_url=cart.apps.example.com",
        f"/apps/metrics?app={quoted}",
        "/apps/acme/dev/cart/only-app-metrics",
        "/apps/only-app-metrics?app=acme/dev/cart",
        "/apps/acme/dev/cart/metrics?only_from_app=",
        "/apps/acme%2Fdev%2Fcart/metrics",
    ]
    for version in ("v1", "v2"):
        for form in forms:
            assert cart_temperatures(f"/{version}{form}") == [21.5, 22.5], form


def test_accept_header_sent_on_v1_and_v2():
    for version, expected in (("v1", ACCEPT_V1), ("v2", ACCEPT_V2)):
        for instance in FLEET.cart:
            instance.clear_requests()
        cart_temperatures(f"/{version}/apps/acme/dev/cart/metrics")
        for instance in FLEET.cart:
            request = instance.last_request()
            assert request["headers"]["accept"] == expected, (version, request)
            assert request["headers"].get("accept-encoding") == "gzip", request


def test_forwarded_headers_and_scrape_timeout():
    for instance in FLEET.cart:
        instance.clear_requests()
    cart_temperatures("/v2/apps/acme/dev/cart/metrics",
                      {"Authorization": "Bearer t0ken", "Cookie": "session=1",
                       "X-Custom": "no", "X-Prometheus-Scrape-Timeout-Seconds": "5"})
    for instance in FLEET.cart:
        headers = instance.last_request()["headers"]
        assert headers.get("authorization") == "Bearer t0ken", headers
        assert "cookie" not in headers and "x-custom" not in headers, headers
        sent = float(headers["x-prometheus-scrape-timeout-seconds"])
        assert 0 < sent < 5.0, sent
    # Without the client header, the configured scrape.timeout (5s) bounds the value.
    cart_temperatures("/v2/apps/acme/dev/cart/metrics")
    sent = float(FLEET.cart[0].last_request()["headers"]["x-prometheus-scrape-timeout-seconds"])
    assert 0 < sent <= 5.0, sent
    assert "authorization" not in FLEET.cart[0].last_request()["headers"]


def test_metric_path_parameter():
    for instance in FLEET.cart:
        instance.clear_requests()
    FLEET.get("/v2/apps/acme/dev/cart/metrics?metric_path=custom/prom")
    assert FLEET.cart[0].last_request()["path"] == "/custom/prom"
    FLEET.get("/v2/apps/acme/dev/cart/metrics?metric_path=%2Factuator%2Fprometheus")
    assert FLEET.cart[1].last_request()["path"] == "/actuator/prometheus"
    FLEET.get("/v2/apps/acme/dev/cart/metrics?metric_path=")
    assert FLEET.cart[1].last_request()["path"] == "/metrics"
    count = sum(len(i.requests) for i in FLEET.cart)
    for bad in ("http://other/", "http%3A%2F%2Fother%2Fmetrics", "//other/metrics",
                "https://127.0.0.2:1/x"):
        status, _, body = FLEET.get(f"/v2/apps/acme/dev/cart/metrics?metric_path={bad}")
        assert status == 400, (bad, status, body)
        assert body.startswith(b"400 Bad Request"), body
    assert sum(len(i.requests) for i in FLEET.cart) == count, "a rejected path was fetched"


def test_client_errors():
    for path in ("/v1/apps/metrics", "/v2/apps/metrics?app=", "/v2/apps/only-app-metrics",
                 "/v1/apps/metrics?route_url="):
        status, _, body = FLEET.get(path)
        assert (status, body) == (400, b"400 Bad Request: You must set app id or path"), \
            (path, status, body)
    for identifier in ("acme/dev/nope", "3c8a3f3e-5b2d-4c8e-9a77-000000000000",
                       "nope.apps.example.com"):
        status, _, body = FLEET.get(f"/v2/apps/{identifier}/metrics")
        assert status == 404, (identifier, status)
        assert body == f"404 Cannot found app with id or path {identifier}\n".encode(), body
    status, _, body = FLEET.get("/v2/apps/metrics?app=acme%2Fdev%2Fnope")
    assert (status, body) == (404, b"404 Cannot found app with id or path acme/dev/nope\n")
    status, _, body = FLEET.get("/v2/apps/acme/dev/cart/nothing-here")
    assert status == 404, status


def test_406_when_every_instance_answers_404():
    status, _, body = FLEET.get("/v2/apps/acme/dev/ghost/metrics")
    assert status == 406, (status, body)
    assert body == (b"406 Cannot found endpoint '/metrics' for app with id or path "
                    b"'acme/dev/ghost (status code 404)', please create one\n"), body
    status, _, body = FLEET.get("/v1/apps/ghost.apps.example.com/metrics?metric_path=/prom")
    assert status == 406, (status, body)
    assert b"'/prom'" in body, body
    assert all(g.requests_to("/prom") for g in FLEET.ghost)


def test_client_leaving_mid_request_does_not_hurt():
    request = (b"GET /v2/apps/acme/dev/shop/metrics HTTP/1.1\r\nHost: gw\r\n"
               b"X-Prometheus-Scrape-Timeout-Seconds: 2\r\n\r\n")
    hanging = FLEET.instances["hang"]
    for abort in (False, True):
        hanging.abandoned.clear()
        client = socket.create_connection(("127.0.0.1", FLEET.port))
        client.sendall(request)
        time.sleep(0.3)  # the fan-out is under way, the hanging instance holds it
        if abort:  # RST instead of FIN
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        # The gateway cancels the instance fetches at once, not at their 1.5 s deadline.
        wait_for(lambda: hanging.abandoned, 3, what="the hanging instance's fetch cancelled")
        assert hanging.abandoned[0] < 1.0, hanging.abandoned
    # Mid-response too: read a few bytes of a long answer, then leave.
    client = socket.create_connection(("127.0.0.1", FLEET.port))
    client.sendall(request)
    client.recv(16)
    client.close()
    time.sleep(2.0)
    assert FLEET.gateway.process.poll() is None, FLEET.gateway.output()[-2000:]
    assert http_get(f"http://127.0.0.1:{FLEET.health_port}/")[0] == 200
    assert cart_temperatures("/v2/apps/acme/dev/cart/metrics") == [21.5, 22.5]


def test_routes_endpoint_requires_auth():
    import base64
    status, headers, body = FLEET.get("/routes")
    assert status == 401, status
    assert headers.get("WWW-Authenticate", "").startswith("Basic"), dict(headers)
    assert b"shop" not in body
    wrong = base64.b64encode(b"admin:wrong").decode()
    assert FLEET.get("/routes", {"Authorization": f"Basic {wrong}"})[0] == 401
    good = base64.b64encode(f"{ROUTES_USER}:{ROUTES_PASSWORD}".encode()).decode()
    status, headers, body = FLEET.get("/routes", {"Authorization": f"Basic {good}"})
    assert status == 200, (status, body)
    assert headers["Content-Type"].startswith("application/json"), dict(headers)
    table = json.loads(body)
    assert set(table) >= {"shop.apps.example.com", "cart.apps.example.com",
                          "ghost.apps.example.com"}, sorted(table)
    shop = table["shop.apps.example.com"]
    assert len(shop) == len(HEALTHY) + len(FAULTS)
    assert {e["address"] for e in shop} == set(FLEET.address.values())
    assert all(e["tags"]["app_name"] == "shop" for e in shop)


def test_gateway_metrics_count_fetches():
    status, _, body = FLEET.get("/metrics")
    assert status == 200
    samples = parse_samples(body.decode())
    app_labels = list(CF_LABELS[:6])
    success = [s for s in samples_named(samples, "promfetch_metric_fetch_success_total")]
    failed = [s for s in samples_named(samples, "promfetch_metric_fetch_failed_total")]
    shop_tags = FLEET.tags[0]
    shop_success = [s for s in success if s.label("app_name") == "shop"]
    assert len(shop_success) == 1, success
    assert sorted(shop_success[0].label_names()) == sorted(app_labels), shop_success
    for name in app_labels:
        assert shop_success[0].label(name) == shop_tags[name]
    # 3 scrapes of shop so far at least (text, OpenMetrics, disconnects), 4 healthy each.
    assert shop_success[0].value >= 2 * len(HEALTHY), shop_success
    cart_success = [s for s in success if s.label("app_name") == "cart"]
    assert cart_success and cart_success[0].value >= 2 * 20, cart_success

    shop_failed = {s.label("index"): s for s in failed if s.label("app_name") == "shop"}
    assert set(shop_failed) == {str(FLEET.index_of[k]) for k in FAULTS}, sorted(shop_failed)
    for index, sample in shop_failed.items():
        assert sorted(sample.label_names()) == sorted(app_labels + ["index", "instance_id"])
        assert sample.label("instance_id") == index
        assert sample.value >= 2, sample


if __name__ == "__main__":
    FLEET = Fleet()
    try:
        run_tests([
            test_faulty_instances_merged_within_deadline,
            test_openmetrics_answer_when_asked,
            test_gzip_answer_to_the_client,
            test_every_identifier_form,
            test_accept_header_sent_on_v1_and_v2,
            test_forwarded_headers_and_scrape_timeout,
            test_metric_path_parameter,
            test_client_errors,
            test_406_when_every_instance_answers_404,
            test_client_leaving_mid_request_does_not_hurt,
            test_routes_endpoint_requires_auth,
            test_gateway_metrics_count_fetches,
        ])
    finally:
        FLEET.stop()
