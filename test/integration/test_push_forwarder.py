"""The Metrics Forwarder path through the real binary, as a Cloud Foundry app uses it: the Cloud
Controller provisions and binds the metrics-forwarder service, the app pushes with the key it was
given, Prometheus scrapes the app and sees the pushed series next to the scraped instance. The
key survives a restart; unbinding revokes it at once. Bad pushes get their exact status and
message, leave the store as it was, and disturb nobody; rate-limit fields on 202, 401 and 429."""

import base64
import http.client
import json
import os
import select
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, broker_request, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, static_routes_yaml  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
UNLIMITED = "90197714-1698-46ce-b839-492957f4a15c"
SMALL = "0f7c1e0e-5d8e-4c43-9b36-3c1f6c3d9a01"
AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
MAX_BODY = 65536

TAGS = app_tags(org="acme", space="dev", app="shop", index=0)
APP = TAGS["app_id"]
OTHER_APP = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"


def config(port, health_port, database, instance):
    return f"""
listen: 127.0.0.1:{port}
health_listen: 127.0.0.1:{health_port}
threads: 2
push: {{ enabled: true, ttl: 5m, max_body_bytes: {MAX_BODY} }}
broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {database}
  metrics_forwarder:
    plans:
      - {{ name: unlimited, id: {UNLIMITED} }}
      - {{ name: small, id: {SMALL}, requests_per_minute: 1000, metrics_per_minute: 10 }}
""" + static_routes_yaml([("shop.example.com", "127.0.0.1", instance.port, TAGS)])


def osb(port, method, path, body=None):
    return broker_request(port, method, path, body, AUTH, "2.16")


def provision_and_bind(port, plan, instance_id, binding_id, app=APP):
    body = {"service_id": FORWARDER, "plan_id": plan, "organization_guid": "org-guid",
            "space_guid": "space-guid",
            "context": {"platform": "cloudfoundry", "organization_name": "acme",
                        "space_name": "dev"}}
    assert osb(port, "PUT", f"/service_instances/{instance_id}", body)[0] == 201
    status, answer = osb(port, "PUT",
                         f"/service_instances/{instance_id}/service_bindings/{binding_id}",
                         {"service_id": FORWARDER, "plan_id": plan,
                          "bind_resource": {"app_guid": app}})
    assert status == 201, answer
    return answer["credentials"]


def push(endpoint, key, body, extra_headers=None):
    """POSTs like the Java metric writer: raw key, JSON; returns (status, headers, body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json;charset=UTF-8",
               "Accept": "application/json, application/*+json"}
    if key is not None:
        headers["Authorization"] = key
    headers.update(extra_headers or {})
    if len(data) > 64 * 1024:
        return push_large(endpoint, headers, data)
    request = urllib.request.Request(endpoint, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def push_large(endpoint, headers, data):
    """A body the gateway may refuse from its Content-Length (413) before reading it: the head
    goes first and an early answer is read before the body is sent, as a client that waits for
    100-continue would. Sending it all at once races the gateway's close after its answer (the
    client then sees a reset, not the 413)."""
    url = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("POST", url.path)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(data)))
    connection.endheaders()
    early, _, _ = select.select([connection.sock], [], [], 2.0)
    if not early:
        connection.send(data)
    response = connection.getresponse()
    answer = (response.status, response.headers, response.read())
    connection.close()
    return answer


def metrics_body(app, metrics, index="0"):
    return {"applications": [{"id": app, "instances": [
        {"id": "c0ffee00-0000-4000-8000-000000000000", "index": index, "metrics": metrics}]}],
        "version": 1}


def gauge(name, value, **tags):
    metric = {"name": name, "type": "gauge", "value": value, "timestamp": int(time.time() * 1000)}
    if tags:
        metric["tags"] = tags
    return metric


def rate_fields(headers):
    return {name: headers[name] for name in (
        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Metrics-Limit",
        "X-RateLimit-Metrics-Remaining", "X-RateLimit-Period", "X-RateLimit-Retry-After")}


UNLIMITED_FIELDS = {"X-RateLimit-Limit": "unlimited", "X-RateLimit-Remaining": "unlimited",
                    "X-RateLimit-Metrics-Limit": "unlimited",
                    "X-RateLimit-Metrics-Remaining": "unlimited", "X-RateLimit-Period": "60",
                    "X-RateLimit-Retry-After": "0"}


def scrape(port, app=APP):
    status, _, body = http_get(f"http://127.0.0.1:{port}/v1/apps/{app}/metrics")
    return status, body.decode()


def pushed_lines(text):
    """The lines the push store contributed (its series and their TYPE lines)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if 'source="push"' in line:
            if i > 0 and lines[i - 1].startswith("# TYPE") and lines[i - 1] not in out:
                out.append(lines[i - 1])
            out.append(line)
    return out


def start(database, instance):
    port, health_port = free_port(), free_port()
    gateway = Gateway(config(port, health_port, database, instance))
    gateway.wait_ready(port)
    return gateway, port


def test_bind_push_scrape_restart_unbind():
    with tempfile.TemporaryDirectory() as state, AppInstance(index=0) as instance:
        database = os.path.join(state, "broker.db")
        gateway, port = start(database, instance)
        with gateway:
            credentials = provision_and_bind(port, UNLIMITED, "fwd-1", "bind-1")
            key = credentials["access_key"]
        # Restart between bind and push: the key is in SQLite, not only in memory.
        gateway, port = start(database, instance)
        with gateway:
            endpoint = f"http://127.0.0.1:{port}/v1/metrics"
            status, headers, body = push(endpoint, key, metrics_body(APP, [
                gauge("jvm.memory.used", 1.5e7, area="heap", statistic="value"),
                {"name": "jobs.done", "type": "counter", "value": 12}]))
            assert (status, body) == (202, b""), (status, body)
            assert headers["Content-Length"] == "0"
            assert rate_fields(headers) == UNLIMITED_FIELDS

            status, text = scrape(port)
            assert status == 200, text
            # The scraped instance and the pushed series, in one exposition.
            assert 'demo_http_requests_total{method="GET",code="200",organization_id="' in text
            assert ('jvm_memory_used{area="heap",statistic="value",organization_id="'
                    + TAGS["organization_id"] + '",space_id="' + TAGS["space_id"]
                    + '",app_id="' + APP + '",organization_name="acme",space_name="dev",'
                    'app_name="shop",index="0",instance_id="0",source="push"} 15000000\n') \
                in text, text
            assert "# TYPE jobs_done counter\n" in text
            assert 'jobs_done{organization_id="' in text and '} 12\n' in text
            assert text.count("# TYPE jvm_memory_used ") == 1

            # Unbind: the key is refused from the next push on, with the fields.
            assert osb(port, "DELETE", "/service_instances/fwd-1/service_bindings/bind-1"
                       f"?service_id={FORWARDER}&plan_id={UNLIMITED}")[0] == 200
            status, headers, body = push(endpoint, key,
                                         metrics_body(APP, [gauge("after.unbind", 1)]))
            assert status == 401, status
            assert json.loads(body) == {"error": "Authorization: unknown or revoked access key"}
            assert rate_fields(headers)["X-RateLimit-Limit"] == "0"
            assert rate_fields(headers)["X-RateLimit-Period"] == "60"
            assert "after_unbind" not in scrape(port)[1]


def test_bad_pushes_are_refused_exactly_and_change_nothing():
    with tempfile.TemporaryDirectory() as state, AppInstance(index=0) as instance:
        gateway, port = start(os.path.join(state, "broker.db"), instance)
        with gateway:
            key = provision_and_bind(port, UNLIMITED, "fwd-1", "bind-1")["access_key"]
            endpoint = f"http://127.0.0.1:{port}/v1/metrics"
            assert push(endpoint, "Bearer " + key,
                        metrics_body(APP, [gauge("queue.depth", 3)]))[0] == 202
            _, text = scrape(port)
            before = pushed_lines(text)
            assert len(before) == 2, text

            cases = [
                # (key, body, status, exact JSON body or None for a prefix check)
                (None, metrics_body(APP, [gauge("x", 1)]), 401,
                 {"error": "Authorization: the binding's access_key is required"}),
                ("no-such-key", metrics_body(APP, [gauge("x", 1)]), 401,
                 {"error": "Authorization: unknown or revoked access key"}),
                (key, metrics_body(OTHER_APP, [gauge("x", 1)]), 403,
                 {"error": "applications[0].id: this access key may push only for app " + APP}),
                (key, b'{"applications": [', 422, None),
                (key, metrics_body(APP, [{"name": "x", "type": "gauge", "value": "NaN"}]), 422,
                 {"error": 'applications[0].instances[0].metrics[0].value: must be a number, '
                           'got a string "NaN"',
                  "field": "applications[0].instances[0].metrics[0].value"}),
                (key, metrics_body(APP, [{"name": "x", "type": "summary", "value": 1}]), 422,
                 {"error": 'applications[0].instances[0].metrics[0].type: must be "gauge" or '
                           '"counter", got a string "summary"',
                  "field": "applications[0].instances[0].metrics[0].type"}),
                (key, metrics_body(APP, [{"name": "queue.depth", "type": "counter",
                                          "value": 1}]), 422,
                 {"error": 'applications[0].instances[0].metrics[0].type: "queue_depth" is a '
                           'counter here but this app already pushes a gauge under that name',
                  "field": "applications[0].instances[0].metrics[0].type"}),
                (key, ('{"applications":[],"x":' + "[" * 1000 + "]" * 1000 + "}").encode(),
                 422, {"error": "body: nested deeper than 16 levels", "field": "body"}),
                (key, metrics_body(APP, [gauge(f"m{i}", i) for i in range(10000)]), None, None),
            ]
            for sent_key, body, expected_status, expected_body in cases:
                status, headers, answer = push(endpoint, sent_key, body)
                if expected_status is None:
                    # 10,000 metrics: over max_body_bytes here (413), over the per-body bound
                    # (5,000) wherever the body limit allows it.
                    assert status == 413, status
                    continue
                assert status == expected_status, (status, answer, body[:80])
                assert "X-RateLimit-Period" in headers, dict(headers)
                if expected_body is None:
                    assert json.loads(answer)["error"].startswith("body: invalid JSON at byte"), \
                        answer
                else:
                    assert json.loads(answer) == expected_body, answer

            # Oversized: refused before the body is read.
            big = metrics_body(APP, [gauge("x", 1, pad="p" * MAX_BODY)])
            assert push(endpoint, key, big)[0] == 413

            _, text = scrape(port)
            assert pushed_lines(text) == before, (before, text)
            assert push(endpoint, key, metrics_body(APP, [gauge("queue.depth", 4)]))[0] == 202
            assert 'queue_depth{' in scrape(port)[1]

            _, _, own = http_get(f"http://127.0.0.1:{port}/metrics")
            own = own.decode()
            assert 'mgw_push_rejected_total{reason="invalid_payload"} 4' in own, own
            assert 'mgw_push_rejected_total{reason="wrong_app"} 1' in own
            assert 'mgw_push_rejected_total{reason="type_conflict"} 1' in own
            assert 'mgw_push_requests_total{code="202"} 2' in own


def test_plan_limits_answer_429_with_the_fields():
    with tempfile.TemporaryDirectory() as state, AppInstance(index=0) as instance:
        gateway, port = start(os.path.join(state, "broker.db"), instance)
        with gateway:
            key = provision_and_bind(port, SMALL, "fwd-s", "bind-s")["access_key"]
            endpoint = f"http://127.0.0.1:{port}/v1/metrics"
            # Both pushes in one 60 s window: start early in a minute.
            if time.time() % 60 > 50:
                time.sleep(61 - time.time() % 60)
            status, headers, _ = push(endpoint, key,
                                      metrics_body(APP, [gauge(f"g{i}", i) for i in range(8)]))
            assert status == 202
            fields = rate_fields(headers)
            assert fields["X-RateLimit-Limit"] == "1000"
            assert fields["X-RateLimit-Metrics-Limit"] == "10"
            assert fields["X-RateLimit-Metrics-Remaining"] == "2"
            assert fields["X-RateLimit-Retry-After"] == "0"
            status, headers, body = push(endpoint, key,
                                         metrics_body(APP, [gauge(f"h{i}", i) for i in range(3)]))
            assert status == 429, (status, body)
            fields = rate_fields(headers)
            assert fields["X-RateLimit-Metrics-Remaining"] == "2"
            assert 1 <= int(fields["X-RateLimit-Retry-After"]) <= 60
            assert json.loads(body)["error"].startswith(
                "rate limit: 10 metrics per minute, 2 left and this request has 3; retry in ")
            assert "h0{" not in scrape(port)[1]


if __name__ == "__main__":
    run_tests([test_bind_push_scrape_restart_unbind,
               test_bad_pushes_are_refused_exactly_and_change_nothing,
               test_plan_limits_answer_429_with_the_fields])
