"""Cluster mode, shared broker bindings (issue 15), what the three-server scenario does not
cover: a node that served single-node (its bindings only in its SQLite) restarted in cluster
mode puts them into the JetStream KV bucket, so the key it issued before works on another node
at once, and a second start finds them there (idempotent); PATCH through one node changes the
instance on every node. One nats-server with JetStream, two gateways; every process started here
is stopped here; all on loopback ports below the ephemeral range. /status shows the shared
store."""

import base64
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
from harness import Gateway, free_port, port_open, run_tests, wait_until  # noqa: E402
from peers import NATS_SERVER  # noqa: E402
from cluster_checks import FORWARDER, broker_section, osb, push  # noqa: E402

SMALL = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
APP = "6f0c4a2e-1b7d-4c3a-9e58-2d1f0a9b8c7e"


def gateway(name, database, nats_url=None):
    port, health_port = free_port(), free_port()
    cluster = "" if nats_url is None else f"""
nats: {{ servers: [{nats_url}] }}
cluster:
  enabled: true
  name: itest
  node_id: {name}
  heartbeat: 500ms
  bindings: {{ store: kv, replicas: 1 }}
"""
    config = f"""
listen: 127.0.0.1:{port}
health_listen: 127.0.0.1:{health_port}
threads: 2
log: {{ level: info, format: text, access: false }}
routes_api: {{ username: ops, password: ops-secret }}
{cluster}
{broker_section(database, ('small', SMALL, 6000, 60000))}"""
    g = Gateway(config)
    g.wait_ready(port, timeout=20)
    g.port = port
    return g


def import_line(g):
    """The numbers of the import's single log line, once it is there."""
    lines = [line for line in g.output().splitlines() if "local records imported" in line]
    if not lines:
        return None
    assert len(lines) == 1, lines
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[0])}


def test_pre_cluster_bindings_are_imported_and_patch_is_shared():
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mgw-cimport-") as workdir:
        nats_port = free_port()
        nats_log = open(os.path.join(workdir, "nats.log"), "wb")
        nats = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(nats_port), "-js",
                                 "-sd", os.path.join(workdir, "js")],
                                stdout=nats_log, stderr=subprocess.STDOUT)
        nats_url = f"nats://127.0.0.1:{nats_port}"
        g1_db = os.path.join(workdir, "g1.db")
        running = []
        passed = False
        try:
            wait_until(lambda: port_open(nats_port), 10, what="nats-server")
            # Single-node days: g1 alone, its bindings in its SQLite only.
            g1 = gateway("g1", g1_db)
            running.append(g1)
            status, answer = osb(g1.port, "PUT", "/service_instances/old-1",
                                 {"service_id": FORWARDER, "plan_id": SMALL,
                                  "organization_guid": "org-1", "space_guid": "space-1"})
            assert status == 201, answer
            status, answer = osb(g1.port, "PUT", "/service_instances/old-1/service_bindings/ob-1",
                                 {"service_id": FORWARDER, "plan_id": SMALL,
                                  "bind_resource": {"app_guid": APP}})
            assert status == 201, answer
            old_key = answer["credentials"]["access_key"]
            assert push(g1.port, old_key, APP) == 202
            g1.stop()
            running.remove(g1)

            # Cluster mode: g1 with its old database, g2 new. g1's key works on g2.
            g1 = gateway("g1", g1_db, nats_url)
            running.append(g1)
            g2 = gateway("g2", os.path.join(workdir, "g2.db"), nats_url)
            running.append(g2)
            wait_until(lambda: import_line(g1) is not None, 10, what="g1's import logged")
            assert import_line(g1) == {"created": 2, "present": 0, "conflict": 0, "deleted": 0,
                                       "unavailable": 0, "failed": 0}, import_line(g1)
            wait_until(lambda: push(g2.port, old_key, APP) == 202, 5, interval=0.05,
                       what="the pre-cluster key accepted on g2")
            assert push(g1.port, old_key, APP) == 202
            # g2's cache holds only what its watch brought: all present, nothing written.
            assert import_line(g2) == {"created": 0, "present": 2, "conflict": 0, "deleted": 0,
                                       "unavailable": 0, "failed": 0}, import_line(g2)
            # The instance made before is the cluster's too: the same provision on g2 is 200.
            status, answer = osb(g2.port, "PUT", "/service_instances/old-1",
                                 {"service_id": FORWARDER, "plan_id": SMALL,
                                  "organization_guid": "org-1", "space_guid": "space-1"})
            assert status == 200, answer

            # /status shows the shared store, its last change and JetStream answering.
            status_request = urllib.request.Request(
                f"http://127.0.0.1:{g2.port}/status",
                headers={"Authorization": "Basic " + base64.b64encode(b"ops:ops-secret").decode()})
            with urllib.request.urlopen(status_request, timeout=10) as r:
                page = r.read().decode()
            assert "kv: bucket mgw_itest_bindings, 1 instances, 1 bindings" in page, page
            assert '<dt>JetStream</dt><dd class="ok">reachable</dd>' in page, page
            assert "<dt>Last change applied</dt><dd>revision " in page, page

            # PATCH through g2: every node's instance has the new parameters.
            status, answer = osb(g2.port, "PATCH", "/service_instances/old-1",
                                 {"service_id": FORWARDER, "parameters": {"note": "shared"}})
            assert status == 200, answer
            wait_until(lambda: osb(g1.port, "GET", "/service_instances/old-1")[1]
                       .get("parameters") == {"note": "shared"}, 2, interval=0.05,
                       what="g2's PATCH seen on g1")
            assert osb(g2.port, "GET", "/service_instances/old-1")[1]["parameters"] == \
                {"note": "shared"}
            # The patched instance is the one a repeated provision compares with.
            status, answer = osb(g1.port, "PUT", "/service_instances/old-1",
                                 {"service_id": FORWARDER, "plan_id": SMALL,
                                  "organization_guid": "org-1", "space_guid": "space-1",
                                  "parameters": {"note": "shared"}})
            assert status == 200, answer
            status, answer = osb(g1.port, "PATCH", "/service_instances/missing",
                                 {"service_id": FORWARDER, "parameters": {"a": 1}})
            assert status == 404, answer

            # Restarted again: everything is already there, nothing is written twice.
            g1.stop()
            running.remove(g1)
            g1 = gateway("g1", g1_db, nats_url)
            running.append(g1)
            wait_until(lambda: import_line(g1) is not None, 10, what="g1's second import logged")
            assert import_line(g1) == {"created": 0, "present": 2, "conflict": 0, "deleted": 0,
                                       "unavailable": 0, "failed": 0}, import_line(g1)
            assert push(g1.port, old_key, APP) == 202
            assert osb(g1.port, "GET", "/service_instances/old-1")[1]["parameters"] == \
                {"note": "shared"}
            for g in running:
                assert "cluster bindings: change ignored" not in g.output()
            assert time.monotonic() - started < 90
            passed = True
        finally:
            for g in running:
                if not passed:
                    sys.stderr.write(g.output()[-3000:])
                g.stop()
            nats.terminate()
            try:
                nats.wait(10)
            except subprocess.TimeoutExpired:
                nats.kill()
                nats.wait()
            nats_log.close()


if __name__ == "__main__":
    run_tests([test_pre_cluster_bindings_are_imported_and_patch_is_shared])
