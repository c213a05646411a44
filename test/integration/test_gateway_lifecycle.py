"""The real binary: starts with no config, serves /health and /metrics, reports READY=1 and
STOPPING=1 to systemd, drains a slow request on SIGTERM and exits 0, rejects bad config."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, Gateway, free_port, http_get, run_tests, wait_until  # noqa: E402


def config_for(port, health_port, extra=""):
    return (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
            f"threads: 2\nlog: {{ level: debug }}\n" + extra)


def test_starts_without_config_and_serves_health_and_metrics():
    # Embedded defaults: HTTP on 127.0.0.1:8085, health on 127.0.0.1:8080.
    with Gateway(None) as gateway:
        gateway.wait_ready(8085)
        gateway.wait_ready(8080)
        status, headers, body = http_get("http://127.0.0.1:8085/health")
        assert (status, body) == (200, b"ok\n"), (status, body)
        status, _, body = http_get("http://127.0.0.1:8080/any/path/at/all")
        assert (status, body) == (200, b"ok\n"), (status, body)

        status, headers, body = http_get("http://127.0.0.1:8085/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = body.decode()
        for name in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                     "mgw_http_requests_total", "mgw_http_request_duration_seconds_bucket"):
            assert name in text, name
        promtool = subprocess.run(["promtool", "check", "metrics"], input=body,
                                  capture_output=True)
        # Exit 3 means lint findings only; anything else is a format error.
        assert promtool.returncode in (0, 3), promtool.stdout + promtool.stderr
        check = subprocess.run([GATEWAY, "check", "--format", "prometheus"], input=body,
                               capture_output=True)
        assert check.returncode == 0, check.stderr

        status, headers, body = http_get(
            "http://127.0.0.1:8085/metrics",
            {"Accept": "application/openmetrics-text; version=1.0.0"})
        assert status == 200
        assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
        assert body.endswith(b"# EOF\n")
        check = subprocess.run([GATEWAY, "check", "--format", "openmetrics"], input=body,
                               capture_output=True)
        assert check.returncode == 0, check.stderr

        status, _, body = http_get("http://127.0.0.1:8085/no-such-path")
        assert status == 404


def send_partial_request(port, body_size, sent):
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall((f"GET /metrics HTTP/1.1\r\nHost: test\r\nContent-Length: {body_size}\r\n"
                    "\r\n").encode() + b"x" * sent)
    return client


def read_response(client, timeout=10.0):
    client.settimeout(timeout)
    data = b""
    while True:
        chunk = client.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_sigterm_drains_slow_request_and_exits_zero():
    port, health_port = free_port(), free_port()
    with Gateway(config_for(port, health_port)) as gateway:
        gateway.wait_ready(port)
        # A request whose body is still arriving when SIGTERM comes: it must be answered.
        client = send_partial_request(port, 1000, 10)
        time.sleep(0.2)
        gateway.signal(signal.SIGTERM)
        wait_until(lambda: http_get(f"http://127.0.0.1:{health_port}/")[0] == 503, 5,
                   what="health 503 while draining")
        time.sleep(0.5)
        assert gateway.process.poll() is None, "exited before the slow request completed"
        client.sendall(b"x" * 990)
        response = read_response(client)
        assert response.startswith(b"HTTP/1.1 200"), response[:200]
        assert b"process_resident_memory_bytes" in response
        assert gateway.wait(10) == 0, gateway.output()
        assert '"msg":"draining"' in gateway.output()


def test_drain_timeout_cuts_off_a_stalled_request():
    port, health_port = free_port(), free_port()
    config = config_for(port, health_port, "shutdown: { drain_timeout: 1s }\n")
    with Gateway(config) as gateway:
        gateway.wait_ready(port)
        client = send_partial_request(port, 1000, 10)  # never completed
        time.sleep(0.2)
        started = time.monotonic()
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(10)
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 5, elapsed
        assert code == 1, (code, gateway.output())
        client.close()


def test_shutdown_cut_off_clients_in_every_state_exits_cleanly():
    # What the drain cuts off is destroyed with the event loop, after the services: the
    # leases and gauges those handlers hold must still have somewhere to go back to (under
    # the sanitizer build this run is a use-after-free check; in any build, a clean exit code).
    port, health_port = free_port(), free_port()
    config = config_for(port, health_port, "shutdown: { drain_timeout: 1s }\n")
    with Gateway(config) as gateway:
        gateway.wait_ready(port)
        clients = []
        for _ in range(8):
            # A body still arriving (leased when its head was read).
            clients.append(send_partial_request(port, 100_000, 10))
            # A head still arriving.
            partial = socket.create_connection(("127.0.0.1", port))
            partial.sendall(b"GET /metrics HTTP/1.1\r\nHost: te")
            clients.append(partial)
            # Answers the client does not read, pipelined, through a tiny receive window.
            reader = socket.socket()
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            reader.connect(("127.0.0.1", port))
            reader.sendall(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n" * 16)
            clients.append(reader)
        time.sleep(0.5)
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(15)
        assert code in (0, 1), (code, gateway.output())
        for client in clients:
            client.close()


def test_sigusr1_turns_health_503_at_once_then_drains():
    port, health_port = free_port(), free_port()
    with Gateway(config_for(port, health_port)) as gateway:
        gateway.wait_ready(health_port)
        assert http_get(f"http://127.0.0.1:{health_port}/")[0] == 200
        client = send_partial_request(port, 100, 1)
        time.sleep(0.2)
        gateway.signal(signal.SIGUSR1)
        wait_until(lambda: http_get(f"http://127.0.0.1:{health_port}/")[0] == 503, 2,
                   what="health 503 after SIGUSR1")
        gateway.signal(signal.SIGUSR1)  # BOSH's drain script repeats it: must not kill us
        client.sendall(b"x" * 99)
        assert read_response(client).startswith(b"HTTP/1.1 200")
        assert gateway.wait(10) == 0


def test_notifies_systemd_ready_and_stopping():
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(path)
        notify.settimeout(10)
        port, health_port = free_port(), free_port()
        with Gateway(config_for(port, health_port), env={"NOTIFY_SOCKET": path}) as gateway:
            assert notify.recv(4096) == b"READY=1"
            gateway.signal(signal.SIGTERM)
            assert notify.recv(4096) == b"STOPPING=1"
            assert gateway.wait(10) == 0
        notify.close()


def test_invalid_config_stops_with_the_key_path():
    for config, expected in (("scrape:\n  timout: 5s\n", "scrape.timout"),
                             ("scrape:\n  timeout: 10x\n", "scrape.timeout"),
                             ("listen: nowhere\n", "listen")):
        gateway = Gateway(config)
        try:
            assert gateway.wait(10) == 1
            assert expected in gateway.output(), gateway.output()
        finally:
            gateway.stop()


def test_check_command_verdicts():
    good = b"# TYPE a counter\na_total 1\n# EOF\n"
    bad = b'# TYPE a gauge\na{b="c} 1\n'
    ok = subprocess.run([GATEWAY, "check"], input=good, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    fail = subprocess.run([GATEWAY, "check", "--format", "prometheus", "-"], input=bad,
                          capture_output=True)
    assert fail.returncode == 1
    assert fail.stderr.decode().startswith("2:"), fail.stderr
    usage = subprocess.run([GATEWAY, "check", "--format", "xml"], capture_output=True)
    assert usage.returncode == 2


if __name__ == "__main__":
    run_tests([
        test_starts_without_config_and_serves_health_and_metrics,
        test_sigterm_drains_slow_request_and_exits_zero,
        test_drain_timeout_cuts_off_a_stalled_request,
        test_shutdown_cut_off_clients_in_every_state_exits_cleanly,
        test_sigusr1_turns_health_503_at_once_then_drains,
        test_notifies_systemd_ready_and_stopping,
        test_invalid_config_stops_with_the_key_path,
        test_check_command_verdicts,
    ])
