"""SendGrid dialect: `POST /sendgrid/v3/mail/send`, Bearer API key.

Request: v3 Mail Send with one personalization per email; the body is the
call's `content` with the personalization's `substitutions` applied, the
Message-ID is its `headers`, Fanout's ids its `custom_args`. Answers as
SendGrid does: 202 with `X-Message-Id`; 400 `{"errors": [{"message", "field"}]}`
(an address without `@` is named `personalizations.N.to.0.email`, and nothing
of the call is sent); 401 for a wrong key; 429 with `X-RateLimit-Reset` and
`Retry-After`; 503. SendGrid answers no recipient by itself, so the engine
refuses the whole call for a throttled or transient recipient and turns a
rejected one into a hard bounce (`engine.Simulator.send`).
"""

from __future__ import annotations

import email.utils
import hmac
import math
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.esp_simulator.api.deps import SimulatorDep
from services.esp_simulator.dialects.common import (
    ACCEPTED_ONLY,
    DialectError,
    bulk_request,
    fanout_ids,
    header_value,
    retry_headers,
)
from services.esp_simulator.dialects.runtime import DialectsDep
from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import BulkRequest

router = APIRouter(prefix="/sendgrid/v3", tags=["sendgrid dialect"])


class Refused(ValueError):
    """Fields SendGrid names in its 400."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def errors_response(
    status: int, errors: list[tuple[str | None, str]], headers: dict[str, str] | None = None
) -> JSONResponse:
    """SendGrid's error body."""
    body = {"errors": [{"message": m, "field": f, "help": None} for f, m in errors]}
    return JSONResponse(body, status_code=status, headers=headers)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DialectError(where, "expected an object")
    return value


def _substituted(text: str, substitutions: dict[str, Any]) -> str:
    for tag, value in substitutions.items():
        text = text.replace(str(tag), str(value))
    return text


def _message(
    body: dict[str, Any], personalization: Any, where: str, content: dict[str, str]
) -> dict[str, Any]:
    p = _object(personalization, where)
    to = p.get("to")
    if not isinstance(to, list) or len(to) != 1:
        raise DialectError(f"{where}.to", "the simulator takes one recipient per personalization")
    address = str(_object(to[0], f"{where}.to.0").get("email") or "")
    substitutions = _object(p.get("substitutions") or {}, f"{where}.substitutions")
    headers = {str(k): str(v) for k, v in _object(p.get("headers") or {}, where).items()}
    args = {**(body.get("custom_args") or {}), **(p.get("custom_args") or {})}
    subject = str(p.get("subject") or body.get("subject") or "")
    return {
        "message_id": header_value(headers, "Message-ID"),
        "to": address,
        "subject": _substituted(subject, substitutions),
        "html": _substituted(content.get("text/html", ""), substitutions),
        "text": _substituted(content.get("text/plain", ""), substitutions),
        "headers": {k: v for k, v in headers.items() if k.lower() != "message-id"},
        "metadata": fanout_ids(args, f"{where}.custom_args"),
    }


def mail_send_request(document: Any) -> BulkRequest:
    """The engine's request of a Mail Send body; `Refused` for addresses SendGrid refuses."""
    body = _object(document, "body")
    sender = _object(body.get("from"), "from")
    reply_to = body.get("reply_to")
    parts = body.get("content") or []
    content = {str(p.get("type")): str(p.get("value") or "") for p in parts if isinstance(p, dict)}
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        raise DialectError("personalizations", "expected a non-empty array")
    messages = [
        _message(body, p, f"personalizations.{i}", content) for i, p in enumerate(personalizations)
    ]
    invalid = [
        (f"personalizations.{i}.to.0.email", "Does not contain a valid address.")
        for i, m in enumerate(messages)
        if "@" not in m["to"].strip("@")
    ]
    if invalid:
        raise Refused(invalid)
    sender_line = email.utils.formataddr((sender.get("name") or "", str(sender.get("email"))))
    reply = reply_to.get("email") if isinstance(reply_to, dict) else None
    return bulk_request(sender_line, reply, messages)


def _authorized(request: Request, key: str) -> bool:
    given = request.headers.get("Authorization", "").encode()
    return bool(key) and hmac.compare_digest(given, f"Bearer {key}".encode())


@router.post("/mail/send", status_code=202, response_class=Response)
async def mail_send(request: Request, simulator: SimulatorDep, dialects: DialectsDep) -> Response:
    """SendGrid's Mail Send: 202 and `X-Message-Id`, or SendGrid's errors."""
    if not _authorized(request, dialects.settings.sendgrid_api_key.get_secret_value()):
        message = "The provided authorization grant is invalid, expired, or revoked"
        return errors_response(401, [(None, message)])
    try:
        bulk = mail_send_request(await request.json())
    except Refused as exc:
        return errors_response(400, list(exc.errors))
    except (DialectError, ValueError) as exc:
        return errors_response(400, [(getattr(exc, "field", None), str(exc))])
    answer = await simulator.send(bulk, dialect="sendgrid", answers=ACCEPTED_ONLY)
    if isinstance(answer, CallRefused):
        headers = retry_headers(answer)
        if answer.retry_after_s is not None:
            reset = math.ceil(time.time() + answer.retry_after_s)
            headers["X-RateLimit-Reset"] = str(reset)
        return errors_response(answer.status_code, [(None, answer.reason)], headers)
    return Response(status_code=202, headers={"X-Message-Id": secrets.token_urlsafe(16)})
