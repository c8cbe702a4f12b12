"""`fanout bench campaign-list`: the reports API's campaign list, exact against the summary.

The full run's ingest account (`ingest.py`: 100 users × 10 campaigns, `sent` events in
batches of 50 emails to one campaign, 2 % of them bounced later) is generated inside
a fresh chDB folder, a million events per statement, one event a millisecond (so each
campaign's events span about three hours at 10M). Then the sink's own summary worker
code recomputes every campaign (`CampaignSummaries`, as on start-up), and the list is
timed both ways, sample after sample in turn: `campaigns_exact` (the list before the
summary: campaign_hourly merged for every campaign of the account) and `campaigns`
(from campaign_summary), without a window as the full run asks for it, and with a
window that cuts every campaign (the summary's slow path: all of them counted exactly).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fanout_cli.bench.classic import BATCH, BOUNCE_RATE, CAMPAIGNS_PER_USER, USERS
from fanout_cli.bench.sink import T0
from fanout_cli.bench.stats import Latency, latency_summary
from services.report_sink import queries
from services.report_sink.schema import migrate
from services.report_sink.summary import CampaignKey, CampaignSummaries
from shared.clickhouse import AsyncClickHouse, connect_embedded

CHUNK = 1_000_000  # events per generating statement: memory stays flat in --events
GENERATE_SQL = """
INSERT INTO email_events (event_id, account_id, campaign_id, lead_id, email, type, provider,
                          provider_message_id, reason, bounce_type, occurred_at)
SELECT generateUUIDv4(), {account:UUID},
       {campaigns:Array(UUID)}[1 + cityHash64(intDiv(n, {batch:UInt32})) % length({campaigns:Array(UUID)})],
       lead, concat(hex(cityHash64(n)), '@example', toString(n % 500), '.com'), t, 'simulator',
       concat('sim-', toString(n)), if(t = 'bounced', '550 5.1.1 user unknown', ''),
       if(t = 'bounced', 'hard', ''),
       toDateTime64({t0:DateTime('UTC')}, 3, 'UTC') + toIntervalMillisecond(n)
FROM (
    SELECT number AS n,
           reinterpretAsUUID(reinterpretAsFixedString(cityHash64(number, 1))
                             || reinterpretAsFixedString(cityHash64(number, 2))) AS lead,
           if(cityHash64(number, 3) % 10000 < {bounces:UInt32}, ['sent', 'bounced'], ['sent'])
               AS types
    FROM numbers({first:UInt64}, {count:UInt64})
)
ARRAY JOIN types AS t
"""  # noqa: E501 (one expression)

Query = Callable[[], Awaitable[Any]]


async def _generate(
    ch: AsyncClickHouse, account: uuid.UUID, campaigns: list[uuid.UUID], emails: int
) -> None:
    for first in range(0, emails, CHUNK):
        params = {
            "account": account,
            "campaigns": campaigns,
            "batch": BATCH,
            "t0": T0,
            "bounces": int(BOUNCE_RATE * 10_000),
            "first": first,
            "count": min(CHUNK, emails - first),
        }
        await ch.command(GENERATE_SQL, params)


async def _timed(query: Query) -> float:
    started = time.perf_counter()
    await query()
    return (time.perf_counter() - started) * 1000


async def bench_campaign_list(
    folder: Path, emails: int, samples: int
) -> tuple[dict[str, float], dict[str, Latency]]:
    """(set-up figures: events, seconds to generate and to summarise; latency per query)."""
    ch = AsyncClickHouse(connect_embedded(folder))
    try:
        await migrate(ch)
        account = uuid.uuid4()
        campaigns = [uuid.uuid4() for _ in range(USERS * CAMPAIGNS_PER_USER)]
        started = time.perf_counter()
        await _generate(ch, account, campaigns, emails)
        generated = time.perf_counter() - started
        summaries = CampaignSummaries(ch, interval_s=1.0)
        started = time.perf_counter()
        await summaries.recompute(await summaries.stale())
        summarised = time.perf_counter() - started
        one = CampaignKey(account, campaigns[0])
        [total] = await ch.rows("SELECT count() FROM email_events")
        setup = {
            "events": float(total[0]),
            "generate_s": generated,
            "summarise_all_s": summarised,
            "summarised": float(summaries.recomputed),
            "recompute_one_ms": await _timed(lambda: summaries.recompute([one])),
        }
        return setup, await _latencies(ch, account, samples)
    finally:
        ch.close()


async def _latencies(ch: AsyncClickHouse, account: uuid.UUID, samples: int) -> dict[str, Latency]:
    everything = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2106, 1, 1, tzinfo=UTC))
    cutting = (T0 + timedelta(hours=1), everything[1])  # every campaign has events before
    ways: dict[str, Query] = {
        "exact (before)": lambda: queries.campaigns_exact(ch, account, *everything, 100),
        "summary (after)": lambda: queries.campaigns(ch, account, *everything, 100),
        "summary, window cutting every campaign": lambda: queries.campaigns(
            ch, account, *cutting, 100
        ),
    }
    timings: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(samples):
        for name, query in ways.items():  # in turn: both see the same machine
            timings[name].append(await _timed(query))
    return {name: latency_summary(values) for name, values in timings.items()}
