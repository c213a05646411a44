"""Issue 15's cluster-mode figures, measured on loopback: for 1, 2 and 3 gateways on one
3-server routed nats-server cluster (start_nats_cluster, test/integration/support/nats_cluster.py;
core NATS; the 1-node case runs on it too; every gateway lists all three, nats.c picks one at
random, and the gateways per server are printed), it measures

  (a) the latency the gather adds to an app's merged answer: on g1, GET /v2/apps/<guid>/metrics
      with `?scope=local` and without (cluster scope) in turn, same app, same data (every node
      holds --series pushed series of the app), p50/p99 of each and of the difference;
  (b) NATS bytes per push and per scrape: the bytes every gateway's NATS connection sent
      (`in`) and was sent (`out`), summed over the three servers' /connz, before and after
      --pushes pushes (round robin over the nodes, --push-rate per second, a limited plan so the
      cluster rate-limit sync runs) and around the latency phase (only its cluster-scope
      requests touch NATS), less the background (heartbeats, rate-sync refreshes) measured for
      --baseline seconds just before, divided by the pushes or scrapes;
  (c) HM events/s cluster-wide to 10 subscription ids: one client per id (curl, NDJSON) spread
      over the nodes (id k on g<1 + k mod N), --hm-events HM lines (--hm-kind: alerts, the
      default, heartbeats or both in turn) fed through `metrics-gateway hm-plugin` into g1's
      ingest listener at --hm-rate per second (0: as fast as the plugin takes them); delivered
      events/s over all ids (first line written to the last client's last byte), drops
      (events not delivered, and the gateways' drop counters) and NATS bytes per event.

--nodes 0 adds a reference step: one gateway with cluster mode off (no NATS connection), the
same phases (its cluster-scope answer is its local one; HM events go straight to its queues).
Every gateway runs the broker (its own SQLite, `cluster.bindings.store: local`: the same
instance and binding ids bound on each node are one rate limit) and the HM ingest. --rounds
repeats the whole series so that the spread shows; the load average is printed with every step.
Everything started here is stopped here. From the source tree after the release build:

    /usr/bin/python3 bench/cluster/figures.py [--nodes 1 2 3] [--rounds 1] [--series 50]
        [--scrapes 100] [--pushes 200] [--push-rate 50] [--hm-events 4000] [--hm-rate 2000]
        [--hm-kind alert] [--json FILE]

The defaults are a smoke-sized run (about 35 s); docs/BENCHMARKS.md gives the command of the
published figures.

MGW_BINARY names the gateway (default: build/metrics-gateway of this source tree).
"""

import argparse
import base64
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# The release build of this source tree unless MGW_BINARY names another (read by harness.py).
os.environ.setdefault("MGW_BINARY", os.path.join(HERE, "..", "..", "build", "metrics-gateway"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "integration", "support"))
from bosh_peers import FakeUaa, Plugin, alert_line, heartbeat_line  # noqa: E402
from harness import Gateway, free_port, http_get, wait_until  # noqa: E402
from nats_cluster import start_nats_cluster  # noqa: E402

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
PLAN = "6a3e8f7d-2b1c-4d5e-9f60-7a8b9c0d1e2f"
BROKER_AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
APP = "6f0c4a2e-1b7d-4c3a-9e58-2d1f0a9b8c7e"
ORG = "0a4c2e1b-7d3c-4a9e-582d-1f0a9b8c7e6f"
SPACE = "1b7d4c3a-9e58-2d1f-0a9b-8c7e6f0c4a2e"
SUBSCRIPTION_IDS = [f"bench-{k}" for k in range(10)]
PROBE_BASE = 90_000_000


def machine():
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("Model name")), "")
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{model}, nproc {os.cpu_count()}"


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def metric_sum(port, name, labels=""):
    """The sum of a metric's samples on a gateway's /metrics (those whose labels contain
    `labels`), 0 when absent."""
    _, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    total = 0.0
    for match in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", body.decode(),
                             re.M):
        if labels in (match.group(1) or ""):
            total += float(match.group(2))
    return total


class Node:
    """One gateway: cluster mode, the broker with its own database, the HM ingest."""

    def __init__(self, index, cluster, nats_urls, workdir, uaa, heartbeat):
        """`cluster` None: single-node mode, no NATS at all (the reference step)."""
        self.index = index
        self.port, self.ingest = free_port(), free_port()
        servers = ", ".join(nats_urls[index - 1:] + nats_urls[:index - 1])
        cluster_section = "" if cluster is None else f"""
nats: {{ servers: [{servers}] }}
cluster:
  enabled: true
  name: {cluster}
  node_id: g{index}
  heartbeat: {heartbeat}
  gather: {{ timeout: 2s }}
  bindings: {{ store: local }}"""
        config = f"""
listen: 127.0.0.1:{self.port}
health_listen: 127.0.0.1:{free_port()}
threads: 2
log: {{ level: warn, format: text, access: false }}
shutdown: {{ drain_timeout: 2s }}{cluster_section}
broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {workdir}/broker-{cluster}-g{index}.db
  metrics_forwarder:
    plans:
      - {{ name: bench, id: {PLAN}, requests_per_minute: 100000000,
          metrics_per_minute: 1000000000 }}
bosh:
  ingest_listen: 127.0.0.1:{self.ingest}
  uaa: {{ url: "{uaa.url}", client_id: gateway, client_secret: s3cret, timeout: 2s }}
"""
        self.gateway = Gateway(config)
        self.gateway.wait_ready(self.port)
        self.key = None
        self.connection = None

    def metric(self, name, labels=""):
        return metric_sum(self.port, name, labels)

    def osb(self, method, path, body):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/broker/v2{path}", data=json.dumps(body).encode(),
            method=method, headers={"Authorization": BROKER_AUTH, "X-Broker-API-Version": "2.16",
                                    "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())

    def bind(self):
        """The same instance and binding ids on every node: one binding, one rate limit."""
        status, _ = self.osb("PUT", "/service_instances/bench-si",
                             {"service_id": FORWARDER, "plan_id": PLAN,
                              "organization_guid": ORG, "space_guid": SPACE})
        assert status in (200, 201), status
        status, answer = self.osb("PUT", "/service_instances/bench-si/service_bindings/bench-sb",
                                  {"service_id": FORWARDER, "plan_id": PLAN,
                                   "bind_resource": {"app_guid": APP}})
        assert status in (200, 201), (status, answer)
        self.key = answer["credentials"]["access_key"]

    def request(self, method, path, body=None, headers=None):
        """One request on this node's keep-alive connection: (status, body bytes)."""
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def push(self, series, value):
        """One push of `series` gauges of the app, this node's own instance."""
        now = int(time.time() * 1000)
        body = {"applications": [{"id": APP, "instances": [{
            "id": f"instance-g{self.index}", "index": str(self.index),
            "metrics": [{"name": f"bench.series.{j}", "type": "gauge", "value": value,
                         "unit": "bytes", "timestamp": now, "tags": {"node": f"g{self.index}"}}
                        for j in range(series)]}]}], "version": 1}
        status, answer = self.request("POST", "/v1/metrics", json.dumps(body).encode(),
                                      {"Authorization": self.key,
                                       "Content-Type": "application/json"})
        assert status == 202, (status, answer[:300])

    def stop(self):
        if self.connection is not None:
            self.connection.close()
        self.gateway.stop()


def nats_bytes(nats):
    """(in, out) bytes of every client connection (the gateways) over the servers' /connz."""
    total_in = total_out = 0
    for server in nats:
        status, connz = server.monitor("/connz?limit=1024")
        assert status == 200, f"{server.name}: /connz answered {status}"
        for connection in connz.get("connections", []):
            total_in += connection.get("in_bytes", 0)
            total_out += connection.get("out_bytes", 0)
    return total_in, total_out


def background(nats, seconds):
    """Bytes/s (in, out) with nothing but the cluster's own traffic."""
    before, t = nats_bytes(nats), time.monotonic()
    time.sleep(seconds)
    after, elapsed = nats_bytes(nats), time.monotonic() - t
    return [(a - b) / elapsed for a, b in zip(after, before)]


def measured(nats, baseline, work):
    """Runs `work` (returning its count of operations) and answers the NATS bytes (in, out)
    per operation above the background measured for `baseline` seconds just before."""
    rate = background(nats, baseline)
    before, t = nats_bytes(nats), time.monotonic()
    count = work()
    after, elapsed = nats_bytes(nats), time.monotonic() - t
    return [max(0.0, (a - b) - r * elapsed) / count for a, b, r in zip(after, before, rate)]


def phase_latency(g1, nodes, args):
    """(a): local and cluster-scope answers on g1 in turn; answers the number of cluster-scope
    requests (the only ones that touch NATS) after recording the latencies in `args.out`."""
    expected_local = args.series
    expected_cluster = args.series * len(nodes)
    samples = {"local": [], "cluster": []}
    partial = 0

    def one(scope):
        path = f"/v2/apps/{APP}/metrics" + ("?scope=local" if scope == "local" else "")
        t = time.perf_counter()
        status, body = g1.request("GET", path)
        took = (time.perf_counter() - t) * 1000
        assert status == 200, (status, body[:300])
        return took, len(re.findall(rb"^bench_series_\d+\{", body, re.M))

    for _ in range(args.warmup):
        one("local")
        one("cluster")
    for i in range(args.scrapes):
        # Alternate which goes first, so that neither always follows the other.
        order = ("local", "cluster") if i % 2 == 0 else ("cluster", "local")
        for scope in order:
            took, series = one(scope)
            want = expected_local if scope == "local" else expected_cluster
            if series != want:
                partial += 1
            samples[scope].append(took)
    args.out.update(samples=samples, partial=partial)
    return args.scrapes + args.warmup


def phase_push(nodes, args):
    """(b) per push: --pushes pushes round robin over the nodes at --push-rate."""
    interval = 1.0 / args.push_rate
    start = time.monotonic()
    for i in range(args.pushes):
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        nodes[i % len(nodes)].push(args.series, float(i))
    return args.pushes


def hm_ids(kind, count):
    """The event ids of `count` HM lines of `kind` (alert, heartbeat or mixed: in turn)."""
    return [f"alert-{n}" if kind == "alert" or (kind == "mixed" and n % 2) else f"hb-{n}"
            for n in range(count)]


def hm_lines(kind, count):
    return [alert_line(n) if i.startswith("alert-") else heartbeat_line(n)
            for n, i in enumerate(hm_ids(kind, count))]


class Subscriber:
    """A client of one subscription id: curl streaming NDJSON to a file, so that reading the
    events costs this script's interpreter nothing while they arrive."""

    def __init__(self, node, subscription_id, workdir):
        self.node, self.id = node, subscription_id
        self.path = os.path.join(workdir, f"{subscription_id}-g{node.index}.ndjson")
        self.file = open(self.path, "wb")
        self.process = subprocess.Popen(
            ["curl", "-sN", "--max-time", "600", "-H", "Authorization: bearer good",
             f"http://127.0.0.1:{node.port}/v1/bosh/events?subscription_id={subscription_id}"],
            stdout=self.file, stderr=subprocess.DEVNULL)

    def size(self):
        return os.path.getsize(self.path)

    def ids(self):
        with open(self.path, "rb") as f:
            return re.findall(rb'"id":"((?:alert|hb)-\d+)"', f.read())

    def has_probe(self):
        with open(self.path, "rb") as f:
            return b'"id":"alert-9' in f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.file.close()


def drop_counters(nodes):
    """The gateways' own counts of lost events, summed over the nodes: a subscription's full
    queue (also counted by the cluster relay as not_queued) and nats.c's slow-consumer drops."""
    return {"queue_full": sum(n.metric("mgw_bosh_subscription_dropped_total") for n in nodes),
            "nats_dropped": sum(n.metric("mgw_nats_dropped_messages_total") for n in nodes)}


def phase_hm(nats, nodes, workdir, args):
    """(c): 10 ids, one curl client each, spread over the nodes; events fed into g1's ingest
    at --hm-rate; answers (delivered events/s, events not delivered, gateway drop counters)."""
    subscribers = []
    try:
        for k, sid in enumerate(SUBSCRIPTION_IDS):
            subscribers.append(Subscriber(nodes[k % len(nodes)], sid, workdir))
        held = {n.index: sum(1 for s in subscribers if s.node is n) for n in nodes}
        if args.cluster:
            wait_until(lambda: all(n.metric("mgw_cluster_hm_queue_subscriptions") ==
                                   held[n.index] for n in nodes), 15, interval=0.1,
                       what="every node in the queue groups of its ids")
        with Plugin(nodes[0].ingest) as plugin:
            # Probes until every id's client has one: the servers know every queue group.
            sent = [0]

            def probed():
                sent[0] += 1
                plugin.send([alert_line(PROBE_BASE + sent[0])])
                return all(s.has_probe() for s in subscribers)
            wait_until(probed, 15, interval=0.1, what="a probe reaching every id")
            time.sleep(0.3)
            drops_before = drop_counters(nodes)
            lines = hm_lines(args.hm_kind, args.hm_events)
            sizes = [s.size() for s in subscribers]
            bytes_before = nats_bytes(nats)
            batch = max(1, args.hm_rate // 100) if args.hm_rate else 1000  # every 10 ms
            start = time.monotonic()
            for i in range(0, len(lines), batch):
                delay = start + (i / args.hm_rate) - time.monotonic() if args.hm_rate else 0
                if delay > 0:
                    time.sleep(delay)
                plugin.send(lines[i:i + batch])
            sent_for = time.monotonic() - start
            # Delivered once every client's file stopped growing for 0.5 s (or 20 s passed).
            last_growth = time.monotonic()
            deadline = last_growth + 20
            while time.monotonic() < deadline and time.monotonic() - last_growth < 0.5:
                time.sleep(0.05)
                now = [s.size() for s in subscribers]
                if now != sizes:
                    sizes, last_growth = now, time.monotonic()
            elapsed = last_growth - start
            # Over a few seconds the background (heartbeats) is a few hundred bytes: not
            # subtracted.
            per_event = [(a - b) / args.hm_events
                         for a, b in zip(nats_bytes(nats), bytes_before)]
        expected = set(hm_ids(args.hm_kind, args.hm_events))
        delivered = 0
        duplicates = 0
        for s in subscribers:
            got = [i.decode() for i in s.ids()]
            mine = [i for i in got if i in expected]
            delivered += len(set(mine))
            duplicates += len(mine) - len(set(mine))
        drops = {k: v - drops_before[k] for k, v in drop_counters(nodes).items()}
        return {"offered_per_s": args.hm_events / sent_for, "delivered": delivered,
                "delivered_per_s": delivered / elapsed, "elapsed_s": elapsed,
                "missing": len(SUBSCRIPTION_IDS) * args.hm_events - delivered,
                "duplicates": duplicates, "nats_in_bytes": per_event[0],
                "nats_out_bytes": per_event[1], **drops}
    finally:
        for s in subscribers:
            s.stop()


def run_step(nats, count, round_number, workdir, uaa, args):
    """One step: `count` gateways in cluster mode; 0: one gateway without cluster mode."""
    args.cluster = count > 0
    cluster = f"bench{round_number}n{count}" if args.cluster else None
    nodes = []
    result = {"nodes": count, "round": round_number, "load_before": load()}
    try:
        urls = [n.url for n in nats]
        for i in range(1, max(count, 1) + 1):
            nodes.append(Node(i, cluster, urls, workdir, uaa, args.heartbeat))
        if args.cluster:
            wait_until(lambda: all(n.metric("mgw_cluster_up") == 1 and
                                   n.metric("mgw_cluster_peers") == count - 1 for n in nodes),
                       15, interval=0.1,
                       what=f"every gateway on NATS, seeing {count - 1} peers")
        result["gateways_per_server"] = [n.clients() for n in nats]
        for n in nodes:
            n.bind()
            n.push(args.series, 0.0)
        g1 = nodes[0]
        # The cluster answer on g1 has every node's series before anything is measured.
        wait_until(lambda: len(re.findall(rb"^bench_series_\d+\{",
                                          g1.request("GET", f"/v2/apps/{APP}/metrics")[1],
                                          re.M)) == args.series * len(nodes),
                   10, interval=0.1, what="g1's cluster answer with every node's series")

        args.out = {}
        per_scrape = measured(nats, args.baseline, lambda: phase_latency(g1, nodes, args))
        local, cluster_ms = args.out["samples"]["local"], args.out["samples"]["cluster"]
        added = [c - l for c, l in zip(cluster_ms, local)]
        result.update({
            "local_p50_ms": percentile(local, 0.5), "local_p99_ms": percentile(local, 0.99),
            "cluster_p50_ms": percentile(cluster_ms, 0.5),
            "cluster_p99_ms": percentile(cluster_ms, 0.99),
            "added_p50_ms": percentile(added, 0.5), "added_p99_ms": percentile(added, 0.99),
            "partial_answers": args.out["partial"],
            "scrape_in_bytes": per_scrape[0], "scrape_out_bytes": per_scrape[1]})
        per_push = measured(nats, args.baseline, lambda: phase_push(nodes, args))
        result.update({"push_in_bytes": per_push[0], "push_out_bytes": per_push[1]})
        result["hm"] = phase_hm(nats, nodes, workdir, args)
        result["load_after"] = load()
        return result
    finally:
        for n in nodes:
            if n.gateway.process.poll() is None:
                n.gateway.process.send_signal(signal.SIGTERM)
        for n in nodes:
            n.stop()


def print_result(r):
    hm = r["hm"]
    print(f"RESULT round={r['round']} nodes={r['nodes']} load={r['load_before']} -> "
          f"{r['load_after']} gateways per nats-server={r['gateways_per_server']}\n"
          f"  answer ms local p50={r['local_p50_ms']:.2f} p99={r['local_p99_ms']:.2f}  "
          f"cluster p50={r['cluster_p50_ms']:.2f} p99={r['cluster_p99_ms']:.2f}  "
          f"added p50={r['added_p50_ms']:.2f} p99={r['added_p99_ms']:.2f}  "
          f"partial={r['partial_answers']}\n"
          f"  NATS bytes per scrape in={r['scrape_in_bytes']:.0f} out={r['scrape_out_bytes']:.0f}"
          f"  per push in={r['push_in_bytes']:.0f} out={r['push_out_bytes']:.0f}\n"
          f"  HM offered={hm['offered_per_s']:.0f}/s delivered={hm['delivered_per_s']:.0f}/s "
          f"({hm['delivered']} in {hm['elapsed_s']:.2f} s) missing={hm['missing']} "
          f"duplicates={hm['duplicates']} dropped: queue_full={hm['queue_full']:.0f} "
          f"nats={hm['nats_dropped']:.0f}; NATS bytes per event in={hm['nats_in_bytes']:.0f} "
          f"out={hm['nats_out_bytes']:.0f}",
          flush=True)


def spread(values, fmt):
    middle = statistics.median(values)
    if fmt.format(min(values)) == fmt.format(max(values)):
        return fmt.format(middle)
    return (fmt + " ({}–{})").format(middle, fmt.format(min(values)), fmt.format(max(values)))


def print_summary(results, nodes):
    print("\nSUMMARY (median, min–max over rounds)")
    print("| nodes | added by the gather p50 / p99 ms | local answer p50 / p99 ms "
          "| cluster answer p50 / p99 ms | NATS bytes per scrape (in + out) "
          "| NATS bytes per push (in + out) | HM events/s offered → deliveries/s to 10 ids "
          "| missing deliveries | NATS bytes per HM event (in + out) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for count in nodes:
        rs = [r for r in results if r["nodes"] == count]
        if not rs:
            continue
        col = lambda key, fmt: spread([r[key] for r in rs], fmt)  # noqa: E731
        hm = lambda key, fmt: spread([r["hm"][key] for r in rs], fmt)  # noqa: E731
        label = count if count else "1, cluster off"
        print(f"| {label} | {col('added_p50_ms', '{:.2f}')} / {col('added_p99_ms', '{:.2f}')} "
              f"| {col('local_p50_ms', '{:.2f}')} / {col('local_p99_ms', '{:.2f}')} "
              f"| {col('cluster_p50_ms', '{:.2f}')} / {col('cluster_p99_ms', '{:.2f}')} "
              f"| {col('scrape_in_bytes', '{:.0f}')} + {col('scrape_out_bytes', '{:.0f}')} "
              f"| {col('push_in_bytes', '{:.0f}')} + {col('push_out_bytes', '{:.0f}')} "
              f"| {hm('offered_per_s', '{:.0f}')} → {hm('delivered_per_s', '{:.0f}')} "
              f"| {hm('missing', '{:.0f}')} "
              f"| {hm('nats_in_bytes', '{:.0f}')} + {hm('nats_out_bytes', '{:.0f}')} |",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3],
                        choices=[0, 1, 2, 3],
                        help="gateway counts, each a step; 0: one gateway without cluster mode "
                        "(no NATS), for reference")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every step this often")
    parser.add_argument("--series", type=int, default=50, help="pushed series per node")
    parser.add_argument("--scrapes", type=int, default=100,
                        help="answers of each scope measured on g1")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--push-rate", type=float, default=50, help="pushes/s, all nodes")
    parser.add_argument("--hm-events", type=int, default=4000)
    parser.add_argument("--hm-rate", type=int, default=2000,
                        help="HM events/s offered (0: as fast as hm-plugin takes them)")
    parser.add_argument("--hm-kind", choices=["alert", "heartbeat", "mixed"], default="alert",
                        help="HM lines: alerts (290 B), heartbeats (1.9 KB) or both in turn")
    parser.add_argument("--baseline", type=float, default=1.0,
                        help="seconds of background NATS traffic measured before (b)")
    parser.add_argument("--heartbeat", default="1s", help="cluster.heartbeat")
    parser.add_argument("--json", help="write every round's results there")
    args = parser.parse_args()

    print(f"machine: {machine()}; load {load()}", flush=True)
    print("NATS: 3 nats-servers routed on loopback (core NATS, no JetStream), also for 1 node",
          flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="mgw-bench-cluster-") as workdir:
        nats = []
        uaa = FakeUaa()
        try:
            nats = start_nats_cluster(workdir, cluster="mgwbench")
            for round_number in range(1, args.rounds + 1):
                for count in args.nodes:
                    result = run_step(nats, count, round_number, workdir, uaa, args)
                    print_result(result)
                    results.append(result)
        finally:
            for n in nats:
                n.stop()
            uaa.stop()
    print_summary(results, args.nodes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "args": {k: v for k, v in vars(args).items()
                                                      if k != "out"},
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
