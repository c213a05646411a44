"""A routed nats-server cluster on loopback for the cluster-mode tests: each server started,
killed and restarted on the same ports, optionally with JetStream, its monitoring endpoint
read for routes, connections, health and the JetStream meta leader; a cluster of them started
and waited for, and the end every cluster test shares (gateways, then nats-servers, stopped)."""

import json
import os
import signal
import subprocess
import urllib.request

from harness import free_port, wait_until
from peers import NATS_SERVER


class RoutedNatsServer:
    """One nats-server of a routed cluster; start(), kill() (SIGKILL) and stop() keep its
    ports. `route_ports` holds every server's route port, its own included."""

    def __init__(self, name, workdir, client_port, route_port, route_ports, cluster="mgwtest",
                 jetstream=False, monitor_port=None):
        self.name, self.port = name, client_port
        self.monitor_port = monitor_port or free_port()
        self.config_path = os.path.join(workdir, f"{name}.conf")
        self.log_path = os.path.join(workdir, f"{name}.log")
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in route_ports if p != route_port)
        store = (f"jetstream {{ store_dir: \"{workdir}/js-{name}\", max_mem_store: 64MB, "
                 f"max_file_store: 256MB }}\n" if jetstream else "")
        with open(self.config_path, "w") as f:
            f.write(f"server_name: {name}\nlisten: 127.0.0.1:{client_port}\n"
                    f"http: 127.0.0.1:{self.monitor_port}\n{store}"
                    f"cluster {{\n  name: {cluster}\n  listen: 127.0.0.1:{route_port}\n"
                    f"  routes: [{routes}]\n}}\n")
        self.process = None
        self.start()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([NATS_SERVER, "-c", self.config_path], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def monitor(self, path):
        """(status, JSON body) of a monitoring endpoint; (-1, {}) when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}{path}",
                                        timeout=1) as r:
                return r.status, json.loads(r.read())
        except (OSError, ValueError):
            return -1, {}

    def routes(self):
        return self.monitor("/routez")[1].get("num_routes", -1)

    def clients(self, name=None):
        """Open client connections; with `name`, only those of that connection name (a gateway's
        own is "metrics-gateway", its binding store's "metrics-gateway-bindings")."""
        body = self.monitor("/connz?limit=4096")[1]
        if name is None:
            return body.get("num_connections", -1)
        return sum(1 for c in body.get("connections") or [] if c.get("name") == name)

    def healthy(self):
        return self.monitor("/healthz")[0] == 200

    def meta_leader(self):
        return (self.monitor("/jsz")[1].get("meta_cluster") or {}).get("leader", "")

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nats_cluster(workdir, count=3, cluster="mgwtest", jetstream=False):
    """`count` routed nats-servers, returned once every one is routed to all the others (and,
    with JetStream, healthy and agreeing on a meta leader)."""
    client_ports = [free_port() for _ in range(count)]
    route_ports = [free_port() for _ in range(count)]
    servers = []
    for i in range(count):
        servers.append(RoutedNatsServer(f"n{i + 1}", workdir, client_ports[i], route_ports[i],
                                        route_ports, cluster=cluster, jetstream=jetstream))
    wait_routed(servers)
    if jetstream:
        wait_until(lambda: all(n.healthy() for n in servers), 30, interval=0.2,
                   what="the nats-servers healthy")
        wait_until(lambda: all(n.meta_leader() for n in servers), 30, interval=0.2,
                   what="a JetStream meta leader")
    return servers


def wait_routed(servers, timeout=20):
    """Until every running server of `servers` is routed to every other running one."""
    running = [n for n in servers if n.process is not None and n.process.poll() is None]
    wait_until(lambda: all(n.routes() == len(running) - 1 for n in running), timeout,
               interval=0.2, what=f"{len(running)} nats-servers routed to each other")


def stop_cluster(nodes, servers, passed, tail=3000):
    """The end of every cluster test: SIGTERM to every gateway still running (all first, so
    that their drains overlap), each waited for (20 s, then SIGKILL), its output's tail printed
    when the test failed, then the nats-servers stopped. `nodes` have .index and .gateway
    (harness.Gateway)."""
    for n in nodes:
        if n.gateway.process.poll() is None:
            n.gateway.process.send_signal(signal.SIGTERM)
    for n in nodes:
        try:
            n.gateway.process.wait(20)
        except subprocess.TimeoutExpired:
            n.gateway.process.kill()
            n.gateway.process.wait()
        if not passed:
            print(f"---- g{n.index} output ----\n" + n.gateway.output()[-tail:])
        n.gateway.stop()
    for n in servers:
        n.stop()
