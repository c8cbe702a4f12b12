"""Campaigns through every provider dialect at once: one lead_resolver and one sender
process, the simulator speaking each provider's dialect, webhook_ingest verifying each
provider's webhooks.

One campaign per provider, all in flight together through the same processes, so a
webhook credited to the wrong campaign (or an adapter's ids crossing to another
campaign's) shows as a lead outside that campaign. Every matched lead ends with one
terminal outcome (or excluded with its reason), and every webhook event comes back
attributed to its campaign and to a lead that campaign sent to. Two thousand leads per
campaign (ten thousand in all) fill forty batches of 50 each and give every outcome type
events.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest

from fanout_cli.stack.esp_dialects import ingest_env, sender_env
from shared.contracts import EmailEvent, EventType
from shared.settings import CommonSettings
from tests.dialects import ADAPTER_NAMES, CREDS, running_dialects
from tests.ports import free_port
from tests.send_path import (
    Seeded,
    StartService,
    assert_exactly_one_outcome,
    publish_command,
    read_events,
    seed_campaign,
    wait_for,
)
from tests.waiting import wait_healthy

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
LEADS = 2_000  # per campaign: forty batches of 50 (issue 13: "a few thousand leads")
OUTCOMES = {EventType.SENT, EventType.FAILED, EventType.SUPPRESSED, EventType.CANCELLED}
KNOBS = {
    "hard_bounce_rate": 0.03,
    "soft_bounce_rate": 0.02,
    "complaint_rate": 0.01,
    "open_rate": 0.3,
    "click_rate": 0.2,
    "seed": 9,
    "webhook_flush_ms": 50,
}


async def _settled(sim_url: str, timeout_s: float = 120) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim_url) as client:
        for _ in range(int(timeout_s * 5)):
            counters = dict((await client.get("/v1/counters")).json())
            if not counters["webhooks"]["events_pending"]:
                return counters
            await asyncio.sleep(0.2)
    raise AssertionError(f"webhooks still pending: {counters['webhooks']}")


def _is_webhook(event: EmailEvent) -> bool:
    return event.type not in OUTCOMES and event.type is not EventType.EXCLUDED


def _assert_campaign(events: list[EmailEvent], seeded: Seeded, provider: str) -> None:
    """One outcome per lead, sent through `provider`; its webhooks about its own leads."""
    mine = [e for e in events if e.campaign_id == seeded.campaign_id]
    assert_exactly_one_outcome([e for e in mine if not _is_webhook(e)], seeded)
    assert {e.provider for e in mine if e.type is EventType.SENT} == {provider}
    webhook = [e for e in mine if _is_webhook(e)]
    assert {e.lead_id for e in webhook} <= seeded.matching, provider
    assert {e.account_id for e in webhook} == {seeded.account_id}, provider
    kinds = Counter(e.type for e in webhook)
    assert kinds[EventType.DELIVERED] > 0 and kinds[EventType.BOUNCED] > 0, (provider, kinds)


async def test_campaigns_through_every_dialect_one_outcome_per_lead_events_attributed(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService
) -> None:
    campaigns = {
        name: await seed_campaign(pool, matching=LEADS, suppressed=5, invalid=2, provider=name)
        for name in ADAPTER_NAMES
    }
    sim_port, ingest_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    # webhook_ingest in a process of its own: the simulator, in this one, posts to it
    ingest = start(
        "webhook_ingest",
        FANOUT_WEBHOOK_INGEST_PORT=str(ingest_port),
        FANOUT_WEBHOOK_INGEST_DB_POOL_SIZE="4",
        **ingest_env(CREDS, sim_url),
    )
    hooks = f"http://127.0.0.1:{ingest_port}/webhooks/simulator"
    async with running_dialects(settings, sim_port, webhook_url=hooks, **KNOBS) as sim:
        await wait_healthy(f"http://127.0.0.1:{ingest_port}", details=ingest.log_tail)
        adapters = sender_env(CREDS, sim.url, sim.smtp_port)
        adapters["FANOUT_SENDER_RATE_BUDGETS"] = json.dumps(dict.fromkeys(ADAPTER_NAMES, 0))
        sender = start("sender", **adapters)
        resolver = start("lead_resolver")
        for seeded in campaigns.values():
            await publish_command(settings, seeded)
        for seeded in campaigns.values():
            row = await wait_for(pool, seeded.campaign_id, {"completed", "failed", "paused"}, 240)
            assert row["state"] == "completed", sender.log_tail()
            assert (row["sent"], row["failed"]) == (LEADS, 0)
        counters = await _settled(sim.url)
        # stopped while the in-process simulator still answers (the sender QUITs its
        # SMTP connections), from a thread so this event loop keeps serving it
        for process in (resolver, sender, ingest):
            await asyncio.to_thread(process.stop)
            assert process.process is not None and process.process.returncode == 0
    assert counters["unique"] == LEADS * len(campaigns)
    assert counters["webhooks"]["failed_attempts"] == 0
    events = await read_events(settings)
    for name, seeded in campaigns.items():
        _assert_campaign(events, seeded, name)
    ours = {seeded.campaign_id for seeded in campaigns.values()}
    webhook = [e for e in events if e.campaign_id in ours and _is_webhook(e)]
    expected = counters["outcomes"]
    bounced = sum(e.type is EventType.BOUNCED for e in webhook)
    assert bounced == expected["bounced_hard"] + expected["bounced_soft"]
    assert sum(e.type is EventType.DELIVERED for e in webhook) == expected["delivered"]
    assert sum(e.type is EventType.COMPLAINED for e in webhook) == expected["complained"]
    assert len(webhook) == counters["webhooks"]["events_sent"]
