"""Render failures past the threshold pause the campaign with a readable reason."""

from __future__ import annotations

from uuid import uuid4

import asyncpg
import pytest

from services.sender.providers.simulator import SimulatorProvider
from services.sender.render_guard import RenderGuard
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.settings import CommonSettings
from tests.send_path import campaign, read_events, seed_campaign, simulator_counters
from tests.sender.harness import harness, resolved_batches


def test_guard_pauses_only_past_the_share_of_enough_recipients() -> None:
    guard = RenderGuard(0.1, 20)
    campaign_id = uuid4()
    assert guard.observe(campaign_id, 10, ["render: a"] * 5) == ""  # too few rendered yet
    assert guard.observe(campaign_id, 90, []) == ""  # 5 of 100: not more than 10 %
    reason = guard.observe(campaign_id, 10, ["render: b"] * 7)  # 12 of 110
    assert reason.startswith("paused: the template failed for 12 of 110 recipients")
    assert reason.endswith("first failure: render: a")
    assert guard.observe(campaign_id, 1, ["render: c"]) == ""  # counts start again


@pytest.mark.kafka
@pytest.mark.postgres
async def test_pause_campaign_whose_template_fails_for_most_recipients(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str
) -> None:
    seeded = await seed_campaign(pool, matching=60)
    await pool.execute(
        "UPDATE templates SET subject = 'Bill', html_body = '', "
        "text_body = 'You owe {{ 100 // attributes.parts }}' "
        "WHERE id = (SELECT template_id FROM campaigns WHERE id = $1)",
        seeded.campaign_id,
    )
    first, second = await resolved_batches(pool, seeded)

    def with_parts(batch: FastSendBatch, parts: int) -> FastSendBatch:
        recipients = [
            FastRecipient(
                lead_id=r.lead_id, email=r.email, merge_vars={"attributes": {"parts": parts}}
            )
            for r in batch.recipients
        ]
        return batch.with_recipients(recipients)

    provider = SimulatorProvider(simulator, settings.secret("simulator_api_key"))
    async with harness(pool, settings, provider, guard=RenderGuard(0.1, 20)) as h:
        assert await h.pipeline.process(with_parts(first, 0)) == ""  # 50 of 50 fail
        paused = await campaign(pool, seeded.campaign_id)
        assert paused["state"] == "paused"
        assert "the template failed for 50 of 50 recipients" in paused["state_reason"]
        assert "integer division or modulo by zero" in paused["state_reason"]
        assert await h.pipeline.process(with_parts(second, 4)) == ""  # held back, not sent
        await h.accounting.flush()
    assert (await simulator_counters(simulator))["calls"] == 0
    parked = await pool.fetchval(
        "SELECT jsonb_array_length(recipients) FROM send_batch_deferrals WHERE campaign_id = $1",
        seeded.campaign_id,
    )
    assert parked == 10
    row = await campaign(pool, seeded.campaign_id)
    assert (row["state"], row["failed"], row["sent"]) == ("paused", 50, 0)
    assert len(await read_events(settings)) == 50
