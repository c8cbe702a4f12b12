"""`fanout bench`: every measurement of docs/benchmarks.md in one run, side by side.

1. End to end: campaigns of N/10 and N leads with no added ESP latency, and N
   leads with a realistic latency (memory must stay flat as N grows).
2. The classic per-email Postgres table and Fanout's event path, grown by the
   same workload slice by slice, with the same report queries during writes.
3. Report query latency of the reports API once the event log is large.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from fanout_cli.bench import classic, e2e, ingest
from fanout_cli.bench.classic import ClassicResult, campaign_of
from fanout_cli.bench.machine import machine_facts
from fanout_cli.bench.stats import Latency, latency_summary
from fanout_cli.bench.tuning import Say, tuned_for_throughput
from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import service_named
from fanout_cli.stack.secrets import stack_secret
from shared.settings import CommonSettings


@dataclass
class BenchPlan:
    """What one `fanout bench` run measures."""

    leads: int
    latency_ms: float = 150.0
    ingest_emails: int = 0
    slice_emails: int = 0
    report_samples: int = 50
    ingest_producers: int = 2
    ingest_slices: int = 10
    skip_ingest: bool = False
    latency_run: bool = True  # also N leads with the realistic latency

    def __post_init__(self) -> None:
        if not self.ingest_emails:  # the full run (N = 1M) grows both stores to 10M rows
            self.ingest_emails = 10_000_000 if self.leads >= 1_000_000 else self.leads
        if not self.slice_emails:
            self.slice_emails = max(-(-self.ingest_emails // self.ingest_slices), 1)


@dataclass
class BenchResults:
    """Everything one run measured (written as JSON, Markdown and charts)."""

    plan: BenchPlan
    machine: dict[str, Any]
    started_at: str
    e2e: list[e2e.E2EResult] = field(default_factory=list)
    classic: ClassicResult | None = None
    fanout: ingest.IngestResult | None = None
    reports: dict[str, Latency] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _e2e_runs(common: CommonSettings, plan: BenchPlan, say: Say) -> list[e2e.E2EResult]:
    runs: list[e2e.E2EResult] = []
    sizes = [(max(plan.leads // 10, 1000), 0.0), (plan.leads, 0.0)]
    if plan.latency_run:
        sizes.append((plan.leads, plan.latency_ms))
    for leads, latency in sizes:
        say(f"end to end: {leads:,} leads, ESP latency {latency:.0f} ms")
        result = await e2e.run_e2e(common, leads, latency)
        say(
            f"  {result.matched:,} emails, {result.emails_per_s or 0:,.0f}/s end to end, "
            f"all outcomes reported: {result.every_lead_has_outcome}"
        )
        runs.append(result)
    return runs


@dataclass
class StackSink:
    """The stack's report_sink, stopped while a slice fills the topic and started after."""

    common: CommonSettings

    def stop(self) -> None:
        service_named("report_sink").process(self.common.home).stop()

    def start(self) -> None:
        orchestrate.up_service(self.common, service_named("report_sink"), lambda _: None)


async def _ingest_runs(
    common: CommonSettings, plan: BenchPlan, results: BenchResults, say: Say
) -> None:
    say(f"classic design: per-email Postgres table grown to {plan.ingest_emails:,} rows")
    results.classic = await classic.run_classic(
        common.database_url,
        plan.ingest_emails,
        plan.slice_emails,
        progress=lambda n: say(f"  classic: {n:,} rows"),
    )
    bench = await ingest.create_bench_account(common, plan.ingest_emails)
    reports = ingest.Reports(bench.api_key, stack_secret(common, "admin_token"))
    try:
        say(f"Fanout's path: the same workload as events, {plan.ingest_emails:,} emails")
        results.fanout = await ingest.run_fanout_ingest(
            common,
            bench,
            reports,
            StackSink(common),
            plan.ingest_emails,
            plan.slice_emails,
            plan.ingest_producers,
            progress=lambda n: say(f"  fanout: {n:,} emails"),
        )
        say(f"reports API latency over {plan.report_samples} samples per query")
        results.reports = await _report_latency(reports, bench, plan.report_samples)
        if reports.waited:
            say(f"  {reports.waited} reads waited out the API key's rate limit (429), untimed")
    finally:
        await reports.aclose()


async def _report_latency(
    reports: ingest.Reports, bench: ingest.BenchAccount, samples: int
) -> dict[str, Latency]:
    rng = random.Random(3)
    timings: dict[str, list[float]] = {}
    for _ in range(samples):
        _, index = campaign_of(rng)
        campaign = bench.campaigns[index]
        for name, path in (
            ("funnel", f"/reports/campaigns/{campaign}/funnel"),
            ("recipients page (100)", f"/reports/campaigns/{campaign}/recipients?limit=100"),
            ("recipients CSV (all)", f"/reports/campaigns/{campaign}/recipients.csv"),
            ("bounces", f"/reports/campaigns/{campaign}/bounces"),
            ("timeline", f"/reports/campaigns/{campaign}/timeline"),
            ("campaigns list", "/reports/campaigns?limit=100"),
        ):
            timings.setdefault(name, []).append(await reports.timed(path))
    return {name: latency_summary(values) for name, values in timings.items()}


async def _delete_ingest_leftovers(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM accounts WHERE name = 'bench ingest'")
    finally:
        await conn.close()


def run_bench(common: CommonSettings, plan: BenchPlan, say: Say) -> BenchResults:
    """Bring the stack up, run every measurement, restore the sender's defaults."""
    results = BenchResults(
        plan=plan,
        machine=machine_facts(),
        started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    orchestrate.up(common, [], say)
    ingest.check_event_encoding()
    try:
        with tuned_for_throughput(common, say):
            results.e2e = asyncio.run(_e2e_runs(common, plan, say))
            if not plan.skip_ingest:
                asyncio.run(_ingest_runs(common, plan, results, say))
    finally:
        asyncio.run(_delete_ingest_leftovers(common.database_url))
    return results
