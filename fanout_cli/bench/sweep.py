"""`fanout bench scale-sweep`: one campaign's throughput with 1, 2, 3 … sender instances.

Bound by the ESP's latency, not by this machine's cores: the simulator answers every
call after `latency_ms` and enforces no rate, and every sender runs with no rate budget
and a fixed `FANOUT_SENDER_MAX_IN_FLIGHT` M, so one instance sends at most
M × 50 emails per latency (M = 2 at 500 ms: 200 emails/s) and n instances n times that.
Each step restarts the senders with that environment, waits until the group has given
every partition of `email.sends` to them, launches a fresh campaign matching all the
account's leads and times the simulator's first acceptances (`scale.accepted_rate`).
Steps run in rounds (1, 2, 3, then again), so a slow patch of the machine lands on one
round of every count, not on every repeat of one count.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fanout_client import AuthenticatedClient

from fanout_cli.api_client import api_client
from fanout_cli.bench.e2e import (
    create_bench_campaign,
    delete_account,
    prepare_account,
    sending_domain,
)
from fanout_cli.bench.scale import (
    Run,
    accepted_rate,
    counters,
    follow,
    sender_env,
    simulator_knobs,
    steady_rate,
)
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.demo.run import API, SIMULATOR
from shared.contracts.sends import MAX_BATCH
from shared.settings import CommonSettings

Say = Callable[[str], None]
TARGET_AT_3 = 2.5  # issue 14: three instances at least 2.5 times one


@dataclass(frozen=True)
class SweepPlan:
    """The sweep: instance counts, rounds, campaign size, ESP latency, batches in flight."""

    instances: tuple[int, ...] = (1, 2, 3)
    rounds: int = 3
    leads: int = 12_000
    latency_ms: float = 500.0
    max_in_flight: int = 2

    def ceiling_per_s(self, instances: int) -> float:
        """Most emails/s `instances` senders can send: M batches of 50 per latency each."""
        return instances * self.max_in_flight * MAX_BATCH / (self.latency_ms / 1000)


@dataclass
class SweepStep:
    """One campaign through `instances` senders."""

    instances: int
    round: int
    emails_per_s: float  # from the first acceptance to the last
    seconds: float
    steady_emails_per_s: float = 0.0  # between 10 % and 90 % of the campaign
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (s, accepted)


@dataclass
class SweepResult:
    """Every step of a sweep, and the machine it ran on."""

    plan: SweepPlan
    machine: dict[str, Any]
    started_at: str
    steps: list[SweepStep] = field(default_factory=list)

    def medians(self, steady: bool = False) -> dict[int, float]:
        """Median emails/s per instance count (whole campaigns, or their steady middle)."""
        return {
            n: statistics.median(
                s.steady_emails_per_s if steady else s.emails_per_s
                for s in self.steps
                if s.instances == n
            )
            for n in self.plan.instances
            if any(s.instances == n for s in self.steps)
        }

    def ratios(self, steady: bool = False) -> dict[int, float]:
        """Each count's median over the median of the fewest instances."""
        medians = self.medians(steady)
        base = medians.get(min(self.plan.instances), 0.0)
        return {n: (m / base if base else 0.0) for n, m in medians.items()}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the plan, the machine, every step, medians, ratios and ceilings."""
        return {
            "benchmark": "scale-sweep",
            "started_at": self.started_at,
            "machine": self.machine,
            "plan": asdict(self.plan),
            "steps": [asdict(s) for s in self.steps],
            "median_emails_per_s": self.medians(),
            "ratio_to_fewest": self.ratios(),
            "median_steady_emails_per_s": self.medians(steady=True),
            "steady_ratio_to_fewest": self.ratios(steady=True),
            "ceiling_emails_per_s": {n: self.plan.ceiling_per_s(n) for n in self.plan.instances},
            "target_ratio_at_3": TARGET_AT_3,
        }


async def run_sweep(common: CommonSettings, result: SweepResult, say: Say) -> SweepResult:
    """Every round of `result.plan`, its steps appended to `result` as they finish."""
    plan = result.plan
    account, key, _ = await prepare_account(common, plan.leads, seed=plan.leads)
    domain = await asyncio.to_thread(sending_domain, account, key)
    env = sender_env(0.0, plan.max_in_flight)  # no rate budget: the latency is the bound
    async with api_client(API, key, timeout_s=60) as api:
        client = api.get_async_httpx_client()
        knobs = simulator_knobs(0.0, plan.latency_ms)
        checked_json(await client.post(f"{SIMULATOR}/v1/config", json=knobs), "simulator knobs")
        for round_ in range(1, plan.rounds + 1):
            for instances in plan.instances:
                run = Run(common, instances, env, say)
                step = await _step(run, api, client, f"bench@{domain}", plan, round_)
                say(f"round {round_}, {instances} sender(s): {step.emails_per_s:,.1f} emails/s")
                result.steps.append(step)
    await delete_account(common, account)
    return result


async def _step(
    run: Run,
    api: AuthenticatedClient,
    client: httpx.AsyncClient,
    sender: str,
    plan: SweepPlan,
    round_: int,
) -> SweepStep:
    await asyncio.to_thread(run.restart_senders)
    await run.resplit(client, time.monotonic())
    campaign = await create_bench_campaign(api, plan.leads, sender)
    before = await counters(client)
    checked_json(await client.post(f"{API}/campaigns/{campaign}/launch"), "launch")
    timeline: list[tuple[float, int]] = []
    slowest = plan.leads / plan.ceiling_per_s(len(run.live))
    await follow(client, f"{API}/campaigns/{campaign}", before, 4 * slowest + 120, timeline)
    return SweepStep(
        len(run.live),
        round_,
        accepted_rate(timeline),
        timeline[-1][0],
        steady_rate(timeline, plan.leads),
        timeline,
    )


def write_sweep(result: SweepResult, out_dir: Path) -> list[Path]:
    """`<stamp>-scale-sweep.json` and the chart of throughput against instances."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result.started_at.replace(":", "").replace("-", "")
    data = result.as_dict()
    json_path = out_dir / f"{stamp}-scale-sweep.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    return [json_path, chart(result, out_dir / f"{stamp}-scale-sweep.png")]


def chart(result: SweepResult, path: Path) -> Path:
    """Emails/s against sender instances: every step, the medians, linear scaling from one
    instance's median, and the ceiling the batches in flight and the latency allow."""
    from fanout_cli.bench.render import pyplot, save_chart

    plan, medians, ratios = result.plan, result.medians(), result.ratios()
    counts = list(medians)
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    ax.scatter(
        [s.instances for s in result.steps],
        [s.emails_per_s for s in result.steps],
        color="grey",
        alpha=0.5,
        label="each run",
    )
    ax.plot(counts, list(medians.values()), "o-", label="median, whole campaign")
    steady = result.medians(steady=True)
    ax.plot(counts, list(steady.values()), "s-", label="median, 10–90 % of the campaign")
    base = medians.get(min(counts), 0.0) if counts else 0.0
    ax.plot(counts, [n * base for n in counts], "--", label="linear from one instance")
    ceilings = [plan.ceiling_per_s(n) for n in counts]
    ax.plot(counts, ceilings, ":", label=f"ceiling: n × {plan.max_in_flight} × 50 / latency")
    for n, value in medians.items():
        ax.annotate(f"{ratios[n]:.2f}×", (n, value), textcoords="offset points", xytext=(6, -12))
    ax.set_xticks(counts)
    ax.set(
        xlabel="sender instances",
        ylabel="emails/s (simulator's first acceptances)",
        title=f"One campaign, ESP latency {plan.latency_ms:.0f} ms, "
        f"{plan.max_in_flight} batches in flight per sender",
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_chart(fig, path)


def sweep_rows(result: SweepResult) -> list[list[str]]:
    """The table's rows: instances, runs, median emails/s and ratio to the fewest (whole
    campaign, then its steady middle), ceiling."""
    medians, ratios = result.medians(), result.ratios()
    steady, steady_ratios = result.medians(steady=True), result.ratios(steady=True)
    return [
        [
            str(n),
            ", ".join(f"{s.emails_per_s:,.0f}" for s in result.steps if s.instances == n),
            f"{medians[n]:,.1f}",
            f"{ratios[n]:.2f}×",
            f"{steady[n]:,.1f}",
            f"{steady_ratios[n]:.2f}×",
            f"{result.plan.ceiling_per_s(n):,.0f}",
        ]
        for n in medians
    ]
