"""The shipped systemd unit as a packaged install runs it: `systemd-analyze verify` passes once
the binary is installed where ExecStart points (checked in a temporary root holding the host's
own unit files, so that the targets the unit names resolve), and fails when it is not; and the
broker state lands in the unit's StateDirectory with the shipped configuration's empty
broker.database, so a restart keeps every binding and its access key."""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, Gateway, broker_request, free_port, run_tests  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
UNIT = os.path.join(ROOT, "config", "metrics-gateway.service")
SHIPPED_CONFIG = os.path.join(ROOT, "config", "gateway.yml")
HOST_UNITS = "/usr/lib/systemd/system"  # Debian's systemd package (scripts/bootstrap)
FORWARDER = "20ca29fa-5601-4846-bf41-d73ed6c7b157"
UNLIMITED = "90197714-1698-46ce-b839-492957f4a15c"
AUTH = "Basic " + base64.b64encode(b"cc:pw").decode()


def unit_setting(name):
    with open(UNIT) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(name + "=")]


def verify_in_root(install_binary):
    with tempfile.TemporaryDirectory() as root:
        shutil.copytree(HOST_UNITS, os.path.join(root, "usr/lib/systemd/system"), symlinks=True)
        os.makedirs(os.path.join(root, "etc/systemd/system"))
        shutil.copy(UNIT, os.path.join(root, "etc/systemd/system/metrics-gateway.service"))
        executable = unit_setting("ExecStart")[0].split()[0]
        if install_binary:
            target = os.path.join(root, executable.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(GATEWAY, target)
        result = subprocess.run(["systemd-analyze", "verify", f"--root={root}",
                                 "metrics-gateway.service"], capture_output=True, timeout=60)
        return result.returncode, (result.stdout + result.stderr).decode()


def test_unit_verifies_with_the_binary_installed_and_not_without():
    code, output = verify_in_root(install_binary=True)
    assert code == 0, output
    assert "metrics-gateway.service" not in output, output  # not even a warning
    code, output = verify_in_root(install_binary=False)
    assert code != 0, output
    assert re.search(r"Command /\S*metrics-gateway is not executable", output), output


def osb(port, method, path, body=None):
    return broker_request(port, method, path, body, AUTH, "2.14")


def push_status(port, key):
    body = json.dumps({"applications": [{"id": "app-1", "instances": [
        {"id": "i", "index": "0", "metrics": [
            {"name": "up", "type": "gauge", "value": 1,
         "timestamp": int(time.time() * 1000)}]}]}]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/metrics", data=body,
                                     headers={"Authorization": key,
                                              "Content-Type": "application/json"},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_broker_state_lives_in_the_state_directory_across_restarts():
    assert unit_setting("StateDirectory") == ["metrics-gateway"]
    with open(SHIPPED_CONFIG) as f:
        shipped = f.read()
    # The shipped defaults leave broker.database empty: the state directory decides.
    assert re.search(r'^  database: ""', shipped, re.M), "gateway.yml's broker.database changed"
    with tempfile.TemporaryDirectory() as state:
        def start():
            port, health_port = free_port(), free_port()
            # What an operator adds to enable the broker: credentials, no database key.
            config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                      "broker: { enabled: true, username: cc, password: pw }\n")
            gateway = Gateway(config, env={"STATE_DIRECTORY": state})
            gateway.wait_ready(port)
            return gateway, port

        gateway, port = start()
        with gateway:
            assert osb(port, "PUT", "/service_instances/i-1",
                       {"service_id": FORWARDER, "plan_id": UNLIMITED,
                        "organization_guid": "o", "space_guid": "s"})[0] == 201
            status, answer = osb(port, "PUT", "/service_instances/i-1/service_bindings/b-1",
                                 {"service_id": FORWARDER, "plan_id": UNLIMITED,
                                  "bind_resource": {"app_guid": "app-1"}})
            assert status == 201, answer
            key = answer["credentials"]["access_key"]
            assert push_status(port, key) == 202
            gateway.signal(signal.SIGTERM)
            assert gateway.wait(20) == 0
        assert os.path.exists(os.path.join(state, "broker.db"))

        gateway, port = start()
        with gateway:
            # The restart revoked nothing: the key still pushes, the binding is still known.
            assert push_status(port, key) == 202
            assert osb(port, "GET", "/service_instances/i-1/service_bindings/b-1")[0] == 200
            assert '"database":"' + os.path.join(state, "broker.db") in gateway.output()


def test_without_a_state_directory_the_gateway_says_its_state_is_in_memory():
    port, health_port = free_port(), free_port()
    config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
              "broker: { enabled: true, username: cc, password: pw }\n")
    with Gateway(config, env={"STATE_DIRECTORY": ""}) as gateway:  # as when run by hand
        gateway.wait_ready(port)
        assert "broker state is in memory only" in gateway.output(), gateway.output()


if __name__ == "__main__":
    run_tests([test_unit_verifies_with_the_binary_installed_and_not_without,
               test_broker_state_lives_in_the_state_directory_across_restarts,
               test_without_a_state_directory_the_gateway_says_its_state_is_in_memory])
