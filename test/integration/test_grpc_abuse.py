"""HTTP/2 abuse of the gRPC egress from a raw client (TLS with ALPN h2, frames written byte by
byte, headers as HPACK literals): rapid reset (CVE-2023-44487), a ping flood, a SETTINGS flood,
an empty DATA frame flood, an oversized header list and an HPACK bomb. Each abuser is cut off or
refused and counted, the gateway stays up, and a well-behaved subscriber on its own connection
keeps receiving every event throughout."""

import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402
from bosh_peers import Plugin, alert_line, event_id, metric_value  # noqa: E402
from grpc_peers import PythonSubscriber, Setup, server_pb2, wait_for  # noqa: E402

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, END_HEADERS = 0x1, 0x4
ENHANCE_YOUR_CALM = 11


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


def header_frames(flags, stream, block):
    """A header block as HEADERS and CONTINUATION frames of at most 16 KiB (the default
    SETTINGS_MAX_FRAME_SIZE)."""
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)] or [b""]
    out = b""
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        if i == 0:
            out += frame(HEADERS, (flags & END_STREAM) | (END_HEADERS if last else 0), stream,
                         chunk)
        else:
            out += frame(CONTINUATION, END_HEADERS if last else 0, stream, chunk)
    return out


def hpack_int(value, prefix_bits, first_byte=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte | value])
    out = [first_byte | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value, indexed=False):
    """A header field as an HPACK literal with a new name, no Huffman coding; `indexed` adds it
    to the decoder's dynamic table (then index 62 refers to it)."""
    name, value = name.encode(), value.encode()
    return (b"\x40" if indexed else b"\x00") + hpack_int(len(name), 7) + name + \
        hpack_int(len(value), 7) + value


def request_block(extra=b""):
    return (literal(":method", "POST") + literal(":scheme", "https") +
            literal(":path", "/definitions.Egress/BoshMetrics") +
            literal(":authority", "127.0.0.1") + literal("content-type", "application/grpc") +
            literal("te", "trailers") + literal("authorization", "good") + extra)


class RawClient:
    """An HTTP/2 connection driven frame by frame."""

    def __init__(self, setup):
        context = ssl.create_default_context(cafile=setup.certs.ca)
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", setup.grpc_port))
        self.tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        assert self.tls.selected_alpn_protocol() == "h2"
        self.tls.settimeout(10)
        self.buffer = b""
        self.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0))

    def send(self, data):
        try:
            self.tls.sendall(data)
            return True
        except OSError:
            return False  # the server closed the connection under us: that is the point

    def frames(self, until, timeout=10):
        """Reads frames until `until(frame)` is true or the connection closes; returns all."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                f = (self.buffer[3], self.buffer[4],
                     int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF,
                     self.buffer[9:9 + length])
                self.buffer = self.buffer[9 + length:]
                seen.append(f)
                if until(f):
                    return seen
            try:
                chunk = self.tls.recv(65536)
            except (OSError, ssl.SSLError):
                return seen
            if not chunk:
                return seen
            self.buffer += chunk
        return seen

    def goaway(self):
        frames = self.frames(lambda f: f[0] == GOAWAY)
        goaways = [f for f in frames if f[0] == GOAWAY]
        assert goaways, [f[0] for f in frames]
        payload = goaways[-1][3]
        return int.from_bytes(payload[4:8], "big"), payload[8:]

    def close(self):
        self.tls.close()


def request_message():
    body = server_pb2.EgressRequest(subscription_id="abuse").SerializeToString()
    return b"\x00" + struct.pack(">I", len(body)) + body


class Bystander:
    """A well-behaved subscriber and the events published while the abuse goes on."""

    def __init__(self, setup):
        self.setup = setup
        self.sub = PythonSubscriber(setup.grpc_port, setup.certs, "bystander")
        wait_for(lambda: setup.subscribers() >= 1, what="bystander subscribed")
        self.plugin = Plugin(setup.ingest)
        self.sent = []

    def publish(self, n=20):
        lines = [alert_line(len(self.sent) + i) for i in range(n)]
        self.plugin.send(lines)
        self.sent += [event_id(line) for line in lines]

    def check(self):
        wait_for(lambda: len(self.sub.ids()) == len(self.sent), what="bystander's events")
        assert self.sub.ids() == self.sent
        self.plugin.stop()
        self.sub.close()


def errors(setup, reason):
    return metric_value(setup.metrics(), "mgw_grpc_connection_errors_total",
                        {"reason": reason}) or 0


def refusals(setup, reason):
    return metric_value(setup.metrics(), "mgw_grpc_stream_refusals_total",
                        {"reason": reason}) or 0


def test_rapid_reset_is_cut_off():
    with Setup() as s:
        bystander = Bystander(s)
        client = RawClient(s)
        burst = b""
        for i in range(400):
            stream = 2 * i + 1
            burst += frame(HEADERS, END_HEADERS, stream, request_block())
            burst += frame(RST_STREAM, 0, stream, struct.pack(">I", 8))
        bystander.publish()
        client.send(burst)
        code, _ = client.goaway()
        assert code == ENHANCE_YOUR_CALM, code
        client.close()
        wait_for(lambda: errors(s, "rapid_reset") == 1, what="rapid_reset counted")
        bystander.publish()
        bystander.check()


def test_ping_flood_is_sent_away():
    with Setup() as s:
        bystander = Bystander(s)
        client = RawClient(s)
        client.send(b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(50)))
        code, debug = client.goaway()
        assert code == ENHANCE_YOUR_CALM and debug == b"too_many_pings", (code, debug)
        client.close()
        wait_for(lambda: errors(s, "ping_flood") == 1, what="ping_flood counted")
        bystander.publish()
        bystander.check()


def test_settings_and_empty_frame_floods_are_cut_off():
    with Setup() as s:
        bystander = Bystander(s)
        client = RawClient(s)
        client.send(frame(SETTINGS, 0, 0) * 2000)
        assert client.goaway()[0] == ENHANCE_YOUR_CALM
        client.close()
        client = RawClient(s)
        client.send(frame(HEADERS, END_HEADERS, 1, request_block()) +
                    frame(DATA, 0, 1, b"") * 2000)
        assert client.goaway()[0] == ENHANCE_YOUR_CALM
        client.close()
        wait_for(lambda: errors(s, "settings_flood") == 1 and
                 errors(s, "empty_frame_flood") == 1, what="floods counted")
        bystander.publish()
        bystander.check()


def test_oversized_headers_and_hpack_bomb_are_refused_per_stream():
    with Setup() as s:
        bystander = Bystander(s)
        client = RawClient(s)
        # 20 KiB in one field, over the 16 KiB header list limit (SETTINGS_MAX_HEADER_LIST_SIZE).
        client.send(header_frames(END_STREAM, 1, request_block(literal("x-big", "b" * 20000))))
        # An HPACK bomb: 4 KB indexed once, then referenced 200 times with one byte each.
        bomb = literal("x-bomb", "c" * 4000, indexed=True) + b"\xbe" * 200
        client.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(bomb)))
        # Both refused with a Trailers-Only response (HEADERS with END_STREAM) on their stream.
        ended = set()
        client.frames(lambda f: (f[0] == HEADERS and f[1] & END_STREAM and ended.add(f[2])) or
                      ended == {1, 3})
        assert ended == {1, 3}, ended
        # The connection itself goes on: a proper request on it is served.
        client.send(frame(HEADERS, END_HEADERS, 5, request_block()) +
                    frame(DATA, END_STREAM, 5, request_message()))
        frames = client.frames(lambda f: f[0] == HEADERS and f[2] == 5)
        assert any(f[0] == HEADERS and f[2] == 5 for f in frames), [f[:3] for f in frames]
        wait_for(lambda: refusals(s, "header_list_size") == 2, what="refusals counted")
        assert errors(s, "protocol") == 0
        client.close()
        bystander.publish()
        bystander.check()


def test_requests_that_do_not_parse_are_answered_not_logged():
    # A subscription id that is not UTF-8 cannot be a proto3 string: each call ends with
    # INTERNAL as grpc-go answers it, and libprotobuf's own stderr line per request (a log
    # flood any client could cause) is silenced.
    with Setup() as s:
        client = RawClient(s)
        body = b"\x0a\x04\xff\xfe\xfd\xfc"  # field 1 (subscription_id), 4 bytes, not UTF-8
        message = b"\x00" + struct.pack(">I", len(body)) + body
        streams = list(range(1, 2 * 50, 2))
        for stream in streams:
            client.send(frame(HEADERS, END_HEADERS, stream, request_block()) +
                        frame(DATA, END_STREAM, stream, message))
        ended = set()
        client.frames(lambda f: (f[0] == HEADERS and f[1] & END_STREAM and ended.add(f[2])) or
                      ended == set(streams))
        assert ended == set(streams), sorted(set(streams) - ended)
        client.close()
        assert "libprotobuf" not in s.gateway.output(), s.gateway.output()[-2000:]


if __name__ == "__main__":
    run_tests([test_rapid_reset_is_cut_off, test_ping_flood_is_sent_away,
               test_settings_and_empty_frame_floods_are_cut_off,
               test_oversized_headers_and_hpack_bomb_are_refused_per_stream,
               test_requests_that_do_not_parse_are_answered_not_logged])
