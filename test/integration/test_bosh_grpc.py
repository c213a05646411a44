"""The gRPC egress (definitions.Egress/BoshMetrics) against gRPC C-core (Debian's python3-grpcio)
with messages generated from the original .proto: events field for field, the status codes of
every token outcome, groups shared with the HTTP streams, the deadline rotation, drain on
SIGTERM, an unknown method, and a TLS client without ALPN h2."""

import os
import signal
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402
from bosh_peers import (EventStream, Plugin, alert_line, event_id, heartbeat_line,  # noqa: E402
                        metric_value)
from grpc_peers import (PythonSubscriber, Setup, channel, events_pb2, server_pb2,  # noqa: E402
                        wait_for)

import grpc  # noqa: E402


def test_events_arrive_field_for_field():
    with Setup() as s:
        sub = PythonSubscriber(s.grpc_port, s.certs, "forwarders")
        wait_for(lambda: s.subscribers() == 1, what="subscribed")
        with Plugin(s.ingest) as plugin:
            plugin.send([heartbeat_line(7, deployment="loggregator", job="doppler"),
                         alert_line(8, severity=2, category=None)])
            wait_for(lambda: len(sub.received()) == 2, what="two events")
        heartbeat, alert = sub.received()
        assert heartbeat.WhichOneof("message") == "heartbeat"
        assert heartbeat.id == "hb-7" and heartbeat.deployment == "loggregator"
        assert heartbeat.timestamp == 1700000007 * 10**9
        hb = heartbeat.heartbeat
        assert (hb.agent_id, hb.job, hb.index, hb.instance_id, hb.job_state) == \
            ("agent-7", "doppler", 3, "inst-000007", "running")
        names = [m.name for m in hb.metrics]
        assert names[0] == "system.load.1m" and names[-1] == "system.healthy", names
        assert len(names) == 13
        load = hb.metrics[0]
        assert load.value == 0.45 and load.timestamp == 1700000007 * 10**9
        assert dict(load.tags) == {"job": "doppler", "index": "3", "id": "inst-000007"}
        assert alert.WhichOneof("message") == "alert"
        assert alert.timestamp == (1499359162 + 8) * 10**9
        assert alert.alert.severity == 2 and alert.alert.category == ""
        assert alert.alert.title == "SSH Access Denied"
        sub.close()
        text = s.metrics()
        assert metric_value(text, "mgw_bosh_grpc_auth_total", {"code": "OK"}) == 1
        assert metric_value(text, "mgw_bosh_grpc_events_total", {"outcome": "sent"}) == 2


def test_status_codes_of_every_token_outcome():
    with Setup() as s:
        cases = [(None, grpc.StatusCode.UNAUTHENTICATED, "does not include authorization"),
                 ("", grpc.StatusCode.UNAUTHENTICATED, "does not include authorization"),
                 ("expired", grpc.StatusCode.PERMISSION_DENIED, "not be expired"),
                 ("wrong", grpc.StatusCode.PERMISSION_DENIED, "bosh.system_metrics.read"),
                 ("noscope", grpc.StatusCode.PERMISSION_DENIED, "bosh.system_metrics.read")]
        for token, code, words in cases:
            sub = PythonSubscriber(s.grpc_port, s.certs, "s", token=token)
            assert sub.wait_done() == code, (token, sub.code, sub.details)
            assert words in sub.details, (token, sub.details)
            sub.close()
        # "Bearer " is accepted too (the original took the raw token only).
        sub = PythonSubscriber(s.grpc_port, s.certs, "s", token="good", bearer=True)
        wait_for(lambda: s.subscribers() == 1, what="bearer subscriber")
        sub.close()
        text = s.metrics()
        assert metric_value(text, "mgw_bosh_grpc_auth_total", {"code": "UNAUTHENTICATED"}) == 2
        assert metric_value(text, "mgw_bosh_grpc_auth_total", {"code": "PERMISSION_DENIED"}) == 3
        # UAA down: UNAVAILABLE, so that the forwarder retries instead of refreshing its token
        # from the same dead UAA and exiting.
        s.uaa.stop()
        sub = PythonSubscriber(s.grpc_port, s.certs, "s", token="another")
        assert sub.wait_done() == grpc.StatusCode.UNAVAILABLE, (sub.code, sub.details)
        sub.close()
        assert metric_value(s.metrics(), "mgw_bosh_grpc_auth_total",
                            {"code": "UNAVAILABLE"}) == 1


def test_groups_are_shared_with_http_streams():
    with Setup() as s:
        grpc_a = PythonSubscriber(s.grpc_port, s.certs, "shared")
        http_a = EventStream(s.port, "shared")
        grpc_other = PythonSubscriber(s.grpc_port, s.certs, "other")
        wait_for(lambda: s.subscribers() == 2, what="grpc subscribers")
        lines = [alert_line(n) if n % 2 else heartbeat_line(n) for n in range(400)]
        expected = [event_id(line) for line in lines]
        with Plugin(s.ingest) as plugin:
            for i in range(0, len(lines), 20):
                plugin.send(lines[i:i + 20])
                time.sleep(0.01)
            wait_for(lambda: len(grpc_a.received()) + len(http_a.received()) == 400 and
                     len(grpc_other.received()) == 400, what="all events")
        got_grpc = grpc_a.ids()
        got_http = [event_id(line) for line in http_a.received()]
        assert not set(got_grpc) & set(got_http), "an event went to both members of the group"
        assert sorted(got_grpc + got_http) == sorted(expected)
        assert got_grpc and got_http, (len(got_grpc), len(got_http))
        assert grpc_other.ids() == expected, "the other group misses or reorders events"
        for c in (grpc_a, grpc_other):
            c.close()
        http_a.close()


def test_deadline_rotation_loses_nothing():
    """The forwarder's loop, shortened: 2 s deadline streams re-opened after a short gap while
    events flow; the server ends each stream with DEADLINE_EXCEEDED before the client's
    deadline, so nothing it took is lost."""
    with Setup() as s:
        received = []
        codes = []
        lines = [alert_line(n) for n in range(600)]
        with Plugin(s.ingest) as plugin:
            sent = 0
            sub = PythonSubscriber(s.grpc_port, s.certs, "rotating", timeout=2)
            wait_for(lambda: s.subscribers() == 1, what="first stream")
            started = time.monotonic()
            while time.monotonic() - started < 8 or sent < len(lines):
                if sent < len(lines):
                    plugin.send(lines[sent:sent + 10])
                    sent += 10
                time.sleep(0.1)
                if sub.done.is_set():
                    received += sub.ids()
                    codes.append(sub.code)
                    sub.close()
                    time.sleep(0.3)  # the forwarder waits 1 s; the group keeps events meanwhile
                    sub = PythonSubscriber(s.grpc_port, s.certs, "rotating", timeout=2)
            wait_for(lambda: len(received) + len(sub.ids()) >= len(lines), what="every event")
            received += sub.ids()
            sub.close()
        assert len(codes) >= 3, codes
        assert all(c == grpc.StatusCode.DEADLINE_EXCEEDED for c in codes), codes
        assert sorted(received) == sorted(event_id(line) for line in lines), \
            (len(received), len(set(received)))


def test_drain_delivers_what_is_queued_then_ends_ok():
    with Setup() as s:
        sub = PythonSubscriber(s.grpc_port, s.certs, "drain")
        wait_for(lambda: s.subscribers() == 1, what="subscribed")
        lines = [heartbeat_line(n) for n in range(300)]
        with Plugin(s.ingest) as plugin:
            plugin.send(lines)
            wait_for(lambda: metric_value(s.metrics(), "mgw_bosh_ingest_events_total",
                                          {"kind": "heartbeat"}) == 300, what="ingest")
            s.gateway.signal(signal.SIGTERM)
            assert s.gateway.wait(20) == 0
        assert sub.wait_done() == grpc.StatusCode.OK, (sub.code, sub.details)
        assert sub.ids() == [event_id(line) for line in lines]
        assert "draining" in s.gateway.output()


def test_unknown_method_and_non_h2_clients():
    with Setup() as s:
        ch = channel(s.grpc_port, s.certs)
        call = ch.unary_stream("/definitions.Egress/Nothing")
        try:
            list(call(b"", timeout=5))
            raise AssertionError("unknown method answered")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNIMPLEMENTED, error
        ch.close()
        # (wait_ready's port probe was a failed handshake already.)
        handshakes = metric_value(s.metrics(), "mgw_grpc_connections_refused_total",
                                  {"reason": "handshake"})
        # TLS offering only http/1.1: refused in the handshake (no_application_protocol).
        context = ssl.create_default_context(cafile=s.certs.ca)
        context.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", s.grpc_port)) as raw:
            try:
                with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    raise AssertionError("handshake without h2 accepted")
            except ssl.SSLError as error:
                assert "no application protocol" in str(error).lower().replace("_", " "), error
        # TLS with no ALPN at all: closed right after the handshake.
        context = ssl.create_default_context(cafile=s.certs.ca)
        with socket.create_connection(("127.0.0.1", s.grpc_port)) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.settimeout(5)
                assert tls.recv(100) == b""
        text = s.metrics()
        assert metric_value(text, "mgw_grpc_connections_refused_total",
                            {"reason": "alpn"}) == 1
        assert metric_value(text, "mgw_grpc_connections_refused_total",
                            {"reason": "handshake"}) == handshakes + 1
        assert metric_value(text, "mgw_grpc_calls_finished_total",
                            {"method": "unknown", "code": "UNIMPLEMENTED"}) == 1


def test_idle_connection_accepts_the_forwarders_pings():
    """Keepalive pings on a connection without calls, as the forwarder sends them (every 10 s
    against the original's 5 s policy; here every 2.5 s against 2 s, to be quick): accepted,
    counted, and the connection stays usable."""
    with Setup(extra_grpc="    ping_min_time: 2s\n") as s:
        polite = channel(s.grpc_port, s.certs, [
            ("grpc.keepalive_time_ms", 2500), ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_time_between_pings_ms", 2500)])
        grpc.channel_ready_future(polite).result(timeout=10)
        time.sleep(9)
        text = s.metrics()
        assert (metric_value(text, "mgw_grpc_pings_received_total") or 0) >= 2, text
        assert (metric_value(text, "mgw_grpc_connection_errors_total",
                             {"reason": "ping_flood"}) or 0) == 0
        # Still usable: a stream on the same channel.
        call = polite.unary_stream("/definitions.Egress/BoshMetrics",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=events_pb2.Event.FromString)
        stream = call(server_pb2.EgressRequest(subscription_id="x"),
                      metadata=[("authorization", "good")], timeout=1)
        try:
            list(stream)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error
        polite.close()


if __name__ == "__main__":
    run_tests([test_events_arrive_field_for_field, test_status_codes_of_every_token_outcome,
               test_groups_are_shared_with_http_streams, test_deadline_rotation_loses_nothing,
               test_drain_delivers_what_is_queued_then_ends_ok,
               test_unknown_method_and_non_h2_clients,
               test_idle_connection_accepts_the_forwarders_pings])
