"""Postmark dialect: `POST /postmark/email/batch`, `X-Postmark-Server-Token`.

Request: a JSON array of messages (`From`, `To`, `Subject`, `HtmlBody`,
`TextBody`, `Headers`, `Metadata`, `MessageStream`); the Message-ID is in
`Headers`, Fanout's ids in `Metadata`. Answers as Postmark does: 200 with one
result per message (`ErrorCode` 0 and `MessageID`, or 406 for a rejected
recipient); 401 and 422 with `{"ErrorCode", "Message"}` for a bad token or a
malformed batch; 429; 503. Throttled or transient recipients, which
Postmark's per-message answers do not express, refuse the whole call.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.esp_simulator.api.deps import SimulatorDep
from services.esp_simulator.dialects.common import (
    DialectError,
    bulk_request,
    fanout_ids,
    retry_headers,
)
from services.esp_simulator.dialects.runtime import DialectsDep
from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import BulkRequest, MessageResult
from shared.simulator_status import MessageStatus

router = APIRouter(prefix="/postmark", tags=["postmark dialect"])
ANSWERS = frozenset({MessageStatus.ACCEPTED, MessageStatus.REJECTED})
MAX_BATCH = 500
INACTIVE = (
    "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
    "addresses: {to}. Inactive recipients are ones that have generated a hard bounce, a spam "
    "complaint, or a manual suppression."
)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Postmark's error body."""
    body = {"ErrorCode": code, "Message": message}
    return JSONResponse(body, status_code=status, headers=headers)


def _message(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise DialectError(where, "expected a message object")
    headers = {
        str(h.get("Name")): str(h.get("Value"))
        for h in raw.get("Headers") or []
        if isinstance(h, dict)
    }
    message_id = next((v for k, v in headers.items() if k.lower() == "message-id"), "")
    return {
        "message_id": message_id,
        "to": str(raw.get("To") or ""),
        "subject": str(raw.get("Subject") or ""),
        "html": str(raw.get("HtmlBody") or ""),
        "text": str(raw.get("TextBody") or ""),
        "headers": {k: v for k, v in headers.items() if k.lower() != "message-id"},
        "metadata": fanout_ids(raw.get("Metadata") or {}, f"{where}.Metadata"),
    }


def batch_request(document: Any) -> BulkRequest:
    """The engine's request of a batch (one sender: the first message's)."""
    if not isinstance(document, list) or not document:
        raise DialectError("body", "expected a JSON array of messages")
    messages = [_message(raw, f"[{i}]") for i, raw in enumerate(document)]
    first = document[0]
    return bulk_request(str(first.get("From") or ""), first.get("ReplyTo"), messages)


def _result(result: MessageResult, to: str) -> dict[str, Any]:
    submitted = datetime.now(UTC).isoformat()
    if result.status is MessageStatus.ACCEPTED:
        message_id = result.provider_message_id
        return {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": message_id,
            "SubmittedAt": submitted,
            "To": to,
        }
    return {"ErrorCode": 406, "Message": INACTIVE.format(to=to), "To": to}


@router.post("/email/batch", response_model=None)
async def send_batch(request: Request, simulator: SimulatorDep, dialects: DialectsDep) -> Response:
    """Postmark's batch endpoint: one result per message, in order."""
    token = dialects.settings.postmark_server_token.get_secret_value()
    given = request.headers.get("X-Postmark-Server-Token", "")
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return error(401, 10, "Request does not contain a valid Server token.")
    try:
        document = await request.json()
        if isinstance(document, list) and len(document) > MAX_BATCH:
            return error(422, 410, f"Too many batch messages: at most {MAX_BATCH}.")
        bulk = batch_request(document)
    except DialectError as exc:
        return error(422, 300, f"Invalid email request: {exc}")
    except ValueError:
        return error(422, 402, "Invalid JSON.")
    answer = await simulator.send(bulk, dialect="postmark", answers=ANSWERS)
    if isinstance(answer, CallRefused):
        code = 429 if answer.status_code == 429 else 500
        return error(answer.status_code, code, answer.reason, retry_headers(answer))
    return JSONResponse([_result(r, m.to) for r, m in zip(answer, bulk.messages, strict=True)])
