"""Only listed providers have a webhook route; a forgery signed with a public default fails.

The finding this guards against: the simulator's route was always mounted and its
secret defaulted to a constant in the repository, so anyone could post a signed
`complained` event for any account and suppress the address.
"""

from __future__ import annotations

import time
import uuid

import asyncpg
import orjson
import pytest

from services.webhook_ingest.config import Settings
from shared.settings import CommonSettings
from tests.webhook_ingest.conftest import Ids, Ingest, running, service_settings
from tests.webhook_ingest.keys import TestKeys, sign_simulator

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
OLD_DEFAULT = "dev-only-insecure-secret-change-me"  # the secret's default until issue 11


def _complaint(ids: Ids) -> bytes:
    event = {
        "id": str(uuid.uuid4()),
        "type": "complained",
        "message_id": f"<{ids.lead_id}@fanout.local>",
        "provider_message_id": "sim-forged",
        "recipient": "victim@example.com",
        "occurred_at": "2026-11-23T09:00:01Z",
        "bounce_type": None,
        "reason": "",
        "metadata": ids.metadata(),
    }
    return orjson.dumps({"events": [event]})


def test_settings_list_no_provider_by_default(base_settings: CommonSettings) -> None:
    settings = Settings(common=base_settings)
    assert settings.providers == []
    assert "simulator_webhook_secret" not in settings.required_secrets()


@pytest.mark.parametrize("providers", [[], ["ses", "postmark"]], ids=["none", "real-only"])
async def test_post_simulator_webhook_not_listed_is_absent(
    settings: CommonSettings, pool: asyncpg.Pool, keys: TestKeys, ids: Ids, providers: list[str]
) -> None:
    service = service_settings(settings, keys, providers=providers)
    body = _complaint(ids)
    headers = sign_simulator(settings.secret("simulator_webhook_secret"), int(time.time()), body)
    async with running(service, pool, keys) as ingest:
        response = await ingest.client.post("/webhooks/simulator", content=body, headers=headers)
        paths = ingest.app.openapi()["paths"]
        assert response.status_code == 404
        assert ("/webhooks/{provider}" in paths) == bool(providers)
        assert await ingest.suppressed(ids.account_id) == {}


async def test_post_simulator_webhook_signed_with_old_default_refused(
    ingest: Ingest, ids: Ids
) -> None:
    body = _complaint(ids)
    forged = sign_simulator(OLD_DEFAULT, int(time.time()), body)
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=forged)
    assert response.status_code == 401
    assert await ingest.suppressed(ids.account_id) == {}
    assert await ingest.records_on_topic() == 0
    genuine = sign_simulator(ingest.secret, int(time.time()), body)  # the stack's own secret
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=genuine)
    assert response.status_code == 200, response.text
    assert await ingest.suppressed(ids.account_id) == {"victim@example.com": "complaint"}
