"""`fanout bench scale-sweep`'s arithmetic, JSON and chart (the runs need a stack of their own)."""

from __future__ import annotations

import json
from pathlib import Path

from fanout_cli.bench.sweep import SweepPlan, SweepResult, SweepStep, sweep_rows, write_sweep

MACHINE = {"cpus": 2, "load_average_at_start": [0.5, 0.4, 0.3]}


def _result(rates: dict[int, list[float]]) -> SweepResult:
    result = SweepResult(SweepPlan(), MACHINE, "2026-12-02T02:00:00Z")
    for n, values in rates.items():
        for round_, rate in enumerate(values, start=1):
            result.steps.append(SweepStep(n, round_, rate, 60.0 / n, steady_emails_per_s=rate + 10))
    return result


def test_ceiling_is_batches_in_flight_of_fifty_per_latency() -> None:
    plan = SweepPlan(max_in_flight=2, latency_ms=500.0)
    assert plan.ceiling_per_s(1) == 200.0
    assert plan.ceiling_per_s(3) == 600.0


def test_sweep_medians_and_ratios_to_one_instance() -> None:
    result = _result({1: [190.0, 180.0, 200.0], 2: [370.0, 390.0, 380.0], 3: [540.0, 560.0]})
    assert result.medians() == {1: 190.0, 2: 380.0, 3: 550.0}
    assert result.ratios() == {1: 1.0, 2: 2.0, 3: 550.0 / 190.0}
    assert result.medians(steady=True) == {1: 200.0, 2: 390.0, 3: 560.0}
    assert sweep_rows(result)[2] == ["3", "540, 560", "550.0", "2.89×", "560.0", "2.80×", "600"]


def test_sweep_without_a_rate_at_one_instance_has_no_ratio() -> None:
    assert _result({1: [0.0], 2: [100.0]}).ratios() == {1: 0.0, 2: 0.0}
    assert _result({}).medians() == {}


def test_write_sweep_writes_json_and_a_chart(tmp_path: Path) -> None:
    result = _result({1: [190.0], 2: [380.0], 3: [560.0]})
    json_path, png_path = write_sweep(result, tmp_path / "results")
    assert json_path.name == "20261202T020000Z-scale-sweep.json"
    data = json.loads(json_path.read_text())
    assert data["machine"] == MACHINE
    assert data["plan"]["max_in_flight"] == 2
    assert data["median_emails_per_s"] == {"1": 190.0, "2": 380.0, "3": 560.0}
    assert data["ceiling_emails_per_s"]["3"] == 600.0
    assert data["steady_ratio_to_fewest"]["3"] == 570.0 / 200.0
    assert len(data["steps"]) == 3
    assert png_path.read_bytes().startswith(b"\x89PNG")
