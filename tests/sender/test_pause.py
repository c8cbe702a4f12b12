"""Pause means stop, cancel too: no ESP call starts later than 1 s after the acknowledgment.

The simulator's request log says when each bulk call arrived (Unix time, on this
machine's clock, as is the acknowledgment: the API's own `apply_action` returning
after its commit). The sender and the lead resolver are processes of their own.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from services.campaign_api.campaigns.commands import apply_action
from shared.campaigns import Action
from shared.contracts import CommandKind
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.send_path import (
    Seeded,
    StartService,
    assert_exactly_one_outcome,
    campaign,
    completed_once,
    configure_simulator,
    publish_command,
    read_events,
    seed_campaign,
    simulator_counters,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

MATCHED = 3_000
BOUND_S = 1.0


async def latest_call_after(simulator: str, campaign_id: UUID, since: float) -> float:
    """Seconds from `since` to the last call for the campaign that started after it (the
    simulator's request log, Unix time)."""
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{simulator}/v1/requests", params={"campaign_id": str(campaign_id), "since": since}
        )
        response.raise_for_status()
        page = response.json()
    assert page["evicted"] == 0
    return max((e["started_at"] - since for e in page["entries"]), default=0.0)


async def acknowledge(
    pool: asyncpg.Pool, settings: CommonSettings, seeded: Seeded, action: Action
) -> float:
    """What the API does for `action`; the Unix time it acknowledged (after its commit)."""
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, settings.topic_prefix)
    row = await apply_action(
        pool, seeded.account_id, seeded.campaign_id, action, topic=topic, now=datetime.now(UTC)
    )
    acked = time.time()
    seeded.run_id = row["run_id"]
    return acked


async def running_campaign(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService, simulator: str
) -> Seeded:
    """A campaign a fifth sent, the simulator answering each call in about 20 ms."""
    await configure_simulator(simulator, latency_p50_ms=20)
    seeded = await seed_campaign(pool, matching=MATCHED)
    start(
        "sender",
        FANOUT_SENDER_SIMULATOR_URL=simulator,
        FANOUT_SENDER_RATE_BUDGETS='{"simulator": 600}',
    )
    start("lead_resolver")
    await publish_command(settings, seeded)
    while (await campaign(pool, seeded.campaign_id))["sent"] < MATCHED * 0.2:
        await asyncio.sleep(0.05)
    return seeded


async def settled(pool: asyncpg.Pool, seeded: Seeded) -> dict[str, Any]:
    """The row once every matched lead has a counted outcome."""
    while True:
        row = await campaign(pool, seeded.campaign_id)
        done = row["sent"] + row["failed"] + row["suppressed"] + row["cancelled"]
        if row["matched"] is not None and done == row["matched"]:
            return row
        await asyncio.sleep(0.1)


async def test_pause_stops_calls_within_a_second_and_resume_sends_the_rest_once(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    seeded = await running_campaign(pool, settings, start, simulator)
    acked = await acknowledge(pool, settings, seeded, Action.PAUSE)
    await asyncio.sleep(BOUND_S * 3)  # room for any late call to show up
    late = await latest_call_after(simulator, seeded.campaign_id, acked)
    print(f"pause: last call started {late * 1000:.0f} ms after the acknowledgment")  # noqa: T201
    assert late <= BOUND_S
    paused = await campaign(pool, seeded.campaign_id)
    assert paused["state"] == "paused" and paused["sent"] < MATCHED
    parked = await pool.fetchval(
        "SELECT count(*) FROM send_batch_deferrals WHERE campaign_id = $1", seeded.campaign_id
    )
    assert parked > 0  # batches already on their way were held back, not sent
    await acknowledge(pool, settings, seeded, Action.RESUME)
    await publish_command(settings, seeded, CommandKind.RESUME)
    done = await completed_once(pool, settings, simulator, seeded, timeout=120)
    assert (done.row["matched"], done.row["sent"]) == (MATCHED, MATCHED)
    assert {e.type.value for e in done.events} == {"sent"}
    assert (done.counters["unique"], done.counters["duplicates"]) == (MATCHED, 0)


async def test_cancel_stops_calls_within_a_second_and_cancels_the_rest(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    seeded = await running_campaign(pool, settings, start, simulator)
    acked = await acknowledge(pool, settings, seeded, Action.CANCEL)
    row = await settled(pool, seeded)
    await asyncio.sleep(BOUND_S)
    late = await latest_call_after(simulator, seeded.campaign_id, acked)
    print(f"cancel: last call started {late * 1000:.0f} ms after the acknowledgment")  # noqa: T201
    assert late <= BOUND_S
    counters = await simulator_counters(simulator)
    assert row["state"] == "cancelled" and row["matched"] == MATCHED
    assert row["cancelled"] > 0 and row["sent"] + row["cancelled"] == MATCHED
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    assert sum(e.type.value == "sent" for e in events) == row["sent"] == counters["unique"]
    assert counters["duplicates"] == 0
