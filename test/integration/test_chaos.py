"""Chaos test of issue 10: one gateway with every path on, under legitimate load and every fault
class of the issue at once, for 60 s, with `limits.memory` set.

Peers (all real, all on loopback): nats-server carrying route-emitter registrations for four
apps whose instances run in a child process (shop: three ordinary instances, one with a
histogram lacking +Inf; wide: four instances of 2 MiB each; slow: two answering after 1.5 s;
hung: one that never answers); the service broker binding shop, whose key pushes; the real
`metrics-gateway hm-plugin` fed heartbeats and alerts (restarted every 20 s); a UAA stand-in for
the event streams; rsocket-js clients over TCP and WebSocket (one joined to shop with its broker
key, one claiming shop without proof, two serving a same series, one hung, two reconnecting).

Legitimate load: merged scrapes (every GUID form, both formats, slow and hung apps, the wide
app read in full), /metrics/connected, pushes (every 202 kept in a ledger), event streams,
/v1/bosh/metrics, /metrics, health. Faults: clients that stop reading wide answers, slowloris
heads, smuggling attempts, made-up methods, oversized and chunked bodies, pushes a year ahead,
half-sent RSocket frames, connect-SETUP-close floods, idle ingest connections, event streams
that stop reading, garbage on every listener. The gateway's RSS is sampled every 100 ms.

Pass criteria, each reported PASS/FAIL at the end:
  rss        VmHWM (the kernel's peak RSS, so nothing between samples escapes) <= limits.memory
  alive      the gateway is running at the end and exits 0 on SIGTERM within its drain timeout
  pushes     every push answered 202 is served in the app's merged answer (the value, or a
             later one of the same series), during the run and at the end
  served     every legitimate kind succeeded at least its minimum, never went longer than
             MAX_GAP without a success, and saw no wrong answer; health answered 200 every time
  faults     every fault was handled as issue 10 requires (no smuggled request answered, no
             made-up method in /metrics, 413 for every oversized body, deadlines on heads and
             frames, garbage closed, pushes from the future refused)
  counters   refusals are visible on /metrics (mgw_memory_refusals_total and the others)
  config     every configuration key the test sets is known to the binary

Environment: MGW_CHAOS_SEED (default: random, printed), MGW_CHAOS_SECONDS (default 60)."""

import base64
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
import fault_drivers as faults  # noqa: E402
import load_drivers as load  # noqa: E402
from bosh_peers import FakeUaa  # noqa: E402
from drivers import PushLedger, Tally  # noqa: E402
from harness import OPENMETRICS, Gateway, free_port, http_get, wait_until  # noqa: E402
from instance_farm import InstanceFarm  # noqa: E402
from instances import app_tags, parse_samples  # noqa: E402
from peers import NatsServer, register_message  # noqa: E402
from rsocket_peers import NodeClient, node_modules_ready  # noqa: E402
from rss_sampler import RssSampler  # noqa: E402

SEED = int(os.environ.get("MGW_CHAOS_SEED") or random.randrange(1 << 31))
DURATION = float(os.environ.get("MGW_CHAOS_SECONDS", "60"))
CEILING = 256 << 20  # limits.memory
DRAIN_TIMEOUT = 10.0
MAX_GAP = 25.0  # seconds a legitimate kind may go without a success
PUSH_LIMIT = 1 << 20  # push.max_body_bytes (default)
MAX_LINE_BYTES = 1 << 20  # bosh.max_line_bytes (default)

BROKER_AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
ROUTES_AUTH = "Basic " + base64.b64encode(b"routes:routes-secret").decode()
FORWARDER_SERVICE = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
UNLIMITED_PLAN = "90197714-1698-46ce-b839-492957f4a15c"
PUSHED = "chaos_pushed"
HTML_TOKEN = "proxied-login-page"  # the UAA stand-in answers 200 text/html for it

# Instances per app, served by the instance farm (a child process).
APPS = {
    "shop": [{"index": 0}, {"index": 1}, {"index": 2, "body": "no_inf"}],
    "wide": [{"index": i, "body": "wide", "wide_bytes": 2 << 20} for i in range(4)],
    "slow": [{"index": i, "mode": "hang", "hang_seconds": 1.5} for i in range(2)],
    "hung": [{"index": 0, "mode": "hang", "hang_seconds": 120.0}],
}

# Keys of issue 10's fixes: unknown to a binary without them (reported as the `config`
# criterion, then left out so that the rest of the test still runs and shows what fails).
FIX_KEYS = {
    ("bosh", "ingest_idle_timeout"): "5s",
    ("rsocket", "setup_timeout"): "5s",
    ("rsocket", "frame_timeout"): "10s",
}


def yaml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return json.dumps(value)  # a JSON string is a YAML string


def yaml_text(tree, indent=0):
    lines = []
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append(" " * indent + f"{key}:")
            lines.append(yaml_text(value, indent + 2))
        else:
            lines.append(" " * indent + f"{key}: {yaml_value(value)}")
    return "\n".join(lines)


class World:
    """Every peer and the gateway, started in order and stopped in reverse."""

    def __init__(self):
        self.stack = []
        self.http, self.health, self.ingest, self.tcp, self.ws = (free_port() for _ in range(5))
        self.tags = {app: [app_tags("chaos", "prod", app, spec["index"]) for spec in specs]
                     for app, specs in APPS.items()}
        self.shop_id = self.tags["shop"][0]["app_id"]
        self.unknown_keys = []

    def push(self, resource):
        self.stack.append(resource)
        return resource

    def start(self):
        specs = [spec for app in APPS for spec in APPS[app]]
        self.farm = self.push(InstanceFarm(specs))
        ports = iter(self.farm.ports)
        self.route_messages = []
        for app, app_specs in APPS.items():
            for spec, tags in zip(app_specs, self.tags[app]):
                self.route_messages.append(register_message(
                    "127.0.0.1", next(ports), [f"{app}.chaos.example.com"], tags))
        self.nats = self.push(NatsServer())
        self.uaa = self.push(FakeUaa())
        self.uaa.check_token_answers[HTML_TOKEN] = (200, "text/html",
                                                    b"<html><body>Sign in</body></html>")
        self.gateway = self.push(self._start_gateway())
        self.pid = self.gateway.process.pid
        for port in (self.ingest, self.tcp, self.ws):
            self.gateway.wait_ready(port)
        self.key = self._bind_shop()

    def config_tree(self, fix_keys):
        tree = {
            "listen": f"127.0.0.1:{self.http}",
            "health_listen": f"127.0.0.1:{self.health}",
            "threads": 2,
            "log": {"level": "info", "access": False},
            "limits": {"memory": f"{CEILING >> 20}MiB"},
            "scrape": {"timeout": "5s"},
            "shutdown": {"drain_timeout": f"{int(DRAIN_TIMEOUT)}s"},
            "nats": {"servers": [self.nats.url]},
            "routes_api": {"username": "routes", "password": "routes-secret"},
            "broker": {"enabled": True, "username": "cc", "password": "broker-secret",
                       "database": ":memory:",
                       "external_url": f"http://127.0.0.1:{self.http}"},
            "bosh": {"ingest_listen": f"127.0.0.1:{self.ingest}",
                     "uaa": {"url": self.uaa.url, "client_id": "gateway",
                             "client_secret": "s3cret", "timeout": "5s"}},
            "rsocket": {"tcp_listen": f"127.0.0.1:{self.tcp}",
                        "websocket_listen": f"127.0.0.1:{self.ws}"},
        }
        for (section, key), value in fix_keys.items():
            tree[section][key] = value
        return tree

    def _start_gateway(self):
        fix_keys = dict(FIX_KEYS)
        while True:
            gateway = Gateway(yaml_text(self.config_tree(fix_keys)) + "\n")
            try:
                gateway.wait_ready(self.http, timeout=20)
                return gateway
            except AssertionError:
                output = gateway.output()
                gateway.stop()
                match = re.search(r"invalid configuration: (\w+)\.(\w+): unknown key", output)
                if not match or (match.group(1), match.group(2)) not in fix_keys:
                    raise AssertionError("gateway did not start:\n" + output) from None
                self.unknown_keys.append(f"{match.group(1)}.{match.group(2)}")
                del fix_keys[(match.group(1), match.group(2))]

    def _osb(self, method, path, body):
        status, _, raw = load.http_request(
            self.http, method, "/broker/v2" + path, json.dumps(body).encode(),
            {"Authorization": BROKER_AUTH, "X-Broker-API-Version": "2.16",
             "Content-Type": "application/json"})
        assert status in (200, 201), (method, path, status, raw)
        return json.loads(raw)

    def _bind_shop(self):
        tags = self.tags["shop"][0]
        self._osb("PUT", "/service_instances/chaos-forwarder", {
            "service_id": FORWARDER_SERVICE, "plan_id": UNLIMITED_PLAN,
            "organization_guid": tags["organization_id"], "space_guid": tags["space_id"]})
        answer = self._osb("PUT", "/service_instances/chaos-forwarder/service_bindings/b-shop", {
            "service_id": FORWARDER_SERVICE, "plan_id": UNLIMITED_PLAN,
            "bind_resource": {"app_guid": self.shop_id},
            "context": {"platform": "cloudfoundry", "organization_guid": tags["organization_id"],
                        "organization_name": "chaos", "space_guid": tags["space_id"],
                        "space_name": "prod"}})
        return answer["credentials"]["access_key"]

    def node(self, transport, **options):
        port = self.tcp if transport == "tcp" else self.ws
        return self.push(NodeClient(transport=transport, port=port, **options))

    def own_metrics(self):
        status, _, body = http_get(f"http://127.0.0.1:{self.http}/metrics", timeout=20)
        assert status == 200, status
        return body.decode("utf-8", "replace")

    def stop(self):
        for resource in reversed(self.stack):
            try:
                resource.stop()
            except Exception as error:  # noqa: BLE001 - stop everything whatever happens
                print(f"stopping {type(resource).__name__}: {error}")


def client_text(name, shared=True):
    text = (f"# TYPE chaos_rsocket_client gauge\n"
            f'chaos_rsocket_client{{client="{name}"}} 1\n')
    if shared:  # the same series from two clients: it must be served once (item 13)
        text += '# TYPE chaos_rsocket_shared gauge\nchaos_rsocket_shared{zone="z1"} 7\n'
    return text


def guid_forms(guid):
    """The forms of Go's uuid.Parse that Promfetcher accepted (issue 10 item 12), as a client
    puts them in a path (braces percent-encoded)."""
    forms = [guid, guid.upper(), "{" + guid + "}", "urn:uuid:" + guid, guid.replace("-", "")]
    return [urllib.parse.quote(form, safe=":") for form in forms]


# ---- checks of legitimate answers: None (success), ("refused", why) or ("fail", why, detail)


def refusal(status, body):
    """503 is the memory budget's clear refusal; any other non-200 is a wrong answer."""
    if status == 503:
        return ("refused", "503")
    return ("fail", f"status {status}", body[:200])


def samples_of(body):
    return parse_samples(body.decode("utf-8", "replace"))


def duplicates(samples):
    seen, repeated = set(), []
    for sample in samples:
        key = (sample.name, tuple(sorted(sample.labels)))
        if key in seen:
            repeated.append(sample.line)
        seen.add(key)
    return repeated


def openmetrics_problem(body):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    try:
        for _ in text_string_to_metric_families(body.decode("utf-8")):
            pass
    except Exception as error:  # noqa: BLE001 - any parse error is the finding
        return str(error)
    return None


class ShopCheck:
    """The shop app's merged answer: its three instances, its pushes as the ledger says, its
    keyed RSocket client (counted apart: a pull may miss under load), never the client that
    only claimed the app, and valid OpenMetrics when asked for."""

    def __init__(self, ledger, joined_tally):
        self.ledger = ledger
        self.joined = joined_tally

    def __call__(self, status, headers, body, asked_at):
        if status != 200:
            return refusal(status, body)
        samples = samples_of(body)
        verdicts = []
        indexes = {s.label("index") for s in samples if s.name == "demo_temperature_celsius"}
        if indexes != {"0", "1", "2"}:
            errors = [s.line for s in samples if s.name == "promfetcher_scrape_error"]
            verdicts.append(("refused", "instance missing", f"{sorted(indexes)} {errors[:2]}"))
        if any(s.name == "chaos_rsocket_rogue" for s in samples):
            verdicts.append(("fail", "RSocket client joined the app by claiming it (item 2)"))
        served = {f"{s.label('index')}/{s.label('series')}": s.value
                  for s in samples if s.name == PUSHED}
        problems = self.ledger.check(served, asked_at)
        if problems:
            verdicts.append(("fail", "push answered 202 not served", "; ".join(problems[:3])))
        if any(s.name == "chaos_rsocket_client" and s.label("client") == "keyed"
               for s in samples):
            self.joined.ok()
        else:
            self.joined.refused("keyed client not in this answer")
        if headers.get("Content-Type", "").startswith("application/openmetrics-text"):
            problem = openmetrics_problem(body)
            if problem:
                verdicts.append(("fail", "merged OpenMetrics answer does not parse (item 11)",
                                 problem))
        repeated = duplicates(samples)
        if repeated:
            verdicts.append(("fail", "duplicate series", repeated[:2]))
        return verdicts


def check_guid_form(status, headers, body, asked_at):
    if status != 200:
        return refusal(status, body)
    if b"demo_temperature_celsius" not in body:
        return ("fail", "answer without the app's series")
    return None


def check_slow(status, headers, body, asked_at):
    if status != 200:
        return refusal(status, body)
    indexes = {s.label("index") for s in samples_of(body)
               if s.name == "demo_temperature_celsius"}
    if indexes != {"0", "1"}:
        return ("refused", "instance missing", sorted(indexes))
    return None


def check_hung(status, headers, body, asked_at):
    if status != 200:
        return refusal(status, body)
    if b'reason="timeout"' not in body:
        return ("fail", "hung instance not reported as a timeout", body[:300])
    return None


def check_wide(status, headers, body, asked_at):
    if status != 200:
        return refusal(status, body)
    if len(body) < 8 << 20 or body.count(b"chaos_wide_series{") < 4 * 40000:
        return ("refused", "instance missing", f"{len(body)} bytes")
    return None


class ConnectedCheck:
    """/metrics/connected: the steady clients' series (counted apart: a pull may miss under
    load), every series once, however many clients serve it."""

    def __init__(self, present_tally):
        self.present = present_tally

    def __call__(self, status, headers, body, asked_at):
        if status != 200:
            return refusal(status, body)
        samples = samples_of(body)
        clients = {s.label("client") for s in samples if s.name == "chaos_rsocket_client"}
        if {"keyed", "steady-ws"} <= clients:
            self.present.ok()
        else:
            self.present.refused("steady client missing")
        repeated = duplicates(samples)
        if repeated:
            return ("fail", "duplicate series from two clients (item 13)", repeated[:2])
        return None


def check_bosh_metrics(status, headers, body, asked_at):
    if status != 200:
        return refusal(status, body)
    if b"system_cpu_user{" not in body:
        return ("refused", "no heartbeat yet")
    return None


def check_own_metrics(status, headers, body, asked_at):
    if status != 200:
        return refusal(status, body)
    return None


def check_health(status, headers, body, asked_at):
    if status != 200:
        return ("fail", f"health {status}", body[:100])
    return None


# ---- the run ------------------------------------------------------------------------------


class Run:
    """The drivers of one run: legitimate ones (with the minimum successes each must reach)
    and faults."""

    def __init__(self, world):
        self.world = world
        self.ledger = PushLedger()
        self.legit = []  # (driver or tally, minimum successes)
        self.faults = []
        self.tallies = {}

    def tally(self, kind):
        return self.tallies.setdefault(kind, Tally(kind))

    def add_legit(self, driver, minimum):
        self.legit.append((driver, minimum))
        return driver

    def build(self):
        w, seed, port = self.world, SEED, self.world.http
        # RSocket clients that stay: one joined to shop by its broker key, one over WebSocket,
        # one claiming shop without proof, one that never answers a pull.
        proof = json.dumps({"access_key": w.key, "app_id": w.shop_id})
        w.node("tcp", name="keyed", text=client_text("keyed"), setupData=proof)
        w.node("websocket", name="steady-ws", text=client_text("steady-ws"))
        w.node("tcp", name="rogue", setupData=w.shop_id,
               text=f'# TYPE chaos_rsocket_rogue gauge\n'
                    f'chaos_rsocket_rogue{{app_id="{w.shop_id}"}} 666\n')
        w.node("websocket", name="hung", reply="hang")

        joined, present = self.tally("shop_rsocket_join"), self.tally("connected_clients")
        self.legit.append((joined, 3))
        self.legit.append((present, 5))
        formats = lambda rng: {"Accept": rng.choice([OPENMETRICS, "text/plain"])}  # noqa: E731
        self.add_legit(load.HttpProbe("scrape_shop", seed, port, f"/v2/apps/{w.shop_id}/metrics",
                                      ShopCheck(self.ledger, joined), interval=0.5,
                                      headers=formats), 20)
        self.add_legit(load.HttpProbe("scrape_guid_forms", seed, port,
                                      lambda rng: "/v2/apps/%s/metrics"
                                      % rng.choice(guid_forms(w.shop_id)),
                                      check_guid_form, interval=2.0), 5)
        self.add_legit(load.HttpProbe("scrape_slow", seed, port,
                                      "/v1/apps/chaos/prod/slow/metrics", check_slow,
                                      interval=2.0), 5)
        self.add_legit(load.HttpProbe("scrape_hung", seed, port,
                                      "/v2/apps/chaos/prod/hung/metrics", check_hung,
                                      interval=3.0,
                                      headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}), 3)
        self.add_legit(load.HttpProbe("scrape_wide", seed, port,
                                      "/v2/apps/chaos/prod/wide/metrics", check_wide,
                                      interval=3.0, timeout=30.0), 3)
        self.add_legit(load.HttpProbe("scrape_connected", seed, port, "/metrics/connected",
                                      ConnectedCheck(present), interval=1.0,
                                      headers={"X-Prometheus-Scrape-Timeout-Seconds": "5"}), 10)
        self.add_legit(load.HttpProbe("bosh_metrics", seed, port, "/v1/bosh/metrics",
                                      check_bosh_metrics, interval=2.0,
                                      headers={"Authorization": "bearer good"}), 5)
        self.add_legit(load.HttpProbe("own_metrics", seed, port, "/metrics", check_own_metrics,
                                      interval=2.0), 5)
        health = self.tally("health")
        self.add_legit(load.HttpProbe("health_listener", seed, w.health, "/", check_health,
                                      interval=0.5, tally=health, no_answer="fail"), 0)
        self.add_legit(load.HttpProbe("health_main", seed, port, "/health", check_health,
                                      interval=0.5, tally=health, no_answer="fail"), 0)
        self.legit.append((health, 100))
        pushes = self.tally("push")
        for index in (0, 1):
            self.add_legit(load.Pusher(f"push_{index}", seed, port, w.key, w.shop_id, index,
                                       [f"s{i}" for i in range(6)], self.ledger, PUSHED,
                                       tally=pushes), 0)
        self.legit.append((pushes, 50))
        streams = self.tally("event_stream")
        for i, (group, reopen) in enumerate([("forwarder", None), ("forwarder", None),
                                             ("audit", 15.0)]):
            self.add_legit(load.EventReader(f"events_{i}", seed, port, group, "good",
                                            reopen_every=reopen, tally=streams,
                                            counts=lambda line: '"deployment":"chaos"' in line),
                           0)
        self.legit.append((streams, 20))
        idle_ingest = faults.IdleIngest("idle_ingest", seed, w.ingest, count=80)
        self.add_legit(load.PluginFeeder("hm_plugin", seed, w.ingest, restart_every=20.0,
                                         while_down=idle_ingest.open_wave), 20)
        self.add_legit(load.RouteEmitter("route_emitter", seed, w.nats.port, w.route_messages),
                       5)
        churn = self.tally("rsocket_churn")
        for transport in ("tcp", "websocket"):
            client = w.node(transport, name=f"churn-{transport}")
            self.add_legit(load.NodeChurn(f"churn_{transport}", seed, client, tally=churn), 0)
        self.legit.append((churn, 8))

        wide = "/v2/apps/chaos/prod/wide/metrics"
        self.faults = [
            faults.NonReadingClients("non_reading", seed, port, lambda rng: wide, holders=16,
                                    hold=15.0, interval=8.0),
            # http.request_timeout (30 s) from a head's first byte, plus slack for the load.
            faults.Slowloris("slowloris", seed, port, connections=30, must_close_within=45.0),
            faults.SmugglingAttempts("smuggling", seed, port, ROUTES_AUTH),
            faults.RandomMethods("random_methods", seed, port),
            faults.OversizedBodies("oversized_bodies", seed, port, w.key, BROKER_AUTH,
                                   PUSH_LIMIT),
            faults.FuturePushes("future_pushes", seed, port, w.key, w.shop_id, 9, self.ledger,
                                PUSHED),
            faults.PartialRsocketFrames("partial_frames", seed, w.tcp, w.ws, holders=8,
                                        must_close_within=40.0),
            faults.SetupCloseFlood("setup_flood", seed, w.tcp, burst=150),
            idle_ingest,
            faults.StalledEventStreams("stalled_streams", seed, port, "good", "forwarder"),
            faults.Garbage("garbage", seed, port, w.tcp, w.ws, w.ingest, MAX_LINE_BYTES),
            faults.BadTokens("bad_tokens", seed, port, HTML_TOKEN),
        ]

    def drivers(self):
        return [d for d, _ in self.legit if hasattr(d, "start")] + self.faults


def stop_all(drivers):
    for driver in drivers:
        driver.stopping.set()
    for driver in drivers:
        driver.stop()


class Verdicts:
    def __init__(self):
        self.rows = []

    def add(self, criterion, passed, detail):
        self.rows.append((criterion, passed, detail))

    def report(self):
        for criterion, passed, detail in self.rows:
            print(f"{'PASS' if passed else 'FAIL'} {criterion}: {detail}")
        return all(passed for _, passed, _ in self.rows)


def counter_total(text, name):
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


# Refusal counters that this run's faults must make visible on /metrics (issue 10: every drop
# or refusal is counted).
REFUSAL_COUNTERS = [
    "mgw_memory_refusals_total",           # answers, bodies, frames past limits.memory
    "mgw_http_rejected_total",             # heads past deadlines, bad heads, big bodies
    "mgw_push_rejected_total",             # 413, 422 of the push API
    "mgw_rsocket_connection_errors_total",  # garbage and half-sent frames
    "mgw_bosh_ingest_rejected_total",      # garbage HM lines
    "mgw_bosh_ingest_connections_closed_total",  # idle and refused ingest connections
]


def judge(world, run, sampler, started, ended, verdicts, final_metrics):
    # rss
    hwm = sampler.high_water_mark()
    peak_at, peak = sampler.peak()
    over = sampler.first_above(CEILING)
    verdicts.add("rss", hwm is not None and hwm <= CEILING and sampler.killed_at is None,
                 f"peak RSS (VmHWM) {(hwm or 0) / 2**20:.0f} MiB, largest sample "
                 f"{peak / 2**20:.0f} MiB at {peak_at:.1f}s, ceiling {CEILING >> 20} MiB"
                 + (f"; first above the ceiling at {over[0]:.1f}s" if over else "")
                 + (f"; killed at {sampler.killed_at:.1f}s (4x the ceiling)"
                    if sampler.killed_at is not None else "")
                 + f"; MiB per 5 s: {sampler.timeline()}")

    # pushes: the final answer against the whole ledger
    asked_at = time.monotonic()
    status, _, body = http_get(f"http://127.0.0.1:{world.http}/v2/apps/{world.shop_id}/metrics",
                               timeout=20)
    problems = [f"final answer {status}"] if status != 200 else world_ledger_problems(
        run.ledger, body, asked_at)
    shop = next(d.tally for d, _ in run.legit if getattr(d, "name", "") == "scrape_shop")
    not_served = shop.failures.get("push answered 202 not served", 0)
    if not_served:
        problems.append(f"{not_served} answers during the run lacked a 202 push "
                        f"(e.g. {shop.examples['push answered 202 not served']})")
    verdicts.add("pushes", not problems,
                 f"{run.ledger.count()} pushes of {len(run.ledger.series())} series answered "
                 f"202; " + ("; ".join(problems[:3]) if problems else "every one served"))

    # served
    lines, ok = [], True
    for driver, minimum in run.legit:
        tally = driver if isinstance(driver, Tally) else driver.tally
        if minimum == 0:
            continue
        gap = tally.longest_gap(started, ended)
        good = tally.oks >= minimum and gap <= MAX_GAP and not tally.failures
        ok = ok and good
        lines.append(("" if good else "!") + tally.summary(started, ended)
                     + f" (min {minimum})")
    verdicts.add("served", ok, "\n    " + "\n    ".join(lines))

    # faults
    lines, ok = [], True
    for driver in run.faults:
        good = driver.tally.oks > 0 and not driver.tally.failures
        ok = ok and good
        lines.append(("" if good else "!") + driver.tally.summary(started, ended))
    methods = next(d for d in run.faults if d.name == "random_methods").methods
    leaked = [m for m in methods if m in final_metrics]
    if leaked:
        ok = False
        lines.append(f"!{len(leaked)} of {len(methods)} made-up methods are label values on "
                     f"/metrics (item 5), e.g. {leaked[0]}; /metrics is {len(final_metrics)} "
                     "bytes")
    else:
        lines.append(f"none of {len(methods)} made-up methods on /metrics "
                     f"({len(final_metrics)} bytes)")
    verdicts.add("faults", ok, "\n    " + "\n    ".join(lines))

    # counters
    values = {name: counter_total(final_metrics, name) for name in REFUSAL_COUNTERS}
    missing = [name for name, value in values.items() if not value]
    verdicts.add("counters", not missing,
                 ", ".join(f"{name}={value:g}" if value is not None else f"{name} absent"
                           for name, value in values.items()))

    verdicts.add("config", not world.unknown_keys,
                 "every key known" if not world.unknown_keys
                 else "unknown to this binary (fix not merged): " + ", ".join(world.unknown_keys))


def world_ledger_problems(ledger, body, asked_at):
    served = {f"{s.label('index')}/{s.label('series')}": s.value
              for s in samples_of(body) if s.name == PUSHED}
    return ledger.check(served, asked_at)


def test_chaos():
    if not node_modules_ready():
        raise AssertionError("rsocket-js is not installed: run scripts/bootstrap")
    print(f"chaos seed {SEED} (MGW_CHAOS_SEED={SEED} repeats it), {DURATION:.0f}s, "
          f"limits.memory {CEILING >> 20} MiB", flush=True)
    began = time.monotonic()
    world = World()
    verdicts = Verdicts()
    drivers = []
    try:
        world.start()
        run = Run(world)
        run.build()
        # The routes are learnt and the shop answers before the clock starts.
        emitter = next(d for d, _ in run.legit if getattr(d, "name", "") == "route_emitter")
        emitter.step()
        wait_until(lambda: b"demo_temperature_celsius" in http_get(
            f"http://127.0.0.1:{world.http}/v2/apps/{world.shop_id}/metrics")[2],
            timeout=20, what="shop's routes")

        sampler = RssSampler(world.pid, kill_above=4 * CEILING)
        drivers = run.drivers()
        started = time.monotonic()
        for driver in drivers:
            driver.start()
        while time.monotonic() - started < DURATION and world.gateway.process.poll() is None:
            time.sleep(0.5)
        ended = time.monotonic()
        stop_all(run.faults)
        # One event stream stays open through the drain: the gateway must end it itself.
        witness = next(d for d in drivers if getattr(d, "name", "") == "events_2")
        witness.stopping.set()
        stop_all([d for d in drivers if d not in run.faults and d is not witness])
        sampler.stop()

        alive = world.gateway.process.poll() is None
        final_metrics = world.own_metrics() if alive else ""
        if alive:
            judge(world, run, sampler, started, ended, verdicts, final_metrics)
            world.gateway.signal(signal.SIGTERM)
            signalled = time.monotonic()
            try:
                code = world.gateway.wait(DRAIN_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                code = None
            stream = witness.stream
            stream_ended = stream is None or stream.closed.wait(5)
            witness.stop()
            verdicts.add("alive", code == 0 and stream_ended,
                         f"running after {ended - started:.0f}s; SIGTERM: "
                         + ("no exit within the drain timeout" if code is None
                            else f"exit {code} after {time.monotonic() - signalled:.1f}s")
                         + ("" if stream_ended else "; an open event stream was not ended"))
        else:
            verdicts.add("alive", False, f"gateway exited ({world.gateway.process.returncode})"
                         f" during the run; RSS peak sample {sampler.peak()[1] >> 20} MiB")
    finally:
        stop_all(drivers)  # what an exception left running
        passed = verdicts.report()
        if not passed:
            print("---- gateway log (tail) ----\n" + world.gateway.output()[-6000:]
                  if hasattr(world, "gateway") else "")
        world.stop()
    print(f"chaos test took {time.monotonic() - began:.0f}s in all")
    assert passed, "chaos criteria failed (see above)"


if __name__ == "__main__":
    try:
        test_chaos()
    except AssertionError as error:
        print(f"FAIL test_chaos: {error}")
        sys.exit(1)
    print("PASS test_chaos")
