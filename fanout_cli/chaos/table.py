"""The verdict table (rich) and the JSON results of a suite run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from fanout_cli.chaos.verdict import Verdict

COLUMNS = (
    "scenario",
    "matched",
    "outcomes s/f/sup/c",
    "dup / bound",
    "failed on transient",
    "funnel vs ESP",
    "state",
    "verdict",
)


def _outcomes(verdict: Verdict) -> str:
    counts = verdict.outcomes
    steps = ("sent", "failed", "suppressed", "cancelled")
    figures = "/".join(f"{counts.get(k, 0):,}" for k in steps)
    if "excluded" in counts:
        figures += f" (+{counts['excluded']:,} excl.)"
    return figures


def _funnel(verdict: Verdict) -> str:
    unequal = [k for k, (ours, theirs) in verdict.funnel_vs_simulator.items() if ours != theirs]
    if not verdict.funnel_vs_simulator:
        return "-"
    return "equal" if not unequal else "≠ " + ", ".join(unequal)


def _verdict(verdict: Verdict) -> str:
    lines = ["[bold green]PASS[/]" if verdict.passed else "[bold red]FAIL[/]"]
    lines += [f"[red]{reason}[/]" for reason in verdict.reasons]
    lines += [f"[dim]{note}[/]" for note in verdict.notes]
    return "\n".join(lines)


def verdict_table(verdicts: list[Verdict]) -> Table:
    """One row per scenario; the verdict cell lists every failure reason and note."""
    table = Table(*COLUMNS, title="fanout chaos", show_lines=True)
    for v in verdicts:
        table.add_row(
            v.scenario,
            "?" if v.matched is None else f"{v.matched:,}",
            _outcomes(v),
            f"{v.duplicates:,} / {v.bound:,}",
            f"{v.failed_on_transient:,}",
            _funnel(v),
            v.state if v.state == v.expected_state else f"{v.state} (want {v.expected_state})",
            _verdict(v),
        )
    return table


def write_json(path: Path, plan: dict[str, Any], verdicts: list[Verdict]) -> None:
    """The plan and every verdict, as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"plan": plan, "results": [v.as_dict() for v in verdicts]}
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
