"""`POST /webhooks/<provider>`: one endpoint per ESP, each checking its own authentication.

Each endpoint reads the raw body (413 over the limit), verifies the provider's
signature or credentials on it (401), parses and normalises the events (400),
records them (Postgres, then Kafka acknowledged; 503 if not) and only then
answers 200.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from services.webhook_ingest.api.deps import (
    CertificatesDep,
    ConfirmerDep,
    LedgerDep,
    RawBody,
    RecorderDep,
    SettingsDep,
)
from services.webhook_ingest.api.outcome import WebhookReceipt, receipt, webhook_outcome
from services.webhook_ingest.normalize import normalise
from services.webhook_ingest.providers import mailgun, postmark, sendgrid, ses, simulator
from services.webhook_ingest.providers.base import MalformedPayload, Parsed
from services.webhook_ingest.providers.sns import is_sns_url
from services.webhook_ingest.recorder import Recorder

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "Malformed payload; `detail` names the field."},
    401: {"description": "Missing or invalid provider authentication; nothing recorded."},
    413: {"description": "Body over the size limit."},
    503: {"description": "Postgres or Kafka unavailable; retry later."},
}


async def _record(provider: str, parsed: Parsed, recorder: Recorder) -> WebhookReceipt:
    normalised = normalise(parsed.events)
    await recorder.record(normalised.events)
    return receipt(provider, parsed, normalised)


@router.post("/simulator", responses=ERRORS)
async def simulator_webhook(
    body: RawBody,
    settings: SettingsDep,
    recorder: RecorderDep,
    timestamp: Annotated[str, Header(alias="X-Simulator-Timestamp")] = "",
    signature: Annotated[str, Header(alias="X-Simulator-Signature")] = "",
) -> WebhookReceipt:
    """Events from the ESP simulator, signed with HMAC-SHA256 over `"{timestamp}." + body`."""
    with webhook_outcome(simulator.PROVIDER):
        headers = {simulator.TIMESTAMP_HEADER: timestamp, simulator.SIGNATURE_HEADER: signature}
        secret = settings.common.signing_secret.get_secret_value()
        simulator.verify(headers, body, secret, settings.timestamp_tolerance_s)
        return await _record(simulator.PROVIDER, simulator.parse(body), recorder)


@router.post("/ses", responses=ERRORS | {403: {"description": "TopicArn not allowed."}})
async def ses_webhook(
    body: RawBody,
    settings: SettingsDep,
    recorder: RecorderDep,
    certificates: CertificatesDep,
    confirm: ConfirmerDep,
) -> WebhookReceipt:
    """Amazon SES events through SNS (signature versions 1 and 2, allowed topics only).

    A `SubscriptionConfirmation` from an allowed topic is confirmed by fetching
    its `SubscribeURL` (only an `https://sns.<region>.amazonaws.com` URL).
    """
    with webhook_outcome(ses.PROVIDER):
        message = await ses.authenticate(body, certificates, settings.ses_topic_arns)
        kind = message["Type"]
        if kind == "SubscriptionConfirmation":
            url = str(message.get("SubscribeURL"))
            if not is_sns_url(url):
                raise MalformedPayload("SubscribeURL is not an https://sns.<region> URL")
            await confirm(url)
        if kind != "Notification":
            return receipt(ses.PROVIDER, Parsed(ignored=1), normalise([]))
        return await _record(ses.PROVIDER, ses.parse_notification(message), recorder)


@router.post("/sendgrid", responses=ERRORS)
async def sendgrid_webhook(
    body: RawBody,
    settings: SettingsDep,
    recorder: RecorderDep,
    signature: Annotated[str, Header(alias="X-Twilio-Email-Event-Webhook-Signature")] = "",
    timestamp: Annotated[str, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp")] = "",
) -> WebhookReceipt:
    """SendGrid's signed Event Webhook (ECDSA P-256 over timestamp + body)."""
    with webhook_outcome(sendgrid.PROVIDER):
        headers = {sendgrid.SIGNATURE_HEADER: signature, sendgrid.TIMESTAMP_HEADER: timestamp}
        key = settings.sendgrid_public_key.get_secret_value()
        sendgrid.verify(headers, body, key, settings.timestamp_tolerance_s)
        return await _record(sendgrid.PROVIDER, sendgrid.parse(body), recorder)


@router.post("/mailgun", responses=ERRORS)
async def mailgun_webhook(
    body: RawBody, settings: SettingsDep, recorder: RecorderDep, ledger: LedgerDep
) -> WebhookReceipt:
    """Mailgun webhooks (HMAC-SHA256 of timestamp + token; each token accepted once)."""
    with webhook_outcome(mailgun.PROVIDER):
        key = settings.mailgun_signing_key.get_secret_value()
        token, document = mailgun.verify(body, key, settings.timestamp_tolerance_s, ledger)
        try:
            return await _record(mailgun.PROVIDER, mailgun.parse(document), recorder)
        except Exception:
            ledger.release(token)  # not recorded: Mailgun's retry of this post must pass
            raise


@router.post("/postmark", responses=ERRORS)
async def postmark_webhook(
    body: RawBody,
    settings: SettingsDep,
    recorder: RecorderDep,
    authorization: Annotated[str, Header(alias="Authorization")] = "",
) -> WebhookReceipt:
    """Postmark webhooks (HTTP basic auth set in the webhook URL)."""
    with webhook_outcome(postmark.PROVIDER):
        password = settings.postmark_password.get_secret_value()
        postmark.verify(authorization, settings.postmark_username, password)
        return await _record(postmark.PROVIDER, postmark.parse(body), recorder)
