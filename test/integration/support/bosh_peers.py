"""Peers of the BOSH event path: the real hm-plugin process fed HM lines on stdin, a
streaming client of GET /v1/bosh/events, a UAA stand-in (python http.server on loopback)
serving /check_token and /token_keys, and RS256 tokens signed with the openssl CLI."""

import base64
import http.client
import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

from harness import GATEWAY, free_port

AUTHORITY = "bosh.system_metrics.read"


def heartbeat_line(n, deployment="cf", job="router", instance=None, cpu="22.1"):
    """A heartbeat exactly as HM's JSON plugin writes it (study A.5), unique by `n`."""
    instance = instance or f"inst-{n:06d}"
    ts = 1700000000 + n
    tags = {"job": job, "index": str(n % 4), "id": instance}
    names = [("system.load.1m", "0.45"), ("system.cpu.user", cpu), ("system.cpu.sys", "7.0"),
             ("system.cpu.wait", "0.8"), ("system.mem.percent", "37"),
             ("system.mem.kb", "1502632"), ("system.swap.percent", "0"),
             ("system.swap.kb", "4944"), ("system.disk.system.percent", "27"),
             ("system.disk.system.inode_percent", "14"),
             ("system.disk.persistent.percent", "80"),
             ("system.disk.persistent.inode_percent", "3"), ("system.healthy", "1")]
    event = {
        "kind": "heartbeat", "id": f"hb-{n}", "timestamp": ts, "deployment": deployment,
        "agent_id": f"agent-{n}", "job": job, "index": str(n % 4), "instance_id": instance,
        "job_state": "running",
        "vitals": {"cpu": {"sys": "7.0", "user": cpu, "wait": "0.8"},
                   "disk": {"system": {"inode_percent": "14", "percent": "27"},
                            "persistent": {"inode_percent": "3", "percent": "80"}},
                   "load": ["0.45", "1.05", "0.97"], "mem": {"kb": "1502632", "percent": "37"},
                   "swap": {"kb": "4944", "percent": "0"}, "uptime": {"secs": 86400}},
        "teams": [],
        "metrics": [{"name": name, "value": value, "timestamp": ts, "tags": tags}
                    for name, value in names],
        "number_of_processes": 5,
    }
    return json.dumps(event, separators=(",", ":"))


def alert_line(n, severity=4, category=None, deployment="cf"):
    """An alert as HM writes it (study A.6): null category allowed."""
    return json.dumps({
        "kind": "alert", "id": f"alert-{n}", "severity": severity, "category": category,
        "title": "SSH Access Denied", "summary": "Failed password for vcap from 10.244.0.1",
        "source": f"{deployment}: router(inst) [id=agent, index=0, cid=vm-1]",
        "deployment": deployment, "created_at": 1499359162 + n}, separators=(",", ":"))


def event_id(line):
    return json.loads(line)["id"]


class Plugin:
    """`metrics-gateway hm-plugin` as HM runs it: lines written to its stdin."""

    def __init__(self, ingest_port, args=(), env=None):
        self.stderr = tempfile.TemporaryFile()
        command = [GATEWAY, "hm-plugin"] + (["--server", f"127.0.0.1:{ingest_port}"]
                                            if ingest_port else []) + list(args)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=self.stderr,
                                        env={**os.environ, **(env or {})})

    def send(self, lines):
        self.process.stdin.write(("".join(line + "\n" for line in lines)).encode())
        self.process.stdin.flush()

    def send_raw(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def close(self, timeout=30):
        self.process.stdin.close()
        return self.process.wait(timeout)

    def output(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- hm-plugin output ----\n" + self.output())
        self.stop()


class EventStream:
    """A client of GET /v1/bosh/events that collects every line on a thread."""

    def __init__(self, port, subscription_id, token="good", sse=False, read=True,
                 rcvbuf=None):
        self.lines = []
        self.comments = 0
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        if rcvbuf:
            # A client that reads nothing and has a tiny window: the gateway's writes stall.
            self.connection.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.connection.sock.connect(("127.0.0.1", port))
        headers = {"Authorization": f"bearer {token}"}
        if sse:
            headers["Accept"] = "text/event-stream"
        path = "/v1/bosh/events?subscription_id=" + urllib.parse.quote(subscription_id)
        self.connection.request("GET", path, headers=headers)
        # Kept apart: http.client drops connection.sock once an answer says it ends the
        # connection (a refusal's `Connection: close`), while the answer still reads from it.
        self.sock = self.connection.sock
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.sse = sse
        self.thread = None
        if self.status == 200 and read:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()

    def _read(self):
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                text = line.decode().rstrip("\n")
                with self.lock:
                    if self.sse and text.startswith("data: "):
                        self.lines.append(text[6:])
                    elif self.sse and text.startswith(":"):
                        self.comments += 1
                    elif not self.sse and text:
                        self.lines.append(text)
                    elif not self.sse:
                        self.comments += 1
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        finally:
            self.closed.set()

    def received(self):
        with self.lock:
            return list(self.lines)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked on it
        except OSError:
            pass
        self.response.close()
        self.connection.close()


def metric_value(text, name, labels=None):
    """The value of one sample in an exposition, or None. `labels`: dict that must match."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if labels and not all(f'{k}="{v}"' in line for k, v in labels.items()):
            continue
        return float(line.rsplit(" ", 1)[1])
    return None


class FakeUaa:
    """UAA's /check_token and /token_keys on loopback (real HTTP, python http.server).

    check_token tokens: "good" (authority, exp in 1 h), "noscope" (400 invalid_scope, as UAA
    answers when `scopes` are not granted), "expired" (400 invalid_token). Requests without the
    gateway's Basic credentials get 401. /token_keys serves `keys` (a list of JWK dicts).
    POST /oauth/token (client credentials, as the forwarder asks) hands out `issue`'s tokens in
    order, repeating the last; `check_token_down` makes /check_token answer 503.
    `check_token_answer` = (status, content type, body bytes) replaces every check_token answer,
    as a misbehaving UAA or a proxy in front of it would; `check_token_answers[token]` does so
    for one token only (the others keep being answered as above)."""

    def __init__(self, client_id="gateway", client_secret="s3cret"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.keys = []
        self.requests = []
        self.issue = ["good"]
        self.check_token_down = False
        self.check_token_answer = None
        self.check_token_answers = {}
        self.port = free_port()
        uaa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                uaa.requests.append(("GET", self.path, None))
                if self.path == "/token_keys":
                    self.reply(200, {"keys": uaa.keys})
                else:
                    self.reply(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                uaa.requests.append(("POST", self.path, form))
                expected = "Basic " + base64.b64encode(
                    f"{uaa.client_id}:{uaa.client_secret}".encode()).decode()
                if self.path == "/oauth/token":
                    if form.get("grant_type") != ["client_credentials"]:
                        return self.reply(400, {"error": "unsupported_grant_type"})
                    token = uaa.issue.pop(0) if len(uaa.issue) > 1 else uaa.issue[0]
                    return self.reply(200, {"access_token": token, "token_type": "bearer",
                                            "expires_in": 3600})
                if self.path != "/check_token":
                    return self.reply(404, {"error": "not_found"})
                if uaa.check_token_down:
                    return self.reply(503, {"error": "unavailable"})
                override = uaa.check_token_answers.get(form.get("token", [""])[0],
                                                       uaa.check_token_answer)
                if override is not None:
                    status, content_type, data = override
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                if self.headers.get("Authorization") != expected:
                    return self.reply(401, {"error": "unauthorized",
                                            "error_description": "Bad credentials"})
                if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                    return self.reply(415, {"error": "unsupported_media_type"})
                token = form.get("token", [""])[0]
                scopes = form.get("scopes", [""])[0]
                if token == "good" and scopes == AUTHORITY:
                    return self.reply(200, {"client_id": "forwarder", "scope": [AUTHORITY],
                                            "exp": int(time.time()) + 3600})
                if token == "noscope":
                    return self.reply(400, {"error": "invalid_scope",
                                            "error_description": "Some requested scopes are "
                                                                 "missing: " + AUTHORITY})
                return self.reply(400, {"error": "invalid_token",
                                        "error_description": "Token has expired"})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def check_token_calls(self):
        return sum(1 for method, path, _ in self.requests if path == "/check_token")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class RsaKey:
    """An RSA key made by the openssl CLI; signs RS256 JWTs and publishes itself as a JWK."""

    def __init__(self, directory, kid):
        self.kid = kid
        handle, self.path = tempfile.mkstemp(dir=directory, prefix=kid, suffix=".pem")
        os.close(handle)
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", self.path], check=True,
                       capture_output=True)
        modulus = subprocess.run(["openssl", "rsa", "-in", self.path, "-noout", "-modulus"],
                                 check=True, capture_output=True).stdout.decode()
        n = bytes.fromhex(modulus.strip().split("=", 1)[1])
        self.jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                    "n": _b64url(n), "e": "AQAB"}

    def token(self, claims, kid=None):
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode()))
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.path],
                                   input=signing_input.encode(), check=True,
                                   capture_output=True).stdout
        return signing_input + "." + _b64url(signature)


def claims(expires_in=3600, scope=(AUTHORITY,), issuer=None):
    """A client-credentials token's claims; `issuer`: UAA's URL (iss is <url>/oauth/token)."""
    body = {"jti": "t", "client_id": "forwarder", "exp": int(time.time()) + expires_in,
            "scope": list(scope), "authorities": list(scope)}
    if issuer is not None:
        body["iss"] = issuer + "/oauth/token"
    return body
