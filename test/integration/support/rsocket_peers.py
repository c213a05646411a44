"""RSocket peers for the integration tests: the rsocket-js client (test/integration/
rsocket_client/client.js, run by node) and a raw-socket client for frames no library would send."""

import base64
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

from harness import Gateway, free_ports, http_get, wait_until

CLIENT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "rsocket_client")


class ProxyGateway:
    """A gateway with both RSocket listeners on free ports; `sections` is YAML placed before
    the rsocket section (a broker...), `rsocket` goes inside it, `extra` after it. Tests
    subclass it with what they need of it."""

    def __init__(self, extra="", rsocket="", sections="", log_level="info"):
        self.http_port, health_port, self.tcp_port, self.ws_port = free_ports(4)
        self.gateway = Gateway(f"""
listen: 127.0.0.1:{self.http_port}
health_listen: 127.0.0.1:{health_port}
log: {{ level: {log_level}, format: text, access: false }}
{sections}
rsocket:
  tcp_listen: 127.0.0.1:{self.tcp_port}
  websocket_listen: 127.0.0.1:{self.ws_port}
{rsocket}
{extra}
""")

    def __enter__(self):
        self.gateway.__enter__()
        self.gateway.wait_ready(self.http_port)
        wait_until(lambda: self.gateway.output().count("rsocket listening") == 2,
                   what="rsocket listeners")
        return self

    def __exit__(self, *exc):
        self.gateway.__exit__(*exc)

    def port(self, transport):
        return self.tcp_port if transport == "tcp" else self.ws_port

    def get(self, path, headers=None, timeout=30.0):
        """(status, body as text) of a GET on the gateway's main listener."""
        status, _, body = http_get(f"http://127.0.0.1:{self.http_port}{path}", headers, timeout)
        return status, body.decode()

    def metric(self, name, labels="", path="/metrics"):
        """The sum of the samples of `name` whose label block contains `labels`."""
        status, body = self.get(path)
        assert status == 200, (path, status)
        pattern = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", re.M)
        return sum(float(match.group(2)) for match in pattern.finditer(body)
                   if labels in (match.group(1) or ""))


def node_modules_ready():
    return os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "rsocket-core"))


class NodeClient:
    """One client.js process; `events` receives its JSON lines."""

    def __init__(self, **options):
        self.options = options
        self.history = []
        self.consumed = {}  # event name -> how many of them wait_event returned
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            ["node", os.path.join(CLIENT_DIR, "client.js"), json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=CLIENT_DIR)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            line = line.decode("utf-8", "replace").strip()
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "output", "line": line}
            with self.changed:
                self.history.append(event)
                self.changed.notify_all()

    def wait_event(self, name, timeout=20.0):
        """The next event of that name not returned yet (in order, whatever came between)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                seen = [e for e in self.history if e["event"] == name]
                index = self.consumed.get(name, 0)
                if len(seen) > index:
                    self.consumed[name] = index + 1
                    return seen[index]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"client {self.options.get('name')}: no '{name}' event "
                                         f"in {timeout}s; history {self.history}")
                self.changed.wait(remaining)

    def command(self, line):
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()

    def stop(self):
        if self.process.poll() is None:
            try:
                self.command("exit")
                self.process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# Frame building (Protocol.md layouts), for the raw client.
def frame_header(stream_id, frame_type, flags=0):
    return struct.pack(">IH", stream_id, (frame_type << 10) | flags)


def setup_frame(keepalive_ms=20000, lifetime_ms=90000, major=1, data=b"", metadata=None):
    mime = b"application/binary"
    flags = 0x100 if metadata is not None else 0
    body = (frame_header(0, 0x01, flags) + struct.pack(">HHII", major, 0, keepalive_ms, lifetime_ms)
            + bytes([len(mime)]) + mime + bytes([len(mime)]) + mime)
    if metadata is not None:
        body += struct.pack(">I", len(metadata))[1:] + metadata
    return body + data


def error_reply(stream_id, code, message=b"failed"):
    """An ERROR frame answering the gateway's request on `stream_id`."""
    return frame_header(stream_id, 0x0B) + struct.pack(">I", code) + message


def prefixed(frame):
    return struct.pack(">I", len(frame))[1:] + frame


def split_frame(frame):
    """(stream_id, type, flags, body) of an RSocket frame without its length prefix."""
    stream_id, type_flags = struct.unpack(">IH", frame[:6])
    return stream_id, type_flags >> 10, type_flags & 0x3FF, frame[6:]


class FrameConnection:
    """What the raw TCP and WebSocket clients share: frames read until a type, the gateway's
    close seen, the socket closed. Subclasses define read_frame()."""

    def read_until(self, frame_type):
        while True:
            frame = self.read_frame()
            if frame is None or frame[1] == frame_type:
                return frame

    def closed_by_peer(self):
        """True once the gateway closed the connection (reads drain any frames before it)."""
        try:
            while True:
                if self.read_frame() is None:
                    return True
        except (OSError, struct.error):  # a reset, or a message too short to be a frame
            return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawClient(FrameConnection):
    """A TCP socket speaking length-prefixed frames by hand."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, frame):
        self.sock.sendall(prefixed(frame))

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def read_frame(self):
        """(stream_id, type, flags, body) or None when the gateway closed the connection."""
        prefix = self._read_exact(3)
        if prefix is None:
            return None
        length = int.from_bytes(prefix, "big")
        body = self._read_exact(length)
        if body is None:
            return None
        return split_frame(body)


def error_frame(frame):
    """(code, message) of an ERROR frame tuple from read_frame."""
    assert frame is not None and frame[1] == 0x0B, frame
    return struct.unpack(">I", frame[3][:4])[0], frame[3][4:].decode("utf-8", "replace")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class RawWebSocket(FrameConnection):
    """A WebSocket client written by hand (RFC 6455): the upgrade with any path and headers,
    masked binary frames, fragmented messages, for the faults no library would produce."""

    def __init__(self, port, path="/", headers=None, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.pending = head.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0

    def send_ws_frame(self, payload, opcode=0x2, fin=True):
        header = bytes([(0x80 if fin else 0) | opcode])
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_frame(self, frame):
        """One RSocket frame as one binary message (no length prefix on WebSocket)."""
        self.send_ws_frame(frame)

    def _read_exact(self, n):
        data = self.pending[:n]
        self.pending = self.pending[n:]
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def read_message(self):
        """The payload of the next data message, or None once the gateway closed."""
        while True:
            head = self._read_exact(2)
            if head is None:
                return None
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read_exact(8))[0]
            payload = self._read_exact(length)
            if payload is None or opcode == 0x8:
                return None
            if opcode in (0x1, 0x2):
                return payload

    def read_frame(self):
        """(stream_id, type, flags, body) like RawClient.read_frame, or None when closed."""
        message = self.read_message()
        if message is None:
            return None
        return split_frame(message)
