#!/usr/bin/env python3
"""Reproductions of gateway bugs found by the app-metrics acceptance tests; not run by ctest.
Each prints what it sees and exits 1 while the bug is present, 0 once it is fixed.

    MGW_BINARY=build/metrics-gateway python3 repro_gateway_bugs.py nats-threads
        With threads >= 2 the gateway's NATS connection drops by itself under a steady publish
        rate: nats.c's natsConnection_ProcessWriteEvent is called with an empty write buffer
        (strace: send(fd, "", 0) = 0 right after the PONG or SUB it had just flushed), nats.c
        takes the 0 for a closed connection, closes the socket, reconnects 2 s later, and every
        router.register published meanwhile is lost.

    MGW_BINARY=build/metrics-gateway python3 repro_gateway_bugs.py prune-threshold
        routes.stale_threshold below the advertised register interval: the gateway answers
        router.greet with minimumRegisterIntervalInSeconds 20 and pruneThresholdInSeconds 20,
        but prunes with the configured 5 s, so an emitter that re-registers every 20 s as told
        loses its route at the prune tick (gorouter raises the threshold to the interval).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, free_port, http_get  # noqa: E402
from instances import AppInstance, app_tags, parse_samples  # noqa: E402
from peers import NatsClient, NatsServer, register_message  # noqa: E402


def gateway_with_nats(nats, extra):
    port, health_port = free_port(), free_port()
    gateway = Gateway(f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                      f"nats: {{ servers: [{nats.url}] }}\n" + extra)
    gateway.wait_ready(port)
    return gateway, port


def greet(client):
    deadline = time.monotonic() + 10
    while True:
        try:
            return json.loads(client.request("router.greet", b"", timeout=1))
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def counter(port, prefix):
    _, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    return sum(s.value for s in parse_samples(body.decode()) if s.line.startswith(prefix))


def nats_threads(threads=4, count=300):
    nats = NatsServer()
    gateway, port = gateway_with_nats(nats, f"threads: {threads}\n")
    client = NatsClient(nats.port)
    try:
        greet(client)
        for i in range(count):
            client.publish("router.register", register_message(
                "127.0.0.1", 20000 + i, [f"app{i}.example.com"], app_tags("o", "s", f"a{i}")))
            time.sleep(0.01)
        client.flush()
        time.sleep(1)
        received = counter(port, 'mgw_nats_messages_total{subject="router.register"}')
        disconnects = counter(port, "mgw_nats_disconnects_total")
        print(f"threads={threads}: published {count} router.register, gateway received "
              f"{received:.0f}, mgw_nats_disconnects_total {disconnects:.0f} "
              "(nats-server never stopped)")
        return 0 if received == count and disconnects == 0 else 1
    finally:
        client.close()
        gateway.stop()
        nats.stop()


def prune_threshold():
    nats = NatsServer()
    instance = AppInstance(index=0)
    gateway, port = gateway_with_nats(nats, "threads: 1\nroutes: { stale_threshold: 5s }\n")
    client = NatsClient(nats.port)
    try:
        advertised = greet(client)
        print(f"router.greet reply: {advertised}")
        interval = advertised["minimumRegisterIntervalInSeconds"]
        message = register_message("127.0.0.1", instance.port, ["flap.example.com"],
                                   app_tags("acme", "prod", "flap", 0))
        started, next_emit = time.monotonic(), 0.0
        while time.monotonic() - started < 34:
            if time.monotonic() - started >= next_emit:
                client.publish("router.register", message)
                client.flush()
                print(f"{time.monotonic() - started:5.1f}s router.register (every {interval}s, "
                      "as advertised)")
                next_emit += interval
            time.sleep(0.5)
        status, _, body = http_get(f"http://127.0.0.1:{port}/v2/apps/acme/prod/flap/metrics")
        print(f"{time.monotonic() - started:5.1f}s merged endpoint: {status} {body[:70]!r}")
        return 0 if status == 200 else 1
    finally:
        client.close()
        gateway.stop()
        nats.stop()
        instance.stop()


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which == "nats-threads":
        sys.exit(nats_threads())
    if which == "prune-threshold":
        sys.exit(prune_threshold())
    print(__doc__)
    sys.exit(2)
