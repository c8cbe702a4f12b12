"""The benchmark's CPU table: every process's µs per email, and Fanout's own total, which
leaves out the ESP simulator's process under the name the sampler gives it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fanout_cli.bench.machine import machine_facts
from fanout_cli.bench.render import cpu_per_email, markdown
from fanout_cli.stack.components import SERVICES
from fanout_cli.stack.instances import known_instances


def _run(cpu_s: dict[str, float], matched: int = 1_000_000) -> dict[str, Any]:
    return {
        "leads": matched,
        "latency_ms": 0.0,
        "matched": matched,
        "processes": {name: {"cpu_s": spent, "peak_rss_mb": 1.0} for name, spent in cpu_s.items()},
    }


def test_fanouts_total_leaves_out_the_simulator_as_the_sampler_names_it() -> None:
    # the names the sampler records (`Sampler._discover`): each service's first instance,
    # then the broker and the database server
    names = [known_instances(service, Path("/nonexistent"))[0].name for service in SERVICES]
    assert "esp-simulator" in names
    cpu = dict.fromkeys([*names, "kafka", "postgres"], 1.0)
    cpu["esp-simulator"] = 15.0
    _, rows = cpu_per_email([_run(cpu)])
    table = {row[0]: row[1] for row in rows}
    assert table["esp-simulator"] == "15.0"
    assert table["all but the simulator"] == f"{len(cpu) - 1:.1f}"  # one second each


def test_a_run_with_nothing_matched_prints_a_dash() -> None:
    _, rows = cpu_per_email([_run({"sender": 1.0}, matched=0)])
    assert rows[-1] == ["all but the simulator", "—"]


def test_the_report_says_what_clickhouse_held_at_each_launch() -> None:
    runs = [_run({"sender": 1.0}), _run({"sender": 1.0}), _run({"sender": 1.0})]
    for run, stored in zip(runs, [0, 2_310_452, None], strict=True):
        run |= {"stored_events_before": stored, "import_per_s": 1.0, "completed_s": 1.0}
        run |= {"reported_s": 1.0, "emails_per_s": 1.0, "simulator_duplicates": 0}
        run |= {"every_lead_has_outcome": True, "stages": _stages()}
    text = markdown(_data(runs))
    assert "at each launch, in run order: 0 / 2,310,452 / —." in text
    for run in runs:
        run["stored_events_before"] = None  # report_sink never answered: no line at all
    assert "at each launch" not in markdown(_data(runs))


def test_the_report_prints_the_machine_reference_under_the_cpu_table() -> None:
    runs = [_run({"sender": 1.0})]
    runs[0] |= {"import_per_s": 1.0, "completed_s": 1.0, "reported_s": 1.0}
    runs[0] |= {"emails_per_s": 1.0, "simulator_duplicates": 0}
    runs[0] |= {"every_lead_has_outcome": True, "stages": _stages()}
    assert "Machine reference" not in markdown(_data(runs))  # a result from before it
    ref = {"median_ms": 61.04, "min_ms": 60.0, "max_ms": 70.0, "repeats": 7, "checksum": 1}
    runs[0] |= {"reference": ref, "reference_after": ref | {"median_ms": 75.96}}
    text = markdown(_data(runs))
    table_at = text.index("CPU µs per email")
    line_at = text.index("Machine reference before → after each run")
    assert table_at < line_at
    assert "lower is faster): 61.0 → 76.0." in text


def _stages() -> dict[str, Any]:
    stage = {"done_s": 1.0, "per_s": 1.0}
    return dict.fromkeys(("resolve", "send", "sink", "webhooks"), stage)


def _data(runs: list[dict[str, Any]]) -> dict[str, Any]:
    machine = {"cpus": 2, "cpu_model": "x", "memory_gib": 1, "python": "3.11"}
    return {
        "started_at": "2026-12-05T00:00:00Z",
        "machine": machine | {"load_average_at_start": [0.0, 0.0, 0.0]},
        "e2e": runs,
    }


def test_the_report_names_the_interpreter_the_run_was_measured_on() -> None:
    """Two builds of one Python version differ in CPU per email (docs/benchmarks.md, round
    31), so the report says which executable ran; results recorded before it print none."""
    runs = [_run({"sender": 1.0})]
    runs[0] |= {"import_per_s": 1.0, "completed_s": 1.0, "reported_s": 1.0}
    runs[0] |= {"emails_per_s": 1.0, "simulator_duplicates": 0}
    runs[0] |= {"every_lead_has_outcome": True, "stages": _stages()}
    data = _data(runs)
    assert "Python 3.11, load average" in markdown(data)
    data["machine"]["python_executable"] = "/usr/bin/python3.11"
    assert "Python 3.11 (/usr/bin/python3.11), load average" in markdown(data)


def test_the_machine_facts_name_this_processs_interpreter_by_its_real_path() -> None:
    facts = machine_facts()
    executable = Path(facts["python_executable"])
    assert executable.is_absolute() and not executable.is_symlink()
    assert executable.samefile(sys.executable)
