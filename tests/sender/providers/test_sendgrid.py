"""The SendGrid adapter: requests against SendGrid's OpenAPI description, answers classified.

SendGrid is third-party: its answers come from an httpx.MockTransport serving the
documented response shapes (the one allowed mock).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import SecretStr
from referencing import Registry, Resource

from services.sender.providers.base import Outcome, ProviderRetryable
from services.sender.providers.errors import ProviderRequestError
from services.sender.providers.sendgrid import SendGridConfig, SendGridProvider
from services.sender.providers.sendgrid_content import SUBSTITUTIONS_MAX_BYTES
from tests.sender.providers.emails import (
    api_file,
    outgoing,
    send_request,
    send_with,
)

OPENAPI = api_file("sendgrid/mail-send.openapi.json")
REGISTRY = Registry().with_resource("urn:sendgrid-mail", Resource.opaque(OPENAPI))
CONFIG = SendGridConfig(api_key=SecretStr("SG.test-key"), base_url="https://api.sendgrid.test")


def _validator(pointer: str) -> Draft202012Validator:
    schema = {"$ref": f"urn:sendgrid-mail#{pointer}"}
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=FormatChecker())


REQUEST = _validator("/components/requestBodies/PostMailSend/content/application~1json/schema")
ERRORS = _validator("/components/schemas/ErrorResponse")


def documented_error(status: int) -> dict[str, Any]:
    """The example body SendGrid documents for a Mail Send answer of `status`."""
    content = OPENAPI["components"]["responses"][f"PostMailSend{status}"]["content"]
    examples = content["application/json"]["examples"]
    body: dict[str, Any] = next(iter(examples.values()))["value"]
    return body


def _accepted(_: httpx.Request) -> httpx.Response:
    return httpx.Response(202, headers={"X-Message-Id": "sg-call-1"})


_send = partial(send_with, partial(SendGridProvider, CONFIG))


def _substituted(value: str, substitutions: dict[str, str]) -> str:
    for tag, text in substitutions.items():
        value = value.replace(tag, text)
    return value


async def test_send_batch_body_validates_against_openapi() -> None:
    captured: list[httpx.Request] = []
    request = send_request(3)
    await _send(_accepted, request, captured)
    (sent,) = captured
    body = json.loads(sent.content)
    REQUEST.validate(body)
    assert (sent.method, str(sent.url)) == ("POST", "https://api.sendgrid.test/v3/mail/send")
    assert sent.headers["Authorization"] == "Bearer SG.test-key"
    assert body["from"] == {"email": "news@acme.example", "name": "Acme News"}
    assert body["reply_to"] == {"email": "support@acme.example"}
    content = {part["type"]: part["value"] for part in body["content"]}
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    for email, personalization in zip(request.emails, body["personalizations"], strict=True):
        assert personalization["to"] == [{"email": email.to}]
        assert personalization["subject"] == email.subject
        subs = personalization["substitutions"]
        assert _substituted(content["text/html"], subs) == email.html
        assert _substituted(content["text/plain"], subs) == email.text
        assert personalization["headers"] == {**email.headers, "Message-ID": email.message_id}
        assert personalization["custom_args"] == {
            "account_id": str(request.account_id),
            "campaign_id": str(request.campaign_id),
            "lead_id": str(email.lead_id),
        }


async def test_send_batch_accepted_every_email() -> None:
    results = await _send(_accepted)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert {r.provider_message_id for r in results} == {"sg-call-1"}


async def test_send_batch_oversized_body_sent_alone_with_its_content() -> None:
    big = outgoing(9, html="<p>" + "x" * SUBSTITUTIONS_MAX_BYTES + "</p>")
    request = send_request(2)
    request.emails.append(big)
    captured: list[httpx.Request] = []
    results = await _send(_accepted, request, captured)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    batch, alone = (json.loads(r.content) for r in captured)
    REQUEST.validate(alone)
    assert len(batch["personalizations"]) == 2
    assert "substitutions" not in alone["personalizations"][0]
    assert {p["type"]: p["value"] for p in alone["content"]}["text/html"] == big.html


async def test_send_batch_oversized_call_throttled_others_kept() -> None:
    request = send_request(2)
    request.emails.append(outgoing(9, html="y" * (SUBSTITUTIONS_MAX_BYTES + 1)))

    def handler(request: httpx.Request) -> httpx.Response:
        if len(json.loads(request.content)["personalizations"]) == 1:
            return httpx.Response(429, json={"errors": [{"message": "too many requests"}]})
        return _accepted(request)

    results = await _send(handler, request)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.RETRY]


async def test_send_batch_invalid_recipient_rejected_others_retried() -> None:
    answer = {
        "errors": [
            {
                "message": "Does not contain a valid address.",
                "field": "personalizations.1.to.0.email",
            }
        ]
    }
    ERRORS.validate(answer)
    results = await _send(lambda _: httpx.Response(400, json=answer))
    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.REJECTED, Outcome.RETRY]
    assert "valid address" in results[1].reason


async def test_send_batch_bad_request_not_retryable() -> None:
    answer = documented_error(400)
    ERRORS.validate(answer)
    with pytest.raises(ProviderRequestError) as caught:
        await _send(lambda _: httpx.Response(400, json=answer))
    assert caught.value.status_code == 400


@pytest.mark.parametrize("status", [401, 403])
async def test_send_batch_refused_credentials_stop(status: int) -> None:
    answer = documented_error(status)
    ERRORS.validate(answer)
    with pytest.raises(ProviderRequestError) as caught:
        await _send(lambda _: httpx.Response(status, json=answer))
    assert caught.value.status_code == status  # the delivery step pauses on 401/403
    assert "SG.test-key" not in str(caught.value)


async def test_send_batch_throttled_retry_after() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": []})

    with pytest.raises(ProviderRetryable) as caught:
        await _send(handler)
    assert caught.value.retry_after == 7.0


async def test_send_batch_throttled_rate_limit_reset() -> None:
    reset = str(int(time.time()) + 30)

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"X-RateLimit-Reset": reset}, json={"errors": []})

    with pytest.raises(ProviderRetryable) as caught:
        await _send(handler)
    assert caught.value.retry_after is not None and 25 <= caught.value.retry_after <= 30


async def test_send_batch_throttled_without_delay() -> None:
    with pytest.raises(ProviderRetryable) as caught:
        await _send(lambda _: httpx.Response(429, json={"errors": []}))
    assert caught.value.retry_after is None


async def test_send_batch_server_error_retryable() -> None:
    answer = documented_error(500)
    ERRORS.validate(answer)
    with pytest.raises(ProviderRetryable, match="internal server error"):
        await _send(lambda _: httpx.Response(500, json=answer))


async def test_send_batch_timeout_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ProviderRetryable, match="timeout"):
        await _send(handler)
