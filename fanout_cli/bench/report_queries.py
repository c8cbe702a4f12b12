"""`fanout bench queries`: every report query on one campaign of N leads, in chDB.

About 2.4 events per lead are generated inside ClickHouse (sent; delivered or bounced;
some opens and clicks) into a fresh chDB folder, then each query of the reports API is
timed once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fanout_cli.bench.sink import T0
from services.report_sink import queries
from services.report_sink.schema import migrate
from shared.clickhouse import AsyncClickHouse, connect_embedded

GENERATE_SQL = """
INSERT INTO email_events (event_id, account_id, campaign_id, lead_id, email, type, provider,
                          provider_message_id, reason, bounce_type, occurred_at)
SELECT generateUUIDv4(), {account:UUID}, {campaign:UUID}, lead,
       concat('lead', toString(n), '@d', toString(n % 100), '.example.com'), t, 'simulator',
       '', if(t = 'bounced', '550 5.1.1 user unknown', ''), if(t = 'bounced', 'hard', ''),
       toDateTime64('2026-11-23 00:00:00', 3, 'UTC') + toIntervalMillisecond(n * 10)
FROM (
    SELECT number AS n,
           reinterpretAsUUID(reinterpretAsFixedString(cityHash64(number, 1))
                             || reinterpretAsFixedString(cityHash64(number, 2))) AS lead,
           arrayFilter(x -> x != '', ['sent', if(n % 20 = 0, 'bounced', 'delivered'),
                       if(n % 10 < 3 AND n % 20 != 0, 'opened', ''),
                       if(n % 100 < 8 AND n % 20 != 0, 'clicked', '')]) AS types
    FROM numbers({leads:UInt64})
)
ARRAY JOIN types AS t
"""


async def bench_queries(folder: Path, leads: int) -> list[tuple[str, float]]:
    """Seconds of each report query on a campaign of `leads` leads."""
    ch = AsyncClickHouse(connect_embedded(folder))
    try:
        await migrate(ch)
        account, campaign = uuid.uuid4(), uuid.uuid4()
        started = time.perf_counter()
        await ch.command(GENERATE_SQL, {"account": account, "campaign": campaign, "leads": leads})
        timings = [("generate + views", time.perf_counter() - started)]
        for name, query in await _report_queries(ch, account, campaign, leads):
            started = time.perf_counter()
            await query()
            timings.append((name, time.perf_counter() - started))
        return timings
    finally:
        ch.close()


async def _report_queries(
    ch: AsyncClickHouse, account: uuid.UUID, campaign: uuid.UUID, leads: int
) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """Every query of the reports API, with a lead from the middle of the recipient list."""
    mid = (await queries.recipients(ch, account, campaign, "", queries.NIL, leads // 2))[-1]
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=9)

    def page(status: str, after: uuid.UUID) -> Callable[[], Awaitable[Any]]:
        return lambda: queries.recipients(ch, account, campaign, status, after, 100)

    return [
        ("funnel", lambda: queries.funnel(ch, account, campaign)),
        ("recipients page 1", page("", queries.NIL)),
        ("recipients mid page", page("", mid.lead_id)),
        ("recipients bounced", page("bounced", queries.NIL)),
        ("bounces", lambda: queries.bounces(ch, account, campaign)),
        ("timeline", lambda: queries.timeline(ch, account, campaign)),
        ("campaigns", lambda: queries.campaigns(ch, account, since, until, 100)),
        ("lead history", lambda: queries.lead_history(ch, account, mid.lead_id, 100)),
        ("all recipients (CSV chunks)", lambda: _export(ch, account, campaign)),
    ]


async def _export(ch: AsyncClickHouse, account: uuid.UUID, campaign: uuid.UUID) -> None:
    async for _ in queries.recipients_csv(ch, account, campaign, ""):
        pass
