"""`fanout bench scale`: several senders share one provider budget, measured.

On the running stack (FANOUT_HOME and the FANOUT_* ports: point it at a stack of its own),
the simulator enforces a rate R (`rate_limit_per_s`) and every sender instance runs with
the budget R (`FANOUT_SENDER_RATE_BUDGETS`), which each takes its partition share of. One
campaign goes through; at a quarter of it the last sender is killed (SIGKILL), at 55 % a
new one joins. Measured: the combined send rate (the simulator's first acceptances per
second) against R, the share of calls the simulator throttled, and how long the group
took to hand every partition to a live instance again after the kill and after the join;
then, once the reports have settled, whether every lead ended with exactly one terminal
outcome by the campaign row, the reports and the simulator, duplicates within the bound
(`rebalance.py`). `--max-in-flight` and `--session-timeout-ms` set the two settings the
re-split time depends on (docs/operations.md, *What happens on a rebalance*).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from fanout_cli.api_client import api_client
from fanout_cli.bench.e2e import (
    create_bench_campaign,
    delete_account,
    prepare_account,
    sending_domain,
)
from fanout_cli.bench.group import Instances
from fanout_cli.bench.rebalance import reconcile
from fanout_cli.chaos.driver import CampaignRun, Endpoints
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.demo.run import API, SIMULATOR
from fanout_cli.stack.errors import StackError
from shared.settings import CommonSettings

KILL_AT, JOIN_AT = 0.25, 0.55  # shares of the campaign accepted when an instance dies / joins


@dataclass
class ScaleResult:
    """One run of the shared-budget benchmark."""

    senders: int
    rate_limit_per_s: float
    leads: int
    sent_per_s_before_kill: float = 0.0
    sent_per_s_overall: float = 0.0
    calls: int = 0
    throttled_calls: int = 0
    resplit_after_kill_s: float | None = None
    resplit_after_join_s: float | None = None
    completed: bool = False
    rebalance: dict[str, Any] = field(default_factory=dict)  # the three sources reconciled
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (s, accepted)

    @property
    def throttled_share(self) -> float:
        return self.throttled_calls / self.calls if self.calls else 0.0


async def counters(client: httpx.AsyncClient) -> dict[str, Any]:
    return dict(checked_json(await client.get(f"{SIMULATOR}/v1/counters"), "simulator counters"))


async def evicted_calls(client: httpx.AsyncClient) -> int:
    """Calls the simulator's request log has dropped so far (it must not grow during a run)."""
    page = await client.get(f"{SIMULATOR}/v1/requests", params={"limit": 1})
    return int(checked_json(page, "simulator request log")["evicted"])


def sender_env(
    rate: float, max_in_flight: int | None = None, session_timeout_ms: int | None = None
) -> dict[str, str]:
    """Every sender instance's environment: the simulator's budget `rate` (0: none), and the
    batches in flight and group session timeout when given (else the sender's defaults)."""
    env = {"FANOUT_SENDER_RATE_BUDGETS": json.dumps({"simulator": rate})}
    if max_in_flight is not None:
        env["FANOUT_SENDER_MAX_IN_FLIGHT"] = str(max_in_flight)
    if session_timeout_ms is not None:
        env["FANOUT_SENDER_SESSION_TIMEOUT_MS"] = str(session_timeout_ms)
    return env


def simulator_knobs(rate: float, latency_ms: float) -> dict[str, float]:
    """The simulator enforcing `rate` emails/s, with no other refusal."""
    return {
        "rate_limit_per_s": rate,
        "latency_p50_ms": latency_ms,
        "latency_p99_ms": latency_ms,
        "throttle_429_rate": 0.0,
        "error_5xx_rate": 0.0,
        "recipient_throttle_rate": 0.0,
        "transient_rate": 0.0,
        "reject_rate": 0.0,
    }


@dataclass(frozen=True)
class ScalePlan:
    """What one shared-budget run does: `senders` instances against the simulator's `rate`."""

    senders: int
    rate: float
    leads: int
    latency_ms: float
    max_in_flight: int | None = None  # None: the sender's default
    session_timeout_ms: int | None = None  # None: the sender's default

    def env(self) -> dict[str, str]:
        return sender_env(self.rate, self.max_in_flight, self.session_timeout_ms)


async def run_scale(
    common: CommonSettings, plan: ScalePlan, say: Callable[[str], None]
) -> ScaleResult:
    """One campaign of `leads` through `senders` instances against the simulator's rate;
    once it completed, its three sources reconciled (`rebalance.reconcile`)."""
    result = ScaleResult(plan.senders, plan.rate, plan.leads)
    run = Instances(common, "sender", plan.senders, plan.env(), say)
    await asyncio.to_thread(run.restart)
    account, key, _ = await prepare_account(common, plan.leads, seed=plan.leads)
    domain = await asyncio.to_thread(sending_domain, account, key)
    async with api_client(API, key, timeout_s=60) as api:
        client = api.get_async_httpx_client()  # the simulator, and the campaign's progress
        knobs = simulator_knobs(plan.rate, plan.latency_ms)
        checked_json(await client.post(f"{SIMULATOR}/v1/config", json=knobs), "simulator knobs")
        campaign = await create_bench_campaign(api, plan.leads, f"bench@{domain}")
        await run.resplit(client, time.monotonic())
        before = await counters(client)
        evicted = await evicted_calls(client)
        checked_json(await client.post(f"{API}/campaigns/{campaign}/launch"), "launch")
        deadline_s = 3 * plan.leads / plan.rate + 180
        try:
            faults = _faults(run, client, result)
            url = f"{API}/campaigns/{campaign}"
            await follow(client, url, before, deadline_s, result.timeline, faults)
            result.completed = True
            result.sent_per_s_overall = accepted_rate(result.timeline)
        finally:
            after = await counters(client)
            result.calls = after["calls"] - before["calls"]
            result.throttled_calls = after["throttled_calls"] - before["throttled_calls"]
            await client.post(f"{SIMULATOR}/v1/config", json={"rate_limit_per_s": 0.0})
        sources = CampaignRun(Endpoints.of_stack(), api, account, campaign, plan.leads)
        try:
            result.rebalance = await asyncio.to_thread(reconcile, common, sources, evicted, before)
        finally:
            sources.close()
    await delete_account(common, account)
    return result


def _faults(
    run: Instances, client: httpx.AsyncClient, result: ScaleResult
) -> Callable[[int], Awaitable[None]]:
    """At KILL_AT of the campaign the last sender is killed, at JOIN_AT a new one joins;
    each time, how long the group takes to give every partition to a live instance."""

    async def on_progress(accepted: int) -> None:
        if accepted >= KILL_AT * result.leads and result.resplit_after_kill_s is None:
            result.sent_per_s_before_kill = accepted_rate(result.timeline)
            await asyncio.to_thread(run.kill_last)
            result.resplit_after_kill_s = await run.resplit(client, time.monotonic())
            run.say(f"partitions re-split after the kill in {result.resplit_after_kill_s} s")
        elif accepted >= JOIN_AT * result.leads and result.resplit_after_join_s is None:
            await asyncio.to_thread(run.join)
            result.resplit_after_join_s = await run.resplit(client, time.monotonic())
            run.say(f"partitions re-split after the join in {result.resplit_after_join_s} s")

    return on_progress


async def follow(
    client: httpx.AsyncClient,
    campaign_url: str,
    before: dict[str, Any],
    deadline_s: float,
    timeline: list[tuple[float, int]],
    on_progress: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Sample the simulator's first acceptances into `timeline` (seconds since launch,
    emails) until the campaign completes; `on_progress` sees every sample."""
    launched = time.monotonic()
    while time.monotonic() < launched + deadline_s:
        accepted = (await counters(client))["unique"] - before["unique"]
        timeline.append((round(time.monotonic() - launched, 2), accepted))
        if on_progress is not None:
            await on_progress(accepted)
        state = checked_json(await client.get(campaign_url), "campaign")["state"]
        if state == "completed":
            return
        if state in ("failed", "cancelled", "paused"):
            raise StackError(f"the benchmark campaign ended {state}")
        await asyncio.sleep(0.5)
    raise StackError("the benchmark campaign did not complete in time")


def accepted_rate(timeline: list[tuple[float, int]]) -> float:
    """First acceptances per second from the first sample that saw one to the last gain."""
    started = [(t, n) for t, n in timeline if n > 0]
    if len(started) < 2:
        return 0.0
    (t0, n0), (t1, n1) = started[0], max(started, key=lambda point: (point[1], -point[0]))
    return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


def steady_rate(timeline: list[tuple[float, int]], total: int, low: float = 0.1) -> float:
    """First acceptances per second between `low` and `1 - low` of `total`: the rate once
    every instance is busy, without the start (senders picking up the first batches) and
    the tail (the instance with the most batches finishing alone)."""
    first = next(((t, n) for t, n in timeline if n >= low * total), None)
    last = next(((t, n) for t, n in timeline if n >= (1 - low) * total), None)
    if first is None or last is None or last[0] <= first[0]:
        return 0.0
    return (last[1] - first[1]) / (last[0] - first[0])
