"""`fanout bench resolvers`: several concurrent campaigns resolved by 1, 2 … lead_resolver
instances.

A lead_resolver instance owns the campaigns whose `campaign.launches` partition the group
gave it (`services/lead_resolver/ownership.py`: murmur2 of the campaign id, as the
producer partitions commands) and steps them round-robin, one page at a time. Each step
restarts the resolvers with the step's count, waits until the group has handed every
partition to them, and reads which partitions each took (its `resolver.owns` log line).
It then makes K campaigns of N leads each (every campaign matches the account's N leads),
as many owned by each instance as the count allows: drafts are made until each instance
has its share, the others deleted (with a handful of random ids, one instance would own
them all one time in 2^(K−1)). The K campaigns are launched together and followed to
`completed`.

Measured: leads resolved onto `email.sends` per second, from the launch until every
campaign is resolved (matched = emitted + excluded), and between 10 % and 90 % of the
leads; per campaign, when it was resolved and completed and which instance resolved it
(its `resolver.resolved` log line); per instance, `fanout_leads_resolved_total`. Every
resolver runs with a window of at least N / 50 batches, so resolving never waits for the
sender (the stack's own, with its own settings) and the figure is the resolvers'.

Checked after every step: each campaign's batches on `email.sends` (read from the ends
noted before the launch) hold each of its N leads in exactly one batch, and each
campaign ends with exactly one terminal outcome per lead by its row, the reports and the
simulator, with no duplicate send (`rebalance.reconcile_campaigns`).

What bounds it: this machine's cores. Each page is a Postgres query, Python building and
encoding the batches, and Kafka acknowledging them, all on the same two cores as the
sender, the sink and the simulator; a second instance adds throughput only as far as
the first left those cores idle while it waited on Postgres and Kafka.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from fanout_client import AuthenticatedClient
from fanout_client.api.campaigns import delete_campaign

from fanout_cli.api_client import api_client
from fanout_cli.bench.e2e import (
    create_bench_campaign,
    delete_account,
    prepare_account,
    sending_domain,
)
from fanout_cli.bench.group import Instances, Sample
from fanout_cli.bench.rebalance import reconcile_campaigns
from fanout_cli.bench.sampler import Sampler
from fanout_cli.bench.scale import counters, evicted_calls, simulator_knobs, steady_rate
from fanout_cli.bench.sweep import (
    Measure,
    Say,
    SweepResult,
    SweepStep,
    Timeline,
    sweep_rounds,
    thin,
)
from fanout_cli.chaos.driver import CampaignRun, Endpoints
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.demo.run import API, SIMULATOR
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.instances import Instance
from fanout_cli.topic_reading import end_offsets, records_since
from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.ownership import campaign_partition
from shared.contracts.base import decode
from shared.contracts.sends import MAX_BATCH, SendBatch
from shared.db import create_pool
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name

SCENARIO = "concurrent campaigns over several lead_resolver instances"
POLL_S = 0.1  # how often the campaigns' rows are read while they run
PROGRESS = """
SELECT id, state, resolve_done, enqueued + excluded AS resolved
FROM campaigns WHERE id = ANY($1::uuid[])
"""
RESOLVED = Sample("fanout_leads_resolved_total")
DRAFTS_PER_CAMPAIGN = 20  # drafts made at most per wanted campaign before giving up
DEFAULT_WINDOW = int(ResolverSettings.model_fields["window"].default)
# The simulator for the run (restored afterwards): no latency, no refusal, and no bounce or
# complaint, which would suppress leads for the next step's campaigns of the same account.
KNOBS = {
    **simulator_knobs(0.0, 0.0),
    "hard_bounce_rate": 0.0,
    "soft_bounce_rate": 0.0,
    "complaint_rate": 0.0,
}


@dataclass(frozen=True)
class ResolversPlan:
    """The sweep: instance counts, rounds, concurrent campaigns, leads per campaign."""

    instances: tuple[int, ...] = (1, 2)
    rounds: int = 3
    campaigns: int = 4
    leads: int = 5_000

    def ceiling_per_s(self, instances: int) -> float | None:
        """None: no bound but the machine's (resolving is Postgres, Python and Kafka work)."""
        del instances
        return None

    def env(self) -> dict[str, str]:
        """Every resolver's environment: a window that holds a whole campaign."""
        window = max(DEFAULT_WINDOW, math.ceil(self.leads / MAX_BATCH))
        return {"FANOUT_LEAD_RESOLVER_WINDOW": str(window)}

    def measure(self) -> Measure:
        return Measure(
            benchmark="resolvers",
            noun="leads",
            instance="lead_resolver",
            counted="resolved onto email.sends",
            title=f"{self.campaigns} concurrent campaigns of {self.leads:,} leads",
        )


class LogTail:
    """The lines an instance logs from now on (its own log file, JSON lines)."""

    def __init__(self, instance: Instance, home: Path) -> None:
        self.path = instance.process(home).log_file
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def events(self, name: str) -> list[dict[str, Any]]:
        """Every line logged since with `"event": name`, parsed."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            if self.path.stat().st_size >= self.offset:  # else rotated: read it all
                log.seek(self.offset)
            lines = log.read().decode(errors="replace").splitlines()
        marker = json.dumps(name)
        return [json.loads(line) for line in lines if marker in line and line.startswith("{")]


@dataclass
class Ctx:
    """What every step of a run shares."""

    common: CommonSettings
    plan: ResolversPlan
    api: AuthenticatedClient
    client: httpx.AsyncClient
    account: UUID
    sender: str  # the campaigns' from address
    say: Say


async def run_resolvers(
    common: CommonSettings, plan: ResolversPlan, result: SweepResult, say: Say
) -> SweepResult:
    """Every round of `plan`, its steps appended to `result` as they finish."""
    account, key, _ = await prepare_account(common, plan.leads, seed=plan.leads)
    domain = await asyncio.to_thread(sending_domain, account, key)
    async with api_client(API, key, timeout_s=60) as api:
        client = api.get_async_httpx_client()
        ctx = Ctx(common, plan, api, client, account, f"bench@{domain}", say)

        async def step(instances: int, round_: int) -> SweepStep:
            group = Instances(common, "lead_resolver", instances, plan.env(), say)
            return await _step(ctx, group, round_)

        knobs_before = checked_json(await client.get(f"{SIMULATOR}/v1/config"), "simulator knobs")
        checked_json(await client.post(f"{SIMULATOR}/v1/config", json=KNOBS), "simulator knobs")
        try:
            await sweep_rounds(result, step, say)
        finally:
            await client.post(f"{SIMULATOR}/v1/config", json=knobs_before)
            api.get_httpx_client().close()  # the reconciliation's (synchronous) client
    await delete_account(common, account)
    return result


async def _step(ctx: Ctx, group: Instances, round_: int) -> SweepStep:
    tails = [LogTail(i, ctx.common.home) for i in group.live]
    await asyncio.to_thread(group.restart)
    if await group.resplit(ctx.client, time.monotonic()) is None:
        raise StackError("the lead_resolver group did not hand every partition to the instances")
    owners = await _owners(group, tails)
    chosen = await balanced_campaigns(ctx, owners)
    sends = topic_name(Topic.EMAIL_SENDS, ctx.common.topic_prefix)
    since = await end_offsets(ctx.common, sends)
    before, evicted = await counters(ctx.client), await evicted_calls(ctx.client)
    timeline: Timeline = []
    cpu_s: dict[str, float] = {}  # of every stack process, from the launch until resolved
    progress = await _launch_and_follow(ctx, list(chosen), timeline, cpu_s)
    resolved_by = _resolved_by(group, tails)
    leads_by = {i.name: int(await group.metric(ctx.client, i, RESOLVED)) for i in group.live}
    on_topic = await sends_on_topic(ctx.common, since, chosen)
    runs = [
        CampaignRun(Endpoints.of_stack(), ctx.api, ctx.account, c, ctx.plan.leads) for c in chosen
    ]
    verdict = await asyncio.to_thread(
        reconcile_campaigns, ctx.common, runs, evicted, before, SCENARIO
    )
    campaigns = [
        {
            "campaign_id": str(c),
            "owner": owner,
            "resolved_by": resolved_by.get(c),
            **progress[c],
            "sends": on_topic[c],
        }
        for c, owner in chosen.items()
    ]
    checks = check_step(ctx.plan, campaigns, verdict, leads_by)
    facts = {
        "partitions": owners,
        "campaigns": campaigns,
        "leads_resolved_by_instance": leads_by,
        "cpu_s": cpu_s,
        "reconciliation": {**checks, "verdict": verdict},
    }
    return _figures(ctx.plan, group, round_, progress, timeline, facts)


async def _launch_and_follow(
    ctx: Ctx, campaigns: list[UUID], timeline: Timeline, cpu_s: dict[str, float]
) -> dict[UUID, dict[str, float | None]]:
    """Launch every campaign at once (the API's launch), then follow their rows; the CPU
    seconds of every stack process from the launch until all are resolved into `cpu_s`."""
    total = ctx.plan.campaigns * ctx.plan.leads
    pool = await create_pool(ctx.common.database_url, max_size=1)
    sampler = Sampler(ctx.common)
    try:
        sampler.start()
        await asyncio.gather(*(_launch(ctx.client, c) for c in campaigns))

        def on_resolved() -> None:
            cpu_s.update(sampler.cpu_seconds())

        return await follow_campaigns(pool, campaigns, timeline, 120 + total / 100, on_resolved)
    finally:
        await pool.close()


def _figures(
    plan: ResolversPlan,
    group: Instances,
    round_: int,
    progress: dict[UUID, dict[str, float | None]],
    timeline: Timeline,
    facts: dict[str, Any],
) -> SweepStep:
    """Leads resolved per second from the launch until the last campaign was resolved, and
    between 10 % and 90 % of them."""
    total = plan.campaigns * plan.leads
    resolved_s = max(p["resolved_s"] or 0.0 for p in progress.values())
    per_s = total / resolved_s if resolved_s else 0.0
    steady = steady_rate(timeline, total)
    return SweepStep(len(group.live), round_, per_s, resolved_s, steady, thin(timeline), facts)


async def _owners(
    group: Instances, tails: list[LogTail], timeout_s: float = 60
) -> dict[str, list[int]]:
    """The partitions each live instance owns, by the `resolver.owns` line it logged last
    since the restart, once they are disjoint and cover the topic."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        owned = {}
        for instance, tail in zip(group.live, tails, strict=True):
            lines = tail.events("resolver.owns")
            owned[instance.name] = sorted(lines[-1]["partitions"]) if lines else []
        every = [p for partitions in owned.values() for p in partitions]
        if sorted(every) == list(range(group.partitions_total)):
            return owned
        await asyncio.sleep(0.2)
    raise StackError(f"the resolvers did not log disjoint partitions covering the topic: {owned}")


async def balanced_campaigns(ctx: Ctx, owners: dict[str, list[int]]) -> dict[UUID, str]:
    """K draft campaigns (campaign → owning instance), each instance owning its share."""
    share, extra = divmod(ctx.plan.campaigns, len(owners))
    wanted = Counter({name: share + (i < extra) for i, name in enumerate(owners)})
    owner_of = {p: name for name, partitions in owners.items() for p in partitions}
    total = sum(len(p) for p in owners.values())
    chosen: dict[UUID, str] = {}
    for _ in range(DRAFTS_PER_CAMPAIGN * ctx.plan.campaigns):
        campaign = await create_bench_campaign(ctx.api, ctx.plan.leads, ctx.sender)
        owner = owner_of[campaign_partition(campaign, total)]
        if wanted[owner] > 0:
            wanted[owner] -= 1
            chosen[campaign] = owner
            if len(chosen) == ctx.plan.campaigns:
                return chosen
        else:
            answer = await delete_campaign.asyncio_detailed(campaign, client=ctx.api)
            if answer.status_code != 204:
                raise StackError(f"deleting a spare draft: HTTP {answer.status_code}")
    raise StackError(f"no campaign ids for every instance's share after many drafts: {wanted}")


async def _launch(client: httpx.AsyncClient, campaign: UUID) -> None:
    checked_json(await client.post(f"{API}/campaigns/{campaign}/launch"), "launch")


async def follow_campaigns(
    pool: asyncpg.Pool,
    campaigns: list[UUID],
    timeline: Timeline,
    deadline_s: float,
    on_resolved: Callable[[], object] = lambda: None,
) -> dict[UUID, dict[str, float | None]]:
    """Poll the campaigns' rows until every one completed; when each was resolved (every
    matched lead emitted or excluded) and completed, in seconds since the call; the leads
    resolved over all of them appended to `timeline`; `on_resolved` called once all are."""
    launched = time.monotonic()
    progress: dict[UUID, dict[str, float | None]] = {
        c: {"resolved_s": None, "completed_s": None} for c in campaigns
    }
    resolved_before = False
    while time.monotonic() < launched + deadline_s:
        rows = await pool.fetch(PROGRESS, campaigns)
        now = round(time.monotonic() - launched, 3)
        timeline.append((now, sum(int(row["resolved"]) for row in rows)))
        for row in rows:
            if row["state"] in ("failed", "cancelled", "paused"):
                raise StackError(f"benchmark campaign {row['id']} ended {row['state']}")
            marks = progress[row["id"]]
            if marks["resolved_s"] is None and row["resolve_done"]:
                marks["resolved_s"] = now
            if marks["completed_s"] is None and row["state"] == "completed":
                marks["completed_s"] = now
        if not resolved_before and all(p["resolved_s"] is not None for p in progress.values()):
            resolved_before = True
            on_resolved()
        if all(p["completed_s"] is not None for p in progress.values()):
            return progress
        await asyncio.sleep(POLL_S)
    raise StackError("the benchmark campaigns did not complete in time")


def _resolved_by(group: Instances, tails: list[LogTail]) -> dict[UUID, str]:
    """Which instance logged `resolver.resolved` for each campaign since the restart."""
    return {
        UUID(line["campaign_id"]): instance.name
        for instance, tail in zip(group.live, tails, strict=True)
        for line in tail.events("resolver.resolved")
    }


async def sends_on_topic(
    common: CommonSettings, since: dict[int, int], campaigns: Iterable[UUID]
) -> dict[UUID, dict[str, int]]:
    """Per campaign, what `email.sends` received after `since`: its leads, its batches,
    leads in more than one batch, and records of a batch repeated."""
    wanted = set(campaigns)
    batches_of: dict[UUID, defaultdict[UUID, set[int]]] = {c: defaultdict(set) for c in wanted}
    records: Counter[tuple[UUID, int]] = Counter()
    topic = topic_name(Topic.EMAIL_SENDS, common.topic_prefix)
    async for record in records_since(common, topic, since):
        batch = decode(SendBatch, record.value or b"")
        if batch.campaign_id in wanted:
            records[(batch.campaign_id, batch.batch_no)] += 1
            for recipient in batch.recipients:
                batches_of[batch.campaign_id][recipient.lead_id].add(batch.batch_no)
    return {
        c: {
            "leads": len(leads),
            "batches": sum(1 for key in records if key[0] == c),
            "leads_in_two_batches": sum(1 for numbers in leads.values() if len(numbers) > 1),
            "records_repeated": sum(n - 1 for key, n in records.items() if key[0] == c),
        }
        for c, leads in batches_of.items()
    }


def check_step(
    plan: ResolversPlan,
    campaigns: list[dict[str, Any]],
    verdict: dict[str, Any],
    leads_by: dict[str, int],
) -> dict[str, Any]:
    """Every lead resolved once (on the topic, by the instances' counters) and one outcome
    each (`verdict`); every instance resolved campaigns when there were enough for all."""
    reasons = list(verdict["reasons"])
    emitted = 0
    for campaign, judged in zip(campaigns, verdict["campaigns"], strict=True):
        expected = int(judged["matched"] or 0) - int(judged["outcomes"].get("excluded", 0))
        emitted += expected
        sends = campaign["sends"]
        if sends["leads"] != expected or sends["leads_in_two_batches"]:
            reasons.append(
                f"{campaign['campaign_id']}: {sends} on email.sends, {expected} expected"
            )
        reasons += [f"{campaign['campaign_id']}: {why}" for why in judged["reasons"]]
    if sum(leads_by.values()) != emitted:
        reasons.append(f"the instances count {leads_by} leads resolved, {emitted} expected")
    workers = {c["resolved_by"] for c in campaigns}
    if plan.campaigns >= len(leads_by) and workers != set(leads_by):
        reasons.append(f"campaigns resolved by {sorted(map(str, workers))}, not every instance")
    return {"passed": not reasons, "reasons": reasons}
