"""Legitimate clients of the gateway as load-test drivers (see drivers.Driver): HTTP probes with
a check per answer, Metrics Forwarder pushes kept in a ledger, HM event-stream readers, the real
hm-plugin fed heartbeats and alerts, RSocket clients that reconnect, and a route emitter on
NATS. Each counts its outcomes in its Tally; none asserts by itself."""

import http.client
import json
import time
import urllib.error
import urllib.request

from bosh_peers import EventStream, Plugin, alert_line, heartbeat_line
from drivers import Driver
from peers import NatsClient


def http_request(port, method, path, body=None, headers=None, timeout=20.0):
    """(status, headers, body bytes); HTTP errors are answers. Raises OSError on no answer."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class HttpProbe(Driver):
    """GET `path(rng)` (a function, so that a driver can vary it) and judge the answer with
    `check(status, headers, body, asked_at)`, which returns None (success), a verdict
    ("refused", why[, detail]) or ("fail", why[, detail]), or a list of verdicts (every one is
    counted; an empty list is a success). No answer within `timeout` counts as `no_answer`
    ("refused": the longest-gap bound judges it; "fail": never acceptable, as for health)."""

    def __init__(self, name, seed, port, path, check, interval=1.0, headers=None,
                 timeout=20.0, tally=None, no_answer="refused"):
        super().__init__(name, seed, tally, interval)
        self.port = port
        self.path = path if callable(path) else (lambda rng: path)
        self.check = check
        self.headers = headers if callable(headers) else (lambda rng: dict(headers or {}))
        self.timeout = timeout
        self.no_answer = no_answer

    def step(self):
        path = self.path(self.rng)
        asked_at = time.monotonic()
        try:
            status, headers, body = http_request(self.port, "GET", path,
                                                 headers=self.headers(self.rng),
                                                 timeout=self.timeout)
        except (OSError, http.client.HTTPException) as error:
            verdicts = [(self.no_answer, f"no answer ({type(error).__name__})", error)]
        else:
            verdicts = self.check(status, headers, body, asked_at)
        if verdicts is None:
            verdicts = []
        elif isinstance(verdicts, tuple):
            verdicts = [verdicts]
        if not verdicts:
            self.tally.ok()
        for verdict in verdicts:
            if verdict[0] == "refused":
                self.tally.refused(verdict[1])
            else:
                detail = verdict[2] if len(verdict) > 2 else ""
                self.tally.fail(verdict[1], f"{path}: {detail}")


def push_body(app_id, index, metrics):
    """A Metrics Forwarder request for one instance; `metrics`: [(name, tags, value, ts ms)]."""
    return json.dumps({"applications": [{"id": app_id, "instances": [{
        "id": f"chaos-instance-{index}", "index": str(index),
        "metrics": [{"name": name, "type": "gauge", "value": value, "unit": "",
                     "timestamp": timestamp, "tags": tags}
                    for name, tags, value, timestamp in metrics]}]}],
        "version": 1}).encode()


def post_push(port, key, body, timeout=20.0):
    return http_request(port, "POST", "/v1/metrics", body,
                        {"Authorization": key, "Content-Type": "application/json"}, timeout)


class Pusher(Driver):
    """Pushes gauge `name` for every tag in `series` of instance `index`, each push one more
    than the last; every 202 goes to the ledger under "<index>/<tag>". The only writer of its
    series, so their values only grow. 503 (memory) is a refusal; anything else a failure."""

    def __init__(self, name, seed, port, key, app_id, index, series, ledger, name_pushed,
                 interval=0.2, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.key, self.app_id, self.index = port, key, app_id, index
        self.series = list(series)
        self.ledger = ledger
        self.name_pushed = name_pushed
        self.value = 0
        self.last_timestamp = 0

    def timestamp(self):
        self.last_timestamp = max(self.last_timestamp + 1, int(time.time() * 1000))
        return self.last_timestamp

    def step(self):
        self.value += 1
        chosen = self.rng.sample(self.series, self.rng.randint(1, len(self.series)))
        body = push_body(self.app_id, self.index,
                         [(self.name_pushed, {"series": tag}, float(self.value),
                           self.timestamp()) for tag in chosen])
        try:
            status, _, answer = post_push(self.port, self.key, body)
        except (OSError, http.client.HTTPException) as error:
            self.tally.fail(f"no answer ({type(error).__name__})", error)
            return
        if status == 202:
            answered_at = time.monotonic()
            for tag in chosen:
                self.ledger.accepted(f"{self.index}/{tag}", float(self.value), answered_at)
            self.tally.ok()
        elif status == 503:
            self.tally.refused("503")
        else:
            self.tally.fail(f"status {status}", answer[:200])


class EventReader(Driver):
    """One reader of GET /v1/bosh/events?subscription_id=`subscription` that reads everything;
    a success per check that found new events. It reopens its stream when the gateway ended it
    and, every `reopen_every` seconds, on its own (streams come and go in real life)."""

    def __init__(self, name, seed, port, subscription, token, reopen_every=None,
                 counts=lambda line: True, interval=0.5, tally=None):
        super().__init__(name, seed, tally, interval)
        self.port, self.subscription, self.token = port, subscription, token
        self.counts = counts  # which events are the ones this reader waits for
        self.reopen_every = reopen_every
        self.stream = None
        self.opened_at = 0.0
        self.seen = 0
        self.total = 0

    def _open(self):
        self._close_stream()
        stream = EventStream(self.port, self.subscription, token=self.token)
        if stream.status == 200:
            self.stream, self.opened_at, self.seen = stream, time.monotonic(), 0
        else:
            stream.close()
            if stream.status == 503:
                self.tally.refused("503")
            else:
                self.tally.fail(f"stream status {stream.status}")

    def _close_stream(self):
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def step(self):
        if self.stream is None:
            self._open()
            return
        lines = self.stream.received()
        fresh = [line for line in lines[self.seen:] if self.counts(line)]
        self.seen = len(lines)
        if fresh:
            self.total += len(fresh)
            self.tally.ok()
        if self.stream.closed.is_set() or (
                self.reopen_every and time.monotonic() - self.opened_at > self.reopen_every):
            self._open()

    def close(self):
        self._close_stream()


class PluginFeeder(Driver):
    """The real `metrics-gateway hm-plugin`, fed bursts of heartbeats and alerts as HM writes
    them, and restarted every `restart_every` seconds as HM restarts its plugins: each restart
    makes a new ingest connection. `while_down()`, when given, runs between the old plugin's
    exit and the new one's start (what else reaches the port meanwhile)."""

    def __init__(self, name, seed, ingest_port, restart_every=20.0, while_down=None,
                 deployment="chaos", interval=0.2, tally=None):
        super().__init__(name, seed, tally, interval)
        self.deployment = deployment
        self.ingest_port = ingest_port
        self.restart_every = restart_every
        self.while_down = while_down
        self.plugin = None
        self.started_at = 0.0
        self.n = 0
        self.sent = 0

    def _restart(self):
        if self.plugin is not None:
            old = self.plugin
            old.process.stdin.close()
            try:
                old.process.wait(5)
            except Exception:  # noqa: BLE001 - a plugin still delivering is killed
                pass
            old.stop()
            if self.while_down is not None:
                self.while_down()
        self.plugin = Plugin(self.ingest_port)
        self.started_at = time.monotonic()

    def step(self):
        if self.plugin is None or time.monotonic() - self.started_at > self.restart_every:
            self._restart()
        lines = []
        for _ in range(self.rng.randint(1, 6)):
            self.n += 1
            lines.append(alert_line(self.n, severity=1 + self.n % 4, deployment=self.deployment)
                         if self.n % 5 == 0
                         else heartbeat_line(self.n, deployment=self.deployment))
        try:
            self.plugin.send(lines)
            self.sent += len(lines)
            self.tally.ok()
        except OSError as error:
            self.tally.fail("plugin stdin closed", error)
            self.plugin = None

    def close(self):
        if self.plugin is not None:
            self.plugin.stop()


class NodeChurn(Driver):
    """An rsocket-js client (rsocket_peers.NodeClient) that reconnects every step: a success
    is a new connection that received its key within `key_within` seconds."""

    def __init__(self, name, seed, client, interval=2.0, key_within=20.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.client = client
        self.key_within = key_within
        self.first = True

    def step(self):
        if not self.first:
            self.client.command("reconnect")
        self.first = False
        try:
            self.client.wait_event("connected", self.key_within)
            self.client.wait_event("key", self.key_within)
        except AssertionError as error:
            self.tally.fail("no key after connect", str(error)[:200])
            # Forget what was not consumed: the next reconnect starts afresh.
            with self.client.changed:
                for event in ("connected", "key"):
                    self.client.consumed[event] = len(
                        [e for e in self.client.history if e["event"] == event])
            return
        self.tally.ok()

    def close(self):
        self.client.stop()


class RouteEmitter(Driver):
    """route-emitter on NATS: publishes every `messages` (router.register payloads) again each
    step, as it does every 20 s in CF."""

    def __init__(self, name, seed, nats_port, messages, interval=5.0, tally=None):
        super().__init__(name, seed, tally, interval)
        self.client = NatsClient(nats_port, name="route-emitter")
        self.messages = messages

    def step(self):
        for message in self.messages:
            self.client.publish("router.register", message)
        self.client.flush()
        self.tally.ok()

    def close(self):
        self.client.close()
