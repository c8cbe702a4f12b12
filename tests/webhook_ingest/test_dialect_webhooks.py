"""The simulator's dialect webhooks verified and recorded by a served webhook_ingest.

Each adapter sends through its dialect; the simulator posts the outcomes in that
provider's webhook format and signature (SendGrid's ECDSA, Mailgun's HMAC,
Postmark's basic auth, SNS-signed SES notifications whose certificate webhook_ingest
fetches from the simulator, the simulator's own HMAC for SMTP), and every
outcome comes out of webhook_ingest attributed to its campaign and lead.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from services.esp_simulator.dialects.keys import SnsSigner
from services.esp_simulator.dialects.ses_events import SesFormat
from services.esp_simulator.events import AcceptedMessage, OutcomeEvent
from services.esp_simulator.protocol import MessageMetadata
from services.esp_simulator.testing import serving
from services.sender.providers.base import Outcome, OutgoingEmail, SendRequest
from services.webhook_ingest.main import create_app
from shared.contracts.base import decode
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.dialects import ADAPTER_NAMES, ingest_values, running_dialects
from tests.ports import free_port
from tests.shared.kafka_helpers import read_until
from tests.webhook_ingest.conftest import Ids, Ingest, service_settings
from tests.webhook_ingest.keys import TOPIC_ARN, TestKeys

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
LEADS = 30
KNOBS = {
    "hard_bounce_rate": 0.2,
    "soft_bounce_rate": 0.1,
    "complaint_rate": 0.2,
    "open_rate": 0.5,
    "click_rate": 0.5,
    "seed": 5,
    "webhook_flush_ms": 20,
}


def _request(account: uuid.UUID) -> SendRequest:
    emails = [
        OutgoingEmail(
            uuid.uuid4(),
            f"lead{n}-{uuid.uuid4().hex[:6]}@example.com",
            f"Hello {n}",
            f"<p>Hello {n}</p>",
            f"Hello {n}",
            f"<{uuid.uuid4().hex}.{n}@fanout.test>",
        )
        for n in range(LEADS)
    ]
    return SendRequest(account, uuid.uuid4(), "news@acme.example", "Acme", None, emails)


async def _emitted(common: CommonSettings, expected: int) -> list[EmailEvent]:
    """The events on the test's `email.events`, read until `expected` arrived."""
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)

    def events(values: list[bytes]) -> list[EmailEvent]:
        return [e for value in values for e in decode(EventBatch, value).events]

    values = await read_until(
        common.kafka_bootstrap_servers, topic, lambda v: len(events(v)) >= expected, 5000
    )
    return events(values)


async def _settled(sim_url: str, timeout_s: float = 30) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim_url) as client:
        for _ in range(int(timeout_s * 10)):
            counters = (await client.get("/v1/counters")).json()
            hooks = counters["webhooks"]
            if hooks["events_sent"] and not hooks["events_pending"]:
                return dict(counters)
            await asyncio.sleep(0.1)
    raise AssertionError(f"webhooks not delivered: {counters['webhooks']}")


@pytest.mark.parametrize("name", ADAPTER_NAMES)
async def test_dialect_webhooks_verified_and_attributed(
    settings: CommonSettings, pool: asyncpg.Pool, keys: TestKeys, account: uuid.UUID, name: str
) -> None:
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    service = service_settings(settings, keys, **ingest_values(sim_url))
    request = _request(account)
    async with serving(create_app(service)) as ingest_url:
        hooks = f"{ingest_url}/webhooks/simulator"
        async with running_dialects(settings, sim_port, webhook_url=hooks, **KNOBS) as sim:
            adapter = sim.adapter(name)
            try:
                results = await adapter.send_batch(request)
            finally:
                await adapter.aclose()
            assert [r.outcome for r in results] == [Outcome.ACCEPTED] * LEADS
            counters = await _settled(sim.url)
    assert counters["webhooks"]["failed_attempts"] == 0  # every signature verified
    outcomes = counters["outcomes"]
    events = await _emitted(settings, counters["webhooks"]["events_sent"])
    events = [e for e in events if e.campaign_id == request.campaign_id]
    assert len(events) == counters["webhooks"]["events_sent"]
    assert {e.lead_id for e in events} <= {e.lead_id for e in request.emails}
    assert {e.account_id for e in events} == {account}
    by_lead = {e.lead_id: e.to for e in request.emails}
    assert all(by_lead[e.lead_id] == e.email for e in events)
    count = {t: sum(e.type is t for e in events) for t in EventType}
    assert count[EventType.DELIVERED] == outcomes["delivered"]
    assert count[EventType.BOUNCED] == outcomes["bounced_hard"] + outcomes["bounced_soft"]
    hard = sum(e.bounce_type == "hard" for e in events)
    assert hard == outcomes["bounced_hard"] > 0
    assert count[EventType.COMPLAINED] == outcomes["complained"] > 0
    assert count[EventType.OPENED] == outcomes["opened"]
    assert count[EventType.CLICKED] == outcomes["clicked"]


def test_trusted_certificate_url_refused_in_production(
    settings: CommonSettings, keys: TestKeys
) -> None:
    production = settings.model_copy(update={"environment": "production"})
    with pytest.raises(ValidationError, match="refused in production"):
        service_settings(production, keys, sns_trusted_cert_url="http://127.0.0.1:1/cert.pem")


async def test_simulator_certificate_untrusted_by_default(ingest: Ingest, ids: Ids) -> None:
    signer = SnsSigner()
    url = "http://127.0.0.1:8705/ses/sns-certificate.pem"
    sns = SesFormat(signer, TOPIC_ARN, url)
    message = AcceptedMessage(
        "<a.1@fanout.test>",
        "sim-1",
        "ada@example.com",
        MessageMetadata.model_validate(ids.metadata()),
        "ses",
    )
    body, headers = sns.notification(OutcomeEvent(uuid.uuid4(), "delivered", message, 1e9))
    response = await ingest.client.post("/webhooks/ses", content=body, headers=headers)
    assert response.status_code == 401
    assert ingest.fetched == []  # nothing fetched from a host that is not Amazon's
