"""`fanout bench scale-sweep`: one campaign's throughput with 1, 2, 3 … sender instances.

Bound by the ESP's latency, not by this machine's cores: the simulator answers every
call after `latency_ms` and enforces no rate, and every sender runs with no rate budget
and a fixed `FANOUT_SENDER_MAX_IN_FLIGHT` M, so one instance sends at most
M × 50 emails per latency (M = 2 at 500 ms: 200 emails/s) and n instances n times that.
Each step restarts the senders with that environment, waits until the group has given
every partition of `email.sends` to them, launches a fresh campaign matching all the
account's leads and times the simulator's first acceptances (`scale.accepted_rate`).
The rounds, medians, JSON and chart are every sweep's (`sweep.py`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from fanout_client import AuthenticatedClient

from fanout_cli.api_client import api_client
from fanout_cli.bench.e2e import (
    create_bench_campaign,
    delete_account,
    prepare_account,
    sending_domain,
)
from fanout_cli.bench.group import Instances
from fanout_cli.bench.scale import (
    accepted_rate,
    counters,
    follow,
    sender_env,
    simulator_knobs,
    steady_rate,
)
from fanout_cli.bench.sweep import Measure, Say, SweepResult, SweepStep, sweep_rounds
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.demo.run import API, SIMULATOR
from shared.contracts.sends import MAX_BATCH
from shared.settings import CommonSettings

TARGET_AT_3 = 2.5  # issue 14: three instances at least 2.5 times one


@dataclass(frozen=True)
class SenderSweepPlan:
    """The sweep: instance counts, rounds, campaign size, ESP latency, batches in flight."""

    instances: tuple[int, ...] = (1, 2, 3)
    rounds: int = 3
    leads: int = 12_000
    latency_ms: float = 500.0
    max_in_flight: int = 2

    def ceiling_per_s(self, instances: int) -> float:
        """Most emails/s `instances` senders can send: M batches of 50 per latency each."""
        return instances * self.max_in_flight * MAX_BATCH / (self.latency_ms / 1000)

    def measure(self) -> Measure:
        return Measure(
            benchmark="scale-sweep",
            noun="emails",
            instance="sender",
            counted="simulator's first acceptances",
            title=f"One campaign, ESP latency {self.latency_ms:.0f} ms, "
            f"{self.max_in_flight} batches in flight per sender",
            ceiling=f"ceiling: n × {self.max_in_flight} × 50 / latency",
            target_at_3=TARGET_AT_3,
        )


async def run_sender_sweep(
    common: CommonSettings, plan: SenderSweepPlan, result: SweepResult, say: Say
) -> SweepResult:
    """Every round of `plan`, its steps appended to `result` as they finish."""
    account, key, _ = await prepare_account(common, plan.leads, seed=plan.leads)
    domain = await asyncio.to_thread(sending_domain, account, key)
    env = sender_env(0.0, plan.max_in_flight)  # no rate budget: the latency is the bound
    async with api_client(API, key, timeout_s=60) as api:
        client = api.get_async_httpx_client()
        knobs = simulator_knobs(0.0, plan.latency_ms)
        checked_json(await client.post(f"{SIMULATOR}/v1/config", json=knobs), "simulator knobs")

        async def step(instances: int, round_: int) -> SweepStep:
            run = Instances(common, "sender", instances, env, say)
            return await _step(run, api, client, f"bench@{domain}", plan, round_)

        await sweep_rounds(result, step, say)
    await delete_account(common, account)
    return result


async def _step(
    run: Instances,
    api: AuthenticatedClient,
    client: httpx.AsyncClient,
    sender: str,
    plan: SenderSweepPlan,
    round_: int,
) -> SweepStep:
    await asyncio.to_thread(run.restart)
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
