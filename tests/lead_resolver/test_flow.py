"""The lead resolver on the send path: flow control, cancel, fairness between campaigns.

Real processes (lead_resolver and sender), the real broker and Postgres, the
in-process ESP simulator: what the resolver promises is only visible with a
sender consuming what it emits.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import asyncpg
import pytest

from shared.contracts import CommandKind
from shared.settings import CommonSettings
from tests.send_path import (
    StartService,
    assert_exactly_one_outcome,
    campaign,
    completed_once,
    publish_command,
    read_events,
    seed_campaign,
    set_state,
    simulator_counters,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


async def test_pause_stops_within_window_and_resume_finishes(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    window, page = 4, 2
    seeded = await seed_campaign(pool, matching=3_000)
    start("sender", FANOUT_SENDER_RATE_BUDGETS='{"simulator": 500}')
    start(
        "lead_resolver",
        FANOUT_LEAD_RESOLVER_WINDOW=str(window),
        FANOUT_LEAD_RESOLVER_PAGE_BATCHES=str(page),
    )
    await publish_command(settings, seeded)
    while (await campaign(pool, seeded.campaign_id))["sent"] < 500:
        await asyncio.sleep(0.05)
    await set_state(pool, seeded, "paused", new_run=False)
    at_pause = await campaign(pool, seeded.campaign_id)
    await publish_command(settings, seeded, CommandKind.PAUSE)
    await asyncio.sleep(3)
    settled = await campaign(pool, seeded.campaign_id)
    unique_settled = (await simulator_counters(simulator))["unique"]
    await asyncio.sleep(1)
    assert (await simulator_counters(simulator))["unique"] == unique_settled  # stopped
    assert settled["state"] == "paused"
    # at most the page in progress is emitted after the pause ...
    assert settled["batches_emitted"] - at_pause["batches_emitted"] <= page
    # ... so at most W outstanding batches (+ that page) are still sent
    sent_after = unique_settled - at_pause["sent"]
    assert sent_after <= (window + page) * 50, sent_after
    assert settled["sent"] < 3_000

    await set_state(pool, seeded, "queued", new_run=True)
    await publish_command(settings, seeded, CommandKind.RESUME)
    done = await completed_once(pool, settings, simulator, seeded, timeout=60)
    assert done.row["sent"] == 3_000
    assert done.counters["duplicates"] == 0 and done.counters["unique"] == 3_000


async def test_cancel_campaign_gives_cancelled_outcomes_to_the_rest(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    seeded = await seed_campaign(pool, matching=3_000, non_matching=100)
    start("sender", FANOUT_SENDER_RATE_BUDGETS='{"simulator": 500}')
    start("lead_resolver", FANOUT_LEAD_RESOLVER_WINDOW="4", FANOUT_LEAD_RESOLVER_PAGE_BATCHES="2")
    await publish_command(settings, seeded)
    while (await campaign(pool, seeded.campaign_id))["sent"] < 300:
        await asyncio.sleep(0.05)
    await set_state(pool, seeded, "cancelled", new_run=False)
    await publish_command(settings, seeded, CommandKind.CANCEL)
    deadline = time.monotonic() + 60
    row = await campaign(pool, seeded.campaign_id)
    while not (row["resolve_done"] and row["sent"] + row["cancelled"] == row["matched"]):
        assert time.monotonic() < deadline, row
        await asyncio.sleep(0.2)
        row = await campaign(pool, seeded.campaign_id)
    assert row["state"] == "cancelled" and row["matched"] == 3_000
    assert row["cancelled"] > 1_000
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    types = Counter(e.type.value for e in events if e.campaign_id == seeded.campaign_id)
    assert types == {"sent": row["sent"], "cancelled": row["cancelled"]}
    assert (await simulator_counters(simulator))["unique"] == row["sent"]


async def test_two_campaigns_progress_together(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    first = await seed_campaign(pool, matching=3_000)
    second = await seed_campaign(pool, matching=3_000)
    start("sender", FANOUT_SENDER_RATE_BUDGETS='{"simulator": 1000}')
    start("lead_resolver", FANOUT_LEAD_RESOLVER_WINDOW="10")
    await publish_command(settings, first)
    await publish_command(settings, second)
    while (await campaign(pool, first.campaign_id))["sent"] + (
        await campaign(pool, second.campaign_id)
    )["sent"] < 1_000:
        await asyncio.sleep(0.05)
    early = [(await campaign(pool, s.campaign_id))["sent"] for s in (first, second)]
    assert min(early) >= 200, early  # both progress from the start, neither waits
    for seeded in (first, second):
        row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=60)
        assert row["state"] == "completed" and row["sent"] == 3_000
    events = await read_events(settings)
    assert_exactly_one_outcome(events, first)
    assert_exactly_one_outcome(events, second)
