"""Webhooks of an account's provider configuration (issue 13): `POST /webhooks/{kind}/{id}`
verified with the configuration's own key, the stack's key when it names none, only its
account's events recorded, and an unknown or foreign-kind id a 404."""

from __future__ import annotations

import time
import uuid

import pytest

from tests import factories
from tests.webhook_ingest.conftest import Ids, Ingest, simulator_post
from tests.webhook_ingest.keys import sign_simulator

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

OWN_SECRET = "the configuration's own webhook secret " + uuid.uuid4().hex


async def _post(ingest: Ingest, path: str, body: bytes, secret: str) -> int:
    headers = sign_simulator(secret, int(time.time()), body)
    response = await ingest.client.post(path, content=body, headers=headers)
    return response.status_code


async def test_configuration_key_verifies_its_webhooks_and_the_stack_key_does_not(
    ingest: Ingest, ids: Ids
) -> None:
    config = await factories.provider_config(
        ingest.pool, ids.account_id, credentials={"webhook_secret": OWN_SECRET}
    )
    path = f"/webhooks/simulator/{config}"
    assert await _post(ingest, path, simulator_post(ids, seed="stack"), ingest.secret) == 401
    assert await _post(ingest, path, simulator_post(ids), OWN_SECRET) == 200
    events = await ingest.emitted(3)
    assert {e.account_id for e in events} == {ids.account_id}


async def test_configuration_without_a_key_uses_the_stack_key(ingest: Ingest, ids: Ids) -> None:
    config = await factories.provider_config(ingest.pool, ids.account_id)
    assert (
        await _post(ingest, f"/webhooks/simulator/{config}", simulator_post(ids), ingest.secret)
        == 200
    )


async def test_events_of_another_account_are_dead_lettered(ingest: Ingest, ids: Ids) -> None:
    other = (await factories.account(ingest.pool, "other")).id
    config = await factories.provider_config(
        ingest.pool, other, credentials={"webhook_secret": OWN_SECRET}
    )
    body = simulator_post(ids)  # ids name the fixture's account, not the configuration's
    response = await ingest.client.post(
        f"/webhooks/simulator/{config}",
        content=body,
        headers=sign_simulator(OWN_SECRET, int(time.time()), body),
    )
    assert response.status_code == 200, response.text
    assert response.json()["emitted"] == 0 and response.json()["dead_lettered"] == 3
    assert await ingest.records_on_topic() == 0


async def test_unknown_or_other_kind_configuration_is_404(ingest: Ingest, ids: Ids) -> None:
    sendgrid = await factories.provider_config(
        ingest.pool, ids.account_id, "sendgrid", credentials={"api_key": "SG.x"}
    )
    for config in (uuid.uuid4(), sendgrid):
        path = f"/webhooks/simulator/{config}"
        assert await _post(ingest, path, simulator_post(ids), ingest.secret) == 404
