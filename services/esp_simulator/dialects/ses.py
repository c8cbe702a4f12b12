"""SES dialect: SES v2 under `/ses/` (`SendBulkEmail`, `GetAccount`), SigV4-signed.

Request: `SendBulkEmail` with an inline template whose placeholders are
replaced by each entry's `ReplacementTemplateData` (simple `{{name}}`
substitution, as SES does for inline templates); the Message-ID is the
`X-Fanout-Message-ID` replacement header, Fanout's ids the message tags.
Events are published only when the call names a configuration set, as SES
publishes them only through one. Answers as SES does: 200 with one
`BulkEmailEntryResults` entry per email (`SUCCESS`, `ACCOUNT_THROTTLED`,
`TRANSIENT_FAILURE`, `MESSAGE_REJECTED`); errors with `x-amzn-ErrorType`
(403 for a wrong key or signature, 400 `BadRequestException`, 429
`TooManyRequestsException`, 503 `ServiceUnavailable`). The SNS signing
certificate of the events is served at `/ses/sns-certificate.pem`.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.esp_simulator.api.deps import SimulatorDep
from services.esp_simulator.dialects.common import DialectError, retry_headers
from services.esp_simulator.dialects.runtime import Dialects, DialectsDep
from services.esp_simulator.dialects.ses_request import bulk_email_request
from services.esp_simulator.dialects.sigv4 import SignatureRefused, check_signature
from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import MessageResult
from shared.simulator_status import MessageStatus

router = APIRouter(prefix="/ses", tags=["ses dialect"])
STATUSES = {
    MessageStatus.ACCEPTED: "SUCCESS",
    MessageStatus.THROTTLED: "ACCOUNT_THROTTLED",
    MessageStatus.TRANSIENT_ERROR: "TRANSIENT_FAILURE",
    MessageStatus.REJECTED: "MESSAGE_REJECTED",
}
UNPUBLISHED = "ses-unpublished"  # no configuration set: SES publishes no events


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An SES (rest-json) error."""
    return JSONResponse(
        {"message": message},
        status_code=status,
        headers={"x-amzn-ErrorType": code, **(headers or {})},
    )


def _entry(result: MessageResult) -> dict[str, str]:
    entry = {"Status": STATUSES[result.status]}
    if result.status is MessageStatus.ACCEPTED:
        entry["MessageId"] = result.provider_message_id
    else:
        entry["Error"] = result.reason
    return entry


async def _verified(request: Request, dialects: Dialects) -> bytes:
    body = await request.body()
    settings = dialects.settings
    check_signature(
        request.method,
        str(request.url),
        {k.lower(): v for k, v in request.headers.items()},
        body,
        settings.ses_access_key_id,
        settings.ses_secret_access_key.get_secret_value(),
    )
    return body


@router.post("/v2/email/outbound-bulk-emails", response_model=None)
async def send_bulk_email(
    request: Request, simulator: SimulatorDep, dialects: DialectsDep
) -> Response:
    """SES v2 SendBulkEmail."""
    try:
        document = json.loads(await _verified(request, dialects))
        bulk = bulk_email_request(document)
    except SignatureRefused as exc:
        return error(403, exc.code, str(exc))
    except DialectError as exc:
        return error(400, "BadRequestException", str(exc))
    except ValueError:
        return error(400, "BadRequestException", "body is not valid JSON")
    published = bool(document.get("ConfigurationSetName"))
    answer = await simulator.send(bulk, dialect="ses" if published else UNPUBLISHED)
    if isinstance(answer, CallRefused):
        code = "TooManyRequestsException" if answer.status_code == 429 else "ServiceUnavailable"
        return error(answer.status_code, code, answer.reason, retry_headers(answer))
    return JSONResponse({"BulkEmailEntryResults": [_entry(r) for r in answer]})


@router.get("/v2/email/account", response_model=None)
async def get_account(request: Request, simulator: SimulatorDep, dialects: DialectsDep) -> Response:
    """SES v2 GetAccount: the send quota (MaxSendRate is the simulator's rate limit)."""
    try:
        await _verified(request, dialects)
    except SignatureRefused as exc:
        return error(403, exc.code, str(exc))
    quota = {
        "Max24HourSend": 1_000_000_000.0,
        "MaxSendRate": float(simulator.knobs.rate_limit_per_s),
        "SentLast24Hours": float(simulator.counters.unique),
    }
    return JSONResponse(
        {
            "SendQuota": quota,
            "SendingEnabled": True,
            "ProductionAccessEnabled": True,
            "EnforcementStatus": "HEALTHY",
        }
    )


@router.get("/sns-certificate.pem")
async def sns_certificate(dialects: DialectsDep) -> Response:
    """The certificate whose key signs the SNS notifications of SES events."""
    return Response(dialects.sns.certificate_pem, media_type="application/x-pem-file")
