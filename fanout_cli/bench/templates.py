"""`fanout bench templates|launch-check`: the render budget's figures (docs/templates.md).

`templates` runs a campaign_api of its own (free port, scratch database, own topic
prefix; the broker must be up) under hostile templates; `launch-check` times launches
with the template check on N leads in a scratch database.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from fanout_cli.output import console, fail, table
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

SLOW_MS = 100  # the acceptance: /healthz answers within 100 ms


def templates(
    seconds: Annotated[float, typer.Option(help="How long the hostile clients run.")] = 120,
    clients: Annotated[int, typer.Option(help="Concurrent hostile clients.")] = 4,
    quiet: Annotated[float, typer.Option(help="Seconds of probing before they start.")] = 20,
) -> None:
    """campaign_api's /healthz and RSS while hostile templates are saved and previewed."""
    from fanout_cli.bench.hostile_templates import Probe, run_hostile

    try:
        alone, loaded = asyncio.run(
            run_hostile(CommonSettings().database_url, seconds, clients, quiet)
        )
    except (DependencyUnavailable, RuntimeError) as exc:
        raise fail(str(exc)) from None

    def row(label: str, probe: Probe) -> list[str]:
        return [
            label,
            f"{len(probe.health_ms):,}",
            f"{probe.percentile(0.5):.1f}",
            f"{probe.percentile(0.99):.1f}",
            f"{max(probe.health_ms, default=float('nan')):.1f}",
            str(sum(ms > SLOW_MS for ms in probe.health_ms)),
            str(probe.health_failures),
            f"{probe.api_rss / 2**20:.0f}",
            f"{probe.worker_rss / 2**20:.0f}",
        ]

    columns = ["", "probes", "p50 ms", "p99 ms", "max ms", f"> {SLOW_MS} ms", "failed"]
    columns += ["API MB", "worker MB"]
    rows = [row(f"alone, {quiet:.0f} s", alone), row(f"{clients} clients, {seconds:.0f} s", loaded)]
    console.print(table("/healthz and peak RSS", columns, rows))
    answers = [[what, f"{count:,}"] for what, count in sorted(loaded.answers.items())]
    console.print(table("hostile requests", ["template: request status", "count"], answers))


def launch_check(
    leads: Annotated[int, typer.Option("--leads", "-n", help="How many leads.")] = 1_000_000,
    runs: Annotated[int, typer.Option(help="Timed launches per template and condition.")] = 3,
) -> None:
    """Launches with the template check on N leads: median time and the answers."""
    from fanout_cli.bench.launch_check import run_launch_check

    try:
        imported, figures = asyncio.run(
            run_launch_check(CommonSettings().database_url, leads, runs)
        )
    except DependencyUnavailable as exc:
        raise fail(str(exc)) from None
    console.print(f"imported {leads:,} leads in {imported:.1f} s")
    rows = [
        [f.condition, f.template, f"{f.median_s * 1000:,.0f}", " ".join(map(str, f.statuses))]
        for f in figures
    ]
    console.print(
        table("launch with its check", ["matched", "template", "median ms", "answered"], rows)
    )
