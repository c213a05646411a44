"""App instances for the app-metrics integration tests and the demo: small real HTTP servers
(ThreadingHTTPServer on loopback) that serve realistic expositions or misbehave on purpose, and
record every request they get. Also: CF tags, static-route YAML, and a small ordered parser of
exposition sample lines (the gateway's label order matters, so no dict-based parser)."""

import contextlib
import gzip
import http.server
import re
import select
import socket
import threading
import time
import uuid
import zlib

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# Promfetcher's order of the labels it appends to every sample of an app instance.
CF_LABELS = ("organization_id", "space_id", "app_id", "organization_name", "space_name",
             "app_name", "index", "instance_id", "instance")


def app_tags(org="acme", space="dev", app="shop", index=0, app_id=None, org_id=None,
             space_id=None, process_type="web"):
    """The route-emitter tags of one instance (values as Cloud Controller sets them)."""
    app_id = app_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"cf:app:{org}/{space}/{app}"))
    return {
        "organization_id": org_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"cf:org:{org}")),
        "space_id": space_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"cf:space:{org}/{space}")),
        "app_id": app_id,
        "organization_name": org,
        "space_name": space,
        "app_name": app,
        "process_type": process_type,
        "instance_id": str(index),
        "process_instance_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                              f"cf:instance:{app_id}/{index}")),
        "source_id": app_id,
        "component": "route-emitter",
    }


def static_routes_yaml(routes):
    """`routes.static` YAML for [(uri, host, port, tags)]."""
    lines = ["routes:", "  static:"]
    for uri, host, port, tags in routes:
        lines.append(f"    - uri: {uri}")
        lines.append(f"      host: {host}")
        lines.append(f"      port: {port}")
        lines.append(f"      private_instance_id: {tags.get('process_instance_id', '')!s}")
        lines.append("      tags:")
        for key, value in tags.items():
            lines.append(f'        {key}: "{value}"')
    return "\n".join(lines) + "\n"


def latency_lines(index):
    """The histogram and summary both demo bodies share: their syntax is the same in 0.0.4 and
    OpenMetrics."""
    buckets = [(0.05, 3 + index), (0.1, 7 + index), (0.5, 12 + index), (1.0, 14 + index)]
    count = 15 + index
    return [
        "# HELP demo_request_duration_seconds Request latency.\n",
        "# TYPE demo_request_duration_seconds histogram\n",
        *(f'demo_request_duration_seconds_bucket{{path="/",le="{le}"}} {n}\n'
          for le, n in buckets),
        f'demo_request_duration_seconds_bucket{{path="/",le="+Inf"}} {count}\n',
        f'demo_request_duration_seconds_sum{{path="/"}} {4.25 + index}\n',
        f'demo_request_duration_seconds_count{{path="/"}} {count}\n',
        "# HELP demo_rpc_duration_seconds RPC latency.\n",
        "# TYPE demo_rpc_duration_seconds summary\n",
        f'demo_rpc_duration_seconds{{quantile="0.5"}} {0.01 * (index + 1)}\n',
        f'demo_rpc_duration_seconds{{quantile="0.99"}} {0.2 * (index + 1)}\n',
        f"demo_rpc_duration_seconds_sum {3.5 + index}\n",
        f"demo_rpc_duration_seconds_count {40 + index}\n",
    ]


def demo_metrics(index, requests_base=100, temperature_base=21.5):
    """A realistic Prometheus text 0.0.4 body: counter, gauge, histogram, summary. Values depend
    on the instance index so a merged answer can be checked instance by instance."""
    requests = requests_base + index
    temperature = temperature_base + index
    return "".join([
        "# HELP demo_http_requests_total HTTP requests handled by the app.\n",
        "# TYPE demo_http_requests_total counter\n",
        f'demo_http_requests_total{{method="GET",code="200"}} {requests}\n',
        f'demo_http_requests_total{{method="POST",code="500"}} {index}\n',
        "# HELP demo_temperature_celsius Temperature seen by the app.\n",
        "# TYPE demo_temperature_celsius gauge\n",
        f"demo_temperature_celsius {temperature}\n",
        *latency_lines(index),
    ])


def demo_metrics_openmetrics(index, requests_base=100, temperature_base=21.5):
    """The same families as demo_metrics, written in OpenMetrics 1.0 (counter family without
    _total, _created, an exemplar, # EOF)."""
    requests = requests_base + index
    temperature = temperature_base + index
    return "".join([
        "# HELP demo_http_requests HTTP requests handled by the app.\n",
        "# TYPE demo_http_requests counter\n",
        f'demo_http_requests_total{{method="GET",code="200"}} {requests}'
        ' # {trace_id="abc123"} 1.0 1700000000.5\n',
        'demo_http_requests_created{method="GET",code="200"} 1700000000.0\n',
        f'demo_http_requests_total{{method="POST",code="500"}} {index}\n',
        "# HELP demo_temperature_celsius Temperature seen by the app.\n",
        "# TYPE demo_temperature_celsius gauge\n",
        "# UNIT demo_temperature_celsius celsius\n",
        f"demo_temperature_celsius {temperature}\n",
        *latency_lines(index),
        "# EOF\n",
    ])


_gzip_bombs = {}


def gzip_bomb(decoded_bytes):
    """A small gzip member that decodes to `decoded_bytes` of valid-looking exposition lines
    (cached: 8 MiB take ~0.1 s to compress, far more would slow the tests down)."""
    if decoded_bytes not in _gzip_bombs:
        line = b"bomb_metric 1\n"
        block = line * (1048576 // len(line))
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        parts, produced = [], 0
        while produced < decoded_bytes:
            parts.append(compressor.compress(block))
            produced += len(block)
        parts.append(compressor.flush())
        _gzip_bombs[decoded_bytes] = b"".join(parts)
    return _gzip_bombs[decoded_bytes]


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, *args, **kwargs):
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        """Ends keep-alive connections too, so a stopped instance is really gone."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        # Clients (the gateway) closing early is what half of these tests are about.
        pass


class AppInstance:
    """One app instance. `mode` says how it answers GET requests:

    ok            200 with `body` (bytes, str or a function returning one; default
                  demo_metrics(index)) and `content_type`
    gzip          the same, gzip-encoded (Content-Encoding: gzip)
    openmetrics   200 with demo_metrics_openmetrics(index), OpenMetrics content type
    status        `status` (e.g. 404, 500) with a short text body
    hang          sends nothing for `hang_seconds` (or until stopped or the client leaves:
                  `abandoned` records after how long)
    garbage       200 with a body that is no exposition at all
    huge          200 with `huge_bytes` bytes, chunked (no Content-Length); `huge_length=True`
                  announces the size in Content-Length instead
    gzip_bomb     200, Content-Encoding gzip, a few kB that decode to `bomb_bytes`
    redirect      302 to `location` (absolute or relative)
    stall_body    200 with a Content-Length, 100 bytes of body, then nothing for `hang_seconds`
    truncated     the same, but the connection is closed after the 100 bytes
    not_http      answers with bytes that are no HTTP response, then closes
    bad_gzip      200, Content-Encoding gzip, bytes that are no valid gzip stream
    brotli        200, Content-Encoding br (not offered by the client)

    `redirects` maps request paths to Location values and is applied before `mode`, so an
    instance can redirect /metrics to /real/metrics on itself and serve that normally.
    Every request is recorded in `requests` as {"path", "headers"} (headers lower-cased)."""

    def __init__(self, index=0, mode="ok", host="127.0.0.1", port=0, body=None,
                 content_type=TEXT_CONTENT_TYPE, status=500, hang_seconds=30.0,
                 huge_bytes=50 * 1024 * 1024, huge_length=False, bomb_bytes=8 * 1024 * 1024,
                 location=None, redirects=None):
        self.index = index
        self.mode = mode
        self.body = body
        self.content_type = content_type
        self.status = status
        self.hang_seconds = hang_seconds
        self.huge_bytes = huge_bytes
        self.huge_length = huge_length
        self.bomb_bytes = bomb_bytes
        self.location = location
        self.redirects = dict(redirects or {})
        self.requests = []
        self.abandoned = []  # hang mode: seconds after which the client gave up on a request
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        if mode == "gzip_bomb":
            gzip_bomb(bomb_bytes)  # built before serving, not while the gateway waits
        self._server = _QuietServer((host, port), self._handler_class())
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def requests_to(self, path):
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def last_request(self):
        with self._lock:
            return self.requests[-1] if self.requests else None

    def clear_requests(self):
        with self._lock:
            self.requests.clear()

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _record(self, handler):
        with self._lock:
            self.requests.append({"path": handler.path,
                                  "headers": {k.lower(): v for k, v in handler.headers.items()}})

    def _handler_class(self):
        instance = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "demo-app/1.0"

            def log_message(self, *args):  # noqa: D401 - quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                instance._record(self)
                try:
                    instance._answer(self)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    self.close_connection = True

        return Handler

    def _send(self, handler, status, body, content_type=TEXT_CONTENT_TYPE, headers=()):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        self.bytes_sent += len(body)

    def metrics_body(self):
        if callable(self.body):
            body = self.body()
            return body.encode() if isinstance(body, str) else body
        if self.body is not None:
            return self.body.encode() if isinstance(self.body, str) else self.body
        if self.mode == "openmetrics":
            return demo_metrics_openmetrics(self.index).encode()
        return demo_metrics(self.index).encode()

    def _answer(self, handler):
        path_only = handler.path.split("?", 1)[0]
        if path_only in self.redirects:
            self._send(handler, 302, b"moved\n", "text/plain",
                       [("Location", self.redirects[path_only])])
            return
        mode = self.mode
        if mode == "ok":
            self._send(handler, 200, self.metrics_body(), self.content_type)
        elif mode == "openmetrics":
            self._send(handler, 200, self.metrics_body(), OPENMETRICS_CONTENT_TYPE)
        elif mode == "gzip":
            self._send(handler, 200, gzip.compress(self.metrics_body()), self.content_type,
                       [("Content-Encoding", "gzip")])
        elif mode == "status":
            self._send(handler, self.status, f"status {self.status}\n".encode(), "text/plain")
        elif mode == "hang":
            started = time.monotonic()
            if self._wait_or_peer_gone(handler, self.hang_seconds):
                with self._lock:
                    self.abandoned.append(time.monotonic() - started)
                handler.close_connection = True
                return
            handler.close_connection = True
            self._send(handler, 200, self.metrics_body(), self.content_type)
        elif mode == "garbage":
            self._send(handler, 200, b"<html><body>this is { not metrics\x00\xff</body></html>\n",
                       "text/html")
        elif mode == "huge":
            self._send_huge(handler)
        elif mode == "gzip_bomb":
            self._send(handler, 200, gzip_bomb(self.bomb_bytes), self.content_type,
                       [("Content-Encoding", "gzip")])
        elif mode == "redirect":
            self._send(handler, 302, b"moved\n", "text/plain", [("Location", self.location)])
        elif mode in ("stall_body", "truncated"):
            body = self.metrics_body()
            handler.close_connection = True
            handler.send_response(200)
            handler.send_header("Content-Type", self.content_type)
            handler.send_header("Content-Length", str(len(body) + 10000))
            handler.end_headers()
            handler.wfile.write(body[:100])
            handler.wfile.flush()
            if mode == "stall_body":
                self._stopping.wait(self.hang_seconds)
        elif mode == "not_http":
            handler.close_connection = True
            handler.wfile.write(b"SSH-2.0-OpenSSH_9.2 this is no HTTP server\r\n\r\n")
        elif mode == "bad_gzip":
            self._send(handler, 200, b"\x1f\x8b\x08\x00" + b"\xde\xad\xbe\xef" * 64,
                       self.content_type, [("Content-Encoding", "gzip")])
        elif mode == "brotli":
            self._send(handler, 200, b"\x0b\x02\x80metrics 1\n\x03", self.content_type,
                       [("Content-Encoding", "br")])
        else:
            raise ValueError(f"unknown mode {mode}")

    def _wait_or_peer_gone(self, handler, seconds):
        """Waits up to `seconds` (or until stopped); True as soon as the client closed."""
        deadline = time.monotonic() + seconds
        connection = handler.connection
        while not self._stopping.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable:
                try:
                    if connection.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
                time.sleep(0.05)  # a pipelined request: not our business
        return False

    def _send_huge(self, handler):
        line = b"huge_metric_with_a_rather_long_name_for_padding_purposes 1\n"
        block = line * (65536 // len(line))
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        if self.huge_length:
            handler.send_header("Content-Length", str(self.huge_bytes))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        remaining = self.huge_bytes
        while remaining > 0 and not self._stopping.is_set():
            piece = block[:remaining]
            if self.huge_length:
                handler.wfile.write(piece)
            else:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            remaining -= len(piece)
            self.bytes_sent += len(piece)
        if not self.huge_length:
            handler.wfile.write(b"0\r\n\r\n")


# ---- exposition lines, parsed in order ------------------------------------------------------

_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\})')
_UNESCAPE = re.compile(r"\\(.)")


def _unescape(value):
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


class Sample:
    __slots__ = ("name", "labels", "value", "line")

    def __init__(self, name, labels, value, line):
        self.name = name
        self.labels = labels  # [(name, value)] in the order written
        self.value = value
        self.line = line

    def label(self, name, default=None):
        for key, value in self.labels:
            if key == name:
                return value
        return default

    def label_names(self):
        return [key for key, _ in self.labels]

    def __repr__(self):
        return self.line


def parse_samples(text):
    """Sample lines of a Prometheus text or OpenMetrics exposition (comments skipped), labels
    kept in written order. Raises ValueError on a line it cannot read."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        labels = []
        if brace != -1 and (space == -1 or brace < space):
            name = line[:brace]
            position = brace + 1
            if line[position] == "}":
                position += 1
            else:
                while True:
                    match = _LABEL.match(line, position)
                    if not match:
                        raise ValueError(f"cannot read labels: {line!r}")
                    labels.append((match.group(1), _unescape(match.group(2))))
                    position = match.end()
                    if match.group(3) == "}":
                        break
            rest = line[position:].strip()
        else:
            name, rest = line[:space], line[space + 1:].strip()
        value_text = rest.split(" # ", 1)[0].split()[0]
        samples.append(Sample(name, labels, float(value_text), line))
    return samples


def samples_named(samples, name):
    return [s for s in samples if s.name == name]


def assert_cf_labels(sample, tags, address, trailing_allowed=("le", "quantile")):
    """The sample carries the nine CF labels, in Promfetcher's order, after the app's own labels
    (only `trailing_allowed`, by default `le` / `quantile`, may follow them), with the
    instance's values."""
    names = sample.label_names()
    cf = [n for n in names if n in CF_LABELS]
    assert tuple(cf) == CF_LABELS, (cf, sample.line)
    trailing = [n for n in names[names.index("organization_id"):] if n not in CF_LABELS]
    assert all(n in trailing_allowed for n in trailing), sample.line
    expected = {
        "organization_id": tags["organization_id"], "space_id": tags["space_id"],
        "app_id": tags["app_id"], "organization_name": tags["organization_name"],
        "space_name": tags["space_name"], "app_name": tags["app_name"],
        "index": tags["instance_id"], "instance_id": tags["instance_id"], "instance": address,
    }
    for key, value in expected.items():
        assert sample.label(key) == value, (key, sample.label(key), value, sample.line)


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
