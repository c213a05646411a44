"""Stale NATS routes are pruned, as gorouter prunes them (Promfetcher never did: its bug 1).

A real nats-server, three registrations of acme/prod/stale on one route: instance 0 is
re-registered every 2 s (a live route-emitter), instance 1 is registered once and then forgotten
(a lost unregister: the cell died), and a TLS-only endpoint (tls_port set) is registered once.
With routes.stale_threshold 20s, the prune tick (every 30 s) removes instance 1 only: live routes
stay, and TLS endpoints are never time-pruned. Takes about 35 s."""

import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, parse_samples, samples_named  # noqa: E402
from peers import NatsClient, NatsServer, register_message  # noqa: E402

URI = "stale.apps.example.com"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"ops:pw").decode()}


def test_stale_routes_pruned_live_and_tls_kept():
    nats = NatsServer()
    instances = [AppInstance(index=i) for i in range(2)]
    tags = [app_tags("acme", "prod", "stale", i) for i in range(3)]
    port, health_port = free_port(), free_port()
    gateway = Gateway(f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                      "threads: 1\nlog: { level: debug }\n"
                      f"nats: {{ servers: [{nats.url}] }}\n"
                      "routes: { stale_threshold: 20s }\n"
                      "routes_api: { username: ops, password: pw }\n")
    emitter = None
    try:
        gateway.wait_ready(port)
        emitter = NatsClient(nats.port, name="route-emitter")
        deadline = time.monotonic() + 10
        while True:
            try:
                greet = json.loads(emitter.request("router.greet", b"", timeout=1))
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        assert greet["pruneThresholdInSeconds"] >= greet["minimumRegisterIntervalInSeconds"]

        live = register_message("127.0.0.1", instances[0].port, [URI], tags[0])
        forgotten = register_message("127.0.0.1", instances[1].port, [URI], tags[1])
        tls_only = register_message("127.0.0.1", 0, [URI], tags[2])
        tls_only["tls_port"] = free_port()
        for message in (live, forgotten, tls_only):
            emitter.publish("router.register", message)
        emitter.flush()

        def addresses():
            status, _, body = http_get(f"http://127.0.0.1:{port}/routes", AUTH)
            assert status == 200, (status, body)
            return sorted(e["address"] for e in json.loads(body).get(URI, []))

        def merged_indexes():
            status, _, body = http_get(f"http://127.0.0.1:{port}/v2/apps/acme/prod/stale/metrics")
            assert status == 200, (status, body)
            return sorted(s.label("index") for s in samples_named(
                parse_samples(body.decode()), "mgw_scrape_up"))

        everything = sorted([instances[0].address, instances[1].address,
                             f"127.0.0.1:{tls_only['tls_port']}"])
        started = time.monotonic()
        pruned_at = None
        while time.monotonic() - started < 45:
            emitter.publish("router.register", live)  # instance 0 stays alive
            emitter.flush()
            time.sleep(2)
            current = addresses()
            if current == everything:
                continue
            pruned_at = time.monotonic() - started
            break
        assert pruned_at is not None, "nothing was pruned within 45 s"
        print(f"  pruned after {pruned_at:.1f}s")
        # Not before the stale threshold, at the first prune tick after it.
        assert 20 <= pruned_at <= 40, pruned_at
        assert current == sorted([instances[0].address, f"127.0.0.1:{tls_only['tls_port']}"]), \
            current
        assert merged_indexes() == ["0", "2"]  # the TLS one is still scraped (and fails)
        status, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
        pruned = samples_named(parse_samples(body.decode()), "mgw_routes_pruned_total")
        assert pruned and pruned[0].value == 1, pruned
        # A pruned instance comes back with its next registration.
        emitter.publish("router.register", forgotten)
        emitter.flush()
        deadline = time.monotonic() + 5
        while addresses() != everything:
            assert time.monotonic() < deadline, addresses()
            time.sleep(0.1)
    except BaseException:
        print(gateway.output()[-3000:])
        raise
    finally:
        if emitter is not None:
            emitter.close()
        gateway.stop()
        nats.stop()
        for instance in instances:
            instance.stop()


if __name__ == "__main__":
    run_tests([test_stale_routes_pruned_live_and_tls_kept])
