"""Shared helpers for the Python integration tests: free loopback ports, the gateway process
and other real servers (nats-server, prometheus), each started by the test and always stopped."""

import base64
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

GATEWAY = os.environ.get("MGW_BINARY", "build/metrics-gateway")
# The Accept header of a scraper that asks for OpenMetrics 1.0.
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()
# Below the kernel's ephemeral range, so that no outgoing connection of a test running in
# parallel (the source port of a client socket) can take a port between our check and the
# server's bind: a port from bind(0) is drawn from that very range, and ctest -j made that race
# real. Never the same port twice in one process.
_PORT_LOW = 10000
_PORT_HIGH = _EPHEMERAL[0] - 1 if _EPHEMERAL[0] - 1 > _PORT_LOW + 1000 else 30000
_handed_out = set()
_random = random.Random(os.getpid() ^ time.monotonic_ns())


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A loopback TCP port nobody listens on, outside the ephemeral range, never repeated."""
    for _ in range(1000):
        port = _random.randint(_PORT_LOW, _PORT_HIGH)
        if port in _handed_out or (_EPHEMERAL[0] <= port <= _EPHEMERAL[1]):
            continue
        if _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def free_ports(count):
    """`count` distinct free ports."""
    return [free_port() for _ in range(count)]


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(url, headers=None, timeout=10.0):
    """Returns (status, headers, body bytes); HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def basic_auth(user, password):
    """An Authorization header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def broker_request(port, method, path, body=None, auth=None, version="2.16"):
    """A request to the service broker under /broker/v2 on the gateway at `port`, as the Cloud
    Controller sends it: (status, the answer's JSON, None when the body is empty)."""
    headers = {"X-Broker-API-Version": version, "Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/broker/v2{path}",
        data=None if body is None else json.dumps(body).encode(), method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def port_open(port):
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


class Gateway:
    """A metrics-gateway process. `config` is YAML text (None: no --config at all)."""

    def __init__(self, config=None, args=(), env=None):
        self.workdir = tempfile.TemporaryDirectory(prefix="mgw-test-")
        self.log_path = os.path.join(self.workdir.name, "gateway.log")
        command = [GATEWAY, "serve"]
        if config is not None:
            config_path = os.path.join(self.workdir.name, "gateway.yml")
            with open(config_path, "w") as f:
                f.write(config)
            command += ["--config", config_path]
        command += list(args)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})

    def wait_ready(self, port, timeout=10.0):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited early ({self.process.returncode}):\n"
                                     + self.output())
            return port_open(port)
        wait_until(ready, timeout, what=f"gateway on port {port}")

    def signal(self, signum):
        self.process.send_signal(signum)

    def wait(self, timeout=30.0):
        return self.process.wait(timeout)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.workdir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- gateway output ----\n" + self.output())
        self.stop()


def run_tests(tests):
    """Runs each test function, prints a line per test, exits non-zero when one failed."""
    import sys
    import traceback
    failed = 0
    for test in tests:
        started = time.monotonic()
        try:
            test()
            print(f"PASS {test.__name__} ({time.monotonic() - started:.2f}s)", flush=True)
        except Exception:  # noqa: BLE001 - report every failure, then keep going
            failed += 1
            print(f"FAIL {test.__name__}", flush=True)
            traceback.print_exc()
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
