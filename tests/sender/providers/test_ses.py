"""The SES v2 adapter: request shape against botocore's SES v2 model, signing, answers.

Amazon SES is third-party: its answers come from an httpx.MockTransport serving
the documented response shapes (the one allowed mock).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.validate import validate_parameters
from pydantic import SecretStr

from services.sender.config import Settings as SenderSettings
from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError
from services.sender.providers.registry import ProviderPool, ProviderUnavailable
from services.sender.providers.ses import (
    ENTRY_OUTCOMES,
    STOPPING_STATUSES,
    SesConfig,
    SesProvider,
    error_code,
)
from services.sender.providers.ses_content import (
    MESSAGE_ID_HEADER,
    replacement_headers,
    send_bulk_email_body,
)

MODEL = botocore.session.get_session().get_service_model("sesv2")
SEND_BULK = MODEL.operation_model("SendBulkEmail")
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SETTINGS = SesConfig(
    region="eu-west-1",
    access_key_id="AKIDEXAMPLE",
    secret_access_key=SecretStr(SECRET_KEY),
    session_token=SecretStr("session-token-example"),
    configuration_set_name="fanout-events",
)
Handler = Callable[[httpx.Request], httpx.Response]


def _request(addresses: list[str] | None = None) -> SendRequest:
    addresses = addresses or ["ada@example.com", "bob@bücher.example", "cy@example.org"]
    emails = [
        OutgoingEmail(
            lead_id=uuid.uuid4(),
            to=to,
            subject=f"Hello {i} – {{{{not a placeholder}}}}",
            html=f"<p>Hello <b>{i}</b> &amp; welcome</p>",
            text=f"Hello {i}",
            message_id=f"<c1.l{i}@fanout.test>",
            headers={
                "List-Unsubscribe": f"<https://u.fanout.test/unsubscribe/tok{i}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Message-ID": f"<c1.l{i}@fanout.test>",
            },
        )
        for i, to in enumerate(addresses)
    ]
    return SendRequest(
        account_id=uuid.uuid4(),
        campaign_id=uuid.uuid4(),
        from_email="news@acme.example",
        from_name="Acme Nöws",
        reply_to="support@acme.example",
        emails=emails,
    )


def _success(count: int) -> dict[str, Any]:
    return {
        "BulkEmailEntryResults": [
            {"Status": "SUCCESS", "MessageId": f"0102018f-{i:04d}-example-000000"}
            for i in range(count)
        ]
    }


def _provider(handler: Handler) -> SesProvider:
    return SesProvider(SETTINGS, http=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def _error(status: int, code: str, message: str = "example") -> httpx.Response:
    return httpx.Response(
        status,
        json={"message": message},
        headers={"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon/"},
    )


async def _send(handler: Handler, request: SendRequest | None = None) -> list[Any]:
    provider = _provider(handler)
    try:
        return await provider.send_batch(request or _request())
    finally:
        await provider._http.aclose()


async def test_send_batch_body_validates_against_ses_model() -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json=_success(3))

    send_request = _request()
    await _send(handler, send_request)
    (sent,) = captured
    body = json.loads(sent.content)
    validate_parameters(body, SEND_BULK.input_shape)  # raises ParamValidationError if invalid
    serialized = create_serializer("rest-json").serialize_to_request(body, SEND_BULK)
    assert json.loads(serialized["body"]) == body
    assert (sent.method, sent.url.path) == (serialized["method"], serialized["url_path"])
    assert str(sent.url) == "https://email.eu-west-1.amazonaws.com/v2/email/outbound-bulk-emails"
    template = body["DefaultContent"]["Template"]
    assert template["TemplateContent"] == {
        "Subject": "{{subject}}",
        "Html": "{{html}}",
        "Text": "{{text}}",
    }
    assert body["ConfigurationSetName"] == "fanout-events"
    assert body["ReplyToAddresses"] == ["support@acme.example"]
    assert body["FromEmailAddress"].endswith(" <news@acme.example>")
    assert body["FromEmailAddress"].isascii()
    assert {t["Name"]: t["Value"] for t in body["DefaultEmailTags"]} == {
        "account_id": str(send_request.account_id),
        "campaign_id": str(send_request.campaign_id),
    }
    entries = body["BulkEmailEntries"]
    assert [e["Destination"]["ToAddresses"] for e in entries] == [
        ["ada@example.com"],
        ["bob@xn--bcher-kva.example"],
        ["cy@example.org"],
    ]
    for outgoing, entry in zip(send_request.emails, entries, strict=True):
        data = json.loads(
            entry["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"]
        )
        assert data == {"subject": outgoing.subject, "html": outgoing.html, "text": outgoing.text}
        tags = {t["Name"]: t["Value"] for t in entry["ReplacementTags"]}
        assert tags["lead_id"] == str(outgoing.lead_id)
        headers = {h["Name"]: h["Value"] for h in entry["ReplacementHeaders"]}
        assert headers["List-Unsubscribe"] == outgoing.headers["List-Unsubscribe"]
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers[MESSAGE_ID_HEADER] == outgoing.message_id
        assert "Message-ID" not in headers


def test_build_headers_and_tags_match_model_patterns() -> None:
    shapes = MODEL.shape_for("MessageHeader").members
    name_pattern = re.compile(shapes["Name"].metadata["pattern"])
    value_pattern = re.compile(shapes["Value"].metadata["pattern"])
    outgoing = _request().emails[0]
    outgoing.headers["X-Campaign-Name"] = "Früh-jahr"
    for header in replacement_headers(outgoing):
        assert name_pattern.fullmatch(header["Name"])
        assert value_pattern.fullmatch(header["Value"])
    body = send_bulk_email_body(_request(), [(outgoing, "ada@example.com")], "fanout-events")
    tag_chars = re.compile(r"[A-Za-z0-9_-]{1,256}")
    for tag in body["DefaultEmailTags"] + body["BulkEmailEntries"][0]["ReplacementTags"]:
        assert tag_chars.fullmatch(tag["Name"]) and tag_chars.fullmatch(tag["Value"])


async def test_send_batch_request_signed_sigv4() -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json=_success(3))

    await _send(handler)
    (sent,) = captured
    authorization = sent.headers["Authorization"]
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/eu-west-1/ses/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        authorization,
    )
    assert match is not None
    signed_headers = match.group(2).split(";")
    assert {"host", "x-amz-date", "content-type", "x-amz-security-token"} <= set(signed_headers)
    assert sent.headers["X-Amz-Security-Token"] == "session-token-example"
    # Recompute the signature from what went over the wire: httpx sent what was signed.
    replay = AWSRequest(
        method=sent.method,
        url=str(sent.url),
        data=sent.content,
        headers={name: sent.headers[name] for name in signed_headers},
    )
    replay.context["timestamp"] = sent.headers["X-Amz-Date"]
    signer = SigV4Auth(
        Credentials("AKIDEXAMPLE", SECRET_KEY, "session-token-example"), "ses", "eu-west-1"
    )
    canonical = signer.canonical_request(replay)
    assert signer.signature(signer.string_to_sign(replay, canonical), replay) == match.group(3)
    assert SECRET_KEY not in authorization


def test_map_entry_statuses_cover_model_enum() -> None:
    enum = set(MODEL.shape_for("BulkEmailStatus").enum)
    assert set(ENTRY_OUTCOMES) | STOPPING_STATUSES == enum
    assert not set(ENTRY_OUTCOMES) & STOPPING_STATUSES


async def test_send_batch_entry_statuses_mapped() -> None:
    statuses = [
        "SUCCESS",
        "ACCOUNT_THROTTLED",
        "TRANSIENT_FAILURE",
        "MESSAGE_REJECTED",
        "INVALID_PARAMETER",
        "FAILED",
        "ACCOUNT_SENDING_PAUSED",
    ]
    answer = {
        "BulkEmailEntryResults": [
            {"Status": "SUCCESS", "MessageId": "0102018f-ok"},
            *({"Status": s, "Error": f"{s.lower()} example"} for s in statuses[1:]),
        ]
    }
    parsed = create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": json.dumps(answer).encode()},
        SEND_BULK.output_shape,
    )
    assert [r["Status"] for r in parsed["BulkEmailEntryResults"]] == statuses

    request = _request([f"lead{i}@example.com" for i in range(len(statuses))])
    results = await _send(lambda _: httpx.Response(200, json=answer), request)
    assert [r.outcome for r in results] == [
        Outcome.ACCEPTED,
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.REJECTED,
        Outcome.REJECTED,
        Outcome.REJECTED,
        Outcome.RETRY,
    ]
    assert results[0].provider_message_id == "0102018f-ok"
    assert results[3].reason == "MESSAGE_REJECTED: message_rejected example"
    assert [r.lead_id for r in results] == [e.lead_id for e in request.emails]


@pytest.mark.parametrize(
    "status", ["ACCOUNT_DAILY_QUOTA_EXCEEDED", "ACCOUNT_SUSPENDED", "MAIL_FROM_DOMAIN_NOT_VERIFIED"]
)
async def test_send_batch_sender_wide_status_stops(status: str) -> None:
    answer = {"BulkEmailEntryResults": [{"Status": status, "Error": "example"}] * 3}
    with pytest.raises(ProviderStopped, match=status):
        await _send(lambda _: httpx.Response(200, json=answer))


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "TooManyRequestsException"),
        (400, "LimitExceededException"),
        (400, "ThrottlingException"),
        (500, "InternalFailure"),
        (503, "ServiceUnavailable"),
    ],
)
async def test_send_batch_call_throttled_or_failed_retryable(status: int, code: str) -> None:
    with pytest.raises(ProviderRetryable, match=code):
        await _send(lambda _: _error(status, code))


async def test_send_batch_too_many_requests_retry_after() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        response = _error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
        response.headers["Retry-After"] = "2"
        return response

    with pytest.raises(ProviderRetryable) as caught:
        await _send(handler)
    assert caught.value.retry_after == 2.0


@pytest.mark.parametrize(
    "code",
    [
        "SendingPausedException",
        "AccountSuspendedException",
        "MailFromDomainNotVerifiedException",
    ],
)
async def test_send_batch_account_refusal_stops(code: str) -> None:
    with pytest.raises(ProviderStopped, match=code):
        await _send(lambda _: _error(400, code))


async def test_send_batch_message_rejected_rejects_every_recipient() -> None:
    results = await _send(lambda _: _error(400, "MessageRejected", "Message contains a virus"))
    assert [r.outcome for r in results] == [Outcome.REJECTED] * 3
    assert "virus" in results[0].reason


async def test_send_batch_bad_request_not_retryable() -> None:
    with pytest.raises(ProviderRequestError) as caught:
        await _send(lambda _: _error(400, "BadRequestException", "Missing DefaultContent"))
    assert isinstance(caught.value, ValueError)
    assert "BadRequestException" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectError])
async def test_send_batch_transport_failure_retryable(error: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    with pytest.raises(ProviderRetryable):
        await _send(handler)


async def test_send_batch_unaddressable_recipient_rejected_without_sending_it() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=_success(2))

    request = _request(["ada@example.com", "jörg@example.com", "cy@example.org"])
    results = await _send(handler, request)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.REJECTED, Outcome.ACCEPTED]
    assert len(bodies[0]["BulkEmailEntries"]) == 2


def test_parse_error_code_like_botocore() -> None:
    response = _error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
    parsed = create_parser("rest-json").parse(
        {
            "status_code": 429,
            "headers": dict(response.headers),
            "body": response.content,
        },
        SEND_BULK.output_shape,
    )
    assert error_code(response) == (parsed["Error"]["Code"], parsed["Error"]["Message"])


async def test_read_max_send_rate_from_account_quota() -> None:
    captured: list[httpx.Request] = []
    account = {
        "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 12.0},
        "SendingEnabled": True,
        "ProductionAccessEnabled": True,
        "EnforcementStatus": "HEALTHY",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json=account)

    provider = _provider(handler)
    assert await provider.max_send_rate() == 14.0
    assert (captured[0].method, captured[0].url.path) == ("GET", "/v2/email/account")
    assert captured[0].headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    failing = _provider(lambda _: _error(429, "TooManyRequestsException"))
    assert await failing.max_send_rate() is None


def test_read_settings_from_env_secret_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANOUT_SENDER_SES__REGION", "us-west-2")
    monkeypatch.setenv("FANOUT_SENDER_SES__ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("FANOUT_SENDER_SES__SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("FANOUT_SENDER_SES__CONFIGURATION_SET_NAME", "events")
    settings = SenderSettings().ses
    assert settings.base_url == "https://email.us-west-2.amazonaws.com"
    assert settings.configuration_set_name == "events"
    assert SECRET_KEY not in repr(settings)
    assert settings.secret_access_key.get_secret_value() == SECRET_KEY


def test_create_provider_without_configuration_set_refused() -> None:
    with pytest.raises(ValueError, match="configuration_set_name is required"):
        SesProvider(SETTINGS.model_copy(update={"configuration_set_name": ""}))


async def test_pool_names_missing_configuration_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANOUT_SENDER_SES__ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("FANOUT_SENDER_SES__SECRET_ACCESS_KEY", SECRET_KEY)
    pool = ProviderPool(SenderSettings())
    with pytest.raises(ProviderUnavailable) as caught:
        await pool.get("ses")
    assert "FANOUT_SENDER_SES__CONFIGURATION_SET_NAME" in str(caught.value)
    assert "event destination" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)
