"""A redelivered batch after a crash: the recorded outcome is re-emitted, nothing is resent.

Only the ESP call that was in flight when the process died is made again (same
Message-IDs: the simulator drops them as duplicates), and its recipients end `sent`
even when their own bounces suppressed them meanwhile. Counters, reports and the
simulator agree.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from services.sender.providers.simulator import SimulatorProvider
from shared.contracts import EmailEvent
from shared.settings import CommonSettings
from tests.send_path import campaign, read_events, seed_campaign, simulator_counters
from tests.sender.harness import (
    CrashAfterCalls,
    CrashingProducer,
    Killed,
    bounce,
    harness,
    resolved_batches,
)
from tests.sender.reports import funnel_of

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse]


def types_by_lead(events: list[EmailEvent]) -> dict[object, set[str]]:
    found: dict[object, set[str]] = {}
    for e in events:
        found.setdefault(e.lead_id, set()).add(e.type.value)
    return found


async def test_replay_recorded_batch_sends_nothing_even_when_suppressed_meanwhile(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, tmp_path: Path
) -> None:
    seeded = await seed_campaign(pool, matching=100)
    first, second = await resolved_batches(pool, seeded)
    provider = SimulatorProvider(simulator, settings.secret("simulator_api_key"))
    async with harness(pool, settings, provider) as h:
        assert await h.pipeline.process(first) == ""
        assert await h.pipeline.process(second) == ""
        calls = (await simulator_counters(simulator))["calls"]
        # the first attempt's bounces suppress every address of both batches
        await bounce(pool, seeded, [r.email for r in first.recipients + second.recipients])
        assert await h.pipeline.process(first) == ""  # not counted yet: events re-emitted
        await h.accounting.flush()
        assert await h.pipeline.process(second) == ""  # counted: nothing left to do
        await h.accounting.flush()
    counters = await simulator_counters(simulator)
    assert (counters["calls"], counters["unique"], counters["duplicates"]) == (calls, 100, 0)
    events = await read_events(settings)
    assert types_by_lead(events) == {lead: {"sent"} for lead in seeded.matching}
    assert len(events) == 150  # the first batch's 50 events twice: identical copies
    assert len({(e.event_id, e.type, e.occurred_at) for e in events}) == 100
    row = await campaign(pool, seeded.campaign_id)
    assert (row["state"], row["sent"], row["suppressed"]) == ("completed", 100, 0)
    funnel, status = await funnel_of(events, tmp_path / "chdb", seeded)
    assert (funnel.sent, funnel.suppressed) == (100, 0)
    assert set(status.values()) == {"sent"}


async def test_replay_in_flight_call_once_and_end_sent_despite_its_bounces(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, tmp_path: Path
) -> None:
    seeded = await seed_campaign(pool, matching=50, suppressed=0)
    [batch] = await resolved_batches(pool, seeded)
    already = [batch.recipients[0].email]  # suppressed before the batch was ever sent
    await bounce(pool, seeded, already)
    provider = SimulatorProvider(simulator, settings.secret("simulator_api_key"))
    async with harness(pool, settings, CrashAfterCalls(provider)) as crashing:
        with pytest.raises(Killed):  # the provider accepted 49; the process died then
            await crashing.pipeline.process(batch)
    assert (await simulator_counters(simulator))["unique"] == 49
    attempts = "SELECT count(*) FROM send_batch_attempts WHERE campaign_id = $1"
    assert await pool.fetchval(attempts, seeded.campaign_id) == 1  # the call in flight
    # the accepted emails bounce: webhook_ingest suppresses half of them meanwhile
    await bounce(pool, seeded, [r.email for r in batch.recipients[1:25]])
    async with harness(pool, settings, provider) as h:
        assert await h.pipeline.process(batch) == ""
        await h.accounting.flush()
    counters = await simulator_counters(simulator)
    assert (counters["unique"], counters["duplicates"]) == (49, 49)  # the one call, repeated
    events = await read_events(settings)
    kinds = Counter(e.type.value for e in events)
    assert kinds == {"sent": 49, "suppressed": 1}
    row = await campaign(pool, seeded.campaign_id)
    assert (row["state"], row["sent"], row["suppressed"]) == ("completed", 49, 1)
    funnel, _ = await funnel_of(events, tmp_path / "chdb", seeded)
    assert (funnel.sent, funnel.suppressed, funnel.failed) == (49, 1, 0)
    # its attempt row is released (only this campaign's: the session shares one database)
    assert await pool.fetchval(attempts, seeded.campaign_id) == 0


async def test_replay_outcome_recorded_but_not_published(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str
) -> None:
    seeded = await seed_campaign(pool, matching=20)
    [batch] = await resolved_batches(pool, seeded)
    provider = SimulatorProvider(simulator, settings.secret("simulator_api_key"))
    async with harness(pool, settings, provider, producer=CrashingProducer()) as crashing:
        with pytest.raises(Killed):
            await crashing.pipeline.process(batch)
    assert await read_events(settings) == []
    await bounce(pool, seeded, [r.email for r in batch.recipients])
    async with harness(pool, settings, provider) as h:
        assert await h.pipeline.process(batch) == ""
        await h.accounting.flush()
    counters = await simulator_counters(simulator)
    assert (counters["calls"], counters["unique"], counters["duplicates"]) == (1, 20, 0)
    events = await read_events(settings)
    assert sorted(e.type.value for e in events) == ["sent"] * 20
    assert all(e.provider_message_id.startswith("sim-") for e in events)
    assert (await campaign(pool, seeded.campaign_id))["sent"] == 20
