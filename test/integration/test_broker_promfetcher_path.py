"""Promfetcher's broker feature end to end: `cf bind-service app promfetcher -c
'{"endpoint":"/actuator/prometheus"}'` makes the gateway scrape the app's instances at that path,
across a restart, until the binding is deleted (then /metrics again); `metric_path=` in the
request still wins."""

import base64
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, broker_request, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, static_routes_yaml  # noqa: E402

PROMFETCHER = "e44a55b7-b532-4247-89f3-4ea92054b793"
FETCH_APP = "3294e4fa-42b3-4505-b289-8fb3695b5b3a"
AUTH = "Basic " + base64.b64encode(b"cc:pw").decode()


def osb(port, method, path, body=None):
    """The status of a broker request."""
    return broker_request(port, method, path, body, AUTH)[0]


def test_bound_endpoint_is_the_scrape_path_until_unbound():
    instances = [AppInstance(index=i) for i in range(2)]
    tags = [app_tags(app="shop", index=i) for i in range(2)]
    app_guid = tags[0]["app_id"]
    routes = [("shop.example.com", "127.0.0.1", inst.port, tag)
              for inst, tag in zip(instances, tags)]
    with tempfile.TemporaryDirectory() as state:
        def start():
            port, health_port = free_port(), free_port()
            config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                      "threads: 2\n"
                      "broker: { enabled: true, username: cc, password: pw, "
                      f"database: {os.path.join(state, 'broker.db')} }}\n"
                      + static_routes_yaml(routes))
            gateway = Gateway(config)
            gateway.wait_ready(port)
            return gateway, port

        def scrape(port, query=""):
            for inst in instances:
                inst.clear_requests()
            status, _, body = http_get(f"http://127.0.0.1:{port}/v2/apps/{app_guid}/metrics"
                                       + query)
            assert status == 200, (status, body)
            assert b"demo_request_duration_seconds_bucket" in body, body[:200]
            return [sorted({r["path"] for r in inst.requests}) for inst in instances]

        try:
            gateway, port = start()
            with gateway:
                assert scrape(port) == [["/metrics"], ["/metrics"]]
                assert osb(port, "PUT", "/service_instances/prom-1",
                           {"service_id": PROMFETCHER, "plan_id": FETCH_APP,
                            "organization_guid": "org-guid", "space_guid": "space-guid"}) == 201
                assert osb(port, "PUT", "/service_instances/prom-1/service_bindings/b-1",
                           {"service_id": PROMFETCHER, "plan_id": FETCH_APP,
                            "bind_resource": {"app_guid": app_guid},
                            "parameters": {"endpoint": "/actuator/prometheus"}}) == 201
                assert scrape(port) == [["/actuator/prometheus"], ["/actuator/prometheus"]]
                # An explicit metric_path still wins.
                assert scrape(port, "?metric_path=/other") == [["/other"], ["/other"]]
                gateway.signal(signal.SIGTERM)
                assert gateway.wait(20) == 0

            gateway, port = start()
            with gateway:
                assert scrape(port) == [["/actuator/prometheus"], ["/actuator/prometheus"]]
                assert osb(port, "DELETE", "/service_instances/prom-1/service_bindings/b-1"
                           f"?service_id={PROMFETCHER}&plan_id={FETCH_APP}") == 200
                assert scrape(port) == [["/metrics"], ["/metrics"]]
        finally:
            for inst in instances:
                inst.stop()


if __name__ == "__main__":
    run_tests([test_bound_endpoint_is_the_scrape_path_until_unbound])
