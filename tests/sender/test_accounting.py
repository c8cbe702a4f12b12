"""The counting flush: every recorded batch counted once, the campaign's counters always the
sums over its counted rows (what completion and the resolver's window read), after a crash
between recording and counting and with two instances counting the same batch."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest

from services.sender.providers.simulator import SimulatorProvider
from shared.settings import CommonSettings
from tests.send_path import campaign, seed_campaign, simulator_counters
from tests.sender.harness import CrashingProducer, Killed, harness, resolved_batches

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

LEDGER = """
SELECT count(*) FILTER (WHERE counted) AS counted,
       count(*) FILTER (WHERE NOT counted) AS not_counted,
       coalesce(sum(sent) FILTER (WHERE counted), 0) AS sent,
       coalesce(sum(failed + suppressed + cancelled) FILTER (WHERE counted), 0) AS others
FROM send_batch_outcomes WHERE campaign_id = $1
"""


async def reconciled(pool: asyncpg.Pool, campaign_id: UUID) -> dict[str, Any]:
    """The campaign row, once checked against its ledger rows."""
    row = await campaign(pool, campaign_id)
    rows = await pool.fetchrow(LEDGER, campaign_id)
    assert rows is not None
    assert row["batches_counted"] == rows["counted"]
    assert row["sent"] == rows["sent"]
    assert row["failed"] + row["suppressed"] + row["cancelled"] == rows["others"]
    return {**row, "not_counted": rows["not_counted"]}


async def test_flush_counts_every_batch_once_across_a_crash_and_two_instances(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str
) -> None:
    seeded = await seed_campaign(pool, matching=150)
    first, second, third = await resolved_batches(pool, seeded)
    cid = seeded.campaign_id
    provider = SimulatorProvider(simulator, settings.secret("simulator_api_key"))
    async with harness(pool, settings, provider, producer=CrashingProducer()) as crashing:
        with pytest.raises(Killed):  # recorded, then the process died before publishing
            await crashing.pipeline.process(first)
    row = await reconciled(pool, cid)
    assert (row["sent"], row["batches_counted"], row["not_counted"]) == (0, 0, 1)
    async with harness(pool, settings, provider) as a, harness(pool, settings, provider) as b:
        for batch in (first, second):  # the restarted instance: a replay, then a new batch
            assert await a.pipeline.process(batch) == ""
        for batch in (second, third):  # another instance got batch 1 again (a rebalance)
            assert await b.pipeline.process(batch) == ""
        await a.accounting.flush()
        row = await reconciled(pool, cid)
        assert (row["sent"], row["batches_counted"], row["state"]) == (100, 2, "sending")
        await b.accounting.flush()  # batch 1 is counted already: only batch 2 adds
        assert await a.pipeline.process(second) == ""  # redelivered once counted: nothing
        await a.accounting.flush()
    row = await reconciled(pool, cid)
    assert (row["sent"], row["batches_counted"], row["not_counted"]) == (150, 3, 0)
    assert row["state"] == "completed"
    counters = await simulator_counters(simulator)
    assert (counters["calls"], counters["unique"], counters["duplicates"]) == (3, 150, 0)
