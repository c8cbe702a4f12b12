"""The real ESP simulator posting signed webhooks to a served webhook_ingest."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from services.esp_simulator.testing import posting_webhooks, running_simulator, serving
from services.webhook_ingest.main import create_app
from shared.contracts.events import EventType
from tests.webhook_ingest.conftest import Ingest

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
LEADS = 40


async def _wait_delivered(client: httpx.AsyncClient, timeout_s: float = 20) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        counters = (await client.get("/v1/counters")).json()
        hooks = counters["webhooks"]
        if hooks["events_sent"] and not hooks["events_pending"]:
            return dict(hooks)
        assert asyncio.get_running_loop().time() < deadline, f"webhooks stuck: {hooks}"
        await asyncio.sleep(0.1)


async def test_simulator_webhooks_recorded_and_suppressed(
    ingest: Ingest, account: uuid.UUID
) -> None:
    campaign = uuid.uuid4()
    api_key = ingest.settings.common.secret("simulator_api_key")
    async with serving(create_app(ingest.settings)) as ingest_url:
        simulator = posting_webhooks(
            f"{ingest_url}/webhooks/simulator",
            common=ingest.settings.common,
            hard_bounce_rate=0.3,
            complaint_rate=0.3,
            open_rate=0.5,
        )
        async with (
            running_simulator(simulator) as sim_url,
            httpx.AsyncClient(
                base_url=sim_url, headers={"Authorization": f"Bearer {api_key}"}
            ) as client,
        ):
            messages = [
                {
                    "message_id": f"<{campaign}.{n}@fanout.test>",
                    "to": f"lead{n}@example.com",
                    "subject": "Hello",
                    "text": "Hello",
                    "metadata": {
                        "account_id": str(account),
                        "campaign_id": str(campaign),
                        "lead_id": str(uuid.uuid5(campaign, str(n))),
                    },
                }
                for n in range(LEADS)
            ]
            response = await client.post(
                "/v1/messages/bulk", json={"from": "news@acme.example", "messages": messages}
            )
            assert response.status_code == 200, response.text
            hooks = await _wait_delivered(client)
            outcomes = (await client.get("/v1/counters")).json()["outcomes"]
    events = await ingest.emitted(hooks["events_sent"])
    assert len(events) == hooks["events_sent"]
    assert hooks["failed_attempts"] == 0
    by_type = {t: sum(e.type == t for e in events) for t in EventType}
    assert by_type[EventType.DELIVERED] == outcomes["delivered"]
    assert by_type[EventType.COMPLAINED] == outcomes["complained"]
    assert by_type[EventType.BOUNCED] == outcomes["bounced_hard"] > 0
    suppressed = await ingest.suppressed(account)
    assert len(suppressed) == outcomes["bounced_hard"] + outcomes["complained"]
    assert {e.email for e in events if e.type == EventType.BOUNCED} == {
        email for email, reason in suppressed.items() if reason == "hard_bounce"
    }
