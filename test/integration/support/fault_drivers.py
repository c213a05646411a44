"""Hostile clients as load-test drivers (see drivers.Driver), one per fault class of issue 10:
clients that stop reading big answers, slowloris heads, request smuggling, made-up methods,
oversized and chunked bodies, pushes from the far future, RSocket frames left half-sent,
connect-SETUP-close floods, idle ingest connections, event streams that stop reading, and
garbage on every listener. Each one's Tally counts a fault handled as it must be as a success
and a wrong handling (a smuggled request answered, a head held past its deadline) as a failure
whose reason names the defect."""

import base64
import os
import select
import socket
import struct
import threading
import time

import raw_http
from bosh_peers import EventStream, heartbeat_line
from drivers import Driver
from load_drivers import post_push, push_body
from rsocket_peers import frame_header, prefixed, setup_frame

FRAME_REQUEST_FNF = 0x05


def _closed_by_peer(sock):
    """True when the peer closed (or reset) `sock`; never blocks, discards what it reads."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(65536) == b""
    except OSError:
        return True


def _close_all(sockets):
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass


class NonReadingClients(Driver):
    """Waves of `holders` clients that ask for `path()` (a big merged answer) and never read a
    byte, from a tiny receive window, for `hold` seconds; then a pause of `interval`. The
    gateway must not hold their answers beyond its budget (the test watches its RSS)."""

    def __init__(self, name, seed, port, path, holders=6, hold=15.0, interval=5.0,
                 tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.path = port, path
        self.holders, self.hold = holders, hold
        self.sockets = []
        self.closed_by_gateway = 0

    def step(self):
        for _ in range(self.holders):
            try:
                sock = raw_http.connect(self.port, timeout=5, rcvbuf=4096)
                sock.sendall(raw_http.request_head("GET", self.path(self.rng),
                                                   [("Host", "chaos"),
                                                    ("Accept-Encoding", "identity")]))
                self.sockets.append(sock)
            except OSError as error:
                self.tally.refused(f"connect: {type(error).__name__}")
        self.stopping.wait(self.hold)
        self.closed_by_gateway += sum(1 for s in self.sockets if _closed_by_peer(s))
        _close_all(self.sockets)
        self.sockets = []
        self.tally.ok()

    def close(self):
        _close_all(self.sockets)


class Slowloris(Driver):
    """`connections` heads trickled one header line per step and never finished. Each must be
    closed by the gateway within `must_close_within` seconds (its request deadline, which a
    head's first byte starts, plus slack; the first byte goes out as the connection opens, so
    the age is measured from there); a closed one is replaced by a new one."""

    def __init__(self, name, seed, port, connections=30, must_close_within=30.0, interval=1.0,
                 tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.connections = port, connections
        self.must_close_within = must_close_within
        self.open = []  # [sock, opened_at, flagged]
        self.longest = 0.0

    def step(self):
        now = time.monotonic()
        still_open = []
        for entry in self.open:
            sock, opened_at, flagged = entry
            age = now - opened_at
            if _closed_by_peer(sock) or not self._trickle(sock):
                sock.close()
                self.longest = max(self.longest, age)
                self.tally.ok()
                continue
            if age > self.must_close_within and not flagged:
                self.tally.fail("slowloris head held past its deadline",
                                f"open {age:.0f}s > {self.must_close_within:.0f}s")
                entry[2] = True
            still_open.append(entry)
        self.open = still_open
        while len(self.open) < self.connections:
            try:
                sock = raw_http.connect(self.port, timeout=5)
                sock.sendall(f"GET /v2/apps/chaos-{self.rng.randrange(1 << 30)}/metrics "
                             "HTTP/1.1\r\nHost: chaos\r\n".encode())
                self.open.append([sock, time.monotonic(), False])
            except OSError as error:
                self.tally.refused(f"connect: {type(error).__name__}")
                break

    def _trickle(self, sock):
        try:
            sock.sendall(f"X-Slow-{self.rng.randrange(1 << 20)}: a\r\n".encode())
            return True
        except OSError:
            return False

    def close(self):
        _close_all(entry[0] for entry in self.open)


class SmugglingAttempts(Driver):
    """Requests that hide a second request in their body behind a Transfer-Encoding the server
    must refuse (RFC 9112 §6.1: a request whose Transfer-Encoding is not a final `chunked` is a
    400 and the connection closes), plus a duplicate Host (400) and a CRLF before the request
    line (ignored: served). The hidden request is GET /routes with the right credentials: an
    answer to it is the defect."""

    def __init__(self, name, seed, port, routes_authorization, interval=0.5, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port = port
        self.hidden = raw_http.request_head("GET", "/routes", [
            ("Host", "chaos"), ("Authorization", routes_authorization)])

    def _smuggle(self, transfer_encoding, extra=()):
        head = raw_http.request_head("POST", "/v1/metrics", [
            ("Host", "chaos"), ("Content-Type", "application/json"),
            ("Transfer-Encoding", transfer_encoding), *extra])
        return head + self.hidden

    def step(self):
        variant = self.rng.choice(["xchunked", "chunked, identity", "gzip", "cl+te",
                                   "duplicate host", "leading crlf"])
        if variant == "duplicate host":
            raw = raw_http.request_head("GET", "/health", [("Host", "a"), ("Host", "b")])
            expected = 400
        elif variant == "leading crlf":
            raw = b"\r\n" + raw_http.request_head("GET", "/health", [("Host", "chaos"),
                                                                      ("Connection", "close")])
            expected = 200
        elif variant == "cl+te":
            # A front end going by Content-Length sees one request; a server going by chunked
            # must answer one request and close (RFC 9112 §6.3), never read the rest as a second.
            raw = self._smuggle("chunked", [("Content-Length", "5")]).replace(
                b"\r\n\r\nGET", b"\r\n\r\n0\r\n\r\nGET", 1)
            expected = None
        else:
            raw = self._smuggle(variant)
            expected = 400
        try:
            responses, closed = raw_http.exchange(self.port, raw, quiet=2.0, deadline=8.0)
        except OSError as error:
            self.tally.fail(f"{variant}: {type(error).__name__}", error)
            return
        statuses = [r.status for r in responses]
        if len(responses) > 1:
            self.tally.fail(f"{variant}: smuggled request answered", statuses)
        elif not responses:
            self.tally.fail(f"{variant}: no answer", closed)
        elif expected is not None and statuses[0] != expected:
            self.tally.fail(f"{variant}: status {statuses[0]}, expected {expected}")
        elif expected != 200 and not closed:
            self.tally.fail(f"{variant}: connection left open after the answer")
        else:
            self.tally.ok()


class RandomMethods(Driver):
    """Requests with made-up methods (`X` and 9 random capitals), `batch` per step, each on a
    new connection. Every token sent is kept in `methods`: none may become a label value on the
    gateway's own /metrics (the test checks)."""

    PATHS = ("/health", "/metrics", "/v2/apps/chaos/metrics", "/v1/metrics", "/nowhere")

    def __init__(self, name, seed, port, batch=10, interval=0.5, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.batch = port, batch
        self.methods = []

    def step(self):
        for _ in range(self.batch):
            method = "X" + "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                                   for _ in range(9))
            self.methods.append(method)
            raw = raw_http.request_head(method, self.rng.choice(self.PATHS),
                                        [("Host", "chaos"), ("Connection", "close")])
            try:
                responses, _ = raw_http.exchange(self.port, raw, quiet=5.0, deadline=10.0)
            except OSError as error:
                self.tally.fail(f"no answer ({type(error).__name__})", error)
                continue
            if responses and 400 <= responses[0].status < 600:
                self.tally.ok()
            else:
                self.tally.fail("made-up method not refused", [r.status for r in responses])


class OversizedBodies(Driver):
    """Bodies past their route's limit, announced or chunked: a push with Content-Length
    8 MiB (413 before the body is sent, with the key's X-RateLimit-* headers), a chunked push
    that outgrows push.max_body_bytes (413, however the body arrives), a chunked broker body over
    its 64 KiB (413)."""

    def __init__(self, name, seed, port, push_key, broker_authorization, push_limit,
                 interval=1.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.push_key = port, push_key
        self.broker_authorization = broker_authorization
        self.push_limit = push_limit

    def step(self):
        variant = self.rng.choice(["push announced", "push chunked", "broker chunked"])
        if variant == "push announced":
            head = raw_http.request_head("POST", "/v1/metrics", [
                ("Host", "chaos"), ("Authorization", self.push_key),
                ("Content-Type", "application/json"),
                ("Content-Length", str(8 << 20))])
            responses, _ = raw_http.exchange(self.port, head, quiet=5.0, deadline=10.0)
            self._judge(variant, responses, rate_limit_headers=True)
        elif variant == "push chunked":
            head = raw_http.request_head("POST", "/v1/metrics", [
                ("Host", "chaos"), ("Authorization", self.push_key),
                ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
            self._judge(variant, self._send_chunked(head, self.push_limit * 2),
                        rate_limit_headers=True)
        else:
            head = raw_http.request_head(
                "PUT", f"/broker/v2/service_instances/chaos-{self.rng.randrange(1 << 30)}", [
                    ("Host", "chaos"), ("Authorization", self.broker_authorization),
                    ("X-Broker-API-Version", "2.16"), ("Content-Type", "application/json"),
                    ("Transfer-Encoding", "chunked")])
            self._judge(variant, self._send_chunked(head, 256 << 10), rate_limit_headers=False)

    def _send_chunked(self, head, total):
        """Sends `total` bytes of a JSON-looking body in 64 KiB chunks, stopping when the server
        stops reading; then reads the answer."""
        with raw_http.connect(self.port, timeout=10) as sock:
            try:
                sock.sendall(head + raw_http.chunk(b'{"applications":[{"id":"'))
                piece = raw_http.chunk(b"a" * 65536)
                sent = 0
                while sent < total:
                    sock.sendall(piece)
                    sent += 65536
                sock.sendall(raw_http.chunk(b'"}]}') + b"0\r\n\r\n")
            except OSError:
                pass  # answered and closed before the end: what a limit does
            data, _ = raw_http.read_all(sock, quiet=5.0, deadline=10.0)
        return raw_http.parse_responses(data)

    def _judge(self, variant, responses, rate_limit_headers):
        if not responses:
            self.tally.fail(f"{variant}: no answer")
        elif responses[0].status != 413:
            self.tally.fail(f"{variant}: status {responses[0].status}, expected 413",
                            responses[0].body[:120])
        elif rate_limit_headers and "x-ratelimit-limit" not in responses[0].headers:
            self.tally.fail(f"{variant}: 413 without X-RateLimit-* headers")
        else:
            self.tally.ok()


class FuturePushes(Driver):
    """A push dated a year ahead (must be a 422 naming the timestamp: issue 10 item 4), then an
    ordinary push of the same series, which must be served. Every 202 goes to the ledger under
    "<index>/future", so a far-future value that froze the series fails the ledger check."""

    def __init__(self, name, seed, port, key, app_id, index, ledger, name_pushed,
                 interval=1.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.key, self.app_id, self.index = port, key, app_id, index
        self.ledger, self.name_pushed = ledger, name_pushed
        self.value = 0

    def _push(self, timestamp_ms):
        self.value += 1
        body = push_body(self.app_id, self.index, [(self.name_pushed, {"series": "future"},
                                                     float(self.value), timestamp_ms)])
        status, _, answer = post_push(self.port, self.key, body)
        if status == 202:
            self.ledger.accepted(f"{self.index}/future", float(self.value), time.monotonic())
        return status, answer

    def step(self):
        year = 365 * 24 * 3600 * 1000
        status, answer = self._push(int(time.time() * 1000) + year)
        if status == 202:
            self.tally.fail("push a year ahead answered 202")
        elif status != 422 or b"timestamp" not in answer:
            self.tally.fail(f"push a year ahead: status {status}", answer[:120])
        status, answer = self._push(int(time.time() * 1000))
        if status == 202:
            self.tally.ok()
        elif status == 503:
            self.tally.refused("503")
        else:
            self.tally.fail(f"push after it: status {status}", answer[:120])


def _ws_upgrade(port, timeout=10.0):
    sock = socket.create_connection(("127.0.0.1", port), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(raw_http.request_head("GET", "/", [
        ("Host", "chaos"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"upgrade refused: {head[:40]!r}")
    return sock


def ws_frame_head(length, opcode=0x2, mask_key=b"\x11\x22\x33\x44"):
    """A final, masked client frame's head announcing `length` payload bytes."""
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 65536:
        size = bytes([0x80 | 126]) + struct.pack(">H", length)
    else:
        size = bytes([0x80 | 127]) + struct.pack(">Q", length)
    return bytes([0x80 | opcode]) + size + mask_key


def ws_mask(payload, mask_key=b"\x11\x22\x33\x44"):
    return bytes(b ^ mask_key[i % 4] for i, b in enumerate(payload))


class PartialRsocketFrames(Driver):
    """`holders` connections (TCP and WebSocket in turn) that send a valid SETUP, then the
    first `partial_bytes` of a frame announced at the protocol's 16 MiB limit, and then nothing.
    The gateway must close each within `must_close_within` seconds (its frame deadline plus
    slack), whatever keepalive and lifetime the SETUP asked for."""

    def __init__(self, name, seed, tcp_port, ws_port, holders=8, partial_bytes=1 << 20,
                 must_close_within=40.0, interval=1.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.tcp_port, self.ws_port = tcp_port, ws_port
        self.holders, self.partial_bytes = holders, partial_bytes
        self.must_close_within = must_close_within
        self.open = []  # [sock, opened_at, flagged, transport]
        self.turn = 0

    def _open_one(self):
        self.turn += 1
        frame_length = 0xFFFFFF
        partial = frame_header(1, FRAME_REQUEST_FNF) + os.urandom(self.partial_bytes - 6)
        setup = setup_frame(keepalive_ms=60000, lifetime_ms=600000)
        if self.turn % 2:
            sock = socket.create_connection(("127.0.0.1", self.tcp_port), 10)
            sock.sendall(prefixed(setup) + frame_length.to_bytes(3, "big") + partial)
            transport = "tcp"
        else:
            sock = _ws_upgrade(self.ws_port)
            sock.sendall(ws_frame_head(len(setup)) + ws_mask(setup))
            # One WebSocket message per frame: this one announces 16 MiB and stops early.
            sock.sendall(ws_frame_head(frame_length) + ws_mask(partial))
            transport = "websocket"
        self.open.append([sock, time.monotonic(), False, transport])

    def step(self):
        now = time.monotonic()
        still_open = []
        for entry in self.open:
            sock, opened_at, flagged, transport = entry
            age = now - opened_at
            if _closed_by_peer(sock):
                sock.close()
                self.tally.ok()
                continue
            if age > self.must_close_within and not flagged:
                self.tally.fail(f"partial frame held past its deadline ({transport})",
                                f"open {age:.0f}s")
                entry[2] = True
            still_open.append(entry)
        self.open = still_open
        while len(self.open) < self.holders:
            try:
                self._open_one()
            except OSError as error:
                self.tally.refused(f"connect: {type(error).__name__}")
                break

    def close(self):
        _close_all(entry[0] for entry in self.open)


class SetupCloseFlood(Driver):
    """Bursts of `burst` connections from one address that each send a SETUP and close at
    once (issue 10 item 8: they must not starve real clients of keys)."""

    def __init__(self, name, seed, tcp_port, burst=150, interval=10.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.tcp_port, self.burst = tcp_port, burst

    def step(self):
        setup = prefixed(setup_frame())
        for _ in range(self.burst):
            try:
                with socket.create_connection(("127.0.0.1", self.tcp_port), 5) as sock:
                    sock.sendall(setup)
            except OSError as error:
                self.tally.refused(f"connect: {type(error).__name__}")
        self.tally.ok()


class IdleIngest(Driver):
    """Idle connections to the HM ingest port, `count` at a time, opened by `open_wave()`
    (the test calls it while the plugin restarts, so that they take the port as HM's new plugin
    comes up: issue 10 item 9) and held until the gateway closes them or `hold` seconds passed.
    Each step counts those the gateway closed (`closed_by_gateway`)."""

    def __init__(self, name, seed, ingest_port, count=80, hold=3600.0, interval=0.5,
                 tally=None):
        super().__init__(name, seed, tally, interval)
        self.ingest_port, self.count, self.hold = ingest_port, count, hold
        self.lock = threading.Lock()
        self.sockets = []  # (sock, opened_at)
        self.closed_by_gateway = 0

    def open_wave(self):
        opened = []
        for _ in range(self.count):
            try:
                sock = socket.create_connection(("127.0.0.1", self.ingest_port), 5)
                opened.append((sock, time.monotonic()))
            except OSError as error:
                self.tally.refused(f"connect: {type(error).__name__}")
        with self.lock:
            self.sockets.extend(opened)
        self.tally.ok()

    def step(self):
        now = time.monotonic()
        with self.lock:
            still_open = []
            for sock, opened_at in self.sockets:
                if _closed_by_peer(sock):
                    sock.close()
                    self.closed_by_gateway += 1
                elif now - opened_at > self.hold:
                    sock.close()
                else:
                    still_open.append((sock, opened_at))
            self.sockets = still_open

    def close(self):
        with self.lock:
            _close_all(sock for sock, _ in self.sockets)
            self.sockets = []


class StalledEventStreams(Driver):
    """Waves of `count` event-stream clients with a valid token that stop reading at once (a
    tiny receive window), some in the legitimate readers' subscription group `shared_group`,
    some in groups of their own; held `hold` seconds, then closed."""

    def __init__(self, name, seed, port, token, shared_group, count=4, hold=20.0,
                 interval=5.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.token, self.shared_group = port, token, shared_group
        self.count, self.hold = count, hold
        self.streams = []

    def step(self):
        for i in range(self.count):
            group = self.shared_group if i % 2 == 0 else f"stalled-{i}"
            try:
                stream = EventStream(self.port, group, token=self.token, read=False,
                                     rcvbuf=2048)
            except OSError as error:
                self.tally.refused(f"connect: {type(error).__name__}")
                continue
            if stream.status == 200:
                self.streams.append(stream)
            else:
                stream.close()
                self.tally.refused(f"status {stream.status}")
        self.stopping.wait(self.hold)
        for stream in self.streams:
            stream.close()
        self.streams = []
        self.tally.ok()

    def close(self):
        for stream in self.streams:
            stream.close()


class BadTokens(Driver):
    """Event-stream and /v1/bosh/metrics requests without a usable token: a made-up one (401),
    none at all (401), and `html_token`, for which the UAA stand-in answers 200 with an HTML
    page, as a proxy in front of UAA might: it must be refused (503), never admitted (issue 10
    item 1: check_token failed open)."""

    def __init__(self, name, seed, port, html_token, interval=1.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.html_token = port, html_token

    def step(self):
        variant = self.rng.choice(["made-up token", "no token", "UAA answers HTML",
                                   "gauges without token"])
        if variant == "gauges without token":
            responses, _ = raw_http.exchange(self.port, raw_http.request_head(
                "GET", "/v1/bosh/metrics", [("Host", "chaos"), ("Connection", "close")]))
            status = responses[0].status if responses else None
            expected = {401}
        else:
            token = {"made-up token": f"forged-{self.rng.randrange(1 << 40)}",
                     "no token": None, "UAA answers HTML": self.html_token}[variant]
            headers = [("Host", "chaos"), ("Connection", "close")]
            if token is not None:
                headers.append(("Authorization", f"bearer {token}"))
            with raw_http.connect(self.port) as sock:
                sock.sendall(raw_http.request_head(
                    "GET", "/v1/bosh/events?subscription_id=intruder", headers))
                data, _ = raw_http.read_all(sock, quiet=3.0, limit=4096, deadline=10.0)
            status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
            expected = {503} if variant == "UAA answers HTML" else {401}
        if status in expected:
            self.tally.ok()
        elif status == 200:
            self.tally.fail(f"{variant}: admitted (200)")
        else:
            self.tally.fail(f"{variant}: status {status}, expected {sorted(expected)}")


class Garbage(Driver):
    """Bytes that are no protocol at all, one listener per step: RSocket frames of random bytes
    (TCP and WebSocket: ERROR and close), HTTP heads of random bytes (400 and close), and HM
    ingest lines that are no events, or longer than bosh.max_line_bytes, followed by a valid one
    (skipped and counted; the connection stays usable)."""

    def __init__(self, name, seed, http_port, tcp_port, ws_port, ingest_port,
                 max_line_bytes, interval=0.5, tally=None):
        super().__init__(name, seed, tally, interval)
        self.http_port, self.tcp_port, self.ws_port = http_port, tcp_port, ws_port
        self.ingest_port, self.max_line_bytes = ingest_port, max_line_bytes
        self.n = 0

    def _random(self, low, high):
        return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(low, high)))

    def _expect_close(self, sock, what, within=10.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                if sock.recv(65536) == b"":
                    self.tally.ok()
                    return
            except socket.timeout:
                break
            except OSError:
                self.tally.ok()
                return
        self.tally.fail(f"{what} left open", f"{within:.0f}s")

    def step(self):
        variant = self.rng.choice(["rsocket tcp", "rsocket websocket", "http", "ingest"])
        try:
            self._send(variant)
        except (BrokenPipeError, ConnectionResetError):
            # Closed before everything was sent: the gateway refused the connection (ingest at
            # its connection cap) or gave up on the garbage early. Either is its right.
            self.tally.refused(f"{variant}: closed while sending")

    def _send(self, variant):
        if variant == "rsocket tcp":
            with socket.create_connection(("127.0.0.1", self.tcp_port), 10) as sock:
                body = self._random(6, 512)
                sock.sendall(prefixed(body))
                self._expect_close(sock, "garbage RSocket frame (tcp)")
        elif variant == "rsocket websocket":
            with _ws_upgrade(self.ws_port) as sock:
                body = self._random(6, 512)
                sock.sendall(ws_frame_head(len(body)) + ws_mask(body))
                self._expect_close(sock, "garbage RSocket frame (websocket)")
        elif variant == "http":
            with socket.create_connection(("127.0.0.1", self.http_port), 10) as sock:
                sock.sendall(self._random(1, 256).replace(b"\r", b"").replace(b"\n", b"")
                             + b"\r\n\r\n")
                self._expect_close(sock, "garbage HTTP head")
        else:
            self.n += 1
            lines = [b"this is no event\n", b"{}\n", b'{"kind":"heartbeat"}\n',
                     self._random(1, 200).replace(b"\n", b"") + b"\n"]
            if self.n % 10 == 0:
                lines.append(b"x" * (self.max_line_bytes + 1024) + b"\n")
            lines.append(heartbeat_line(900000 + self.n, deployment="garbage").encode() + b"\n")
            with socket.create_connection(("127.0.0.1", self.ingest_port), 10) as sock:
                for line in lines:
                    sock.sendall(line)
            self.tally.ok()
