"""A campaign through each provider dialect: lead_resolver and sender processes, the
simulator speaking the provider's dialect, webhook_ingest verifying its webhooks.

Every matched lead ends with one terminal outcome (or excluded with its reason), and
every webhook event comes back attributed to the campaign and to a lead it sent to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from fanout_cli.stack.esp_dialects import sender_env
from services.esp_simulator.testing import serving
from services.webhook_ingest.config import Settings as IngestSettings
from services.webhook_ingest.main import create_app
from shared.contracts import EventType
from shared.settings import CommonSettings
from tests.dialects import ADAPTER_NAMES, CREDS, ingest_values, running_dialects
from tests.send_path import (
    Service,
    assert_exactly_one_outcome,
    free_port,
    publish_command,
    read_events,
    seed_campaign,
    service_env,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
LEADS = 2_000
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


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Service]]:
    """Processes the test starts; all stopped at its end."""
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


async def _settled(sim_url: str, timeout_s: float = 120) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim_url) as client:
        for _ in range(int(timeout_s * 5)):
            counters = dict((await client.get("/v1/counters")).json())
            if not counters["webhooks"]["events_pending"]:
                return counters
            await asyncio.sleep(0.2)
    raise AssertionError(f"webhooks still pending: {counters['webhooks']}")


@pytest.mark.parametrize("name", ADAPTER_NAMES)
async def test_campaign_through_dialect_one_outcome_per_lead_events_attributed(
    pool: asyncpg.Pool,
    settings: CommonSettings,
    tmp_path: Path,
    processes: list[Service],
    name: str,
) -> None:
    seeded = await seed_campaign(pool, matching=LEADS, non_matching=50, suppressed=30, invalid=10)
    await pool.execute("UPDATE campaigns SET provider = $2 WHERE id = $1", seeded.campaign_id, name)
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    ingest = IngestSettings(common=settings, db_pool_size=4, **ingest_values(sim_url))
    async with serving(create_app(ingest)) as ingest_url:
        hooks = f"{ingest_url}/webhooks/simulator"
        async with running_dialects(settings, sim_port, webhook_url=hooks, **KNOBS) as sim:
            adapters = sender_env(CREDS, sim.url, sim.smtp_port)
            adapters["FANOUT_SENDER_RATE_BUDGETS"] = f'{{"{name}": 0}}'  # unlimited
            env = service_env(settings, **adapters)
            for service in ("sender", "lead_resolver"):
                processes.append(Service(service, env, tmp_path).start())
            await publish_command(settings, seeded)
            row = await wait_for(pool, seeded.campaign_id, {"completed", "failed", "paused"}, 240)
            assert row["state"] == "completed", processes[0].log_tail()
            counters = await _settled(sim.url)
    assert (row["sent"], row["failed"]) == (LEADS, 0)
    assert counters["unique"] == LEADS and counters["webhooks"]["failed_attempts"] == 0
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    outcomes = [e for e in events if e.type in OUTCOMES or e.type is EventType.EXCLUDED]
    assert_exactly_one_outcome(outcomes, seeded)
    assert {e.provider for e in events if e.type is EventType.SENT} == {name}
    webhook = [e for e in events if e.type not in OUTCOMES and e.type is not EventType.EXCLUDED]
    assert {e.lead_id for e in webhook} <= seeded.matching
    assert {e.account_id for e in webhook} == {seeded.account_id}
    expected = counters["outcomes"]
    bounced = sum(e.type is EventType.BOUNCED for e in webhook)
    assert bounced == expected["bounced_hard"] + expected["bounced_soft"] > 0
    assert sum(e.type is EventType.DELIVERED for e in webhook) == expected["delivered"]
    assert sum(e.type is EventType.COMPLAINED for e in webhook) == expected["complained"]
    assert len(webhook) == counters["webhooks"]["events_sent"]
