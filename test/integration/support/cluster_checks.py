"""What the cluster-mode tests (test/integration/cluster/) share beyond the nats-servers: a
gateway node of a cluster, the broker and push calls they make, the merged-answer check, the HM
subscription-share checks and the rate-window driver. One copy here, so that the scenario test
(test_cluster_scenarios.py) and the focused tests check the same thing the same way."""

import base64
import json
import re
import time
import urllib.error
import urllib.request

from harness import Gateway, broker_request, free_port, http_get, wait_until
from bosh_peers import alert_line, event_id, heartbeat_line
from grpc_peers import PythonSubscriber

FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
BROKER_AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()
HEARTBEAT_MS = 500


class ClusterNode:
    """One gateway of a test cluster, node id g<index>, cluster mode on. Its NATS server list
    starts at server <index> (nats.c may still pick another one). `cluster_extra` goes into the
    cluster section (indented two spaces), `extra` at the top level."""

    def __init__(self, index, nats_urls, extra="", cluster_extra="", name="itest",
                 ready_timeout=10):
        self.index = index
        self.port, self.health_port = free_port(), free_port()
        servers = ", ".join(nats_urls[index - 1:] + nats_urls[:index - 1])
        config = f"""
listen: 127.0.0.1:{self.port}
health_listen: 127.0.0.1:{self.health_port}
threads: 2
log: {{ level: info, format: text, access: false }}
nats: {{ servers: [{servers}] }}
cluster:
  enabled: true
  name: {name}
  node_id: g{index}
  heartbeat: {HEARTBEAT_MS}ms
  gather: {{ timeout: 2s, chunk_bytes: 4KiB }}
{cluster_extra}
{extra}
"""
        self.gateway = Gateway(config)
        self.gateway.wait_ready(self.port, timeout=ready_timeout)

    def get(self, path, timeout=10):
        status, _, body = http_get(f"http://127.0.0.1:{self.port}{path}", timeout=timeout)
        return status, body.decode("utf-8", "replace")

    def metric(self, name, labels=""):
        """The sum of the samples of `name` whose labels contain `labels` (a substring, or a
        dict of label values that must all match); None when there is none."""
        if isinstance(labels, dict):
            wanted = [f'{k}="{v}"' for k, v in labels.items()]
        else:
            wanted = [labels]
        _, body = self.get("/metrics")
        total = None
        for match in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", body, re.M):
            if all(w in (match.group(1) or "") for w in wanted):
                total = (total or 0.0) + float(match.group(2))
        return total

    def kill(self):
        self.gateway.process.kill()
        self.gateway.process.wait()


def broker_section(database, *plans):
    """The broker section of a test node's configuration: the Cloud Controller's credentials
    (those of BROKER_AUTH), its SQLite file, and metrics-forwarder plans given as (name, id,
    requests per minute, metrics per minute)."""
    listed = "".join(f"      - {{ name: {name}, id: {plan_id}, requests_per_minute: {requests}, "
                     f"metrics_per_minute: {metrics} }}\n"
                     for name, plan_id, requests, metrics in plans)
    return f"""broker:
  enabled: true
  username: cc
  password: broker-secret
  database: {database}
  metrics_forwarder:
    plans:
{listed}"""


def osb(port, method, path, body=None):
    """A broker call as the Cloud Controller makes it (harness.broker_request with the cluster
    tests' credentials): (status, JSON answer, {} when the body is empty)."""
    status, answer = broker_request(port, method, path, body, auth=BROKER_AUTH)
    return status, {} if answer is None else answer


def provision(port, instance, plan, org="org", space="space"):
    return osb(port, "PUT", f"/service_instances/{instance}",
               {"service_id": FORWARDER, "plan_id": plan, "organization_guid": org,
                "space_guid": space})


def bind(port, instance, binding, plan, app):
    return osb(port, "PUT", f"/service_instances/{instance}/service_bindings/{binding}",
               {"service_id": FORWARDER, "plan_id": plan, "bind_resource": {"app_guid": app}})


def push_body(app, value=1.0, name="jvm.memory.used", kind="gauge", tags=None):
    """A push of one metric for instance 0 of `app`."""
    return json.dumps({"applications": [{"id": app, "instances": [{
        "id": "instance-guid-0", "index": "0",
        "metrics": [{"name": name, "type": kind, "value": value, "unit": "bytes",
                     "timestamp": int(time.time() * 1000),
                     "tags": tags or {}}]}]}], "version": 1}).encode()


def post(port, key, body):
    """(status, headers) of POST /v1/metrics; HTTP errors are answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/metrics", data=body,
                                     method="POST", headers={"Authorization": key,
                                                             "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def push(port, key, app, value=1.0, tags=None):
    """The status of a push of jvm.memory.used = `value` for `app`."""
    return post(port, key, push_body(app, value, tags=tags))[0]


# The merged answer of /v2/apps/<app>/metrics: which of the three kinds of series it has.

def parts(body, app, push_value=42.5, client="on-g3"):
    found = set()
    if re.search(r'^demo_temperature_celsius\{[^}]*app_id="' + app + '"', body, re.M):
        found.add("scrape")
    if re.search(r'^jvm_memory_used\{[^}]*area="heap"[^}]*source="push"[^}]*\} ' +
                 re.escape(repr(float(push_value))), body, re.M):
        found.add("push")
    if re.search(r'^demo_series\{client="' + client + r'"[^}]*source="rsocket"[^}]*\} 0', body,
                 re.M):
        found.add("rsocket")
    return found


def wait_parts(node, app, expected, query="", timeout=15, **kinds):
    """Until `node`'s answer for `app` has exactly the kinds `expected`."""
    seen = []

    def done():
        status, body = node.get(f"/v2/apps/{app}/metrics{query}")
        seen.append((status, parts(body, app, **kinds) if status == 200 else body[:300]))
        return status == 200 and parts(body, app, **kinds) == expected
    try:
        wait_until(done, timeout, interval=0.2, what=f"g{node.index} answer with {expected}")
    except AssertionError:
        raise AssertionError(f"g{node.index}{query}: last answers {seen[-3:]}") from None


# HM event subscriptions across nodes.

def lines_for(first, count):
    """Unique HM lines: alerts and heartbeats in turn (both map to gRPC events)."""
    return [alert_line(n) if n % 2 else heartbeat_line(n) for n in range(first, first + count)]


def ids(streams):
    """The event ids each stream received so far, HTTP or gRPC."""
    return [s.ids() if isinstance(s, PythonSubscriber)
            else [event_id(line) for line in s.received()] for s in streams]


def probe_until(plugin, stream, base, what, timeout=10):
    """Sends alerts numbered above `base` through `plugin` until `stream` has one of them: the
    queue subscriptions on the servers' side are in place."""
    sent = [0]

    def arrived():
        sent[0] += 1
        plugin.send([alert_line(base + sent[0])])
        return any(base < int(i.split("-")[1]) < base + 1_000_000
                   for i in ids([stream])[0] if i.startswith("alert-"))
    wait_until(arrived, timeout, interval=0.2, what=what)


def check_shared(members, expected, what):
    """Each of `expected` reached exactly one of the members; their shares."""
    got = [set(x) & expected for x in ids(members)]
    for i, a in enumerate(got):
        for b in got[i + 1:]:
            assert not a & b, f"{what}: an event reached two members of one id: {sorted(a & b)[:5]}"
    union = set().union(*got)
    assert union == expected, f"{what}: {len(expected - union)} events missing"
    return [len(x) for x in got]


# Cluster-wide push rate limits.

def remaining(port, key, max_body):
    """X-RateLimit-Metrics-Remaining without counting anything (a 413: the body is larger than
    push.max_body_bytes = `max_body`)."""
    status, headers = post(port, key, b" " * (max_body + 1))
    assert status == 413, status
    return int(headers["X-RateLimit-Metrics-Remaining"])


def offer_windows(targets, app, limit, window, windows, offered, probe_every=0, max_body=0):
    """For `windows` whole rate windows from the next one, pushes of one metric each at
    `offered` per window, round-robin over `targets` [(port, key)] and evenly spread in time;
    none within 50 ms of a window's edge (it could land in either). Every `probe_every`th push
    (0: never) the targets' remaining counts are read at the same moment.
    Returns (admitted per window, refused per window, [(window, into, remaining counts)])."""
    first = (int(time.time()) // window + 1) * window
    admitted = {w: 0 for w in range(windows)}
    refused = {w: 0 for w in range(windows)}
    probes = []
    interval = window / offered
    i = 0
    while True:
        due = first + i * interval
        w = int((due - first) // window)
        if w >= windows:
            break
        into = (due - first) % window
        i += 1
        if into < 0.05 or into > window - 0.05:
            continue
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        port, key = targets[i % len(targets)]
        status, headers = post(port, key, push_body(app, name="requests", kind="counter"))
        assert status in (202, 429), status
        assert headers["X-RateLimit-Period"] == str(window)
        if status == 202:
            admitted[w] += 1
        else:
            refused[w] += 1
        if probe_every and i % probe_every == 0 and 0.3 < into < window - 0.5:
            probes.append((w, round(into, 2), [remaining(p, k, max_body) for p, k in targets]))
    return admitted, refused, probes
