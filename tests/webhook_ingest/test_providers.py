"""The provider table behind `POST /webhooks/{provider}`: documented, served, refusing."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from services.webhook_ingest.config import Settings
from services.webhook_ingest.main import create_app
from services.webhook_ingest.providers.mailgun import TokenLedger
from services.webhook_ingest.providers.registry import provider_table
from shared.http.problems import MEDIA_TYPE
from shared.settings import CommonSettings
from tests.webhook_ingest.conftest import MAILGUN_KEY, Ids, Ingest, example
from tests.webhook_ingest.keys import TOPIC_ARN, mailgun_signature
from tests.webhook_ingest.ses_messages import sns_time

PROVIDERS = ["simulator", "ses", "sendgrid", "mailgun", "postmark"]


def test_openapi_documents_every_provider_and_its_headers(base_settings: CommonSettings) -> None:
    settings = Settings(common=base_settings, providers=PROVIDERS)
    operation = create_app(settings).openapi()["paths"]["/webhooks/{provider}"]["post"]
    [path] = [p for p in operation["parameters"] if p["in"] == "path"]
    assert path["schema"]["enum"] == PROVIDERS
    for name, provider in provider_table(settings).items():
        assert f"| `{name}` | {provider.summary} |" in operation["description"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {
        "X-Simulator-Timestamp",
        "X-Simulator-Signature",
        "X-Twilio-Email-Event-Webhook-Signature",
        "X-Twilio-Email-Event-Webhook-Timestamp",
    }
    assert {"400", "401", "403", "404", "413", "503"} <= set(operation["responses"])


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_webhook_unknown_provider_not_found(ingest: Ingest) -> None:
    response = await ingest.client.post("/webhooks/smtp", content=b"{}")
    assert response.status_code == 404
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.json()["detail"] == "no webhook provider is named 'smtp'"


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_post_webhook_unauthenticated_is_a_problem_document(
    ingest: Ingest, provider: str
) -> None:
    unsigned = {
        "sendgrid": [],
        "ses": {"Type": "Notification", "TopicArn": TOPIC_ARN, "Timestamp": sns_time()},
    }.get(provider, {"signature": {}})
    response = await ingest.client.post(f"/webhooks/{provider}", content=orjson.dumps(unsigned))
    assert response.status_code == 401
    assert response.headers["content-type"] == MEDIA_TYPE
    problem = response.json()
    assert (problem["status"], problem["title"]) == (401, "Unauthorized")
    assert await ingest.records_on_topic() == 0


def test_mailgun_token_ledger_refuses_reuse_within_ttl_only() -> None:
    now = [1000.0]
    ledger = TokenLedger(ttl_s=600, size=2, clock=lambda: now[0])
    assert ledger.claim("a")
    assert not ledger.claim("a")
    now[0] += 601
    assert ledger.claim("a")
    ledger.release("a")
    assert ledger.claim("a")


def test_mailgun_token_ledger_is_bounded() -> None:
    ledger = TokenLedger(ttl_s=600, size=2, clock=lambda: 0.0)
    for token in ("a", "b", "c"):
        assert ledger.claim(token)
    assert ledger.claim("a")  # the oldest was forgotten to stay within the bound


def _refusals(provider: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "fanout_webhook_refusals_total", {"provider": provider, "reason": reason}
    )
    return value or 0.0


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_webhook_unauthorized_body_names_no_reason(ingest: Ingest, ids: Ids) -> None:
    payload: dict[str, Any] = example("mailgun/delivered.json")
    payload["event-data"]["user-variables"] = ids.metadata()
    payload["signature"] = mailgun_signature(MAILGUN_KEY, int(time.time()), secrets.token_hex(25))
    body = orjson.dumps(payload)
    before = _refusals("mailgun", "replayed")
    assert (await ingest.client.post("/webhooks/mailgun", content=body)).status_code == 200
    replayed = await ingest.client.post("/webhooks/mailgun", content=body)
    assert replayed.status_code == 401
    assert replayed.json()["detail"] == "mailgun: missing or invalid authentication"
    assert "used" not in replayed.text
    assert _refusals("mailgun", "replayed") == before + 1


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Simulator-Timestamp": "1", "X-Simulator-Signature": "v1=00"}, "stale"),
        ({"X-Simulator-Timestamp": "NOW", "X-Simulator-Signature": "v1=00"}, "mismatch"),
    ],
)
async def test_post_webhook_refusal_reason_only_in_metrics(
    ingest: Ingest, headers: dict[str, str], reason: str
) -> None:
    headers = {k: v.replace("NOW", str(int(time.time()))) for k, v in headers.items()}
    before = _refusals("simulator", reason)
    response = await ingest.client.post(
        "/webhooks/simulator", content=b'{"events": []}', headers=headers
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "simulator: missing or invalid authentication"
    assert _refusals("simulator", reason) == before + 1


@pytest.mark.kafka
@pytest.mark.postgres
async def test_post_webhook_non_ascii_digit_timestamp_unauthorized(ingest: Ingest) -> None:
    headers = {
        b"X-Simulator-Timestamp": "\u00b2".encode("latin-1"),
        b"X-Simulator-Signature": b"v1",
    }
    response = await ingest.client.post(
        "/webhooks/simulator", content=b'{"events": []}', headers=headers
    )
    assert response.status_code == 401  # not a 500: '²' is a digit to str.isdigit, not to int
