"""The classic workload through Fanout's path: events onto Kafka, the sink into ClickHouse.

The same shape as `classic.py`: 100 users with 10 campaigns each, one `sent`
event per email written in batches of 50, and 2 % of emails bouncing later
(an appended `bounced` event instead of an UPDATE). Events go onto the
stack's `email.events` topic; the running report_sink appends them to
ClickHouse. Each slice records how fast events became visible in ClickHouse
and the latency of the same two reports, answered by the reports API.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson

from fanout_cli.bench.classic import BATCH, BOUNCE_RATE, CAMPAIGNS_PER_USER, USERS, campaign_of
from fanout_cli.bench.stats import SliceFigures, latency_summary
from fanout_cli.demo.run import REPORTS
from shared.contracts.base import decode
from shared.contracts.events import EventBatch, outcome_event_id, provider_event_id
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name


@dataclass
class BenchAccount:
    """An account with one campaign row per (user, campaign) of the workload."""

    account_id: UUID
    api_key: str
    campaigns: list[UUID]


@dataclass
class IngestResult:
    """Per-slice figures of Fanout's path."""

    produce_per_s: list[float] = field(default_factory=list)
    slices: list[SliceFigures] = field(default_factory=list)


async def make_bench_account(pool: asyncpg.Pool, account_id: UUID) -> list[UUID]:
    """Campaign rows (campaign state only) so the reports API can scope them."""
    template = await pool.fetchval(
        "INSERT INTO templates (account_id, name, subject) VALUES ($1, 'bench', 'bench') "
        "RETURNING id",
        account_id,
    )
    ids = [uuid.uuid4() for _ in range(USERS * CAMPAIGNS_PER_USER)]
    await pool.execute(
        "INSERT INTO campaigns (id, account_id, name, from_email, template_id, condition, state) "
        "SELECT c, $1, 'bench ' || c, 'bench@fanout.example', $2, '{}'::jsonb, 'completed' "
        "FROM unnest($3::uuid[]) AS c",
        account_id,
        template,
        ids,
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


async def _produce_slice(
    common: CommonSettings, bench: BenchAccount, count: int, rng: random.Random
) -> int:
    """Produce `count` sent events (+ bounces) as Fanout's services do; returns events produced.

    Like the sender, one value per batch of 50 outcome events; like webhook_ingest, one
    value per bounce.
    """
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
    account = str(bench.account_id)
    producer = make_producer(common, linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    produced = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for _ in range(0, count, BATCH):
            _, index = campaign_of(rng)
            campaign = bench.campaigns[index]
            when = datetime.now(UTC).isoformat()
            leads = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(BATCH)]
            sent = [
                _event(account, campaign, lead, "sent", when, outcome_event_id(campaign, lead))
                for lead in leads
            ]
            key = f"{campaign}:{leads[0]}".encode()
            pending.append(await producer.send(topic, _value(sent), key=key))
            produced += len(sent)
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
                    pending.append(
                        await producer.send(
                            topic, _value([bounce]), key=f"{campaign}:{lead}".encode()
                        )
                    )
                    produced += 1
            if len(pending) >= 2_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return produced


class Reports:
    """The reports API and the read-only SQL endpoint of the running report_sink."""

    def __init__(self, api_key: str, admin_token: str) -> None:
        self.client = httpx.AsyncClient(base_url=REPORTS, timeout=120)
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.admin = {"X-Fanout-Admin-Token": admin_token}

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
        """Milliseconds to fetch `path` whole (CSV exports are read to the end)."""
        started = time.perf_counter()
        async with self.client.stream("GET", path, headers=self.auth) as response:
            response.raise_for_status()
            async for _ in response.aiter_bytes():
                pass
        return (time.perf_counter() - started) * 1000

    async def aclose(self) -> None:
        await self.client.aclose()


async def _report_reader(
    reports: Reports, bench: BenchAccount, stop: asyncio.Event, samples: dict[str, list[float]]
) -> None:
    rng = random.Random(7)
    while not stop.is_set():
        _, index = campaign_of(rng)
        campaign = bench.campaigns[index]
        samples["recipients"].append(
            await reports.timed(f"/reports/campaigns/{campaign}/recipients.csv")
        )
        samples["funnel"].append(await reports.timed(f"/reports/campaigns/{campaign}/funnel"))
        await asyncio.sleep(0.2)


async def run_fanout_ingest(
    common: CommonSettings,
    bench: BenchAccount,
    reports: Reports,
    total_emails: int,
    slice_emails: int,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Grow the event log by `total_emails` sends (+ bounces), measuring each slice."""
    result = IngestResult()
    rng = random.Random(11)
    visible_before = await reports.count(bench.account_id)
    produced_total = 0
    for start in range(0, total_emails, slice_emails):
        count = min(slice_emails, total_emails - start)
        samples: dict[str, list[float]] = {"recipients": [], "funnel": []}
        stop = asyncio.Event()
        reader = asyncio.create_task(_report_reader(reports, bench, stop, samples))
        began = time.perf_counter()
        produced = await _produce_slice(common, bench, count, rng)
        result.produce_per_s.append(produced / (time.perf_counter() - began))
        produced_total += produced
        while await reports.count(bench.account_id) - visible_before < produced_total:
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - began
        stop.set()
        await reader
        result.slices.append(
            SliceFigures(
                rows_before=produced_total - produced,
                rows_after=produced_total,
                rows_per_s=produced / elapsed,
                queries={name: latency_summary(values) for name, values in samples.items()},
            )
        )
        if progress is not None:
            progress(start + count)
    return result


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
