"""The demo app's exposition (test/integration/support/demo_fleet.py, what scripts/demo shows)
is one a reader can trust: its histogram buckets are cumulative once (never above `+Inf`, which
equals `_count`), `metrics-gateway check` accepts it strictly, the gateway's lenient reader
changes nothing in it, and `promtool check metrics` reports no error. Several scrapes of every
instance, since each scrape adds observations."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from demo_fleet import Workload  # noqa: E402
from harness import run_tests  # noqa: E402

BINARY = os.environ.get("MGW_BINARY", "build/metrics-gateway")
HISTOGRAM = "http_server_request_duration_seconds"


def bodies():
    for index in range(3):
        workload = Workload(index)
        for _ in range(12):
            yield index, workload.body()


def value_of(body, pattern):
    match = re.search(rf"^{pattern} (\S+)$", body, re.MULTILINE)
    assert match, (pattern, body)
    return float(match.group(1))


def test_histogram_buckets_are_cumulative_and_end_at_the_count():
    for index, body in bodies():
        buckets = [(float(le), float(v)) for le, v in re.findall(
            rf'^{HISTOGRAM}_bucket{{le="([^"]+)"}} (\S+)$', body, re.MULTILINE)]
        assert len(buckets) == 9 and buckets[-1][0] == float("inf"), body
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), (index, buckets)
        count = value_of(body, f"{HISTOGRAM}_count")
        assert buckets[-1][1] == count, (index, buckets, count)
        assert count > 0
        # Every demo latency is at most 0.304 s: the 0.5 bucket already holds them all.
        assert dict(buckets)[0.5] == count, (index, buckets)


def test_the_gateway_check_accepts_it_strictly_and_leniently_changes_nothing():
    for index, body in bodies():
        strict = subprocess.run([BINARY, "check", "-"], input=body.encode(), capture_output=True,
                                timeout=30)
        assert strict.returncode == 0, (index, strict.stderr.decode(), body)
        lenient = subprocess.run([BINARY, "check", "--lenient", "-"], input=body.encode(),
                                 capture_output=True, timeout=30)
        assert lenient.returncode == 0, (index, lenient.stderr.decode(), body)
        assert lenient.stderr == b"", (index, lenient.stderr.decode(), body)


def test_promtool_reports_no_error():
    for index, body in bodies():
        promtool = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                                  capture_output=True, timeout=30)
        output = (promtool.stdout + promtool.stderr).decode()
        # 3: lint findings only (naming advice), 0: none.
        assert promtool.returncode in (0, 3), (index, output)
        assert "error" not in output.lower(), (index, output)


if __name__ == "__main__":
    run_tests([test_histogram_buckets_are_cumulative_and_end_at_the_count,
               test_the_gateway_check_accepts_it_strictly_and_leniently_changes_nothing,
               test_promtool_reports_no_error])
