"""`fanout bench sink|decode|queries|campaign-list|import|conditions`: one component, in
isolation.

None of these needs the stack's services: the sink and query benchmarks open their own
chDB folder (`sink --kafka` also uses the broker, on topics of its own), the import and
condition benchmarks a scratch database beside FANOUT_DATABASE_URL's.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from fanout_cli.output import console, fail, table
from services.campaign_api.leads.parsing import ImportFormat
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

Events = Annotated[int, typer.Option(help="How many events.")]
PerMessage = Annotated[int, typer.Option(help="Events per Kafka value (the sender writes 50).")]
Leads = Annotated[int, typer.Option("--leads", "-n", help="How many leads.")]


def sink(
    events: Events = 500_000,
    per_message: PerMessage = 50,
    batch: Annotated[int, typer.Option(help="Events per ClickHouse insert.")] = 50_000,
    kafka: Annotated[bool, typer.Option(help="From a topic through a SinkConsumer.")] = False,
) -> None:
    """report_sink's throughput: decode + insert into a fresh chDB folder (events/s)."""
    from fanout_cli.bench.sink import run_sink

    try:
        seconds = run_sink(events, per_message, batch, kafka)
    except DependencyUnavailable as exc:
        raise fail(str(exc)) from None
    mode = "kafka → sink → chDB" if kafka else "decode + insert into chDB"
    console.print(
        f"{mode}: {events:,} events, {per_message}/message in {seconds:.2f} s = "
        f"{events / seconds:,.0f} events/s"
    )


def decode(events: Events = 500_000, per_message: PerMessage = 50) -> None:
    """Decoding alone: report_sink's fast path against pydantic (events/s, best of 3)."""
    from fanout_cli.bench.sink import bench_decode, messages

    rates = bench_decode(messages(events, per_message), events)
    rows = [[name, f"{rate:,.0f}"] for name, rate in rates]
    console.print(table(f"{per_message} events/message", ["decoder", "events/s"], rows))


def queries(leads: Leads = 1_000_000) -> None:
    """Every report query on one campaign of N leads (generated inside chDB)."""
    from fanout_cli.bench.report_queries import bench_queries

    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        timings = asyncio.run(bench_queries(Path(tmp) / "chdb", leads))
    rows = [[name, f"{seconds * 1000:,.1f}"] for name, seconds in timings]
    console.print(table(f"report queries, {leads:,} leads", ["query", "ms"], rows))


def campaign_list(
    events: Annotated[
        int, typer.Option(help="Sends in the account (+2 % bounces), as the full run's 10M.")
    ] = 10_000_000,
    samples: Annotated[int, typer.Option(min=1, help="Timed runs of each way.")] = 50,
) -> None:
    """The campaign list of an account of 1,000 campaigns: exact (before) against the
    campaign summary (after), p50/p95 side by side, in chDB."""
    from fanout_cli.bench.campaign_list import bench_campaign_list
    from fanout_cli.bench.machine import machine_facts

    load = machine_facts()["load_average_at_start"]
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        setup, latencies = asyncio.run(bench_campaign_list(Path(tmp) / "chdb", events, samples))
    console.print(
        f"{setup['events']:,.0f} events in 1,000 campaigns generated in "
        f"{setup['generate_s']:.1f} s; {setup['summarised']:,.0f} summaries computed in "
        f"{setup['summarise_all_s']:.2f} s; one campaign recomputed in "
        f"{setup['recompute_one_ms']:.1f} ms; load average at start {load[0]:.2f}"
    )
    rows = [
        [name, f"{f.p50_ms:,.1f}", f"{f.p95_ms:,.1f}", f"{f.max_ms:,.1f}"]
        for name, f in latencies.items()
    ]
    title = f"campaign list (limit 100), {samples} samples each"
    console.print(table(title, ["query", "p50 ms", "p95 ms", "max ms"], rows))


def lead_import(
    leads: Leads = 1_000_000,
    file_format: Annotated[ImportFormat, typer.Option("--format")] = ImportFormat.CSV,
    chunk_rows: Annotated[int, typer.Option(help="Rows per COPY.")] = 20_000,
    keep: Annotated[bool, typer.Option(help="Keep the scratch database.")] = False,
) -> None:
    """Import N synthetic leads through the importer of `POST /leads/import` (rows/s).

    The importer runs under campaign_api's garbage-collector settings (`tune_gc`), as it
    does behind the endpoint; they are put back afterwards.
    """
    from fanout_cli.bench.lead_import import run_import
    from shared.service.serve import tune_gc

    threshold = gc.get_threshold()
    tune_gc()
    try:
        figures = asyncio.run(
            run_import(CommonSettings().database_url, leads, file_format, chunk_rows, keep)
        )
    except DependencyUnavailable as exc:
        raise fail(str(exc)) from None
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    console.print(
        f"{figures.format}: {figures.accepted:,} leads in {figures.seconds:.1f} s = "
        f"{figures.rows_per_s:,.0f} rows/s (created {figures.created:,}, "
        f"rejected {figures.rejected:,}); this process {figures.cpu_us_per_row:.1f} µs of CPU "
        "per row (file generation, parsing, COPY; Postgres not included)"
    )
    if figures.kept_database:
        console.print(f"kept database {figures.kept_database}")


def conditions(
    leads: Leads = 1_000_000,
    runs: Annotated[int, typer.Option(help="Timed runs per condition.")] = 5,
) -> None:
    """Every condition operator on N leads: matched, median preview time, the plan's scans."""
    from fanout_cli.bench.conditions import run_conditions

    try:
        loaded, figures = asyncio.run(run_conditions(CommonSettings().database_url, leads, runs))
    except DependencyUnavailable as exc:
        raise fail(str(exc)) from None
    console.print(f"loaded {leads:,} leads in {loaded:.1f} s")
    rows = [
        [f.operator, f.label, f"{f.matched:,}", f"{f.median_s * 1000:,.0f}", f.scans]
        for f in figures
    ]
    headers = ["operator", "condition", "matched", "preview median ms", "plan's scans"]
    console.print(table("conditions", headers, rows))
