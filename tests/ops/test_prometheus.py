"""Alert rules: promtool checks and unit tests, the PrometheusRule copy, runbook links, and
that the metrics alerts and the dashboard read are ones the editor exports or PROTOCOL §6
promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.ops.conftest import OPS, PROTOCOL, ROOT, tool

RULES = OPS / "prometheus" / "rules.yml"
RULE_TESTS = OPS / "prometheus" / "rules.test.yml"
PROMETHEUS_RULE = OPS / "k8s" / "base" / "monitoring" / "prometheusrule.yaml"
DASHBOARD = OPS / "grafana" / "editor-dashboard.json"
REQUIRED_ALERTS = {"PodCrashLooping", "HighLatency", "ReplicationLag", "KafkaConsumerLag",
                   "OutboxBacklog", "FailoverHappened", "ErrorRate"}
KUBE_STATE_METRICS = {"kube_pod_container_status_restarts_total"}
METRIC = re.compile(r"\b(?:editor|kube)_[a-z0-9_]+\b")


def alerts() -> Iterator[dict]:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        yield from group["rules"]


def protocol_metrics() -> set[str]:
    """The metric names PROTOCOL §6 says every deployment exports."""
    section = PROTOCOL.read_text().split("## 6.")[1].split("Metrics every deployment")[1]
    return set(re.findall(r"`(editor_[a-z0-9_]+)", section))


def base_name(series: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", series)


def test_promtool_check_rules() -> None:
    promtool = tool("promtool")
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(list(alerts()))} rules found" in result.stdout


def test_promtool_test_rules() -> None:
    promtool = tool("promtool")
    result = subprocess.run([promtool, "test", "rules", str(RULE_TESTS)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fail_when_a_threshold_moves(tmp_path: Path) -> None:
    promtool = tool("promtool")
    (tmp_path / "rules.yml").write_text(RULES.read_text().replace(
        "editor_db_replication_lag_seconds) > 30", "editor_db_replication_lag_seconds) > 60"))
    (tmp_path / "rules.test.yml").write_text(RULE_TESTS.read_text())
    result = subprocess.run([promtool, "test", "rules", "rules.test.yml"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "ReplicationLag" in result.stdout + result.stderr


def test_every_alert_is_unit_tested() -> None:
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}
    assert tested == {rule["alert"] for rule in alerts()}


def test_the_seed_alerts_exist_with_their_thresholds() -> None:
    by_name = {rule["alert"]: " ".join(rule["expr"].split()) for rule in alerts()}
    assert REQUIRED_ALERTS <= set(by_name)
    assert "histogram_quantile(0.95" in by_name["HighLatency"]
    assert "editor_op_ack_seconds_bucket" in by_name["HighLatency"]
    assert by_name["HighLatency"].endswith("> 0.2")
    assert by_name["ReplicationLag"].endswith("editor_db_replication_lag_seconds) > 30")
    assert by_name["KafkaConsumerLag"].endswith("(editor_kafka_consumer_lag) > 10000")
    assert "editor_outbox_pending" in by_name["OutboxBacklog"]
    assert "changes(editor_db_primary[" in by_name["FailoverHappened"]


def test_the_prometheus_rule_holds_the_same_groups() -> None:
    (rule,) = [doc for doc in yaml.safe_load_all(PROMETHEUS_RULE.read_text()) if doc]
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())


def test_every_alert_links_an_existing_runbook() -> None:
    for rule in alerts():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/runbooks/{rule['alert']}.md"
        text = (ROOT / url).read_text()
        for heading in ("## Symptoms", "## Diagnosis", "## Actions"):
            assert heading in text, f"{url} lacks {heading}"
        assert "```" in text, f"{url} gives no commands"


@pytest.fixture(scope="module")
def exported_metrics(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The metric families a running `editor serve` exports on /metrics."""
    import httpx

    data_dir = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "editor", "serve", "--port", "0", "--ws-port", "0",
         "--data-dir", str(data_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env=env)
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:  # JSON logs; `editor serve` keeps /metrics on loopback
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("event") == "metrics listening":
                url = event["url"]
                break
        assert url, "editor serve logged no metrics URL"
        text = httpx.get(url, timeout=10).text
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
    families = re.findall(r"^# TYPE (\S+) (\S+)", text, flags=re.M)
    # OpenMetrics names a counter's family without the _total its samples carry
    return {name + "_total" if kind == "counter" and not name.endswith("_total") else name
            for name, kind in families}


def test_every_metric_an_alert_reads_is_exported_or_promised(exported_metrics: set[str]
                                                             ) -> None:
    used = {base_name(m) for rule in alerts() for m in METRIC.findall(rule["expr"])}
    not_exported = used - exported_metrics - KUBE_STATE_METRICS
    # named by PROTOCOL §6 but not yet exported by this build (the services' issue adds them)
    assert not_exported <= protocol_metrics(), sorted(not_exported - protocol_metrics())
    assert "editor_http_requests_total" in exported_metrics  # ErrorRate reads it


def test_the_dashboard_reads_only_protocol_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs
    used = {base_name(m) for expr in exprs for m in METRIC.findall(expr)}
    assert used and used <= protocol_metrics(), sorted(used - protocol_metrics())
    assert protocol_metrics() <= used  # every promised metric has a panel
