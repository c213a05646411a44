"""scripts/demo as a person runs it, with the built binary (MGW_BINARY: no build): it exits 0,
says what it does in a few `demo:` lines (package managers' output goes to a log, and with
every package present nothing is installed), prints a few lines of each of the app's three
sources from its one merged answer (the three scraped instances with a valid histogram, the
series pushed with the key of a binding made through the gateway's broker, the series of an
RSocket client that proved the app with that key), the gauges of the HM heartbeat fed through
hm-plugin, the app's /v1/sd target and where to look, in a short output, and stops everything."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("MGW_BINARY", os.path.join(ROOT, "build", "metrics-gateway"))
RESULT = {}


def run_demo():
    if not RESULT:
        env = dict(os.environ, MGW_BINARY=BINARY)
        env.pop("MGW_DEMO_KEEP", None)
        demo = subprocess.run([os.path.join(ROOT, "scripts", "demo")], env=env,
                              capture_output=True, text=True, timeout=240)
        RESULT.update(code=demo.returncode, out=demo.stdout, err=demo.stderr)
    return RESULT


def merged_lines(out, source):
    return [line for line in out.splitlines() if f'source="{source}"' in line]


def test_demo_runs_and_speaks_in_a_few_lines():
    demo = run_demo()
    assert demo["code"] == 0, demo["err"]
    lines = demo["err"].splitlines()
    assert all(line.startswith("demo: ") for line in lines), lines
    assert len(lines) <= 20, lines
    # Everything is installed already: no package manager ran, nothing of theirs is shown.
    assert "installing" not in demo["err"] and "npm ci" not in demo["err"], lines
    assert len(demo["out"].splitlines()) <= 45, demo["out"]
    assert lines[-1] == "demo: stopped everything", lines


def test_demo_prints_three_instances_with_a_valid_histogram():
    out = run_demo()["out"]
    up = re.findall(r'^mgw_scrape_up\{.*index="(\d)".*\} 1$', out, re.MULTILINE)
    assert sorted(up) == ["0", "1", "2"], out
    buckets = [(re.search(r'[{,]le="([^"]+)"', line).group(1), float(line.rsplit(" ", 1)[1]))
               for line in out.splitlines()
               if line.startswith("http_server_request_duration_seconds_bucket{")
               and 'index="0"' in line]
    count = re.search(r'^http_server_request_duration_seconds_count\{.*index="0".*\} (\S+)$',
                      out, re.MULTILINE)
    assert len(buckets) == 9 and count, out
    values = [v for _, v in buckets]
    assert buckets[-1][0] == "+Inf", buckets
    assert values == sorted(values) and values[-1] == float(count.group(1)), buckets


def app_guid(out):
    line = next(line for line in out.splitlines() if line.startswith('[{"targets"'))
    return json.loads(line)[0]["labels"]["__meta_cf_app_id"]


def test_demo_prints_all_three_sources_of_the_app_from_its_merged_answer():
    out = run_demo()["out"]
    guid = app_guid(out)
    scraped = [line for line in out.splitlines()
               if line.startswith("http_server_request_duration_seconds")]
    pushed, pulled = merged_lines(out, "push"), merged_lines(out, "rsocket")
    assert scraped and pushed and pulled, out
    for line in scraped + pushed + pulled:
        for label in (f'app_id="{guid}"', 'organization_name="demo-org"',
                      'space_name="demo-space"', 'app_name="demo-app"'):
            assert label in line, (label, line)
    # The two metrics pushed through the binding's key, with the values the demo sent.
    assert any(line.startswith("orders_placed") and 'channel="web"' in line
               and line.endswith(" 1287") for line in pushed), pushed
    assert any(line.startswith("jvm_memory_used") and 'area="heap"' in line
               and line.endswith(" 52428800") for line in pushed), pushed
    # The RSocket client's own series (rsocket-js test client, two series and its counter).
    assert sum('client="demo-worker"' in line for line in pulled) == 3, pulled
    assert any(line.startswith("demo_scrapes_total{") for line in pulled), pulled


def test_demo_prints_the_heartbeat_gauges():
    out = run_demo()["out"]
    gauges = {line.split("{")[0]: line for line in out.splitlines()
              if line.startswith("system_")}
    assert set(gauges) == {"system_cpu_user", "system_mem_percent", "system_load_1m",
                           "system_healthy"}, out
    for line in gauges.values():
        for label in ('deployment="cf"', 'job="router"', 'index="0"'):
            assert label in line, (label, line)
    assert gauges["system_cpu_user"].endswith(" 22.1"), gauges
    assert gauges["system_healthy"].endswith(" 1"), gauges


def test_demo_prints_the_apps_sd_target_and_where_to_look():
    demo = run_demo()
    line = next(line for line in demo["out"].splitlines() if line.startswith('[{"targets"'))
    groups = json.loads(line)
    assert len(groups) == 1, groups
    labels = groups[0]["labels"]
    assert labels["__meta_cf_app_name"] == "demo-app", labels
    # Prometheus finds the app through all three of its sources.
    assert labels["__meta_cf_sources"] == ",routes,push,rsocket,", labels
    assert re.fullmatch(r"/v2/apps/[0-9a-f-]{36}/metrics", labels["__metrics_path__"]), labels
    err = demo["err"]
    where = err[err.index("demo: where to look"):]
    for path in ("/v2/apps/demo-org/demo-space/demo-app/metrics", "/v1/sd", "/status"):
        assert re.search(rf"http://127\.0\.0\.1:\d+{re.escape(path)}\b", where), (path, where)


if __name__ == "__main__":
    run_tests([test_demo_runs_and_speaks_in_a_few_lines,
               test_demo_prints_three_instances_with_a_valid_histogram,
               test_demo_prints_all_three_sources_of_the_app_from_its_merged_answer,
               test_demo_prints_the_heartbeat_gauges,
               test_demo_prints_the_apps_sd_target_and_where_to_look])
