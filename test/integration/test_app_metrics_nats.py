"""Routes learnt from a real nats-server, as gorouter learns them: the test plays route-emitter
over a raw NATS socket (router.register / router.unregister / router.greet), three real app
instances serve metrics, and the gateway's merged endpoint follows the registrations. The
nats-server is then restarted on the same port: the gateway reconnects, announces itself with
router.start, and learns the routes published after the restart."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import (AppInstance, app_tags, assert_cf_labels, parse_samples,  # noqa: E402
                       samples_named, wait_for)
from peers import NatsClient, NatsServer, register_message  # noqa: E402

URI = "api.apps.example.com"
# Several I/O threads on purpose: nats.c's event-loop callbacks then come from its own threads
# while the strand runs elsewhere. A stale writable edge once made nats.c send() zero bytes,
# read that as a closed socket and reconnect, losing what was published meanwhile;
# test_steady_publish_rate_loses_nothing catches that.
THREADS = int(os.environ.get("MGW_NATS_TEST_THREADS", "4"))


class World:
    def __init__(self):
        self.nats = NatsServer()
        self.instances = [AppInstance(index=i) for i in range(4)]
        self.tags = [app_tags("acme", "prod", "api", i) for i in range(4)]
        self.port, self.health_port = free_port(), free_port()
        config = (f"listen: 127.0.0.1:{self.port}\nhealth_listen: 127.0.0.1:{self.health_port}\n"
                  f"threads: {THREADS}\nlog: {{ level: debug }}\n"
                  f"nats: {{ servers: [{self.nats.url}] }}\n")
        self.gateway = Gateway(config)
        self.gateway.wait_ready(self.port)
        self.emitter = NatsClient(self.nats.port, name="route-emitter")

    def message(self, i, uris=(URI,)):
        return register_message("127.0.0.1", self.instances[i].port, uris, self.tags[i])

    def register(self, *indexes):
        for i in indexes:
            self.emitter.publish("router.register", self.message(i))
        self.emitter.flush()

    def unregister(self, *indexes):
        for i in indexes:
            self.emitter.publish("router.unregister", self.message(i))
        self.emitter.flush()

    def get(self, path, headers=None):
        return http_get(f"http://127.0.0.1:{self.port}{path}", headers, 10)

    def indexes(self, path="/v2/apps/acme/prod/api/metrics"):
        """Instance indexes in the merged answer, checking labels and values on the way."""
        status, _, body = self.get(path)
        if status != 200:
            return (status, body)
        samples = parse_samples(body.decode())
        found = set()
        for sample in samples_named(samples, "demo_temperature_celsius"):
            i = int(sample.label("index"))
            assert_cf_labels(sample, self.tags[i], self.instances[i].address)
            assert sample.value == 21.5 + i, sample.line
            found.add(i)
        return frozenset(found)

    def wait_indexes(self, expected, path="/v2/apps/acme/prod/api/metrics", timeout=10):
        expected = frozenset(expected)
        seen = []

        def done():
            seen.append(self.indexes(path))
            return seen[-1] == expected
        try:
            wait_for(done, timeout, what=f"instances {sorted(expected)} at {path}")
        except AssertionError as error:
            status, _, body = self.get(path)
            errors = [line for line in body.decode("utf-8", "replace").splitlines()
                      if line.startswith("promfetcher_scrape_error")]
            raise AssertionError(f"{error}; last seen {seen[-3:]}; now {status} {errors}; "
                                 f"gateway log:\n{self.gateway.output()[-3000:]}") from None

    def stop(self):
        self.emitter.close()
        self.gateway.stop()
        self.nats.stop()
        for instance in self.instances:
            instance.stop()


W = None


def greet(client):
    """Like route-emitter at startup: ask router.greet until a router answers."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return json.loads(client.request("router.greet", b"", timeout=1))
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_answers_router_greet():
    reply = greet(W.emitter)
    assert isinstance(reply["minimumRegisterIntervalInSeconds"], int), reply
    assert reply["minimumRegisterIntervalInSeconds"] > 0, reply
    assert reply["pruneThresholdInSeconds"] > 0, reply
    assert reply["pruneThresholdInSeconds"] >= reply["minimumRegisterIntervalInSeconds"], reply
    assert isinstance(reply["id"], str) and reply["id"], reply
    assert isinstance(reply["hosts"], list), reply


def test_registered_instances_are_merged():
    status, _, body = W.get("/v2/apps/acme/prod/api/metrics")
    assert status == 404, (status, body)  # nothing registered yet
    W.register(0, 1, 2)
    W.wait_indexes({0, 1, 2})
    # The same instances by app GUID and by route.
    W.wait_indexes({0, 1, 2}, f"/v2/apps/{W.tags[0]['app_id']}/metrics")
    W.wait_indexes({0, 1, 2}, f"/v1/apps/{URI}/metrics")
    # Every series of the app carries the nine labels.
    status, _, body = W.get("/v2/apps/acme/prod/api/metrics")
    for sample in parse_samples(body.decode()):
        if not sample.name.startswith("promfetcher_"):
            i = int(sample.label("index"))
            assert_cf_labels(sample, W.tags[i], W.instances[i].address)


def test_reregistration_is_idempotent_and_other_processes_are_ignored():
    W.register(0, 1, 2, 0, 1, 2)
    worker = app_tags("acme", "prod", "api", 7, process_type="worker")
    W.emitter.publish("router.register",
                      register_message("127.0.0.1", W.instances[3].port,
                                       ["api-worker.apps.internal"], worker))
    W.emitter.flush()
    time.sleep(0.3)
    assert W.indexes() == {0, 1, 2}
    status, _, body = W.get("/v2/apps/acme/prod/api/metrics")
    assert body.count(b"demo_temperature_celsius{") == 3, body


def test_bad_messages_are_dropped_without_harm():
    failed_before = gateway_counter("promfetch_scrape_route_failed_total")
    for payload in (b"{not json", b"[]", b'{"host":"127.0.0.1","port":99999,"uris":["x.example"]}',
                    json.dumps({"host": "127.0.0.1", "port": 1, "uris": [],
                                "tags": {"component": "route-emitter"}}).encode(),
                    json.dumps({"host": "127.0.0.1", "port": 1, "uris": ["a.example"],
                                "private_instance_index": 3}).encode(),
                    json.dumps({**W.message(0), "route_service_url": "http://plain"}).encode()):
        W.emitter.publish("router.register", payload)
        W.emitter.publish("router.unregister", payload)
    W.emitter.flush()
    time.sleep(0.3)
    assert W.gateway.process.poll() is None, W.gateway.output()[-2000:]
    assert W.indexes() == {0, 1, 2}
    # Promfetcher's route metrics work as named: every message that could not become a route
    # counts, and the latest applied message is recent.
    assert gateway_counter("promfetch_scrape_route_failed_total") - failed_before >= 6
    assert abs(time.time() - gateway_counter("promfetch_latest_time_scrape_route")) < 60


def test_unregister_removes_one_instance():
    W.unregister(1)
    W.wait_indexes({0, 2})
    W.wait_indexes({0, 2}, f"/v1/apps/{URI}/metrics")
    W.unregister(1)  # again: nothing left to remove, nothing breaks
    assert W.indexes() == {0, 2}


def gateway_counter(name):
    _, _, body = W.get("/metrics")
    return sum(s.value for s in parse_samples(body.decode()) if s.line.startswith(name))


def test_steady_publish_rate_loses_nothing():
    # Route-emitters re-send every route every 20 s: thousands of messages a minute. Spread over
    # ~5 s here, none may be lost and the connection must stay up.
    received = gateway_counter('mgw_nats_messages_total{subject="router.register"}')
    disconnects = gateway_counter("mgw_nats_disconnects_total")
    count = 250
    for i in range(count):
        tags = app_tags("load", "test", f"app{i}", 0)
        W.emitter.publish("router.register", register_message(
            "127.0.0.1", 20000 + i, [f"load{i}.apps.example.com"], tags))
        time.sleep(0.02)
    W.emitter.flush()
    wait_for(lambda: gateway_counter('mgw_nats_messages_total{subject="router.register"}')
             >= received + count, 5, what="every register counted")
    assert gateway_counter("mgw_nats_disconnects_total") == disconnects
    assert gateway_counter('mgw_nats_messages_total{subject="router.register"}') == \
        received + count
    for i in (0, count // 2, count - 1):
        # Found (200; the instance itself is refused). The table is republished in batches.
        wait_for(lambda: W.get(f"/v2/apps/load/test/app{i}/metrics")[0] == 200, 5,
                 what=f"load/test/app{i} in the route table")


def test_nats_restart_reconnects_and_relearns():
    # While NATS is down the gateway keeps serving from its table.
    W.emitter.close()
    W.nats.kill()
    time.sleep(0.5)
    assert W.indexes() == {0, 2}
    W.nats.start()
    # Play a freshly started route-emitter: connect and watch for router.start, which the
    # gateway publishes on every (re)connection so emitters re-send their routes at once.
    W.emitter = NatsClient(W.nats.port, name="route-emitter")
    _, starts = W.emitter.subscribe("router.start")
    W.emitter.flush()
    subject, _, payload = starts.get(timeout=20)
    start = json.loads(payload)
    assert start["minimumRegisterIntervalInSeconds"] > 0, start
    # Routes published after the restart are learnt, including one the gateway never saw.
    W.register(0, 1, 2, 3)
    W.wait_indexes({0, 1, 2, 3})
    assert greet(W.emitter)["minimumRegisterIntervalInSeconds"] > 0
    W.unregister(3)
    W.wait_indexes({0, 1, 2})
    status, _, body = W.get("/metrics")
    reconnects = samples_named(parse_samples(body.decode()), "mgw_nats_reconnects_total")
    assert reconnects and reconnects[0].value >= 1, reconnects


if __name__ == "__main__":
    W = World()
    try:
        run_tests([
            test_answers_router_greet,
            test_registered_instances_are_merged,
            test_reregistration_is_idempotent_and_other_processes_are_ignored,
            test_bad_messages_are_dropped_without_harm,
            test_unregister_removes_one_instance,
            test_steady_publish_rate_loses_nothing,
            test_nats_restart_reconnects_and_relearns,
        ])
    finally:
        if W.gateway.process.poll() is not None:
            print(W.gateway.output()[-3000:])
        W.stop()
