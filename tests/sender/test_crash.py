"""SIGKILL of the sender mid-campaign while bounce and complaint webhooks flow.

The webhooks of the emails accepted just before the kill suppress their
addresses before the sender is back. Every matched lead still ends with exactly
one terminal outcome; the reports' `sent` equals the simulator's unique accepted
emails and the campaign's counter; only calls in flight at the kill are repeated.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from services.esp_simulator.testing import posting_webhooks, running_simulator
from shared.settings import CommonSettings
from tests.send_path import (
    StartService,
    assert_exactly_one_outcome,
    campaign,
    free_port,
    publish_command,
    read_events,
    seed_campaign,
    simulator_counters,
    wait_for,
)
from tests.sender.reports import funnel_of

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse, pytest.mark.slow]

MAX_IN_FLIGHT = 32
MATCHED = 4_000


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    """Poll `check` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        await asyncio.sleep(0.05)


async def suppressed_so_far(pool: asyncpg.Pool, account_id: object) -> int:
    return int(
        await pool.fetchval("SELECT count(*) FROM suppressions WHERE account_id = $1", account_id)
    )


async def test_sender_sigkill_with_webhooks_flowing_counts_every_lead_once(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService, tmp_path: Path
) -> None:
    ingest = free_port()
    knobs = posting_webhooks(
        f"http://127.0.0.1:{ingest}/webhooks/simulator",
        hard_bounce_rate=0.15,
        complaint_rate=0.05,
        latency_p50_ms=20,
    )
    async with running_simulator(knobs) as simulator:
        seeded = await seed_campaign(pool, matching=MATCHED)
        sender_env = {
            "FANOUT_SENDER_SIMULATOR_URL": simulator,
            "FANOUT_SENDER_RATE_BUDGETS": '{"simulator": 1500}',
            "FANOUT_SENDER_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        }
        start(
            "webhook_ingest",
            FANOUT_WEBHOOK_INGEST_PORT=str(ingest),
            FANOUT_WEBHOOK_INGEST_PROVIDERS='["simulator"]',
        )
        sender = start("sender", **sender_env)
        start("lead_resolver")
        await publish_command(settings, seeded)

        async def flowing() -> bool:
            sent = (await campaign(pool, seeded.campaign_id))["sent"]
            return sent >= MATCHED * 0.3 and await suppressed_so_far(pool, seeded.account_id) > 0

        await until(flowing, "30 % sent with webhooks suppressing addresses")
        sender.kill()
        before = await suppressed_so_far(pool, seeded.account_id)

        async def more_suppressed() -> bool:
            return await suppressed_so_far(pool, seeded.account_id) > before

        # webhooks of the emails accepted just before the kill still arrive
        await until(more_suppressed, "addresses suppressed after the kill")
        start("sender", **sender_env)
        row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=120)
        counters = await simulator_counters(simulator)
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    outcomes = [e for e in events if e.type.value in {"sent", "failed", "suppressed", "cancelled"}]
    assert_exactly_one_outcome(outcomes, seeded)
    kinds = defaultdict(set)
    for e in outcomes:
        kinds[e.lead_id].add(e.type.value)
    assert all(len(k) == 1 for k in kinds.values()), "a lead with two different outcomes"
    funnel, _ = await funnel_of(events, tmp_path / "chdb", seeded)
    terminal = funnel.sent + funnel.failed + funnel.suppressed + funnel.cancelled
    assert row["state"] == "completed" and terminal == row["matched"] == MATCHED
    assert funnel.sent == counters["unique"] == row["sent"]
    assert counters["duplicates"] <= MAX_IN_FLIGHT * 50
    print(f"sender SIGKILL: {counters['duplicates']} duplicate sends")  # noqa: T201
