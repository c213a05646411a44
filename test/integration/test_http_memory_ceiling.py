"""limits.memory and http.write_timeout against clients that ask for big merges and never read
(issue 10 item 6): the gateway binary, one app of many instances serving large expositions
(real HTTP servers on loopback), and a small ceiling.

Four clients ask for the app's merged answer and never read a byte. Each merge would hold its
instance bodies and their parsed series until its answer is written; the ceiling lets only some
of them start (the others get a 503 naming the reason), the write deadline cuts the ones that
started, and everything they held is given back. Throughout, the gateway's resident set never
passes limits.memory (its peak, VmHWM, is read from /proc), and a fifth client that reads is
answered, 200 or 503, never left hanging."""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import Gateway, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, static_routes_yaml, wait_for  # noqa: E402

MiB = 1024 * 1024
CEILING = 256 * MiB
WRITE_TIMEOUT_SECONDS = 2
INSTANCES = 12
SERIES_PER_INSTANCE = 45_000
NON_READERS = 4
APP_PATH = "/v1/apps/acme/dev/big/metrics"


def instance_body(index):
    """About 4.5 MB of realistic series, different per instance (a merge holds 12 of them: the
    series are canonical lines, kept as lines, so the bodies are most of what it holds)."""
    lines = ["# HELP big_requests_total Requests served.\n",
             "# TYPE big_requests_total counter\n"]
    for i in range(SERIES_PER_INSTANCE):
        lines.append(f'big_requests_total{{path="/api/v1/resource/{i % 997}",method="GET",'
                     f'code="{200 + i % 5}",shard="s{i}"}} {index * 1000 + i}\n')
    return "".join(lines).encode()


def resident_peak_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        match = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.MULTILINE)
    return int(match.group(1)) * 1024


def metric_value(text, name, labels=""):
    for line in text.splitlines():
        if line.startswith(name + ("{" + labels if labels else "")):
            if labels or line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def own_metrics(port):
    status, _, body = http_get(f"http://127.0.0.1:{port}/metrics", timeout=30)
    assert status == 200, status
    return body.decode()


def ask_and_never_read(port):
    """Sends the request and keeps the connection open without reading; returns the socket."""
    sock = socket.create_connection(("127.0.0.1", port))
    # A small receive buffer, as a client that does not read would advertise.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(f"GET {APP_PATH} HTTP/1.1\r\nHost: gateway\r\n\r\n".encode())
    return sock


def complete_refusal(received):
    """True when `received` holds a whole 503 (a refusal keeps the connection open)."""
    end = received.find(b"\r\n\r\n")
    if not received.startswith(b"HTTP/1.1 503") or end == -1:
        return False
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", received[:end])
    return length is not None and len(received) >= end + 4 + int(length.group(1))


def drain(sock, timeout):
    """Reads what the gateway sent until it closes the connection or a whole refusal is in;
    returns (bytes, closed_by_gateway)."""
    sock.settimeout(timeout)
    received = bytearray()
    try:
        while not complete_refusal(received):
            chunk = sock.recv(1 << 20)
            if not chunk:
                return bytes(received), True
            received += chunk
        return bytes(received), False
    except ConnectionResetError:
        return bytes(received), True
    except socket.timeout:
        return bytes(received), False


def test_non_readers_cannot_pass_the_ceiling():
    bodies = [instance_body(i) for i in range(INSTANCES)]
    instances = [AppInstance(index=i, body=bodies[i]) for i in range(INSTANCES)]
    port, health_port = free_port(), free_port()
    routes = [("big.example.com", "127.0.0.1", inst.port, app_tags(app="big", index=i))
              for i, inst in enumerate(instances)]
    config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
              "threads: 2\nlog: { level: info, access: false }\n"
              f"limits: {{ memory: {CEILING} }}\n"
              f"http: {{ write_timeout: {WRITE_TIMEOUT_SECONDS}s, request_timeout: 120s }}\n"
              "scrape: { timeout: 30s, max_body_bytes: 16777216 }\n"
              + static_routes_yaml(routes))
    try:
        with Gateway(config) as gateway:
            gateway.wait_ready(port)
            pid = gateway.process.pid
            baseline = resident_peak_bytes(pid)
            assert baseline < CEILING // 2, f"baseline peak RSS {baseline} too close to ceiling"

            # One merge read to the end first: the answer is real and large.
            status, _, body = http_get(f"http://127.0.0.1:{port}{APP_PATH}", timeout=120)
            assert status == 200, status
            assert len(body) > INSTANCES * len(bodies[0]), len(body)

            # The first non-reader's merge gets going alone: merges that start at the same
            # instant share the budget and may all be refused (each a 503 with Retry-After),
            # which would leave nothing here to cut off on a loaded machine.
            non_readers = [ask_and_never_read(port)]
            first = non_readers[0]

            def answer_started():
                # A peek leaves the bytes where they are: the client still reads nothing.
                first.settimeout(0.5)
                try:
                    return first.recv(9, socket.MSG_PEEK) == b"HTTP/1.1 "
                except socket.timeout:
                    return False

            wait_for(answer_started, timeout=60, what="the first non-reader's answer under way")
            non_readers += [ask_and_never_read(port) for _ in range(NON_READERS - 1)]
            # Let the other merges fetch, parse and stall on their writes.
            time.sleep(3)

            # A fifth client that reads gets an answer, never a hang.
            fifth = {}

            def read_fifth():
                fifth["result"] = http_get(f"http://127.0.0.1:{port}{APP_PATH}", timeout=120)

            reader = threading.Thread(target=read_fifth)
            reader.start()
            reader.join(150)
            assert not reader.is_alive(), "the fifth client was left hanging"
            status, headers, body = fifth["result"]
            assert status in (200, 503), status
            if status == 503:
                assert headers["Retry-After"] == "1"
                assert b"memory limit reached" in body, body[:200]

            # Every non-reader was either refused (a complete 503, then the connection stays
            # open for the next request) or cut off by the write deadline.
            refused = 0
            cut = 0
            for sock in non_readers:
                received, closed = drain(sock, timeout=WRITE_TIMEOUT_SECONDS * 10 + 30)
                head = received[:200]
                if head.startswith(b"HTTP/1.1 503"):
                    assert b"memory limit reached" in received, head
                    refused += 1
                else:
                    assert head.startswith(b"HTTP/1.1 200"), head
                    assert closed, "a non-reader's connection was not cut"
                    cut += 1
                sock.close()
            assert refused >= 1, "the ceiling never refused a merge"
            assert cut >= 1, "no merge started at all"

            metrics = wait_for(lambda: (lambda m: m if metric_value(
                m, "mgw_memory_leased_bytes", 'use="scrape_bodies"') == 0 else None)(
                    own_metrics(port)), timeout=60, what="merge leases given back")
            assert metric_value(metrics, "mgw_http_rejected_total",
                                'reason="write_timeout"') >= cut, metrics
            assert metric_value(metrics, "mgw_memory_refusals_total",
                                'use="scrape_bodies"') + metric_value(
                metrics, "mgw_memory_refusals_total", 'use="http_answer"') >= refused
            assert metric_value(metrics, "mgw_memory_leased_bytes", 'use="http_answer"') < MiB

            peak = resident_peak_bytes(pid)
            print(f"peak RSS {peak / MiB:.0f} MiB (ceiling {CEILING / MiB:.0f} MiB, baseline "
                  f"{baseline / MiB:.0f} MiB), {cut} cut, {refused} refused", flush=True)
            assert peak <= CEILING, f"peak RSS {peak} passed the ceiling {CEILING}"

            # Served on afterwards.
            status, _, body = http_get(f"http://127.0.0.1:{port}{APP_PATH}", timeout=120)
            assert status == 200, status
    finally:
        for instance in instances:
            instance.stop()


if __name__ == "__main__":
    run_tests([test_non_readers_cannot_pass_the_ceiling])
