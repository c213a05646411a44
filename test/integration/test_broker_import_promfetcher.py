"""`metrics-gateway broker import-promfetcher` end to end, as an operator taking over a
deployed Promfetcher runs it: the `mysql -B` dump of app_endpoints (header, NULL, batch-mode
escapes, a bad row), the dry run, the import, a second import that changes nothing, --strict,
the database lock of a running gateway, the progress line on a terminal and silence in a pipe;
then the gateway scrapes each imported app at its path, and the Cloud Controller, which knows
the bindings but not through this broker, unbinds them and binds again on the old instances."""

import base64
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import GATEWAY, Gateway, broker_request, free_port, http_get, run_tests  # noqa: E402
from instances import AppInstance, app_tags, static_routes_yaml  # noqa: E402

PROMFETCHER = "e44a55b7-b532-4247-89f3-4ea92054b793"  # promfetcher-release's registered ids
FETCH_APP = "3294e4fa-42b3-4505-b289-8fb3695b5b3a"
AUTH = "Basic " + base64.b64encode(b"cc:pw").decode()
APP_1 = "6f1c0f5e-1111-4c1b-9a61-0a0bd2f1c001"
APP_2 = "6f1c0f5e-2222-4c1b-9a61-0a0bd2f1c002"
APP_3 = "6f1c0f5e-3333-4c1b-9a61-0a0bd2f1c003"

# What `mysql -B -e 'SELECT * FROM app_endpoints' promfetcher` prints: the header, tabs,
# NULL for SQL NULL, a backslash escaped as \\ (here inside a path, which is kept).
DUMP = (
    "guid\tapp_guid\tendpoint\n"
    f"bind-1\t{APP_1}\t/actuator/prometheus\n"
    f"bind-2\t{APP_2}\tNULL\n"
    f"bind-3\t{APP_3}\t/metrics\\\\v2\n"
    "bind-4\tnot a guid with spaces\t/x\n"
)


def run(args, stdin=None):
    process = subprocess.run([GATEWAY, "broker", "import-promfetcher", *args], input=stdin,
                             capture_output=True, timeout=60)
    return process.returncode, process.stdout.decode(), process.stderr.decode()


def osb(port, method, path, body=None):
    return broker_request(port, method, path, body, AUTH, "2.14")


def test_dry_run_import_second_import_and_strict():
    with tempfile.TemporaryDirectory() as state:
        dump = os.path.join(state, "app_endpoints.tsv")
        with open(dump, "w") as f:
            f.write(DUMP)
        database = os.path.join(state, "broker.db")

        # The dry run says what it would do, changes nothing (does not even create the file).
        code, out, err = run(["--dry-run", "--database", database, dump])
        assert code == 1, (code, out, err)  # one bad row
        assert f"would add binding bind-1: app {APP_1}, /actuator/prometheus" in out, out
        assert f"would add binding bind-2: app {APP_2}, the default path" in out, out
        assert f"would add binding bind-3: app {APP_3}, /metrics\\v2" in out, out
        assert "dry run: would add 3 bindings; 0 already present, 0 conflicting, 1 bad rows; " \
               "nothing was changed" in out, out
        assert f"{dump}:5: app_guid \"not a guid with spaces\"" in err, err
        assert not os.path.exists(database)

        # --strict with a bad row: nothing imported.
        code, out, err = run(["--strict", "--database", database, dump])
        assert code == 1, (code, out, err)
        assert "nothing imported (the store is unchanged)" in out, out
        code, out, _ = run(["--dry-run", "--database", database, dump])
        assert "would add 3 bindings" in out, out

        # The import: the good rows, the bad one reported with its line, exit 1.
        code, out, err = run(["--database", database, dump])
        assert code == 1, (code, out, err)
        assert f"imported 3 bindings into {database}; 0 already present, 0 conflicting, " \
               "1 bad rows" in out, out
        assert err.count("\n") == 1 and f"{dump}:5: " in err, err

        # Again: nothing changes, and it says so. Without the bad row: exit 0.
        code, out, _ = run(["--database", database, dump])
        assert code == 1
        assert f"nothing changed: 3 bindings already in {database}; 0 conflicting, 1 bad rows" \
            in out, out
        clean = DUMP.rsplit("bind-4", 1)[0]
        code, out, err = run(["--database", database, "-"], stdin=clean.encode())
        assert (code, err) == (0, ""), (code, out, err)
        assert out == f"nothing changed: 3 bindings already in {database}\n", out

        # A row whose binding exists with another path is a conflict, left as it is.
        code, out, err = run(["--database", database, "-"],
                             stdin=f"bind-1\t{APP_1}\t/elsewhere\n".encode())
        assert code == 1, (code, out, err)
        assert "<stdin>:1: binding bind-1 already exists with another app or path " \
               f"(app {APP_1}, /actuator/prometheus): left as it is" in err, err


def test_progress_on_a_terminal_quiet_in_a_pipe():
    with tempfile.TemporaryDirectory() as state:
        dump = os.path.join(state, "big.tsv")
        with open(dump, "w") as f:
            f.write("guid\tapp_guid\tendpoint\n")
            for i in range(60000):
                f.write(f"binding-{i:06d}\tapp-{i:06d}\t/metrics/{i}\n")
        # In a pipe (a script, a log): the summary only, no carriage returns.
        code, out, err = run(["--dry-run", "--database", os.path.join(state, "a.db"), dump])
        assert code == 0, (code, err)
        assert "\r" not in out + err
        assert err == ""
        # On a terminal: a line rewritten in place while it works, cleared at the end.
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [GATEWAY, "broker", "import-promfetcher", "--database",
             os.path.join(state, "b.db"), dump],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        screen = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            elif process.poll() is not None:
                break
        out = process.communicate(timeout=60)[0].decode()
        os.close(leader)
        assert process.returncode == 0, (process.returncode, screen)
        assert b"\r\x1b[K" in screen, screen[:200]
        assert b"importing: " in screen or b"reading: " in screen, screen[:400]
        assert screen.endswith(b"\r\x1b[K"), screen[-100:]  # the line is gone at the end
        assert "imported 60000 bindings" in out, out


def test_the_gateway_serves_imported_bindings_and_the_cloud_controller_keeps_working():
    instances = {app: AppInstance(index=0) for app in (APP_1, APP_2)}
    routes = [(f"{app[:8]}.example.com", "127.0.0.1", inst.port,
               app_tags(app=f"app{n}", index=0, app_id=app))
              for n, (app, inst) in enumerate(instances.items())]
    with tempfile.TemporaryDirectory() as state:
        database = os.path.join(state, "broker.db")
        config_path = os.path.join(state, "gateway.yml")
        port, health_port = free_port(), free_port()
        config = (f"listen: 127.0.0.1:{port}\nhealth_listen: 127.0.0.1:{health_port}\n"
                  "threads: 2\n"
                  f"broker: {{ enabled: true, username: cc, password: pw, database: {database} }}\n"
                  + static_routes_yaml(routes))
        with open(config_path, "w") as f:
            f.write(config)
        code, out, err = run(["--config", config_path, "-"], stdin=DUMP.encode())
        assert code == 1 and "imported 3 bindings" in out, (code, out, err)

        def scraped_path(app):
            instances[app].clear_requests()
            status, _, body = http_get(f"http://127.0.0.1:{port}/v2/apps/{app}/metrics")
            assert status == 200, (status, body)
            return sorted({r["path"] for r in instances[app].requests})

        try:
            with Gateway(config) as gateway:
                gateway.wait_ready(port)
                # Promfetcher's custom path, and the default for its NULL endpoint.
                assert scraped_path(APP_1) == ["/actuator/prometheus"]
                assert scraped_path(APP_2) == ["/metrics"]
                # The file is the gateway's while it runs: a second importer stops cleanly.
                code, _, err = run(["--config", config_path, "-"], stdin=DUMP.encode())
                assert code == 2 and "stop it, import, start it again" in err, (code, err)

                # The Cloud Controller fetches and unbinds a binding it made through
                # Promfetcher, under the instance it knows (the gateway never saw it).
                status, body = osb(port, "GET",
                                   "/service_instances/old-instance/service_bindings/bind-1")
                assert (status, body["credentials"]) == (200, {"endpoint":
                                                               "/actuator/prometheus"}), body
                status, _ = osb(port, "DELETE",
                                "/service_instances/old-instance/service_bindings/bind-1"
                                f"?service_id={PROMFETCHER}&plan_id={FETCH_APP}")
                assert status == 200
                assert scraped_path(APP_1) == ["/metrics"]
                # And binds again on that instance: adopted, as a user expects.
                status, body = osb(port, "PUT",
                                   "/service_instances/old-instance/service_bindings/bind-9",
                                   {"service_id": PROMFETCHER, "plan_id": FETCH_APP,
                                    "bind_resource": {"app_guid": APP_1},
                                    "parameters": {"endpoint": "/prom"}})
                assert status == 201, body
                assert scraped_path(APP_1) == ["/prom"]
        finally:
            for inst in instances.values():
                inst.stop()


if __name__ == "__main__":
    run_tests([test_dry_run_import_second_import_and_strict,
               test_progress_on_a_terminal_quiet_in_a_pipe,
               test_the_gateway_serves_imported_bindings_and_the_cloud_controller_keeps_working])
