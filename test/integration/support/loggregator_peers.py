"""Peers of the Loggregator egress: mutual-TLS certificates made with the openssl CLI (an RSA CA,
the agent's certificate for `metron` as the agent's is, a client certificate for the gateway,
and a client certificate from another CA), the grpc-go agent stand-in
(test/integration/loggregator_agent, built into the build tree) whose received envelopes are
read back from its JSON lines, and the broker calls that give an app a push key."""

import base64
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import broker_request, free_port, wait_until

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD_DIR = os.environ.get("MGW_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
AGENT = os.path.join(BUILD_DIR, "grpc_peers", "loggregator_agent", "agent")

FORWARDER_SERVICE = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
UNLIMITED_PLAN = "90197714-1698-46ce-b839-492957f4a15c"
BROKER_AUTH = "Basic " + base64.b64encode(b"cc:broker-secret").decode()


def _run(*args):
    subprocess.run(list(args), check=True, capture_output=True)


class Certificates:
    """The agent's CA with the agent's certificate (CN and SAN metron) and the gateway's client
    certificate; a second CA with a client certificate the agent does not trust."""

    def __init__(self):
        self.directory = tempfile.TemporaryDirectory(prefix="mgw-loggr-certs-")
        d = self.directory.name
        self.ca, ca_key = self._ca("loggregator test CA")
        self.agent_cert, self.agent_key = self._leaf(
            "agent", "metron", self.ca, ca_key,
            "subjectAltName=DNS:metron\nextendedKeyUsage=serverAuth\n")
        self.client_cert, self.client_key = self._leaf(
            "client", "metrics-gateway", self.ca, ca_key, "extendedKeyUsage=clientAuth\n")
        rogue_ca, rogue_key = self._ca("another CA")
        self.rogue_cert, self.rogue_key = self._leaf(
            "rogue", "metrics-gateway", rogue_ca, rogue_key, "extendedKeyUsage=clientAuth\n")
        self.dir = d

    def _ca(self, name):
        d = self.directory.name
        stem = name.replace(" ", "-")
        cert, key = os.path.join(d, stem + ".pem"), os.path.join(d, stem + ".key")
        _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
             "-out", cert, "-days", "2", "-subj", f"/CN={name}")
        return cert, key

    def _leaf(self, stem, cn, ca, ca_key, extensions):
        d = self.directory.name
        cert, key = os.path.join(d, stem + ".pem"), os.path.join(d, stem + ".key")
        csr, ext = os.path.join(d, stem + ".csr"), os.path.join(d, stem + ".cnf")
        _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", f"/CN={cn}")
        with open(ext, "w") as f:
            f.write(extensions)
        _run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
             "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key

    def close(self):
        self.directory.cleanup()


class Agent:
    """The grpc-go Loggregator agent stand-in on a fixed loopback port (so that a restart comes
    back where the gateway dials). Envelopes are read back from its JSON lines."""

    def __init__(self, certs, port=None, out=None, slow=None, record=True):
        assert os.path.exists(AGENT), (
            f"{AGENT} is missing: build the loggregator_agent target (needs Go)")
        self.certs = certs
        self.port = port or free_port()
        # record=False: the agent only counts (benchmarks), nothing is written.
        self.out = (out or os.path.join(certs.dir, f"envelopes-{self.port}.jsonl")) if record \
            else None
        self.slow = slow
        self.process = None
        self.stderr = None
        self.start()

    def start(self):
        args = [AGENT, f"--addr=127.0.0.1:{self.port}", f"--cert={self.certs.agent_cert}",
                f"--key={self.certs.agent_key}", f"--ca={self.certs.ca}"]
        if self.out:
            args.append(f"--out={self.out}")
        if self.slow:
            args.append(f"--slow={self.slow}")
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.process.stdout.readline().decode()
        assert line.startswith("LISTENING "), line + self.errors()

    def errors(self):
        if self.stderr is None:
            return ""
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def records(self):
        """Every line received so far: {"batch", "size", "envelope"}."""
        if not self.out or not os.path.exists(self.out):
            return []
        # One read, then only whole lines: iterating the file while the agent appends would
        # yield a line's unfinished head (skipped) and then its tail as a line of its own.
        with open(self.out) as f:
            text = f.read()
        return [json.loads(line) for line in text.split("\n")[:-1]]

    def envelopes(self):
        return [r["envelope"] for r in self.records()]

    def wait_for(self, count, timeout=20.0):
        wait_until(lambda: len(self.envelopes()) >= count, timeout,
                   what=f"{count} envelopes at the agent (have {len(self.envelopes())})")
        return self.envelopes()

    def kill(self):
        """As a crash: the process is gone at once, its sockets reset."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def loggregator_yaml(agent_port, certs, extra="", client=None):
    """The loggregator section; `client`: (cert, key) instead of the trusted client cert."""
    cert, key = client or (certs.client_cert, certs.client_key)
    return (f"loggregator:\n  agent: 127.0.0.1:{agent_port}\n"
            f"  tls: {{ ca_file: \"{certs.ca}\", cert_file: \"{cert}\", key_file: \"{key}\" }}\n"
            + extra)


def bind_app(port, app):
    """Provisions the metrics-forwarder service and binds `app`; returns its access key."""
    body = {"service_id": FORWARDER_SERVICE, "plan_id": UNLIMITED_PLAN,
            "organization_guid": "org-guid", "space_guid": "space-guid"}
    status, answer = broker_request(port, "PUT", "/service_instances/si-1", body, BROKER_AUTH)
    assert status == 201, answer
    status, answer = broker_request(port, "PUT", "/service_instances/si-1/service_bindings/b-1",
                                    {"service_id": FORWARDER_SERVICE, "plan_id": UNLIMITED_PLAN,
                                     "bind_resource": {"app_guid": app}}, BROKER_AUTH)
    assert status == 201, answer
    return answer["credentials"]["access_key"]


def push(port, key, body):
    """POSTs like the Java metric writer; returns the status code."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/metrics", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": key, "Content-Type": "application/json;charset=UTF-8"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        print(f"push answered {error.code}: {error.read()[:300]!r}")  # for a failing test
        return error.code


def gauge_body(app, names, value=1.0, index="0", instance="", timestamp=None, tags=None,
               kind="gauge", unit=None):
    metrics = []
    for name in names:
        metric = {"name": name, "type": kind, "value": value}
        if timestamp is not None:
            metric["timestamp"] = timestamp
        if tags:
            metric["tags"] = tags
        if unit is not None:
            metric["unit"] = unit
        metrics.append(metric)
    instance_body = {"index": index, "metrics": metrics}
    if instance:
        instance_body["id"] = instance
    return {"applications": [{"id": app, "instances": [instance_body]}], "version": 1}


def wait_metric(gateway_port, predicate, what, timeout=20.0):
    """Polls the gateway's /metrics until predicate(text) holds; returns the text."""
    from harness import http_get
    last = [""]

    def check():
        _, _, body = http_get(f"http://127.0.0.1:{gateway_port}/metrics")
        last[0] = body.decode()
        return predicate(last[0])
    wait_until(check, timeout, what=what)
    return last[0]


def now_ms():
    return int(time.time() * 1000)
