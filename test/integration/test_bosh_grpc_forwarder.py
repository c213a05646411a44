"""The gRPC egress against grpc-go: the forwarder stand-in (test/integration/grpc_go, grpc-go
v1.65.0 as the real forwarder, messages from protoc-gen-go) run as the forwarder runs, with
its stream deadline shortened from 45 s to 3 s so that one test sees many rotations: two
instances sharing the forwarder's subscription id get disjoint events whose union is
everything, a third id gets everything, nothing is lost across rotations and 1 s gaps, a token
rejected with PERMISSION_DENIED is fetched again from UAA, and while UAA cannot be asked the
forwarder gets UNAVAILABLE and keeps retrying with the token it has."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402
from bosh_peers import (Plugin, alert_line, event_id, heartbeat_line,  # noqa: E402
                        metric_value)
from grpc_peers import BUILD_DIR, Setup, wait_for  # noqa: E402

FORWARDER = os.path.join(BUILD_DIR, "grpc_peers", "go", "forwarder")
GROUP = "bosh-system-metrics-forwarder"  # the forwarder's default subscription id


class Forwarder:
    """One forwarder stand-in process; its stdout is parsed on a thread."""

    def __init__(self, setup, subscription=GROUP, stream_timeout="3s", duration="120s"):
        assert os.path.exists(FORWARDER), (
            f"{FORWARDER} is missing: build the grpc_go_forwarder target (needs Go)")
        self.lines = []
        self.lock = threading.Lock()
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [FORWARDER, f"--addr=127.0.0.1:{setup.grpc_port}", f"--ca={setup.certs.ca}",
             "--server-name=127.0.0.1", f"--uaa={setup.uaa.url}",
             f"--subscription-id={subscription}", f"--stream-timeout={stream_timeout}",
             "--reconnect-wait=1s", f"--duration={duration}"],
            stdout=subprocess.PIPE, stderr=self.stderr)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.process.stdout:
            with self.lock:
                self.lines.append(raw.decode().rstrip("\n"))

    def of(self, kind):
        with self.lock:
            return [line.split(" ", 1)[1] for line in self.lines if line.startswith(kind + " ")]

    def ids(self):
        return [rest.split(" ")[0] for rest in self.of("EVENT")]

    def ends(self):
        return self.of("END")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(15)
        self.thread.join(5)
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")


def test_two_forwarders_share_the_group_across_rotations_and_a_third_gets_all():
    with Setup() as s:
        # The first token UAA issues is one /check_token rejects: the forwarder must fetch
        # another on PERMISSION_DENIED, and only then.
        s.uaa.issue = ["expired", "good"]
        a = Forwarder(s)
        wait_for(lambda: "PermissionDenied" in a.ends() and a.of("TOKEN") == ["1", "2"],
                 what="forwarder A refreshing its token")
        b = Forwarder(s)
        c = Forwarder(s, subscription="another-consumer")
        wait_for(lambda: s.subscribers() == 3, what="three streams")
        lines = [heartbeat_line(n) if n % 3 else alert_line(n) for n in range(1500)]
        expected = sorted(event_id(line) for line in lines)
        with Plugin(s.ingest) as plugin:
            # About 10 s of events: each forwarder rotates its stream three times meanwhile.
            for i in range(0, len(lines), 15):
                plugin.send(lines[i:i + 15])
                time.sleep(0.1)
            wait_for(lambda: len(a.ids()) + len(b.ids()) >= len(lines) and
                     len(c.ids()) >= len(lines), timeout=30, what="every event")
        time.sleep(0.5)
        for f in (a, b, c):
            f.stop()
        got_a, got_b, got_c = a.ids(), b.ids(), c.ids()
        assert not set(got_a) & set(got_b), "an event reached both members of the group"
        assert sorted(got_a + got_b) == expected, (len(got_a), len(got_b))
        assert got_a and got_b, "the group did not share"
        assert sorted(got_c) == expected, (len(got_c), len(set(got_c)))
        for name, f in (("a", a), ("b", b), ("c", c)):
            rotations = f.ends().count("DeadlineExceeded")
            assert rotations >= 3, (name, f.ends())
            assert set(f.ends()) <= {"DeadlineExceeded", "PermissionDenied", "Canceled"}, \
                (name, f.ends())
        assert a.of("TOKEN") == ["1", "2"] and b.of("TOKEN") == ["1"], (a.of("TOKEN"))
        text = s.metrics()
        for reason in ("queue_full", "memory"):
            assert metric_value(text, "mgw_bosh_subscription_dropped_total",
                                {"subscription_id": GROUP, "reason": reason}) == 0, reason


def test_uaa_unreachable_is_unavailable_and_the_forwarder_keeps_its_token():
    with Setup() as s:
        s.uaa.issue = ["fresh-token"]
        s.uaa.check_token_down = True
        f = Forwarder(s, stream_timeout="2s")
        wait_for(lambda: f.ends().count("Unavailable") >= 3, what="UNAVAILABLE retries")
        # With PERMISSION_DENIED it would have asked UAA for a new token each time (and the
        # real one exits when that fails); here it keeps the one it has.
        assert f.of("TOKEN") == ["1"], f.of("TOKEN")
        assert f.process.poll() is None
        output = f.stop()
        assert "token" not in output.lower(), output


if __name__ == "__main__":
    run_tests([test_two_forwarders_share_the_group_across_rotations_and_a_third_gets_all,
               test_uaa_unreachable_is_unavailable_and_the_forwarder_keeps_its_token])
