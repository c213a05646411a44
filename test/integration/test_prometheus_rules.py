"""The ready-made Prometheus rules in contrib/prometheus/: `promtool check rules` accepts them,
`promtool test rules` runs their unit tests (every alert firing and not firing, the recording
rules' values), and every metric their expressions read is one the gateway exports: registered
in src/ (`.Name("...")`), or a per-instance series of the merged app answer
(src/apps/scrape_report.cpp), or Prometheus' own `up`. The Grafana dashboard in
contrib/grafana/ likewise: every panel query (and its variable) reads only exported metrics or
the rules' recorded series."""

import json

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from harness import run_tests  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES_DIR = os.path.join(ROOT, "contrib", "prometheus")
RULES = os.path.join(RULES_DIR, "metrics-gateway.rules.yml")
RULE_TESTS = os.path.join(RULES_DIR, "metrics-gateway.rules.test.yml")
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "metrics-gateway.dashboard.json")


def promtool(*args):
    result = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60,
                            cwd=RULES_DIR)
    return result.returncode, result.stdout + result.stderr


def exported_metrics():
    names = {"up"}
    for directory, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                text = f.read()
            names.update(re.findall(r'\.Name\("([a-zA-Z_:][a-zA-Z0-9_:]*)"\)', text))
            # A histogram or summary is exported as its _bucket (histograms), _sum and _count.
            for kind, name in re.findall(
                    r'Build(Histogram|Summary)\(\)\s*\.Name\("([a-zA-Z_:][a-zA-Z0-9_:]*)"\)', text):
                names.update({f"{name}_sum", f"{name}_count"})
                if kind == "Histogram":
                    names.add(f"{name}_bucket")
    with open(os.path.join(ROOT, "src", "apps", "scrape_report.cpp"), encoding="utf-8") as f:
        names.update(re.findall(r"\b((?:mgw|promfetcher)_[a-z_]+)\b", f.read()))
    return names


def rule_expressions():
    """The `expr:` of every rule (single-line or a `|` block), without the YAML parser Debian's
    python may lack: the file's layout is fixed by this repository."""
    expressions, current, indent = [], None, 0
    with open(RULES, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if current is not None:
                if stripped and len(line) - len(line.lstrip()) > indent:
                    current.append(stripped)
                    continue
                expressions.append(" ".join(current))
                current = None
            match = re.match(r"^(\s*)expr:\s*(.*)$", line)
            if match:
                indent = len(match.group(1))
                if match.group(2) in ("|", ">", "|-", ">-"):
                    current = []
                else:
                    expressions.append(match.group(2))
    if current is not None:
        expressions.append(" ".join(current))
    return expressions


def metric_names(expression):
    """Metric names an expression selects, recorded series (with ':') included: not label
    names (inside braces or groupings), functions or keywords."""
    keywords = {"sum", "avg", "count", "min", "max", "by", "without", "on", "ignoring",
                "group_left", "group_right", "rate", "increase", "and", "or", "unless",
                "bool", "offset", "histogram_quantile", "label_values"}
    # Grafana's label_values(metric, label): the label is no metric.
    expression = re.sub(r"label_values\(([^,()]+),\s*\w+\)", r"\1", expression)
    without_braces = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expression)
    without_groupings = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
                               "", without_braces)
    names = set()
    for token in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_groupings):
        if token in keywords:
            continue
        names.add(token)
    return names


def recorded_series():
    with open(RULES, encoding="utf-8") as f:
        return set(re.findall(r"^\s*- record:\s*(\S+)\s*$", f.read(), re.MULTILINE))


def test_promtool_check_rules():
    code, output = promtool("check", "rules", RULES)
    assert code == 0, output
    assert "SUCCESS" in output, output


def test_promtool_test_rules():
    code, output = promtool("test", "rules", RULE_TESTS)
    assert code == 0, output
    assert "SUCCESS" in output, output


def test_rules_read_only_metrics_the_gateway_exports():
    exported = exported_metrics()
    assert "mgw_scrape_requests_total" in exported and "mgw_scrape_up" in exported, exported
    expressions = rule_expressions()
    assert len(expressions) >= 12, expressions
    used = set()
    for expression in expressions:
        used |= metric_names(expression)
    unknown = used - exported - recorded_series()
    assert not unknown, f"rules read metrics the gateway does not export: {sorted(unknown)}"
    for name in ("mgw_nats_connected", "mgw_memory_refusals_total", "mgw_rsocket_pulls_total",
                 "mgw_bosh_subscription_dropped_total", "mgw_push_rejected_total",
                 "promfetcher_scrape_error", "mgw_scrape_up", "up"):
        assert name in used, (name, sorted(used))


def test_dashboard_panels_read_only_exported_metrics():
    with open(DASHBOARD, encoding="utf-8") as f:
        dashboard = json.load(f)
    known = exported_metrics() | recorded_series()
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["definition"] for variable in dashboard["templating"]["list"]
                if variable["type"] == "query"]
    assert len(queries) == len(dashboard["panels"]) + 1, queries
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), ids
    # PromQL syntax: promtool parses each panel query as the expression of a recording rule
    # (Grafana's variables replaced by a value).
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as rules:
        entries = [{"record": f"dashboard:panel_{i}", "expr": expr.replace("$instance", ".*")}
                   for i, expr in enumerate(queries[:len(dashboard["panels"])])]
        json.dump({"groups": [{"name": "dashboard", "rules": entries}]}, rules)
        rules.flush()
        code, output = promtool("check", "rules", rules.name)
        assert code == 0, output
    for query in queries:
        names = metric_names(query)
        assert names, query
        unknown = names - known
        assert not unknown, f"{query!r} reads metrics the gateway does not export: {unknown}"


if __name__ == "__main__":
    run_tests([test_promtool_check_rules, test_promtool_test_rules,
               test_rules_read_only_metrics_the_gateway_exports,
               test_dashboard_panels_read_only_exported_metrics])
