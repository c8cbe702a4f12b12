"""Instance sweeps (`scale-sweep`, `webhook-flood`, `resolvers`): arithmetic, JSON and chart
(the runs need a stack of their own)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fanout_cli.bench.resolvers import ResolversPlan
from fanout_cli.bench.sender_sweep import SenderSweepPlan
from fanout_cli.bench.sweep import (
    SweepPlan,
    SweepResult,
    SweepStep,
    parse_counts,
    sweep_header,
    sweep_rows,
    unreconciled,
    write_sweep,
)
from fanout_cli.bench.webhook_flood import FloodPlan

MACHINE = {"cpus": 2, "load_average_at_start": [0.5, 0.4, 0.3]}


def _result(rates: dict[int, list[float]], plan: SweepPlan | None = None) -> SweepResult:
    chosen = plan or SenderSweepPlan()
    result = SweepResult(chosen, MACHINE, "2026-12-02T02:00:00Z")
    for n, values in rates.items():
        for round_, rate in enumerate(values, start=1):
            result.steps.append(SweepStep(n, round_, rate, 60.0 / n, steady_per_s=rate + 10))
    return result


def test_ceiling_is_batches_in_flight_of_fifty_per_latency() -> None:
    plan = SenderSweepPlan(max_in_flight=2, latency_ms=500.0)
    assert plan.ceiling_per_s(1) == 200.0
    assert plan.ceiling_per_s(3) == 600.0


def test_flood_ceiling_is_posts_in_flight_of_e_events_per_linger() -> None:
    plan = FloodPlan(in_flight=2, events_per_post=50, linger_ms=100)
    assert plan.ceiling_per_s(1) == 1000.0
    assert plan.ceiling_per_s(3) == 3000.0
    assert plan.env() == {"FANOUT_WEBHOOK_INGEST_KAFKA_LINGER_MS": "100"}


def test_resolvers_window_holds_a_whole_campaign() -> None:
    assert ResolversPlan(leads=10_000).env() == {"FANOUT_LEAD_RESOLVER_WINDOW": "200"}
    assert ResolversPlan(leads=30_001).env() == {"FANOUT_LEAD_RESOLVER_WINDOW": "601"}
    assert ResolversPlan(leads=100).env() == {"FANOUT_LEAD_RESOLVER_WINDOW": "200"}
    assert ResolversPlan().ceiling_per_s(2) is None


def test_sweep_medians_and_ratios_to_one_instance() -> None:
    result = _result({1: [190.0, 180.0, 200.0], 2: [370.0, 390.0, 380.0], 3: [540.0, 560.0]})
    assert result.medians() == {1: 190.0, 2: 380.0, 3: 550.0}
    assert result.ratios() == {1: 1.0, 2: 2.0, 3: 550.0 / 190.0}
    assert result.medians(steady=True) == {1: 200.0, 2: 390.0, 3: 560.0}
    assert sweep_rows(result)[2] == ["3", "540, 560", "550.0", "2.89×", "560.0", "2.80×", "600"]
    assert sweep_header(result)[-1] == "ceiling"


def test_sweep_without_a_ceiling_has_no_ceiling_column() -> None:
    result = _result({1: [100.0], 2: [150.0]}, ResolversPlan())
    assert sweep_header(result) == [
        "lead_resolvers",
        "runs (leads/s)",
        "median",
        "ratio",
        "10–90 %",
        "ratio",
    ]
    assert sweep_rows(result)[1] == ["2", "150", "150.0", "1.50×", "160.0", "1.45×"]
    assert "ceiling_leads_per_s" not in result.as_dict()


def test_sweep_without_a_rate_at_one_instance_has_no_ratio() -> None:
    assert _result({1: [0.0], 2: [100.0]}).ratios() == {1: 0.0, 2: 0.0}
    assert _result({}).medians() == {}


def test_write_sweep_writes_json_and_a_chart(tmp_path: Path) -> None:
    result = _result({1: [190.0], 2: [380.0], 3: [560.0]})
    result.load_average_at_end = (1.0, 2.0, 3.0)
    json_path, png_path = write_sweep(result, tmp_path / "results")
    assert json_path.name == "20261202T020000Z-scale-sweep.json"
    data = json.loads(json_path.read_text())
    assert data["benchmark"] == "scale-sweep"
    assert data["machine"] == MACHINE
    assert data["load_average_at_end"] == [1.0, 2.0, 3.0]
    assert data["plan"]["max_in_flight"] == 2
    assert data["median_emails_per_s"] == {"1": 190.0, "2": 380.0, "3": 560.0}
    assert data["ceiling_emails_per_s"]["3"] == 600.0
    assert data["steady_ratio_to_fewest"]["3"] == 570.0 / 200.0
    assert data["target_ratio_at_3"] == 2.5
    assert [set(s) for s in data["steps"]] == [
        {"instances", "round", "emails_per_s", "seconds", "steady_emails_per_s", "timeline"}
    ] * 3
    assert png_path.read_bytes().startswith(b"\x89PNG")


def test_flood_json_counts_events_and_keeps_step_facts(tmp_path: Path) -> None:
    result = _result({1: [900.0], 2: [1800.0]}, FloodPlan(in_flight=2, linger_ms=100))
    result.steps[0].facts = {"reconciliation": {"passed": True, "missing": 0}}
    json_path, _ = write_sweep(result, tmp_path)
    data = json.loads(json_path.read_text())
    assert json_path.name.endswith("-webhook-flood.json")
    assert data["median_events_per_s"] == {"1": 900.0, "2": 1800.0}
    assert data["ceiling_events_per_s"] == {"1": 1000.0, "2": 2000.0, "3": 3000.0}
    assert data["steps"][0]["reconciliation"] == {"passed": True, "missing": 0}
    assert "target_ratio_at_3" not in data


def test_unreconciled_names_the_steps_that_failed_their_checks() -> None:
    result = _result({1: [10.0], 2: [20.0]}, ResolversPlan())
    result.steps[0].facts = {"reconciliation": {"passed": True, "reasons": []}}
    result.steps[1].facts = {"reconciliation": {"passed": False, "reasons": ["1 lead twice"]}}
    assert unreconciled(result) == ["round 1, 2 instance(s): ['1 lead twice']"]
    assert unreconciled(_result({1: [10.0]})) == []  # the sender sweep checks nothing per step


@pytest.mark.parametrize(("text", "counts"), [("1,2,3", (1, 2, 3)), ("3, 1,1", (1, 3))])
def test_parse_counts(text: str, counts: tuple[int, ...]) -> None:
    assert parse_counts(text) == counts


@pytest.mark.parametrize("text", ["", "0,1", "one", "1,,2"])
def test_parse_counts_refuses_what_is_no_count(text: str) -> None:
    with pytest.raises(ValueError):
        parse_counts(text)
