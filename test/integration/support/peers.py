"""Real peers for the integration tests and the demo: a nats-server process, a minimal NATS
client speaking the text protocol over a raw socket (CONNECT / PUB / SUB / MSG / PING), gorouter
route messages, and a Prometheus process with its HTTP query API. Everything on 127.0.0.1."""

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from harness import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def _port_open(port, host="127.0.0.1"):
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
        return True
    return False


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class _Process:
    """A child process with its output in a temporary directory; stop() is idempotent."""

    def __init__(self, prefix):
        self.workdir = tempfile.TemporaryDirectory(prefix=prefix)
        self.log_path = os.path.join(self.workdir.name, "output.log")
        self.process = None
        self._log = None

    def _spawn(self, command):
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    def _terminate(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self):
        with contextlib.suppress(OSError), open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")
        return ""

    def stop(self):
        self._terminate()
        self.workdir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print(f"---- {type(self).__name__} output ----\n" + self.output()[-4000:])
        self.stop()


class NatsServer(_Process):
    """nats-server on 127.0.0.1:<port>; restart() brings it back on the same port."""

    def __init__(self, port=None):
        super().__init__("mgw-nats-")
        self.port = port or free_port()
        self.start()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self):
        self._spawn([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port)])
        _wait(lambda: self.process.poll() is None and _port_open(self.port), 10,
              f"nats-server on port {self.port}")

    def kill(self):
        self._terminate()

    def restart(self):
        self.kill()
        self.start()


class NatsClient:
    """Core-NATS text protocol over one TCP socket. A reader thread answers PINGs and queues
    MSG deliveries per subscription. Not a general client: enough for tests and the demo."""

    def __init__(self, port, host="127.0.0.1", name="mgw-test", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.settimeout(None)
        self._file = self.sock.makefile("rb")
        info = self._file.readline()
        if not info.startswith(b"INFO "):
            raise AssertionError(f"not a NATS server: {info!r}")
        self.info = json.loads(info[5:])
        self._write_lock = threading.Lock()
        self._next_sid = 1
        self._subscriptions = {}
        self._pongs = queue.Queue()
        self.closed = threading.Event()
        self._send(f"CONNECT {json.dumps({'verbose': False, 'pedantic': False, 'name': name})}"
                   "\r\n")
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.flush(timeout)

    def _send(self, text_or_bytes):
        data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
        with self._write_lock:
            self.sock.sendall(data)

    def _read_loop(self):
        try:
            while True:
                line = self._file.readline()
                if not line:
                    break
                if line.startswith(b"MSG "):
                    parts = line[4:].split()
                    subject, sid = parts[0].decode(), int(parts[1])
                    reply = parts[2].decode() if len(parts) == 4 else None
                    size = int(parts[-1])
                    payload = self._file.read(size + 2)[:size]
                    target = self._subscriptions.get(sid)
                    if target is not None:
                        target.put((subject, reply, payload))
                elif line.startswith(b"PING"):
                    self._send("PONG\r\n")
                elif line.startswith(b"PONG"):
                    self._pongs.put(True)
                elif line.startswith(b"-ERR"):
                    raise AssertionError(f"NATS error: {line!r}")
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()

    def publish(self, subject, payload=b"", reply=None):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        head = f"PUB {subject} {reply + ' ' if reply else ''}{len(payload)}\r\n".encode()
        self._send(head + payload + b"\r\n")

    def subscribe(self, subject):
        """Returns (sid, queue of (subject, reply, payload bytes))."""
        sid = self._next_sid
        self._next_sid += 1
        messages = queue.Queue()
        self._subscriptions[sid] = messages
        self._send(f"SUB {subject} {sid}\r\n")
        return sid, messages

    def unsubscribe(self, sid):
        self._send(f"UNSUB {sid}\r\n")
        self._subscriptions.pop(sid, None)

    def flush(self, timeout=5.0):
        """Round trip to the server: everything sent before has been processed."""
        self._send("PING\r\n")
        try:
            self._pongs.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no PONG from nats-server") from None

    def request(self, subject, payload=b"", timeout=5.0):
        inbox = f"_INBOX.{os.getpid()}.{time.monotonic_ns()}"
        sid, messages = self.subscribe(inbox)
        self.flush()
        self.publish(subject, payload, reply=inbox)
        try:
            return messages.get(timeout=timeout)[2]
        except queue.Empty:
            raise AssertionError(f"no reply to {subject} within {timeout}s") from None
        finally:
            self.unsubscribe(sid)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._reader.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def register_message(host, port, uris, tags, index=None):
    """A route-emitter `router.register` / `router.unregister` payload for one instance."""
    instance_guid = tags.get("process_instance_id", "")
    return {
        "host": host,
        "port": port,
        "tls_port": 0,
        "uris": list(uris),
        "app": tags.get("app_id", ""),
        "private_instance_id": instance_guid,
        "private_instance_index": str(tags.get("instance_id", index if index is not None else 0)),
        "server_cert_domain_san": instance_guid,
        "protocol": "http1",
        "availability_zone": "z1",
        "endpoint_updated_at_ns": time.time_ns(),
        "tags": dict(tags),
        "options": {"loadbalancing": "round-robin"},
    }


class Prometheus(_Process):
    """A real Prometheus scraping `scrape_configs` (a list of dicts, rendered as JSON, which is
    valid YAML), storage in a temporary directory, web API on 127.0.0.1:<port>."""

    def __init__(self, scrape_configs, scrape_interval="1s", port=None):
        super().__init__("mgw-prometheus-")
        self.port = port or free_port()
        config = {"global": {"scrape_interval": scrape_interval,
                             "evaluation_interval": scrape_interval},
                  "scrape_configs": scrape_configs}
        self.config_path = os.path.join(self.workdir.name, "prometheus.yml")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=1)
        self._spawn([PROMETHEUS, f"--config.file={self.config_path}",
                     f"--storage.tsdb.path={os.path.join(self.workdir.name, 'data')}",
                     f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"])
        _wait(self._ready, 30, f"prometheus ready on port {self.port}")

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError("prometheus exited:\n" + self.output())
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                return r.status == 200
        return False

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, promql):
        """Instant query: the result vector as a list of (labels dict, float value)."""
        data = self.api("query", query=promql)
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def targets(self):
        return self.api("targets")["activeTargets"]
