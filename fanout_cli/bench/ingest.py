"""The classic workload through Fanout's path: events onto Kafka, the sink into ClickHouse.

The same shape as `classic.py`: 100 users with 10 campaigns each, one `sent`
event per email written in batches of 50, and 2 % of emails bouncing later
(an appended `bounced` event instead of an UPDATE). Events go onto the
stack's `email.events` topic; the running report_sink appends them to
ClickHouse.

Each slice is measured at the sink's own limit, so the load generator cannot be
the bottleneck: with report_sink stopped, several producer processes put the
slice's events on the topic; then report_sink starts and the slice's rate is the
events made visible in ClickHouse after the first insert over the time from it to
the last (its start-up, group join and first insert excluded, `drain_rate`), with
the reports API read meanwhile.
Then a paced part of the slice goes on at `PACED_RATE` events/s (the event rate
of a 10k emails/s campaign with its webhooks) with the same reports read: the
report latency while the sink ingests at a campaign's pace.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import UUID

import asyncpg
import httpx
import orjson

from fanout_cli.bench.classic import BATCH, BOUNCE_RATE, CAMPAIGNS_PER_USER, USERS, campaign_of
from fanout_cli.bench.stats import Latency, SliceFigures, latency_summary
from fanout_cli.demo.run import REPORTS
from shared.auth import create_account
from shared.contracts.base import decode
from shared.contracts.events import EventBatch, outcome_event_id, provider_event_id
from shared.db import create_pool
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name


@dataclass
class BenchAccount:
    """An account with one campaign row per (user, campaign) of the workload."""

    account_id: UUID
    api_key: str
    campaigns: list[UUID]


_T = TypeVar("_T")

PACED_RATE = 15_000.0
"""Events/s of the paced part of each slice: a 10k emails/s campaign with its webhooks."""
PACED_S = 20.0
"""Seconds of the paced part (at most half the slice)."""


class Produced(NamedTuple):
    """Events produced, and the wall-clock times (epoch seconds) of the first send and of
    the last acknowledgement."""

    events: int
    began: float
    ended: float

    @property
    def rate(self) -> float:
        """Events per second over that span."""
        return self.events / max(self.ended - self.began, 1e-9)


@dataclass
class IngestResult:
    """Per-slice figures of Fanout's path: at the sink's limit (`slices`, with the rate of
    the producer processes that filled the topic beforehand) and at `paced_rate`."""

    producers: int = 1
    paced_rate: float = PACED_RATE
    produce_per_s: list[float] = field(default_factory=list)
    slices: list[SliceFigures] = field(default_factory=list)
    paced: list[SliceFigures] = field(default_factory=list)


async def create_bench_account(common: CommonSettings, emails: int) -> BenchAccount:
    """A new account named "bench ingest" (the full run deletes those at its end) with
    its API key and the workload's campaign rows, for a workload of `emails` emails."""
    pool = await create_pool(common.database_url, max_size=2)
    try:
        account, key = await create_account(pool, "bench ingest")
        return BenchAccount(account, key, await make_bench_account(pool, account, emails))
    finally:
        await pool.close()


async def make_bench_account(pool: asyncpg.Pool, account_id: UUID, emails: int) -> list[UUID]:
    """Campaign rows (campaign state only) so the reports API can scope them: completed,
    each with the leads it gets of `emails` spread evenly (the workload picks campaigns
    uniformly) as its `matched`, as a resolved campaign has (reports read a campaign
    known to be small grouped by lead)."""
    template = await pool.fetchval(
        "INSERT INTO templates (account_id, name, subject) VALUES ($1, 'bench', 'bench') "
        "RETURNING id",
        account_id,
    )
    ids = [uuid.uuid4() for _ in range(USERS * CAMPAIGNS_PER_USER)]
    await pool.execute(
        "INSERT INTO campaigns "
        "(id, account_id, name, from_email, template_id, condition, state, matched) "
        "SELECT c, $1, 'bench ' || c, 'bench@fanout.example', $2, '{}'::jsonb, 'completed', $4 "
        "FROM unnest($3::uuid[]) AS c",
        account_id,
        template,
        ids,
        round(emails / len(ids)),
    )
    return ids


def _event(
    account: str, campaign: UUID, lead: UUID, kind: str, when: str, event_id: UUID
) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "account_id": account,
        "campaign_id": str(campaign),
        "lead_id": str(lead),
        "email": f"{lead.hex[:12]}@example{lead.int % 500}.com",
        "type": kind,
        "provider": "simulator",
        "provider_message_id": f"sim-{lead.hex}",
        "reason": "550 5.1.1 user unknown" if kind == "bounced" else "",
        "bounce_type": "hard" if kind == "bounced" else None,
        "occurred_at": when,
    }


def _value(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"schema_version": 1, "events": events})


def _values(
    account: str, campaigns: list[UUID], count: int, rng: random.Random
) -> Iterator[tuple[bytes, bytes, int]]:
    """(key, value, events) of `count` sent events and their bounces, as Fanout's services
    write them: like the sender, one value per batch of 50 outcome events; like
    webhook_ingest, one value per bounce."""
    for first in range(0, count, BATCH):
        _, index = campaign_of(rng)
        campaign = campaigns[index]
        when = datetime.now(UTC).isoformat()
        size = min(BATCH, count - first)
        leads = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(size)]
        sent = [
            _event(account, campaign, lead, "sent", when, outcome_event_id(campaign, lead))
            for lead in leads
        ]
        yield f"{campaign}:{leads[0]}".encode(), _value(sent), len(sent)
        for lead in leads:
            if rng.random() < BOUNCE_RATE:
                bounce = _event(
                    account,
                    campaign,
                    lead,
                    "bounced",
                    when,
                    provider_event_id("simulator", f"bounce:{lead}"),
                )
                yield f"{campaign}:{lead}".encode(), _value([bounce]), 1


async def _produce(
    common: CommonSettings,
    bench: BenchAccount,
    count: int,
    seed: int,
    rate: float | None = None,
) -> Produced:
    """Produce `count` sent events (+ bounces); at most `rate` events/s when given."""
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
    producer = make_producer(common, linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    produced = 0
    began, stamp = time.perf_counter(), time.time()
    try:
        pending: list[asyncio.Future[Any]] = []
        rng = random.Random(seed)
        for key, value, events in _values(str(bench.account_id), bench.campaigns, count, rng):
            pending.append(await producer.send(topic, value, key=key))
            produced += events
            if rate is not None and (ahead := produced / rate - (time.perf_counter() - began)) > 0:
                await asyncio.sleep(ahead)
            if len(pending) >= 2_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return Produced(produced, stamp, time.time())


def _produce_in_process(
    common: CommonSettings,
    bench: BenchAccount,
    count: int,
    seed: int,
    rate: float | None = None,
) -> Produced:
    """One producer process's share (a spawned worker's entry point)."""
    return asyncio.run(_produce(common, bench, count, seed, rate))


def produce_in_parallel(
    common: CommonSettings,
    bench: BenchAccount,
    count: int,
    seed: int,
    processes: int,
    rate: float | None = None,
) -> Produced:
    """`count` sent events (+ bounces) from `processes` producer processes side by side,
    each with its own share and seed (and its share of `rate` events/s when given): all
    the events, from the first process's first send to the last one's last
    acknowledgement (the processes' start-up left out)."""
    shares = [count // processes + (1 if n < count % processes else 0) for n in range(processes)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = [
            pool.submit(
                _produce_in_process,
                common,
                bench,
                share,
                seed * 1_000 + n,
                None if rate is None else rate * share / count,
            )
            for n, share in enumerate(shares)
            if share
        ]
        parts = [future.result() for future in futures]
    return Produced(
        sum(p.events for p in parts), min(p.began for p in parts), max(p.ended for p in parts)
    )


def drain_rate(visible: list[tuple[float, int]], target: int) -> float:
    """Events/s the sink made visible while it had a backlog, from (seconds, count) samples
    of what is visible, the count starting at 0 and ending at `target`.

    Events become visible an insert at a time, each after the sink parsed and wrote it.
    Two ends are not the sink's rate and are left out:

    - the start: the first jump comes after start-up *and* the first insert's work, so the
      span begins at the first sample that saw any events, and those events are not
      counted (until 2026-12-05 they were: 714,000 / 664,000 = 1.075 times the rate when
      the first jump is one insert of 50,000 in a slice of 714,000);
    - the end: a backlog rarely ends on a whole batch, and the sink inserts a part-full
      batch only once its oldest event has waited `batch_max_seconds` (1 s): the last jump
      comes that long after the sink had worked through everything (0.8-1.0 s of spans of
      2.9-3.4 s in slices of 700,000 emails, `bench/results/20261205T0335Z-drain-tail`).
      A stream that goes on fills its batches and never waits, so the span ends at the
      sample that first saw the jump before the last; the last jump's events are left out.

    `until_all_rate` keeps the time until every event was visible. With only two jumps
    there is no span between full inserts: then the rate is `until_all_rate`'s (a bound);
    with one, its events over the half sample from the midpoint of the jump's interval.
    """
    first, last = _jumps(visible, target)
    began, seen = visible[first]
    if seen >= target or visible[last - 1][1] <= seen:  # one or two jumps: none between
        return until_all_rate(visible, target)
    before_last = visible[last - 1][1]
    reached = next(t for t, n in visible if n >= before_last)
    return (before_last - seen) / max(reached - began, 1e-9)


def until_all_rate(visible: list[tuple[float, int]], target: int) -> float:
    """The events visible after the first sample that saw any, over the time from that
    sample to the first that saw all `target`: `drain_rate`'s rule until 2026-12-05, the
    wait for the last part-full batch included. A drain made visible by one jump is timed
    from the midpoint of the interval before it (a bound)."""
    first, last = _jumps(visible, target)
    began, seen = visible[first]
    if seen >= target:  # one jump: nothing to time between inserts
        if first > 0:
            began = (visible[first - 1][0] + began) / 2
        return target / max(visible[last][0] - began, 1e-9)
    return (target - seen) / max(visible[last][0] - began, 1e-9)


def _jumps(visible: list[tuple[float, int]], target: int) -> tuple[int, int]:
    """The indexes of the first sample that saw any events and of the first that saw all."""
    firsts = [i for i, (_, n) in enumerate(visible) if n > 0]
    if not firsts or visible[-1][1] < target:
        raise ValueError("the samples do not reach the target")
    return firsts[0], next(i for i, (_, n) in enumerate(visible) if n >= target)


class Reports:
    """The reports API and the read-only SQL endpoint of the running report_sink."""

    def __init__(
        self, api_key: str, admin_token: str, client: httpx.AsyncClient | None = None
    ) -> None:
        self.client = client or httpx.AsyncClient(base_url=REPORTS, timeout=120)
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.admin = {"X-Fanout-Admin-Token": admin_token}
        self.waited = 0
        """Requests answered 429 (the key's rate limit) and made again after Retry-After."""

    async def count(self, account: UUID) -> int:
        """Events of `account` visible in ClickHouse."""
        response = await self.client.post(
            "/internal/sql",
            headers=self.admin,
            json={"query": f"SELECT count() FROM email_events WHERE account_id = '{account}'"},
        )
        response.raise_for_status()
        rows = response.json()["rows"]
        return int(rows[0][0])

    async def timed(self, path: str) -> float:
        """Milliseconds to fetch `path` whole (CSV exports are read to the end). A 429 of
        the API key's rate limit is waited out as its Retry-After says and the request
        made again, as a well-behaved client would: only the answered request is timed."""
        while True:
            started = time.perf_counter()
            async with self.client.stream("GET", path, headers=self.auth) as response:
                if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
                    wait = float(response.headers.get("Retry-After", "1"))
                else:
                    response.raise_for_status()
                    async for _ in response.aiter_bytes():
                        pass
                    return (time.perf_counter() - started) * 1000
            self.waited += 1
            await asyncio.sleep(wait)

    async def aclose(self) -> None:
        await self.client.aclose()


Reads = dict[str, list[tuple[float, float]]]
"""Per report, (wall-clock second the read began, its milliseconds) of each read."""


async def _report_reader(
    reports: Reports, bench: BenchAccount, stop: asyncio.Event, samples: Reads
) -> None:
    rng = random.Random(7)
    while not stop.is_set():
        _, index = campaign_of(rng)
        campaign = bench.campaigns[index]
        for name, path in (("recipients", "recipients.csv"), ("funnel", "funnel")):
            began = time.time()
            samples[name].append(
                (began, await reports.timed(f"/reports/campaigns/{campaign}/{path}"))
            )
        await asyncio.sleep(0.2)


def reads_within(reads: Reads, began: float, ended: float) -> dict[str, Latency]:
    """Each report's latencies of the reads that began in [began, ended] (wall clock):
    while the paced producer was sending, its process's start-up and the drain after it
    left out."""
    return {
        name: latency_summary([ms for at, ms in samples if began <= at <= ended])
        for name, samples in reads.items()
    }


class SinkControl(Protocol):
    """Stops and starts the stack's report_sink (blocking calls)."""

    def stop(self) -> None: ...

    def start(self) -> None: ...


async def _until_visible(
    reports: Reports, account: UUID, base: int, target: int
) -> list[tuple[float, int]]:
    """(seconds, events visible above `base`) every 0.1 s until `target` are visible."""
    began = time.perf_counter()
    samples: list[tuple[float, int]] = []
    while True:
        visible = await reports.count(account) - base
        samples.append((time.perf_counter() - began, visible))
        if visible >= target:
            return samples
        await asyncio.sleep(0.1)


async def run_fanout_ingest(
    common: CommonSettings,
    bench: BenchAccount,
    reports: Reports,
    sink: SinkControl,
    total_emails: int,
    slice_emails: int,
    producers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Grow the event log by `total_emails` sends (+ bounces), measuring each slice at the
    sink's limit, then at `PACED_RATE`."""
    result = IngestResult(producers=producers, paced_rate=PACED_RATE)
    visible = await reports.count(bench.account_id)
    for number, start in enumerate(range(0, total_emails, slice_emails)):
        count = min(slice_emails, total_emails - start)
        paced = min(int(PACED_RATE * PACED_S), count // 2)
        await asyncio.to_thread(sink.stop)
        filled = await asyncio.to_thread(
            produce_in_parallel, common, bench, count - paced, 2 * number + 1, producers
        )
        result.produce_per_s.append(filled.rate)
        produced = filled.events
        await asyncio.to_thread(sink.start)
        drained, reads = await _with_reads(
            reports, bench, _until_visible(reports, bench.account_id, visible, produced)
        )
        result.slices.append(
            SliceFigures(
                rows_before=visible,
                rows_after=visible + produced,
                rows_per_s=drain_rate(drained, produced),
                queries=reads_within(reads, -math.inf, math.inf),
                until_all_per_s=until_all_rate(drained, produced),
            )
        )
        visible += produced
        # The paced producer is a process of its own: in this event loop, its work would
        # delay the reads it is there to load (and count in their latencies).
        done, reads = await _with_reads(
            reports,
            bench,
            asyncio.to_thread(
                produce_in_parallel, common, bench, paced, 2 * number + 2, 1, PACED_RATE
            ),
        )
        paced_events = done.events
        await _until_visible(reports, bench.account_id, visible, paced_events)
        result.paced.append(
            SliceFigures(
                rows_before=visible,
                rows_after=visible + paced_events,
                rows_per_s=paced_events / (time.time() - done.began),
                queries=reads_within(reads, done.began, done.ended),
            )
        )
        visible += paced_events
        if progress is not None:
            progress(start + count)
    return result


async def _with_reads(
    reports: Reports, bench: BenchAccount, work: Coroutine[Any, Any, _T]
) -> tuple[_T, Reads]:
    """`work`'s result and the reports' reads sampled while it ran."""
    samples: Reads = {"recipients": [], "funnel": []}
    stop = asyncio.Event()
    reader = asyncio.create_task(_report_reader(reports, bench, stop, samples))
    try:
        done = await work
    finally:
        stop.set()
        await reader
    return done, samples


def check_event_encoding() -> None:
    """The benchmark's hand-built events are valid contract messages."""
    lead, campaign = uuid.uuid4(), uuid.uuid4()
    event = _event(
        str(uuid.uuid4()),
        campaign,
        lead,
        "bounced",
        datetime.now(UTC).isoformat(),
        outcome_event_id(campaign, lead),
    )
    decode(EventBatch, _value([event, event]))
