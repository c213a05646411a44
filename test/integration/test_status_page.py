"""The status console in a real browser (issue 16): four apps register over a real nats-server
(the test plays route-emitter; one app's name holds a <script> element, as a platform user may
name an app), one of them is scraped through its merged endpoint (one instance up, one answering
503) and one whose only instance answers 404 (the gateway answers 406), another is bound through the service broker and pushes, then headless Chromium (Debian's
`chromium`, over its DevTools protocol) loads /status with the routes_api credentials. The page
loads with no console message, no exception and no failed or external request; it shows the
four apps (the <script> name as text, never run), NATS connected, the route table, the scraped
app's last scrape, the push binding's rate-limit use and the RSocket listener; the app's link
opens its merged answer. /status needs the same credentials as /routes and /v1/sd. Screenshots at
a laptop's and a phone's width are kept under <build>/test-artifacts/ (the paths are printed)."""

import base64
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from browser import Chromium  # noqa: E402
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, wait_for  # noqa: E402
from peers import NatsClient, NatsServer, register_message  # noqa: E402

SCRIPT_NAME = '<script>document.title="pwned";alert(1)</script>'
# (org, space, app, route host, each instance's answer: 200 with metrics or an HTTP status)
APPS = [("acme", "dev", "web", "web", [200, 503]),
        ("acme", "prod", "api", "api", [200]),
        ("globex", "dev", SCRIPT_NAME, "shop", [200]),
        ("globex", "dev", "gone", "gone", [404])]
USER, PASSWORD = "operator", "s3cret-status"
FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"  # the broker's Metrics Forwarder service
SMALL = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
BROKER_AUTH = "cc", "broker-secret"
ARTIFACTS = os.path.join(os.environ.get("MGW_BUILD_DIR", "build"), "test-artifacts")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class World:
    def __init__(self):
        self.nats = NatsServer()
        self.instances = []
        self.tags = []
        self.port, self.health_port = free_port(), free_port()
        self.rsocket_port = free_port()
        self.gateway = Gateway(
            f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
            "threads: 2\nlog: { level: info, access: false }\n"
            f"nats: {{ servers: [{self.nats.url}] }}\n"
            f"routes_api: {{ username: {USER}, password: {PASSWORD} }}\n"
            f"rsocket: {{ tcp_listen: 127.0.0.1:{self.rsocket_port} }}\n"
            "broker:\n  enabled: true\n"
            f"  username: {BROKER_AUTH[0]}\n  password: {BROKER_AUTH[1]}\n"
            '  database: ":memory:"\n'
            f"  external_url: http://127.0.0.1:{self.port}\n"
            "  metrics_forwarder:\n    plans:\n"
            f"      - {{ name: small, id: {SMALL}, requests_per_minute: 60, "
            "metrics_per_minute: 600 }\n")
        self.gateway.wait_ready(self.port)
        self.emitter = NatsClient(self.nats.port, name="route-emitter")
        deadline = time.monotonic() + 20
        while True:
            try:
                self.emitter.request("router.greet", b"", timeout=1)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        for org, space, app, host, answers in APPS:
            for index, answer in enumerate(answers):
                instance = AppInstance(index=index, mode="ok" if answer == 200 else "status",
                                       status=answer)
                tags = app_tags(org, space, app, index)
                self.instances.append(instance)
                self.tags.append(tags)
                self.emitter.publish("router.register", register_message(
                    "127.0.0.1", instance.port, [f"{host}.{space}.{org}.apps.example.com"],
                    tags))
        self.emitter.flush()
        wait_for(lambda: len(self.sd()) == len(APPS), 10, interval=0.1,
                 what="the four registered apps in /v1/sd")
        self.browser = None

    def call(self, method, path, body, auth):
        request = urllib.request.Request(
            self.url(path), data=json.dumps(body).encode(), method=method,
            headers={"Authorization": auth, "Content-Type": "application/json",
                     "X-Broker-API-Version": "2.16"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def sd(self):
        status, _, body = http_get(self.url("/v1/sd"), {"Authorization": basic(USER, PASSWORD)})
        assert status == 200, (status, body)
        return json.loads(body)

    def stop(self):
        if self.browser:
            self.browser.stop()
        self.emitter.close()
        self.gateway.stop()
        self.nats.stop()
        for instance in self.instances:
            instance.stop()


W = None


def test_one_app_is_scraped_through_its_merged_endpoint():
    status, _, body = http_get(W.url("/v2/apps/acme/dev/web/metrics"))
    assert status == 200, (status, body)
    assert b'promfetcher_scrape_error{' in body and b'reason="status_503"' in body, body


def test_an_app_without_a_metrics_endpoint_gets_406():
    status, _, body = http_get(W.url("/v2/apps/globex/dev/gone/metrics"))
    assert status == 406, (status, body)


def test_status_needs_the_routes_credentials():
    for auth in (None, basic(USER, "wrong"), basic("someone", PASSWORD)):
        status, headers, body = http_get(W.url("/status"),
                                         {"Authorization": auth} if auth else {})
        assert status == 401, (auth, status, body)
        assert headers["WWW-Authenticate"].startswith("Basic"), dict(headers)
        assert b"acme" not in body and b"<html" not in body, body
    status, headers, body = http_get(W.url("/status"), {"Authorization": basic(USER, PASSWORD)})
    assert status == 200, (status, body)
    assert headers["Content-Type"] == "text/html; charset=utf-8", dict(headers)
    assert headers["Cache-Control"] == "no-store", dict(headers)
    assert b"<script" not in body, body  # the app's name is escaped by the gateway itself
    assert b"&lt;script&gt;" in body


def test_a_bound_app_pushes():
    """The api app gets a Metrics Forwarder binding and pushes twice (three metrics)."""
    api = W.tags[2]
    broker = basic(*BROKER_AUTH)
    status, _ = W.call("PUT", "/broker/v2/service_instances/fwd-1",
                       {"service_id": FORWARDER, "plan_id": SMALL,
                        "organization_guid": api["organization_id"],
                        "space_guid": api["space_id"]}, broker)
    assert status == 201, status
    status, answer = W.call(
        "PUT", "/broker/v2/service_instances/fwd-1/service_bindings/bind-api",
        {"service_id": FORWARDER, "plan_id": SMALL, "bind_resource": {"app_guid": api["app_id"]},
         "context": {"platform": "cloudfoundry", "organization_guid": api["organization_id"],
                     "organization_name": "acme", "space_guid": api["space_id"],
                     "space_name": "prod"}}, broker)
    assert status == 201, answer
    key = answer["credentials"]["access_key"]
    W.pushed_minute = None
    for metrics in (1, 2):
        body = {"applications": [{"id": api["app_id"], "instances": [{
            "id": "instance-0", "index": "0",
            "metrics": [{"name": f"jobs.done.{i}", "type": "gauge", "value": i,
                         "timestamp": int(time.time() * 1000)} for i in range(metrics)]}]}]}
        minute = int(time.time() // 60)
        status, _ = W.call("POST", "/v1/metrics", body, key)
        assert status == 202, status
        W.pushed_minute = minute if W.pushed_minute in (None, minute) else -1


def rows_of(page):
    """The app table as the browser lays it out: one dict per row, keyed by column header."""
    return page.evaluate("""(() => {
        const table = document.querySelector('#apps table');
        const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent);
        return [...table.querySelectorAll('tbody tr')].map(tr => {
            const row = {};
            [...tr.children].forEach((td, i) => {
                const name = td.querySelector('.name');  // the App cell: name, then GUID
                row[heads[i]] = (name || td).textContent;
            });
            const guid = tr.querySelector('code.guid');
            row.guid = guid ? guid.textContent : null;
            const a = tr.querySelector('a');
            row.href = a ? a.href : null;
            return row;
        });
    })()""")


def test_the_page_in_chromium():
    W.browser = Chromium()
    page = W.browser.page
    print(f"browser: {W.browser.version}")
    page.send("Network.setExtraHTTPHeaders",
              {"headers": {"Authorization": basic(USER, PASSWORD)}})
    page.send("Emulation.setDeviceMetricsOverride",
              {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    since = len(page.events)
    response = page.navigate(W.url("/status"))
    assert response and response["status"] == 200, response
    assert response["mimeType"] == "text/html", response
    assert page.problems(since) == [], page.problems(since)
    # Self-contained: the page itself, nothing else (no favicon, no asset, nothing external).
    assert page.requests(since) == [W.url("/status")], page.requests(since)
    assert not [e for e in page.events[since:] if e["method"] == "Page.javascriptDialogOpening"]
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.title") == "metrics-gateway status"

    text = page.evaluate("document.body.innerText")
    for heading in ("Gateway", "Listeners", "NATS", "Route table", "Apps", "Push bindings",
                    "RSocket clients", "BOSH subscriptions", "Loggregator"):
        assert f"\n{heading}\n" in f"\n{text}\n", (heading, text)
    assert "single node" in text, text
    assert f"127.0.0.1:{W.port}" in text, text
    nats = page.evaluate("document.querySelector('#nats dd').textContent")
    assert nats == "connected", nats
    route_apps = page.evaluate("document.querySelector('#routes dd').textContent")
    assert route_apps == "4", route_apps

    rows = {row["App"]: row for row in rows_of(page)}
    assert sorted(rows) == sorted(" / ".join(a[:3]) for a in APPS), rows
    # The <script> name is shown as the text it is.
    assert f"globex / dev / {SCRIPT_NAME}" in rows, rows
    web = rows["acme / dev / web"]
    assert web["Up"] == "1" and web["Down"] == "1", web
    assert web["Errors by reason"] == "status_503 1", web
    assert web["Last scrape"].endswith("ago, HTTP 200"), web
    assert web["Instances"] == "2", web
    assert web["guid"] == W.tags[0]["app_id"], web
    assert web["href"] == W.url("/v2/apps/acme/dev/web/metrics"), web
    gone = rows["globex / dev / gone"]
    assert gone["Last scrape"].endswith("ago, HTTP 406"), gone
    assert gone["Up"] == "0" and gone["Down"] == "1", gone
    assert gone["Errors by reason"] == "status_404 1", gone
    api = rows["acme / prod / api"]
    assert api["Last scrape"] == "none recorded", api
    # A '/' in its name (</script>) would split the path: the GUID names it instead.
    shop = rows[f"globex / dev / {SCRIPT_NAME}"]
    shop_guid = app_tags("globex", "dev", SCRIPT_NAME)["app_id"]
    assert shop["href"] == W.url(f"/v2/apps/{shop_guid}/metrics"), shop

    assert rows["acme / prod / api"]["Sources"] == "routes, push", rows

    # The binding with this minute's use of its rate limits (unless the minute turned since).
    push = page.evaluate("""[...document.querySelectorAll('#push tbody td')]
                            .map(td => td.textContent)""")
    same_minute = W.pushed_minute == int(time.time() // 60)
    assert push[:3] == ["bind-api", f"acme / prod ({W.tags[2]['app_id']})", SMALL], push
    if same_minute:
        assert push[3:] == ["2 / 60", "3 / 600"], push
    else:
        assert push[3].endswith(" / 60") and push[4].endswith(" / 600"), push
    rsocket = page.evaluate("document.querySelector('#rsocket').innerText")
    assert "No client has joined an app." in rsocket, rsocket
    assert f"127.0.0.1:{W.rsocket_port}" in text, text

    os.makedirs(ARTIFACTS, exist_ok=True)
    laptop = os.path.join(ARTIFACTS, "status.png")
    page.screenshot(laptop)
    with open(laptop, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot (1280 px wide): {os.path.abspath(laptop)}")

    # A phone: the same page, its tables scrolled inside their sections, never the page.
    page.send("Emulation.setDeviceMetricsOverride",
              {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    since = len(page.events)
    response = page.navigate(W.url("/status"))
    assert response and response["status"] == 200, response
    assert page.problems(since) == [], page.problems(since)
    assert page.requests(since) == [W.url("/status")], page.requests(since)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    assert "acme / dev / web" in page.evaluate("document.body.innerText")
    phone = os.path.join(ARTIFACTS, "status-phone.png")
    page.screenshot(phone)
    with open(phone, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot (390 px phone): {os.path.abspath(phone)}")

    # The app's link opens its merged answer, as a person clicking it would.
    since = len(page.events)
    page.evaluate("""document.querySelector('#apps a[href="/v2/apps/acme/dev/web/metrics"]')
                     .click()""")
    page.wait_event("Page.loadEventFired", since)
    response = page.document_response(since)
    assert response and response["status"] == 200, response
    assert response["url"] == W.url("/v2/apps/acme/dev/web/metrics"), response
    answer = page.evaluate("document.body.innerText")
    assert 'app_name="web"' in answer and "demo_temperature_celsius" in answer, answer[:2000]
    # A text document has no icon element, so the browser asks for /favicon.ico, which the
    # gateway does not serve; anything else would be a problem.
    problems = [p for p in page.problems(since) if not p.endswith("/favicon.ico")
                and not p.endswith("/favicon.ico)")]
    assert problems == [], problems


if __name__ == "__main__":
    W = World()
    try:
        run_tests([test_one_app_is_scraped_through_its_merged_endpoint,
                   test_an_app_without_a_metrics_endpoint_gets_406,
                   test_a_bound_app_pushes,
                   test_status_needs_the_routes_credentials,
                   test_the_page_in_chromium])
    finally:
        W.stop()
