"""Push timestamps against the real binary. A metric stamped far from the gateway's clock, ahead
or behind, is a 422 naming its field and stores nothing; within the window a later push always
replaces the value, whatever its timestamp says. Before, one push stamped in the future froze
its series: every later push got 202, was ignored, and renewed the frozen value's expiry. The
Java buildpack's and Steeltoe's payloads (test fixtures), stamped as they stamp them (the time
they read their meters), are accepted and served."""

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, broker_request, free_port, http_get, run_tests  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
PLAN = "90197714-1698-46ce-b839-492957f4a15c"
AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
APP = "c1f2e3d4-0000-4abc-8def-123456789abc"  # Steeltoe's fixture's app
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "unit", "push", "fixtures")
METRIC = "applications[0].instances[0].metrics[0]"


def now_ms():
    return int(time.time() * 1000)


class World:
    def __init__(self):
        self.port, self.health_port = free_port(), free_port()
        self.gateway = Gateway(
            f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
            "threads: 2\nlog: { level: info, access: false }\n"
            "push: { enabled: true, ttl: 5m }\n"
            "broker: { enabled: true, username: cc, password: broker-secret }\n")
        self.gateway.wait_ready(self.port)
        body = {"service_id": FORWARDER, "plan_id": PLAN, "organization_guid": "org-guid",
                "space_guid": "space-guid"}
        assert self.osb("PUT", "/service_instances/si-1", body)[0] == 201
        status, answer = self.osb("PUT", "/service_instances/si-1/service_bindings/sb-1",
                                  {"service_id": FORWARDER, "plan_id": PLAN,
                                   "bind_resource": {"app_guid": APP}})
        assert status == 201, answer
        self.key = answer["credentials"]["access_key"]

    def osb(self, method, path, body):
        return broker_request(self.port, method, path, body, AUTH)

    def push(self, body):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/metrics", data=json.dumps(body).encode(),
            method="POST", headers={"Authorization": self.key,
                                    "Content-Type": "application/json;charset=UTF-8"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def served(self, name):
        """{labels text: value} of the pushed series `name` in the app's answer."""
        status, _, body = http_get(f"http://127.0.0.1:{self.port}/v2/apps/{APP}/metrics")
        if status == 404:  # nothing pushed (or all expired): the app is unknown
            return {}
        assert status == 200, (status, body[:200])
        out = {}
        for line in body.decode().splitlines():
            if line.startswith(name + "{"):
                labels, value = line[len(name):].rsplit(" ", 1)
                out[labels] = value
        return out

    def stop(self):
        self.gateway.stop()


W = None


def gauge(name, value, timestamp):
    return {"applications": [{"id": APP, "instances": [{"id": "i", "index": "0", "metrics": [
        {"name": name, "type": "gauge", "value": value, "timestamp": timestamp}]}]}]}


def values(name):
    return list(W.served(name).values())


def test_a_far_future_timestamp_is_refused_naming_the_field():
    status, body = W.push(gauge("future.gauge", 1, now_ms() + 24 * 3600 * 1000))
    assert status == 422, (status, body)
    answer = json.loads(body)
    assert answer["field"] == METRIC + ".timestamp", answer
    assert " after the gateway's clock" in answer["error"], answer
    assert values("future_gauge") == []


def test_a_stale_timestamp_is_refused_naming_the_field():
    status, body = W.push(gauge("stale.gauge", 1, now_ms() - 2 * 3600 * 1000))
    assert status == 422, (status, body)
    answer = json.loads(body)
    assert answer["field"] == METRIC + ".timestamp", answer
    assert "2 h before the gateway's clock" in answer["error"], answer
    assert values("stale_gauge") == []


def test_a_later_push_replaces_the_value_whatever_its_timestamp():
    # Ahead of the clock but inside the window: accepted and served.
    assert W.push(gauge("queue.depth", 10, now_ms() + 4 * 60 * 1000))[0] == 202
    assert values("queue_depth") == ["10"]
    # The next push carries an earlier timestamp (the client's clock was corrected): a 202
    # means it is served, not held back behind the earlier one until that one expires.
    for value in (11, 12):
        assert W.push(gauge("queue.depth", value, now_ms()))[0] == 202
        assert values("queue_depth") == [str(value)]
    # Without a timestamp: the gateway's clock, and it is served too.
    body = gauge("queue.depth", 13, 0)
    del body["applications"][0]["instances"][0]["metrics"][0]["timestamp"]
    assert W.push(body)[0] == 202
    assert values("queue_depth") == ["13"]


def fixture_stamped_now(name):
    with open(os.path.join(FIXTURES, name)) as f:
        body = json.load(f)
    stamp = now_ms() - 2000
    for application in body["applications"]:
        application["id"] = APP
        for instance in application["instances"]:
            for metric in instance["metrics"]:
                metric["timestamp"] = stamp
    return body


def test_the_clients_payloads_stamped_as_they_stamp_them_are_served():
    for name, served_name in (("java_metric_writer.json", "jvm_memory_used"),
                              ("steeltoe.json", "clr_memory_used")):
        status, body = W.push(fixture_stamped_now(name))
        assert status == 202, (name, status, body)
        assert values(served_name), (name, W.served(served_name))
    # The fixtures as written (stamped in 2017) are refused, naming the first metric.
    with open(os.path.join(FIXTURES, "steeltoe.json")) as f:
        status, body = W.push(json.load(f))
    assert status == 422, status
    assert json.loads(body)["field"] == METRIC + ".timestamp"


if __name__ == "__main__":
    W = World()
    try:
        run_tests([test_a_far_future_timestamp_is_refused_naming_the_field,
                   test_a_stale_timestamp_is_refused_naming_the_field,
                   test_a_later_push_replaces_the_value_whatever_its_timestamp,
                   test_the_clients_payloads_stamped_as_they_stamp_them_are_served])
    finally:
        W.stop()
