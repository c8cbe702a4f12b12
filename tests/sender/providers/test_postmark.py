"""The Postmark adapter: batch bodies against Postmark's documented fields, answers classified.

Postmark is third-party: its answers come from an httpx.MockTransport serving the
documented response shapes and error codes (the one allowed mock).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.sender.providers.base import Outcome, ProviderRetryable, ProviderStopped
from services.sender.providers.errors import ProviderRequestError
from services.sender.providers.postmark import PostmarkConfig, PostmarkProvider
from tests.sender.providers.emails import api_file, send_request, send_with

FIELDS = api_file("postmark/message-fields.json")
CODES = api_file("postmark/error-codes.json")
CONFIG = PostmarkConfig(server_token=SecretStr("pm-token"), base_url="https://api.postmark.test")
TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}


def check_documented(messages: list[dict[str, Any]]) -> None:
    """A batch whose every message has only documented fields of the documented types."""
    assert 1 <= len(messages) <= FIELDS["max_messages"]
    for message in messages:
        for name, value in message.items():
            assert name in FIELDS["fields"], f"{name} is not a documented field"
            assert isinstance(value, TYPES[FIELDS["fields"][name]]), name
        assert set(FIELDS["required"]) <= set(message)
        assert set(FIELDS["one_of_required"]) & set(message)
        for header in message.get("Headers", []):
            assert set(header) == set(FIELDS["header_fields"])
        assert all(isinstance(v, str) for v in message.get("Metadata", {}).values())


def test_documented_batch_example_passes_the_check() -> None:
    check_documented(api_file("postmark/batch-request.json"))


_send = partial(send_with, partial(PostmarkProvider, CONFIG))


def _answer(codes: list[int]) -> httpx.Response:
    answers = [
        {"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{i}", "To": f"lead{i}@example.com"}
        if code == 0
        else {"ErrorCode": code, "Message": CODES[str(code)]}
        for i, code in enumerate(codes)
    ]
    return httpx.Response(200, json=answers)


async def test_send_batch_body_uses_documented_fields() -> None:
    captured: list[httpx.Request] = []
    request = send_request(2)
    await _send(lambda _: _answer([0, 0]), request, captured)
    (sent,) = captured
    assert (sent.method, str(sent.url)) == ("POST", "https://api.postmark.test/email/batch")
    assert sent.headers["X-Postmark-Server-Token"] == "pm-token"
    messages = json.loads(sent.content)
    check_documented(messages)
    for email, message in zip(request.emails, messages, strict=True):
        assert (message["To"], message["Subject"]) == (email.to, email.subject)
        assert (message["HtmlBody"], message["TextBody"]) == (email.html, email.text)
        headers = {h["Name"]: h["Value"] for h in message["Headers"]}
        assert headers == {**email.headers, "Message-ID": email.message_id}
        assert message["Metadata"]["lead_id"] == str(email.lead_id)
        assert message["MessageStream"] == "broadcast"
        assert message["From"] == "Acme News <news@acme.example>"


async def test_send_batch_campaign_stream_chosen() -> None:
    captured: list[httpx.Request] = []
    await _send(lambda _: _answer([0]), send_request(1, message_stream="newsletters"), captured)
    assert json.loads(captured[0].content)[0]["MessageStream"] == "newsletters"


async def test_send_batch_documented_response_accepted() -> None:
    documented = api_file("postmark/batch-response.json")
    results = await _send(lambda _: httpx.Response(200, json=documented), send_request(2))
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2
    assert [r.provider_message_id for r in results] == [d["MessageID"] for d in documented]


async def test_send_batch_per_message_errors_mapped() -> None:
    results = await _send(lambda _: _answer([0, 406, 300, 429, 10]), send_request(5))
    assert [r.outcome for r in results] == [
        Outcome.ACCEPTED,
        Outcome.REJECTED,
        Outcome.REJECTED,
        Outcome.RETRY,
        Outcome.RETRY,  # the server refuses all: retried alone, the next call stops
    ]
    assert "Inactive recipient" in results[1].reason


async def test_send_batch_every_message_refused_for_the_server_stops() -> None:
    with pytest.raises(ProviderStopped, match="405"):
        await _send(lambda _: _answer([405, 405, 405]))


async def test_send_batch_bad_token_stops() -> None:
    body = {"ErrorCode": 10, "Message": CODES["10"]}
    with pytest.raises(ProviderRequestError) as caught:
        await _send(lambda _: httpx.Response(401, json=body))
    assert caught.value.status_code == 401
    assert "pm-token" not in str(caught.value)


@pytest.mark.parametrize("code", [405, 412, 413, 400, 401])
async def test_send_batch_account_refusal_stops(code: int) -> None:
    body = {"ErrorCode": code, "Message": CODES[str(code)]}
    with pytest.raises(ProviderStopped, match=str(code)):
        await _send(lambda _: httpx.Response(422, json=body))


async def test_send_batch_invalid_request_not_retryable() -> None:
    body = {"ErrorCode": 300, "Message": CODES["300"]}
    with pytest.raises(ProviderRequestError) as caught:
        await _send(lambda _: httpx.Response(422, json=body))
    assert caught.value.status_code == 422


@pytest.mark.parametrize(("headers", "delay"), [({"Retry-After": "2"}, 2.0), ({}, None)])
async def test_send_batch_throttled(headers: dict[str, str], delay: float | None) -> None:
    body = {"ErrorCode": 429, "Message": CODES["429"]}
    with pytest.raises(ProviderRetryable) as caught:
        await _send(lambda _: httpx.Response(429, headers=headers, json=body))
    assert caught.value.retry_after == delay


async def test_send_batch_server_error_retryable() -> None:
    with pytest.raises(ProviderRetryable):
        await _send(lambda _: httpx.Response(503, text="Service Unavailable"))
