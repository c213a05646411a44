"""The gRPC egress against @grpc/grpc-js (npm, pinned by test/integration/grpc_node's
package-lock.json, installed by scripts/bootstrap), loading the original .proto at run time:
events field for field (64-bit fields as strings), the status codes of a missing, expired and
unauthorised token and of an unreachable UAA, and a deadline ending in DEADLINE_EXCEEDED."""

import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402
from bosh_peers import Plugin, alert_line, heartbeat_line  # noqa: E402
from grpc_peers import Setup, wait_for  # noqa: E402

CLIENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grpc_node")
# gRPC status codes as grpc-js reports them.
OK, DEADLINE_EXCEEDED, PERMISSION_DENIED, UNAVAILABLE, UNAUTHENTICATED = 0, 4, 7, 14, 16


class NodeSubscriber:
    def __init__(self, setup, subscription, token="good", events=None, timeout_ms=None):
        assert os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "@grpc", "grpc-js")), \
            "run scripts/bootstrap: grpc_node's npm packages are missing"
        command = ["node", os.path.join(CLIENT_DIR, "subscribe.js"), "--port",
                   str(setup.grpc_port), "--ca", setup.certs.ca, "--subscription", subscription]
        if token is not None:
            command += ["--token", token]
        if events is not None:
            command += ["--events", str(events)]
        if timeout_ms is not None:
            command += ["--timeout-ms", str(timeout_ms)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.records = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.process.stdout:
            with self.lock:
                self.records.append(json.loads(raw))

    def events(self):
        with self.lock:
            return [r for r in self.records if "end" not in r]

    def end(self, timeout=20):
        self.process.wait(timeout)
        self.thread.join(5)
        ends = [r for r in self.records if "end" in r]
        assert ends, self.process.stderr.read().decode()
        return ends[0]


def test_events_arrive_field_for_field():
    with Setup() as s:
        sub = NodeSubscriber(s, "node", events=2)
        wait_for(lambda: s.subscribers() == 1, what="subscribed")
        with Plugin(s.ingest) as plugin:
            plugin.send([heartbeat_line(3, deployment="cf", job="router"), alert_line(4)])
            end = sub.end()
        assert end["end"] == 1, end  # CANCELLED: the client cancels after two events
        heartbeat, alert = sub.events()
        assert heartbeat["message"] == "heartbeat" and heartbeat["id"] == "hb-3"
        assert heartbeat["timestamp"] == str(1700000003 * 10**9)
        hb = heartbeat["heartbeat"]
        assert (hb["agent_id"], hb["job"], hb["index"], hb["instance_id"], hb["job_state"]) == \
            ("agent-3", "router", 3, "inst-000003", "running")
        assert len(hb["metrics"]) == 13
        healthy = hb["metrics"][-1]
        assert healthy["name"] == "system.healthy" and healthy["value"] == 1
        assert healthy["timestamp"] == str(1700000003 * 10**9)
        assert healthy["tags"] == {"job": "router", "index": "3", "id": "inst-000003"}
        assert alert["message"] == "alert" and alert["alert"]["severity"] == 4
        assert alert["alert"]["category"] == "" and alert["deployment"] == "cf"


def test_status_codes():
    with Setup() as s:
        for token, code in ((None, UNAUTHENTICATED), ("expired", PERMISSION_DENIED),
                            ("noscope", PERMISSION_DENIED)):
            end = NodeSubscriber(s, "node", token=token).end()
            assert end["end"] == code, (token, end)
        end = NodeSubscriber(s, "node", timeout_ms=1500).end()
        assert end["end"] == DEADLINE_EXCEEDED, end
        s.uaa.check_token_down = True
        end = NodeSubscriber(s, "node", token="unseen").end()
        assert end["end"] == UNAVAILABLE, end


if __name__ == "__main__":
    run_tests([test_events_arrive_field_for_field, test_status_codes])
