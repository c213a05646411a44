"""scripts/bench_platform at a tiny scale (2 and 4 apps x 2 instances x 50 series, every 2 s),
with the built gateway, simulator and driver (MGW_BUILD_DIR: no build): the platform-load
benchmark's numbers are only as good as its harness, so this proves that the harness scrapes
every app like Prometheus (each app at its own phase, every interval, gzip, the timeout header),
judges every answer's completeness and deadline, reports the largest sustained step, stops at
the first step that fails, and refuses knobs Prometheus would refuse."""

import csv
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MGW_BUILD_DIR", os.path.join(ROOT, "build"))
SCRIPT = os.path.join(ROOT, "scripts", "bench_platform")
SMALL = {
    "MGW_BENCH_SKIP_BUILD": "1",
    "MGW_BENCH_BUILD_DIR": BUILD,
    "PLATFORM_STEPS": "2 4",
    "PLATFORM_INSTANCES": "2",
    "PLATFORM_SERIES": "50",
    "PLATFORM_VARIANTS": "0",
    "PLATFORM_INTERVAL": "2",
    "PLATFORM_SCRAPE_TIMEOUT": "2",
    "PLATFORM_WARMUP_INTERVALS": "1",
    "PLATFORM_INTERVALS": "2",
}


def bench(**overrides):
    env = dict(os.environ, **SMALL)
    env.update(overrides)
    run = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=180)
    results = [dict(field.split("=", 1) for field in line.split()[1:])
               for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    return run, results


def test_every_app_scraped_every_interval_and_the_largest_step_reported():
    with tempfile.TemporaryDirectory(prefix="mgw-bench-platform-test-") as records_dir:
        run, results = bench(PLATFORM_RECORDS_DIR=records_dir)
        assert run.returncode == 0, run.stdout + run.stderr
        assert [r["apps"] for r in results] == ["2", "4"], run.stdout
        for r in results:
            answers = int(r["apps"]) * 2
            assert r["answers"] == str(answers), r
            assert r["complete"] == r["in_time"] == str(answers), r
            assert r["timed_out"] == r["errors"] == "0", r
            assert r["sustained"] == "yes", r
            assert 0 <= float(r["gateway_cores"]) <= 1.0, r
            assert float(r["sim_cores"]) >= 0 and float(r["driver_cores"]) >= 0, r
            assert float(r["max_s"]) <= 2.0, r
        assert "fleet_simulator: 4 apps bench-org/bench-space/plat-0..3: 2 instances each" \
            in run.stdout, run.stdout
        assert re.search(r"^\|\s+4 \|\s+8 \|\s+8/8 \|.*\|\s+\d+ \| yes\s+\|$", run.stdout, re.MULTILINE), \
            run.stdout
        assert "largest sustained: 4 apps x 2 instances x 50 series" in run.stdout, run.stdout

        with open(os.path.join(records_dir, "records-4.tsv")) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        # Warm-up round 0, then the two measured rounds, for every app.
        assert sorted((int(r["app"]), int(r["round"])) for r in rows) == \
            [(app, n) for app in range(4) for n in range(3)], rows
        for r in rows:
            assert r["measured"] == ("0" if r["round"] == "0" else "1"), r
            assert r["status"] == "200" and r["up"] == "2" and r["down"] == "0", r
            assert r["complete"] == "1" and r["in_time"] == "1", r
            # Prometheus asks for gzip: the answer on the wire is the smaller one.
            assert 0 < int(r["wire_bytes"]) < int(r["decoded_bytes"]), r
        # Each app keeps its own phase in the interval, one interval apart from round to round.
        phases = {}
        for r in rows:
            scheduled = float(r["scheduled_s"])
            phase = phases.setdefault(r["app"], scheduled - 2 * int(r["round"]))
            assert abs(scheduled - 2 * int(r["round"]) - phase) < 0.002, (r, phase)
            assert 0 <= phase < 2, r
        assert len({round(p, 3) for p in phases.values()}) == 4, phases


def test_answers_past_their_deadline_fail_the_step_and_stop_the_steps():
    # 10 microseconds: no answer through the gateway (a request, two instance fetches, the
    # merged answer, all over loopback) arrives in time, so Prometheus abandons every scrape.
    run, results = bench(PLATFORM_SCRAPE_TIMEOUT="0.00001")
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(results) == 1, run.stdout
    r = results[0]
    assert r["apps"] == "2" and r["answers"] == "4", r
    assert r["in_time"] == "0" and r["complete"] == "0" and r["timed_out"] == "4", r
    assert r["sustained"] == "no", r
    assert "first failed answer" in run.stderr and "timeout" in run.stderr, run.stderr
    assert "step 2 not sustained: larger steps skipped" in run.stdout, run.stdout
    assert "largest sustained: none of the steps (2 4 apps)" in run.stdout, run.stdout


def test_knobs_prometheus_would_refuse_are_refused():
    run, _ = bench(PLATFORM_SCRAPE_TIMEOUT="3", PLATFORM_INTERVAL="2")
    assert run.returncode == 2 and "PLATFORM_SCRAPE_TIMEOUT" in run.stderr, run.stderr
    run, _ = bench(PLATFORM_STEPS="4 2")
    assert run.returncode == 2 and "increasing" in run.stderr, run.stderr
    run, _ = bench(PLATFORM_STEPS="3000", PLATFORM_INSTANCES="10")
    assert run.returncode == 2 and "20000 instances" in run.stderr, run.stderr


if __name__ == "__main__":
    run_tests([test_every_app_scraped_every_interval_and_the_largest_step_reported,
               test_answers_past_their_deadline_fail_the_step_and_stop_the_steps,
               test_knobs_prometheus_would_refuse_are_refused])
