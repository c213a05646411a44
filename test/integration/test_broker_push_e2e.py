"""The whole Metrics Forwarder flow as a client sees it, against the real binary: provision and
bind over OSB, restart the gateway, push with the returned key, scrape the app and find the
pushed series, unbind, and the key is refused (401). A repeated bind hands out a new key and the
old one stops working."""

import base64
import json
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
SMALL = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
APP = "2f1e0d9c-8b7a-4654-a321-0fedcba98765"


def request(port, method, path, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes)
                                      else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def osb(port, method, path, body=None):
    status, _, raw = request(port, method, "/broker/v2" + path, body,
                             {"Authorization": AUTH, "X-Broker-API-Version": "2.16",
                              "Content-Type": "application/json"})
    return status, json.loads(raw) if raw else None


def push(port, key, app=APP, value=42.5, scheme=""):
    body = {"applications": [{"id": app, "instances": [{
        "id": "instance-guid-0", "index": "0",
        "metrics": [{"name": "jvm.memory.used", "type": "gauge", "value": value,
                     "unit": "bytes", "timestamp": int(time.time() * 1000),
                     "tags": {"area": "heap"}}]}]}], "version": 1}
    return request(port, "POST", "/v1/metrics", body,
                   {"Authorization": scheme + key, "Content-Type": "application/json"})


def start(database):
    port, health_port = free_port(), free_port()
    config = f"""
listen: 127.0.0.1:{port}
health_listen: 127.0.0.1:{health_port}
threads: 2
routes_api: {{ username: operator, password: sd-secret }}
broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {database}
  external_url: http://127.0.0.1:{port}
  metrics_forwarder:
    plans:
      - {{ name: small, id: {SMALL}, requests_per_minute: 60, metrics_per_minute: 600 }}
"""
    gateway = Gateway(config)
    gateway.wait_ready(port)
    return gateway, port


def bind(port, binding_id):
    return osb(port, "PUT", f"/service_instances/fwd-1/service_bindings/{binding_id}",
               {"service_id": FORWARDER, "plan_id": SMALL, "bind_resource": {"app_guid": APP},
                "context": {"platform": "cloudfoundry", "organization_guid": "org-guid",
                            "organization_name": "demo-org", "space_guid": "space-guid",
                            "space_name": "demo-space"}})


def test_bind_restart_push_scrape_unbind():
    with tempfile.TemporaryDirectory() as state:
        database = os.path.join(state, "broker.db")
        gateway, port = start(database)
        with gateway:
            assert osb(port, "PUT", "/service_instances/fwd-1",
                       {"service_id": FORWARDER, "plan_id": SMALL,
                        "organization_guid": "org-guid", "space_guid": "space-guid"})[0] == 201
            status, answer = bind(port, "b-1")
            assert status == 201, answer
            key = answer["credentials"]["access_key"]
            assert answer["credentials"]["endpoint"] == f"http://127.0.0.1:{port}/v1/metrics"
            gateway.signal(signal.SIGTERM)
            assert gateway.wait(20) == 0

        gateway, port = start(database)
        with gateway:
            status, headers, body = push(port, key)
            assert status == 202, (status, body)
            assert headers["X-RateLimit-Limit"] == "60", dict(headers)
            assert headers["X-RateLimit-Metrics-Limit"] == "600"
            assert push(port, key, scheme="Bearer ")[0] == 202
            assert push(port, key, app="another-app")[0] == 403

            status, _, body = http_get(f"http://127.0.0.1:{port}/v2/apps/{APP}/metrics")
            assert status == 200, (status, body)
            lines = [line for line in body.decode().splitlines()
                     if line.startswith("jvm_memory_used{")]
            assert len(lines) == 1, body.decode()
            for label in (f'app_id="{APP}"', 'organization_name="demo-org"',
                          'space_name="demo-space"', 'area="heap"', 'source="push"'):
                assert label in lines[0], (label, lines[0])
            assert lines[0].endswith(" 42.5"), lines[0]

            # Service discovery lists the app only pushes know, with its binding's labels.
            sd_auth = "Basic " + base64.b64encode(b"operator:sd-secret").decode()
            status, _, body = http_get(f"http://127.0.0.1:{port}/v1/sd",
                                       {"Authorization": sd_auth})
            assert status == 200, (status, body)
            groups = json.loads(body)
            assert len(groups) == 1, groups
            assert groups[0]["targets"] == [f"127.0.0.1:{port}"], groups
            assert groups[0]["labels"] == {
                "__metrics_path__": f"/v2/apps/{APP}/metrics", "__scheme__": "http",
                "__meta_cf_app_id": APP, "__meta_cf_sources": ",push,",
                "__meta_cf_instances": "0", "__meta_cf_org_name": "demo-org",
                "__meta_cf_org_id": "org-guid", "__meta_cf_space_name": "demo-space",
                "__meta_cf_space_id": "space-guid"}, groups

            status, _ = osb(port, "DELETE", "/service_instances/fwd-1/service_bindings/b-1"
                            f"?service_id={FORWARDER}&plan_id={SMALL}")
            assert status == 200
            status, headers, _ = push(port, key)
            assert status == 401, status


def test_repeated_bind_replaces_the_key():
    with tempfile.TemporaryDirectory() as state:
        gateway, port = start(os.path.join(state, "broker.db"))
        with gateway:
            assert osb(port, "PUT", "/service_instances/fwd-1",
                       {"service_id": FORWARDER, "plan_id": SMALL,
                        "organization_guid": "org-guid", "space_guid": "space-guid"})[0] == 201
            status, first = bind(port, "b-2")
            assert status == 201
            status, second = bind(port, "b-2")
            assert status == 200
            old, new = first["credentials"]["access_key"], second["credentials"]["access_key"]
            assert old != new
            assert push(port, old)[0] == 401
            assert push(port, new)[0] == 202


if __name__ == "__main__":
    run_tests([test_bind_restart_push_scrape_unbind, test_repeated_bind_replaces_the_key])
