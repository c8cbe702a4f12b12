"""The Grafana dashboard and the Prometheus alert rules use only metrics the code exports.

Every PromQL expression is parsed (promql-parser, the Prometheus grammar); each series it
selects must be exposed by a metric of `shared/metrics.py` (prometheus_client's names:
a counter's `_total`, a histogram's `_bucket`/`_sum`/`_count`) and each label it matches
on must be one of that metric's labels. The few series from outside Fanout are listed
with where they come from. Every alert has a summary and a runbook section in
docs/operations.md.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import promql_parser
import pytest
from prometheus_client.metrics import MetricWrapperBase

from shared import metrics
from tests.deploy.chart import REPO, load_yaml

OBSERVABILITY = REPO / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "fanout.json"
ALERTS = OBSERVABILITY / "prometheus" / "fanout-alerts.yaml"
OPERATIONS = REPO / "docs" / "operations.md"
# series not exported by Fanout: name -> (labels, who exports them)
EXTERNAL = {
    "up": ({"job", "instance"}, "Prometheus, for every scrape target"),
    "kube_deployment_status_replicas_unavailable": (
        {"deployment", "namespace"},
        "kube-state-metrics",
    ),
}
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


@cache
def exported_series() -> dict[str, set[str]]:
    """Every series name Fanout's metrics expose, with the labels it may carry."""
    series: dict[str, set[str]] = {}
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        (family,) = metric.describe()
        labels = set(metric._labelnames)  # noqa: SLF001 - the declared label names
        for suffix in SUFFIXES[family.type]:
            series[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    for name, (labels, _) in EXTERNAL.items():
        series[name] = labels
    return series


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """Each (series name, matched label names) an expression selects; it must parse."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    found: list[tuple[str, set[str]]] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name or "", {m.name for m in node.matchers.matchers}))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def alert_rules() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_yaml(ALERTS)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _unknown(expr: str) -> list[str]:
    series = exported_series()
    problems = []
    for name, labels in selectors(expr):
        if name not in series:
            problems.append(f"no metric exports {name}")
        elif labels - series[name]:
            problems.append(f"{name} has no label {sorted(labels - series[name])}")
    return problems


@pytest.mark.parametrize(("title", "expr"), dashboard_expressions())
def test_dashboard_uses_only_exported_metrics(title: str, expr: str) -> None:
    assert selectors(expr), f"{title}: selects nothing"
    assert _unknown(expr) == [], title


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_alert_rule_uses_only_exported_metrics(rule: dict[str, Any]) -> None:
    assert _unknown(rule["expr"]) == []


def test_metric_check_refuses_a_misspelt_or_mislabelled_series() -> None:
    assert _unknown("rate(fanout_consumed_records[5m])") == [
        "no metric exports fanout_consumed_records"
    ]
    assert _unknown('fanout_consumer_lag_records{campaign="3"}') == [
        "fanout_consumer_lag_records has no label ['campaign']"
    ]
    with pytest.raises(ValueError):
        selectors("sum(rate(fanout_sink_events_total[5m])")


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_alert_has_a_summary_a_severity_and_a_runbook_section() -> None:
    anchors = _anchors(OPERATIONS.read_text())
    for rule in alert_rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor == rule["alert"].lower()
        assert anchor in anchors, f"docs/operations.md has no section {rule['alert']}"
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_dashboard_panels_are_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    (variable,) = dashboard["templating"]["list"]
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == f"${{{variable['name']}}}"
            refs = [target["refId"] for target in panel["targets"]]
            assert len(refs) == len(set(refs))


def test_external_series_are_few_and_documented() -> None:
    used = {name for _, expr in dashboard_expressions() for name, _ in selectors(expr)}
    used |= {name for rule in alert_rules() for name, _ in selectors(rule["expr"])}
    assert used & set(EXTERNAL) == set(EXTERNAL), "an external series no longer used: drop it"
    text = ALERTS.read_text()
    assert "kube-state-metrics" in text and "`up`" in text


def test_alert_rules_file_is_a_rules_file() -> None:
    """The shape Prometheus loads: groups with unique names, rules with unique alert names
    per expression."""
    groups = load_yaml(ALERTS)["groups"]
    assert len({g["name"] for g in groups}) == len(groups)
    seen = {(r["alert"], r["expr"]) for r in alert_rules()}
    assert len(seen) == len(alert_rules())
