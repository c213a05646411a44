"""The service broker through the real binary: the Open Service Broker calls a Cloud Controller
makes (catalog, provision, bind both services, GET, unbind, deprovision), the status codes it
relies on (401, 412, 409, 410, 422), and a restart on the same SQLite file."""

import base64
import json
import os
import signal
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
UNLIMITED = "90197714-1698-46ce-b839-492957f4a15c"
SMALL = "0f7c1e0e-5d8e-4c43-9b36-3c1f6c3d9a01"
PROMFETCHER = "e44a55b7-b532-4247-89f3-4ea92054b793"
FETCH_APP = "3294e4fa-42b3-4505-b289-8fb3695b5b3a"
AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()


def broker_config(port, health_port, database):
    return f"""
listen: 127.0.0.1:{port}
health_listen: 127.0.0.1:{health_port}
threads: 2
log: {{ level: debug }}
broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {database}
  external_url: https://metrics.example.com/
  metrics_forwarder:
    plans:
      - {{ name: unlimited, id: {UNLIMITED} }}
      - {{ name: small, id: {SMALL}, requests_per_minute: 60, metrics_per_minute: 1000 }}
"""


class Broker:
    """An OSB client: what the Cloud Controller sends, with the answers as (status, json)."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}/broker/v2"

    def call(self, method, path, body=None, auth=AUTH, version="2.16"):
        headers = {}
        if auth is not None:
            headers["Authorization"] = auth
        if version is not None:
            headers["X-Broker-API-Version"] = version
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw, fields = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, fields = error.code, error.read(), error.headers
        assert fields["Content-Type"] == "application/json", (method, path, dict(fields))
        return status, json.loads(raw) if raw else None, fields


def provision_body(service, plan):
    return {"service_id": service, "plan_id": plan, "organization_guid": "org-guid",
            "space_guid": "space-guid",
            "context": {"platform": "cloudfoundry", "organization_guid": "org-guid",
                        "organization_name": "demo-org", "space_guid": "space-guid",
                        "space_name": "demo-space", "instance_name": "my-instance"}}


def bind_body(service, plan, app, parameters=None):
    body = {"service_id": service, "plan_id": plan, "bind_resource": {"app_guid": app},
            "context": {"platform": "cloudfoundry", "space_name": "demo-space"}}
    if parameters is not None:
        body["parameters"] = parameters
    return body


def start(database):
    port, health_port = free_port(), free_port()
    gateway = Gateway(broker_config(port, health_port, database))
    gateway.wait_ready(port)
    return gateway, Broker(port), port


def test_catalog_lists_both_services():
    with tempfile.TemporaryDirectory() as state:
        gateway, broker, _ = start(os.path.join(state, "broker.db"))
        with gateway:
            status, catalog, _ = broker.call("GET", "/catalog")
            assert status == 200
            services = {s["name"]: s for s in catalog["services"]}
            assert set(services) == {"promfetcher", "metrics-forwarder"}
            assert services["promfetcher"]["id"] == PROMFETCHER
            assert [p["name"] for p in services["promfetcher"]["plans"]] == ["fetch-app"]
            assert services["promfetcher"]["plans"][0]["id"] == FETCH_APP
            forwarder = services["metrics-forwarder"]
            assert forwarder["id"] == FORWARDER
            assert [(p["name"], p["id"]) for p in forwarder["plans"]] == [
                ("unlimited", UNLIMITED), ("small", SMALL)]
            assert forwarder["plans"][1]["metadata"]["bullets"] == [
                "60 requests per minute", "1000 metrics per minute"]
            for service in catalog["services"]:
                assert service["bindable"] and service["bindings_retrievable"]


def test_auth_and_version_are_checked_first():
    with tempfile.TemporaryDirectory() as state:
        gateway, broker, port = start(os.path.join(state, "broker.db"))
        with gateway:
            status, body, fields = broker.call("GET", "/catalog", auth=None)
            assert status == 401, status
            assert fields["WWW-Authenticate"].startswith("Basic")
            wrong = "Basic " + base64.b64encode(b"cc:guess").decode()
            assert broker.call("GET", "/catalog", auth=wrong)[0] == 401
            assert broker.call("PUT", "/service_instances/x",
                               provision_body(FORWARDER, UNLIMITED), auth=None)[0] == 401

            status, body, _ = broker.call("GET", "/catalog", version=None)
            assert (status, body["error"]) == (412, "PreconditionFailed"), (status, body)
            status, body, _ = broker.call("GET", "/catalog", version="1.13")
            assert status == 412
            assert body["description"] == \
                "X-Broker-API-Version 1.13 is not supported (expected 2.x)"
            # Nothing was created by the refused requests.
            assert broker.call("GET", "/service_instances/x")[0] == 404

            status, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
            text = body.decode()
            assert 'mgw_broker_requests_total{code="401",operation="catalog"} 2' in text, text
            assert 'mgw_broker_requests_total{code="412",operation="catalog"} 2' in text


def test_provision_bind_get_unbind_deprovision():
    with tempfile.TemporaryDirectory() as state:
        gateway, broker, port = start(os.path.join(state, "broker.db"))
        with gateway:
            # Provision: 201, identical again 200, different 409, unknown plan 400.
            body = provision_body(FORWARDER, SMALL)
            assert broker.call("PUT", "/service_instances/fwd-1", body)[:2] == (201, {})
            assert broker.call("PUT", "/service_instances/fwd-1", body)[:2] == (200, {})
            status, error, _ = broker.call("PUT", "/service_instances/fwd-1",
                                           provision_body(FORWARDER, UNLIMITED))
            assert status == 409, (status, error)
            status, error, _ = broker.call("PUT", "/service_instances/fwd-2",
                                           provision_body(FORWARDER, FETCH_APP))
            assert status == 400 and "unknown plan_id" in error["description"], error
            status, error, _ = broker.call("PUT", "/service_instances/fwd-2", b"{oops")
            assert status == 400 and error["error"] == "BadRequest", error
            # Broker bodies are small: over 64 KiB is a 413 (the 65 KiB fit in the socket
            # buffers, so the client always gets to read the answer).
            oversized = urllib.request.Request(
                broker.base + "/service_instances/fwd-2", method="PUT",
                data=b'{"parameters":"' + b"x" * (65 * 1024) + b'"}',
                headers={"Authorization": AUTH, "X-Broker-API-Version": "2.16"})
            try:
                urllib.request.urlopen(oversized, timeout=10)
                raise AssertionError("oversized body accepted")
            except urllib.error.HTTPError as refused:
                assert refused.code == 413, refused.code
            assert broker.call("GET", "/service_instances/fwd-2")[0] == 404
            assert broker.call("PUT", "/service_instances/prom-1",
                               provision_body(PROMFETCHER, FETCH_APP))[0] == 201

            status, instance, _ = broker.call("GET", "/service_instances/fwd-1")
            assert status == 200
            assert (instance["service_id"], instance["plan_id"]) == (FORWARDER, SMALL)
            assert broker.call("GET", "/service_instances/fwd-1", version="2.13")[0] == 412
            status, op, _ = broker.call("GET", "/service_instances/fwd-1/last_operation")
            assert (status, op) == (200, {"state": "succeeded"})

            # Bind the forwarder: endpoint + a 128-bit key.
            path = "/service_instances/fwd-1/service_bindings/bind-1"
            status, answer, _ = broker.call("PUT", path, bind_body(FORWARDER, SMALL, "app-1"))
            assert status == 201, answer
            credentials = answer["credentials"]
            assert credentials["endpoint"] == "https://metrics.example.com/v1/metrics"
            key = credentials["access_key"]
            assert len(key.replace("-", "")) == 32 and int(key.replace("-", ""), 16) >= 0
            status, fetched, _ = broker.call("GET", path)
            assert status == 200
            assert fetched == {"credentials": {"endpoint":
                                               "https://metrics.example.com/v1/metrics"},
                               "parameters": {}}
            assert broker.call("GET", path + "/last_operation")[:2] == \
                (200, {"state": "succeeded"})
            # Same binding again: 200 and a new key; another app: 409.
            status, again, _ = broker.call("PUT", path, bind_body(FORWARDER, SMALL, "app-1"))
            assert status == 200
            assert again["credentials"]["access_key"] != key
            assert broker.call("PUT", path, bind_body(FORWARDER, SMALL, "app-2"))[0] == 409

            # 422: no app, unknown forwarder parameters, a promfetcher endpoint that is no path.
            status, error, _ = broker.call(
                "PUT", "/service_instances/fwd-1/service_bindings/bind-2",
                {"service_id": FORWARDER, "plan_id": SMALL})
            assert (status, error["error"]) == (422, "RequiresApp"), error
            status, error, _ = broker.call(
                "PUT", "/service_instances/fwd-1/service_bindings/bind-2",
                bind_body(FORWARDER, SMALL, "app-1", {"burst": 10}))
            assert (status, error["error"]) == (422, "InvalidParameters"), error
            status, error, _ = broker.call(
                "PUT", "/service_instances/prom-1/service_bindings/pbind-1",
                bind_body(PROMFETCHER, FETCH_APP, "app-1", {"endpoint": "http://evil/x"}))
            assert (status, error["error"]) == (422, "InvalidParameters"), error

            # Bind promfetcher with a custom path (Promfetcher's `cf bind-service -c`).
            ppath = "/service_instances/prom-1/service_bindings/pbind-1"
            status, answer, _ = broker.call(
                "PUT", ppath, bind_body(PROMFETCHER, FETCH_APP, "app-1",
                                        {"endpoint": "/actuator/prometheus"}))
            assert (status, answer) == (201, {"credentials":
                                              {"endpoint": "/actuator/prometheus"}}), answer
            status, fetched, _ = broker.call("GET", ppath)
            assert status == 200
            assert fetched["credentials"] == {"endpoint": "/actuator/prometheus"}
            assert fetched["parameters"] == {"endpoint": "/actuator/prometheus"}

            # Unbind and deprovision: 200, then 410; service_id/plan_id are required.
            query = f"?service_id={FORWARDER}&plan_id={SMALL}"
            assert broker.call("DELETE", path)[0] == 400
            assert broker.call("DELETE", path + query)[:2] == (200, {})
            assert broker.call("DELETE", path + query)[0] == 410
            assert broker.call("GET", path)[0] == 404
            assert broker.call("GET", path + "/last_operation")[0] == 410
            assert broker.call("DELETE", "/service_instances/fwd-1" + query)[:2] == (200, {})
            assert broker.call("DELETE", "/service_instances/fwd-1" + query)[0] == 410
            assert broker.call("GET", "/service_instances/fwd-1/last_operation")[0] == 410

            status, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
            text = body.decode()
            assert 'mgw_broker_bindings{service="metrics-forwarder"} 0' in text, text
            assert 'mgw_broker_bindings{service="promfetcher"} 1' in text
            assert "mgw_broker_access_keys_issued_total 2" in text
            assert "mgw_broker_access_keys_revoked_total 2" in text
            assert 'mgw_broker_requests_total{code="409",operation="bind"} 1' in text


def test_state_survives_a_kill_and_a_restart_and_the_file_is_locked_while_served():
    with tempfile.TemporaryDirectory() as state:
        database = os.path.join(state, "broker.db")
        gateway, broker, _ = start(database)
        with gateway:
            assert broker.call("PUT", "/service_instances/fwd-1",
                               provision_body(FORWARDER, UNLIMITED))[0] == 201
            assert broker.call("PUT", "/service_instances/prom-1",
                               provision_body(PROMFETCHER, FETCH_APP))[0] == 201
            status, answer, _ = broker.call("PUT",
                                            "/service_instances/fwd-1/service_bindings/b-1",
                                            bind_body(FORWARDER, UNLIMITED, "app-1"))
            assert status == 201
            assert broker.call("PUT", "/service_instances/prom-1/service_bindings/p-1",
                               bind_body(PROMFETCHER, FETCH_APP, "app-1",
                                         {"endpoint": "/prom"}))[0] == 201

            # A second gateway on the same file would serve a stale index: it must not start.
            second = Gateway(broker_config(free_port(), free_port(), database))
            try:
                assert second.wait(15) == 1
                assert "database is locked" in second.output(), second.output()
            finally:
                second.stop()

            # Killed outright: every answered request must already be on disk.
            gateway.signal(signal.SIGKILL)
            assert gateway.wait(20) == -signal.SIGKILL

        gateway, broker, _ = start(database)
        with gateway:
            assert broker.call("GET", "/service_instances/fwd-1")[:2] == (
                200, {"service_id": FORWARDER, "plan_id": UNLIMITED, "parameters": {}})
            status, fetched, _ = broker.call("GET",
                                             "/service_instances/fwd-1/service_bindings/b-1")
            assert status == 200
            assert fetched["credentials"] == {"endpoint":
                                              "https://metrics.example.com/v1/metrics"}
            status, fetched, _ = broker.call("GET",
                                             "/service_instances/prom-1/service_bindings/p-1")
            assert (status, fetched["credentials"]) == (200, {"endpoint": "/prom"})
            # The Cloud Controller retrying the provision sees the instance it created.
            assert broker.call("PUT", "/service_instances/fwd-1",
                               provision_body(FORWARDER, UNLIMITED))[0] == 200
            assert broker.call("DELETE", "/service_instances/fwd-1/service_bindings/b-1"
                               f"?service_id={FORWARDER}&plan_id={UNLIMITED}")[0] == 200
            gateway.signal(signal.SIGTERM)
            assert gateway.wait(20) == 0

        gateway, broker, _ = start(database)
        with gateway:
            assert broker.call("GET", "/service_instances/fwd-1/service_bindings/b-1")[0] == 404
            assert broker.call("GET", "/service_instances/prom-1/service_bindings/p-1")[0] == 200


def raw_request(port, head, body_chunks):
    """Sends `head` then each chunk as it is (no framing added); returns (status, body)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-body: the answer is already waiting
        response = b""
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            response += data
    head_part, _, body = response.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), head_part.decode(), body


def test_every_broker_route_has_the_body_limit_however_the_body_comes():
    """One 64 KiB limit on every broker route, announced (Content-Length) or chunked."""
    with tempfile.TemporaryDirectory() as state:
        gateway, broker, port = start(os.path.join(state, "broker.db"))
        with gateway:
            auth = f"Authorization: {AUTH}\r\nX-Broker-API-Version: 2.14\r\n"
            oversized = b'{"parameters":{"x":"' + b"x" * (65 * 1024) + b'"}}'
            for method, path in (("PUT", "/service_instances/big-1"),
                                 ("PATCH", "/service_instances/big-1"),
                                 ("PUT", "/service_instances/big-1/service_bindings/b")):
                status, head, body = raw_request(
                    port, f"{method} /broker/v2{path} HTTP/1.1\r\nHost: x\r\n{auth}"
                          f"Content-Type: application/json\r\n"
                          f"Content-Length: {len(oversized)}\r\n\r\n", [oversized])
                assert status == 413, (method, path, head)
                # Refused before the body is read, and still an OSB error object.
                assert json.loads(body)["error"] == "PayloadTooLarge", body
                chunks = [b"%x\r\n%s\r\n" % (8192, b"x" * 8192)] * 9 + [b"0\r\n\r\n"]
                status, head, _ = raw_request(
                    port, f"{method} /broker/v2{path} HTTP/1.1\r\nHost: x\r\n{auth}"
                          "Transfer-Encoding: chunked\r\n\r\n", chunks)
                assert status == 413, (method, path, "chunked", head)
            assert broker.call("GET", "/service_instances/big-1")[0] == 404


def test_unusable_database_stops_the_gateway():
    port, health_port = free_port(), free_port()
    gateway = Gateway(broker_config(port, health_port, "/nonexistent-dir/broker.db"))
    try:
        assert gateway.wait(15) == 1
        assert "cannot open" in gateway.output(), gateway.output()
    finally:
        gateway.stop()


if __name__ == "__main__":
    run_tests([test_catalog_lists_both_services, test_auth_and_version_are_checked_first,
               test_provision_bind_get_unbind_deprovision,
               test_state_survives_a_kill_and_a_restart_and_the_file_is_locked_while_served,
               test_every_broker_route_has_the_body_limit_however_the_body_comes,
               test_unusable_database_stops_the_gateway])
