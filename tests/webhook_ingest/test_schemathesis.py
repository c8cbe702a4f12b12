"""Schemathesis against webhook_ingest's OpenAPI schema, served by uvicorn: no 5xx.

The app of the `ingest` fixture (real Postgres, real Kafka on a topic of its own, test
credentials for every provider) is served as is. Most generated webhooks fail their
signature check (401; the schema declares no webhook bodies, so schemathesis sends none);
the provider is also pinned to Postmark, whose HTTP Basic credentials every request
carries, and the unsubscribe routes are also driven with a real signed token
(`tests/fuzz.py`).
"""

from __future__ import annotations

import pytest

from shared.unsubscribe import UnsubscribeClaim, make_token
from tests.fuzz import fuzz, serving
from tests.webhook_ingest.conftest import POSTMARK_PASSWORD, POSTMARK_USER, Ids, Ingest
from tests.webhook_ingest.keys import basic_auth

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

SKIPPED = {"/readyz"}  # asks the broker each time; readiness has tests of its own


async def test_schemathesis_finds_no_server_error(ingest: Ingest, ids: Ids) -> None:
    await ingest.pool.execute(
        "INSERT INTO leads (id, account_id, email) VALUES ($1, $2, 'fuzz@example.com')",
        ids.lead_id,
        ids.account_id,
    )
    claim = UnsubscribeClaim(ids.account_id, ids.campaign_id, ids.lead_id, "fuzz@example.com")
    pinned = {"token": make_token(ingest.secret, claim), "provider": "postmark"}
    async with serving(ingest.app, lifespan=False) as base_url:
        headers = basic_auth(POSTMARK_USER, POSTMARK_PASSWORD)
        run = await fuzz(base_url, headers, pinned=pinned, skipped=SKIPPED)
    assert run.failures == []
    assert run.sent > 60
    assert run.count(200) > 0  # the real token reached the unsubscribe handler
    assert run.count(400, 401) > 20  # unsigned or empty webhooks were refused, not crashed on
