"""App GUIDs in every form github.com/google/uuid's Parse accepts (braced, urn:uuid:, upper case,
32 hex digits), in the path and in `?app=`, find the app: its scraped instance, and for an app
that only pushes (bound to metrics-forwarder, no route) its pushed series. The README promises
these forms; before the identifier was canonicalised they all answered 404."""

import base64
import json
import os
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, broker_request, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, static_routes_yaml  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
PLAN = "90197714-1698-46ce-b839-492957f4a15c"
AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
TAGS = app_tags(org="acme", space="dev", app="shop", index=0)
SCRAPED = TAGS["app_id"]
PUSH_ONLY = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"


def forms(guid):
    upper = guid.upper()
    return [guid, upper, "{" + guid + "}", "{" + upper + "}", "urn:uuid:" + guid,
            "URN:UUID:" + upper, guid.replace("-", ""), upper.replace("-", "")]


def osb(port, method, path, body=None):
    return broker_request(port, method, path, body, AUTH, "2.16")


class World:
    def __init__(self):
        self.instance = AppInstance(index=0)
        self.port, self.health_port = free_port(), free_port()
        self.gateway = Gateway(
            f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
            "threads: 2\nlog: { level: info, access: false }\n"
            "push: { enabled: true }\n"
            "broker: { enabled: true, username: cc, password: broker-secret }\n"
            + static_routes_yaml([("shop.example.com", "127.0.0.1", self.instance.port, TAGS)]))
        self.gateway.wait_ready(self.port)

    def stop(self):
        self.gateway.stop()
        self.instance.stop()


W = None


def test_every_guid_form_finds_the_scraped_app():
    for form in forms(SCRAPED):
        for url in (f"/v2/apps/{urllib.parse.quote(form, safe='')}/metrics",
                    f"/v1/apps/{urllib.parse.quote(form, safe=':')}/metrics",
                    f"/v2/apps/metrics?app={urllib.parse.quote(form, safe='')}"):
            status, _, body = http_get(f"http://127.0.0.1:{W.port}{url}")
            assert status == 200, (url, status, body[:200])
            text = body.decode()
            assert f'app_id="{SCRAPED}"' in text, (url, text[:300])
            assert "demo_http_requests_total" in text, (url, text[:300])


def test_a_guid_of_no_app_is_still_404():
    unknown = urllib.parse.quote("{" + PUSH_ONLY.upper().replace("B", "C") + "}", safe="")
    status, _, body = http_get(f"http://127.0.0.1:{W.port}/v2/apps/{unknown}/metrics")
    assert status == 404, (status, body)


def test_every_guid_form_finds_an_app_that_only_pushes():
    body = {"service_id": FORWARDER, "plan_id": PLAN, "organization_guid": "org-guid",
            "space_guid": "space-guid"}
    assert osb(W.port, "PUT", "/service_instances/si-1", body)[0] == 201
    status, answer = osb(W.port, "PUT", "/service_instances/si-1/service_bindings/sb-1",
                         {"service_id": FORWARDER, "plan_id": PLAN,
                          "bind_resource": {"app_guid": PUSH_ONLY}})
    assert status == 201, answer
    credentials = answer["credentials"]
    # The client names its app in another spelling than the binding: still its app.
    push = {"applications": [{"id": "{" + PUSH_ONLY.upper() + "}", "instances": [
        {"id": "i", "index": "0", "metrics": [
            {"name": "pushed.only", "type": "gauge", "value": 7,
             "timestamp": int(time.time() * 1000)}]}]}]}
    request = urllib.request.Request(
        f"http://127.0.0.1:{W.port}/v1/metrics", data=json.dumps(push).encode(),
        method="POST", headers={"Authorization": credentials["access_key"],
                                "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    for form in forms(PUSH_ONLY):
        url = f"http://127.0.0.1:{W.port}/v2/apps/{urllib.parse.quote(form, safe='')}/metrics"
        status, _, text = http_get(url)
        assert status == 200, (form, status, text[:200])
        assert b"pushed_only{" in text and f'app_id="{PUSH_ONLY}"'.encode() in text, \
            (form, text[:400])


if __name__ == "__main__":
    W = World()
    try:
        run_tests([test_every_guid_form_finds_the_scraped_app, test_a_guid_of_no_app_is_still_404,
                   test_every_guid_form_finds_an_app_that_only_pushes])
    finally:
        W.stop()
