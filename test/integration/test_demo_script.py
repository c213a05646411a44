"""scripts/demo as a person runs it, with the built binary (MGW_BINARY: no build): it exits 0,
says what it does in a few `demo:` lines (package-manager output goes to a log, and with every
Debian package present nothing is installed), prints the merged exposition of its three
instances with a valid histogram, the /v1/sd target of the app, and stops everything."""

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


def test_demo_runs_and_speaks_in_a_few_lines():
    demo = run_demo()
    assert demo["code"] == 0, demo["err"]
    lines = demo["err"].splitlines()
    assert all(line.startswith("demo: ") for line in lines), lines
    assert len(lines) <= 15, lines
    assert "npm" not in demo["err"] + demo["out"]
    assert lines[-1] == "demo: stopped everything", lines


def test_demo_prints_three_instances_with_a_valid_histogram():
    out = run_demo()["out"]
    up = re.findall(r'^mgw_scrape_up\{.*index="(\d)".*\} 1$', out, re.MULTILINE)
    assert sorted(set(up)) == ["0", "1", "2"], out
    for index in "012":
        buckets = [float(v) for v in re.findall(
            rf'^http_server_request_duration_seconds_bucket\{{.*index="{index}".*\}} (\S+)$',
            out, re.MULTILINE)]
        count = re.search(
            rf'^http_server_request_duration_seconds_count\{{.*index="{index}".*\}} (\S+)$',
            out, re.MULTILINE)
        assert len(buckets) == 9 and count, out
        assert buckets == sorted(buckets) and buckets[-1] == float(count.group(1)), buckets


def test_demo_prints_the_apps_sd_target():
    out = run_demo()["out"]
    line = next(line for line in out.splitlines() if line.startswith('[{"targets"'))
    groups = json.loads(line)
    assert len(groups) == 1, groups
    labels = groups[0]["labels"]
    assert labels["__meta_cf_app_name"] == "demo-app", labels
    assert re.fullmatch(r"/v2/apps/[0-9a-f-]{36}/metrics", labels["__metrics_path__"]), labels


if __name__ == "__main__":
    run_tests([test_demo_runs_and_speaks_in_a_few_lines,
               test_demo_prints_three_instances_with_a_valid_histogram,
               test_demo_prints_the_apps_sd_target])
