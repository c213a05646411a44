"""A route re-registered at the interval the gateway announces is never pruned, whatever a
lower routes.stale_threshold says (gorouter raises the threshold likewise). The gateway answers
router.greet with minimumRegisterIntervalInSeconds 20; an emitter that obeys must keep its
route across the 30 s prune tick even with routes.stale_threshold: 5s. Takes about 35 s."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags  # noqa: E402
from peers import NatsClient, NatsServer, register_message  # noqa: E402


def greet(client):
    deadline = time.monotonic() + 10
    while True:
        try:
            return json.loads(client.request("router.greet", b"", timeout=1))
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_route_registered_at_the_announced_interval_survives_prune_tick():
    nats = NatsServer()
    instance = AppInstance(index=0)
    port, health_port = free_port(), free_port()
    gateway = Gateway(f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                      f"nats: {{ servers: [{nats.url}] }}\nthreads: 2\n"
                      "routes: { stale_threshold: 5s }\n")
    client = None
    try:
        gateway.wait_ready(port)
        client = NatsClient(nats.port)
        announced = greet(client)
        interval = announced["minimumRegisterIntervalInSeconds"]
        assert interval >= 1, announced
        assert announced["pruneThresholdInSeconds"] >= interval, announced
        message = register_message("127.0.0.1", instance.port, ["flap.example.com"],
                                   app_tags("acme", "prod", "flap", 0))
        started, next_emit = time.monotonic(), 0.0
        # Past the first prune tick (30 s after start), re-registering only as often as told.
        while time.monotonic() - started < 34:
            if time.monotonic() - started >= next_emit:
                client.publish("router.register", message)
                client.flush()
                next_emit += interval
            time.sleep(0.5)
        status, _, body = http_get(f"http://127.0.0.1:{port}/v2/apps/acme/prod/flap/metrics")
        assert status == 200, (status, body[:200])
    finally:
        if client is not None:
            client.close()
        gateway.stop()
        nats.stop()
        instance.stop()


if __name__ == "__main__":
    run_tests([test_route_registered_at_the_announced_interval_survives_prune_tick])
