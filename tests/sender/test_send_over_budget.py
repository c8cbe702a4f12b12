"""A template over its render budget fails its own emails; other campaigns keep sending.

The failing campaign does not complete quietly: past the render-failure threshold
the sender pauses it with the reason (services/sender/render_guard.py).
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.settings import CommonSettings
from tests.send_path import (
    StartService,
    campaign,
    publish_command,
    read_events,
    seed_campaign,
    set_template_part,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

# Saves (the source shows no sizes) but runs 1,440,000 iterations for a lead named "Ada".
LOOPS = "{% for a in first_name * 400 %}{% for b in first_name * 400 %}{% endfor %}{% endfor %}"


async def test_send_campaign_over_budget_fails_its_emails_while_others_send(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    hostile = await seed_campaign(pool, matching=30)
    await set_template_part(pool, hostile.campaign_id, "html_body", LOOPS)
    normal = await seed_campaign(pool, matching=2_000)
    start("sender")
    start("lead_resolver")
    await publish_command(settings, hostile)
    await publish_command(settings, normal)
    row = await wait_for(pool, normal.campaign_id, {"completed", "failed"}, timeout=120)
    assert (row["state"], row["sent"], row["failed"]) == ("completed", 2_000, 0)
    row = await wait_for(pool, hostile.campaign_id, {"paused", "completed", "failed"}, timeout=120)
    assert row["state"] == "paused"
    assert "the template failed for 30 of 30 recipients" in row["state_reason"]
    while row["failed"] < 30:  # the counters follow within a flush
        await asyncio.sleep(0.1)
        row = await campaign(pool, hostile.campaign_id)
    assert (row["sent"], row["failed"]) == (0, 30)
    reasons = {
        e.reason for e in await read_events(settings) if e.campaign_id == hostile.campaign_id
    }
    # whichever limit a render meets first on a busy machine: one readable reason each
    assert reasons <= {
        "template html_body line 1: more than 100,000 loop iterations and calls",
        "template html_body line 1: rendering took more than 0.1 s of CPU time",
    }
