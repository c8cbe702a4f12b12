"""The classic design, measured: one row per email in PostgreSQL, indexed for reports.

Written the way such systems write it: several concurrent workers insert 50
rows at a time (one statement per batch) and bounce webhooks UPDATE rows by
message id, while reports read the same table. The table grows slice by slice;
each slice records its insert rate and the latency of the two report queries
("recipients of a campaign of one user", "campaign funnel") run during it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from fanout_cli.bench.stats import SliceFigures, latency_summary

USERS = 100
CAMPAIGNS_PER_USER = 10
BATCH = 50
BOUNCE_RATE = 0.02
STATUSES = ("sent", "delivered", "opened", "clicked")

DDL = """
CREATE TABLE {t} (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    campaign_id bigint NOT NULL,
    sender text NOT NULL,
    receiver text NOT NULL,
    status text NOT NULL,
    message_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX {t}_campaign ON {t} (campaign_id);
CREATE INDEX {t}_user_campaign ON {t} (user_id, campaign_id);
CREATE INDEX {t}_receiver ON {t} (receiver);
CREATE INDEX {t}_sender ON {t} (sender);
CREATE INDEX {t}_status ON {t} (status);
CREATE INDEX {t}_created ON {t} (created_at);
CREATE UNIQUE INDEX {t}_message ON {t} (message_id);
"""

INSERT = """
INSERT INTO {t} (user_id, campaign_id, sender, receiver, status, message_id)
SELECT $1, $2, $3, r, 'sent', m FROM unnest($4::text[], $5::uuid[]) AS x(r, m)
"""
BOUNCE = "UPDATE {t} SET status = 'bounced', updated_at = now() WHERE message_id = $1"
RECIPIENTS = (
    "SELECT receiver, status, created_at FROM {t} WHERE user_id = $1 AND campaign_id = $2 "
    "ORDER BY id"
)
FUNNEL = "SELECT status, count(*) FROM {t} WHERE campaign_id = $1 GROUP BY status"


@dataclass
class ClassicResult:
    """Per-slice figures of the classic design."""

    table: str
    workers: int
    slices: list[SliceFigures] = field(default_factory=list)


def campaign_of(rng: random.Random) -> tuple[int, int]:
    """A random (user, campaign) of the workload."""
    user = rng.randrange(USERS)
    return user, user * CAMPAIGNS_PER_USER + rng.randrange(CAMPAIGNS_PER_USER)


async def _writer(
    pool: asyncpg.Pool, table: str, seed: int, stop_at: Callable[[], bool], counter: list[int]
) -> None:
    rng = random.Random(seed)
    insert, bounce = INSERT.format(t=table), BOUNCE.format(t=table)
    while not stop_at():
        user, campaign = campaign_of(rng)
        receivers = [
            f"lead{rng.randrange(10**9)}@example{rng.randrange(500)}.com" for _ in range(BATCH)
        ]
        ids = [uuid.uuid4() for _ in range(BATCH)]
        async with pool.acquire() as conn:
            await conn.execute(insert, user, campaign, f"user{user}@sender.example", receivers, ids)
            bounced = [m for m in ids if rng.random() < BOUNCE_RATE]
            for message_id in bounced:
                await conn.execute(bounce, message_id)
        counter[0] += BATCH


async def _reader(
    pool: asyncpg.Pool, table: str, stop: asyncio.Event, samples: dict[str, list[float]]
) -> None:
    rng = random.Random(7)
    recipients, funnel = RECIPIENTS.format(t=table), FUNNEL.format(t=table)
    while not stop.is_set():
        user, campaign = campaign_of(rng)
        started = time.perf_counter()
        await pool.fetch(recipients, user, campaign)
        samples["recipients"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await pool.fetch(funnel, campaign)
        samples["funnel"].append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.2)


async def run_classic(
    dsn: str,
    total_rows: int,
    slice_rows: int,
    workers: int = 4,
    progress: Callable[[int], None] | None = None,
) -> ClassicResult:
    """Grow the per-email table to `total_rows`, measuring each slice of `slice_rows`."""
    table = f"classic_emails_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(dsn, min_size=workers + 1, max_size=workers + 1)
    assert pool is not None
    result = ClassicResult(table=table, workers=workers)
    try:
        await pool.execute(DDL.format(t=table))
        written = [0]
        for start in range(0, total_rows, slice_rows):
            target = min(start + slice_rows, total_rows)
            samples: dict[str, list[float]] = {"recipients": [], "funnel": []}
            stop = asyncio.Event()
            reader = asyncio.create_task(_reader(pool, table, stop, samples))
            began = time.perf_counter()

            def slice_full(target: int = target) -> bool:
                return written[0] >= target

            await asyncio.gather(
                *(
                    _writer(pool, table, seed=start + w, stop_at=slice_full, counter=written)
                    for w in range(workers)
                )
            )
            elapsed = time.perf_counter() - began
            stop.set()
            await reader
            rows = written[0] - start
            result.slices.append(
                SliceFigures(
                    rows_before=start,
                    rows_after=written[0],
                    rows_per_s=rows / elapsed,
                    queries={name: latency_summary(values) for name, values in samples.items()},
                )
            )
            if progress is not None:
                progress(written[0])
    finally:
        await pool.execute(f"DROP TABLE IF EXISTS {table}")
        await pool.close()
    return result
