"""The Mailgun adapter: batch calls against Mailgun's documented parameters, answers classified.

Mailgun is third-party: its answers come from an httpx.MockTransport serving the
documented response shapes (the one allowed mock).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from services.sender.providers.base import Outcome, ProviderRetryable, ProviderStopped, SendRequest
from services.sender.providers.errors import ProviderRequestError
from services.sender.providers.mailgun import MailgunConfig, MailgunProvider
from tests.sender.providers.emails import Handler, api_file, mock_client, outgoing, send_request

PARAMETERS = api_file("mailgun/send-parameters.json")
RESPONSES = api_file("mailgun/responses.json")
CONFIG = MailgunConfig(api_key=SecretStr("key-test"), domain="mg.acme.example")
PLACEHOLDER = re.compile(r"%recipient\.([^%\s]+)%")


def check_documented(fields: list[tuple[str, str]]) -> None:
    """`fields` use only documented parameters, with the required ones and one body."""
    names = [name for name, _ in fields]
    for name in names:
        documented = name in PARAMETERS["parameters"] or name.startswith(
            tuple(PARAMETERS["prefixed"])
        )
        assert documented, f"{name} is not a documented Mailgun parameter"
        if names.count(name) > 1:
            assert name in PARAMETERS["repeatable"], f"{name} does not repeat"
    assert set(PARAMETERS["required"]) <= set(names)
    assert set(PARAMETERS["one_of_required"]) & set(names)
    assert names.count("to") <= PARAMETERS["batch"]["max_recipients"]


def as_delivered(fields: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """What each recipient gets once Mailgun replaces `%recipient.KEY%` (per its docs)."""
    variables = json.loads(dict(fields)["recipient-variables"])
    delivered = {}
    for to in (value for name, value in fields if name == "to"):
        mine = variables[to]
        delivered[to] = {
            name: PLACEHOLDER.sub(lambda m, v=mine: str(v[m.group(1)]), value)  # type: ignore[misc]
            for name, value in fields
            if name not in ("to", "recipient-variables")
        }
    return delivered


def test_documented_batch_example_passes_the_check() -> None:
    example = api_file("mailgun/batch-request.json")
    fields = [
        (k, v)
        for k, values in example.items()
        for v in (values if isinstance(values, list) else [values])
    ]
    check_documented(fields)
    assert as_delivered(fields)["bob@example.com"]["subject"] == "Hey, Bob"


async def _send(
    handler: Handler,
    request: SendRequest | None = None,
    captured: list[httpx.Request] | None = None,
    config: MailgunConfig = CONFIG,
) -> list[Any]:
    async with mock_client(handler, captured) as client:
        return await MailgunProvider(config, client).send_batch(request or send_request())


def _queued(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=RESPONSES["200"])


def _fields(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.content.decode(), keep_blank_values=True)


async def test_send_batch_form_uses_documented_parameters_exact_per_recipient() -> None:
    captured: list[httpx.Request] = []
    request = send_request(3)
    await _send(_queued, request, captured)
    (sent,) = captured
    assert str(sent.url) == "https://api.mailgun.net/v3/mg.acme.example/messages"
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"api:key-test").decode()
    assert sent.headers["Content-Type"] in PARAMETERS["content_types"]
    fields = _fields(sent)
    check_documented(fields)
    delivered = as_delivered(fields)
    for email in request.emails:
        got = delivered[email.to]
        assert (got["subject"], got["text"], got["html"]) == (email.subject, email.text, email.html)
        assert got["h:Message-Id"] == email.message_id
        assert got["h:List-Unsubscribe"] == email.headers["List-Unsubscribe"]
        assert got["h:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert (got["v:account_id"], got["v:campaign_id"], got["v:lead_id"]) == (
            str(request.account_id),
            str(request.campaign_id),
            str(email.lead_id),
        )
        assert got["h:Reply-To"] == "support@acme.example"


async def test_send_batch_eu_region_host() -> None:
    captured: list[httpx.Request] = []
    eu = CONFIG.model_copy(update={"region": "eu"})
    await _send(_queued, captured=captured, config=eu)
    assert captured[0].url.host == "api.eu.mailgun.net"


async def test_send_batch_queued_every_email() -> None:
    results = await _send(_queued)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert {r.provider_message_id for r in results} == {RESPONSES["200"]["id"]}


async def test_send_batch_repeated_address_in_its_own_call() -> None:
    request = send_request(2)
    request.emails.append(outgoing(7, to=request.emails[0].to))
    captured: list[httpx.Request] = []
    results = await _send(_queued, request, captured)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert [[v for k, v in _fields(c) if k == "to"] for c in captured] == [
        [request.emails[0].to, request.emails[1].to],
        [request.emails[0].to],
    ]


async def test_send_batch_bad_address_split_to_find_it() -> None:
    request = send_request(3)

    def handler(call: httpx.Request) -> httpx.Response:
        recipients = [v for k, v in _fields(call) if k == "to"]
        if request.emails[1].to in recipients:
            return httpx.Response(400, json=RESPONSES["400"])
        return _queued(call)

    captured: list[httpx.Request] = []
    results = await _send(handler, request, captured)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.REJECTED, Outcome.ACCEPTED]
    assert "not a valid address" in results[1].reason
    assert len(captured) == 4  # the batch, then one call per email


async def test_send_batch_bad_key_stops() -> None:
    with pytest.raises(ProviderRequestError) as caught:
        await _send(lambda _: httpx.Response(401, text=RESPONSES["401"]))
    assert caught.value.status_code == 401
    assert "key-test" not in str(caught.value)


async def test_send_batch_unknown_domain_stops() -> None:
    with pytest.raises(ProviderStopped, match="mg.acme.example"):
        await _send(lambda _: httpx.Response(404, json=RESPONSES["404"]))


@pytest.mark.parametrize(("headers", "delay"), [({"Retry-After": "3"}, 3.0), ({}, None)])
async def test_send_batch_throttled(headers: dict[str, str], delay: float | None) -> None:
    with pytest.raises(ProviderRetryable) as caught:
        await _send(lambda _: httpx.Response(429, headers=headers, json=RESPONSES["429"]))
    assert caught.value.retry_after == delay


async def test_send_batch_server_error_retryable() -> None:
    with pytest.raises(ProviderRetryable):
        await _send(lambda _: httpx.Response(500, json=RESPONSES["500"]))
