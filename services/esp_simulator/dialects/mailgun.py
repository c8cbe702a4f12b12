"""Mailgun dialect: `POST /mailgun/v3/{domain}/messages`, basic auth `api:<key>`.

Request: a form (url-encoded or multipart) with one `to` per recipient and
`recipient-variables` keyed by address; `%recipient.NAME%` is replaced per
recipient in every field (subject, text, html, `h:` headers, `v:` variables),
as Mailgun's batch sending does. The Message-ID is `h:Message-Id`, Fanout's
ids the `v:` variables. Answers as Mailgun does: 200
`{"id", "message": "Queued. Thank you."}`; 400 `{"message"}` (an invalid
address refuses the whole call); 401 `Forbidden`; 429; 503. Mailgun answers no
recipient by itself: throttled or transient recipients refuse the call,
rejected ones bounce (`engine.Simulator.send`).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.datastructures import FormData

from services.esp_simulator.api.deps import SimulatorDep
from services.esp_simulator.dialects.common import (
    ACCEPTED_ONLY,
    DialectError,
    bulk_request,
    fanout_ids,
    retry_headers,
)
from services.esp_simulator.dialects.runtime import DialectsDep
from services.esp_simulator.engine import CallRefused
from services.esp_simulator.protocol import BulkRequest

router = APIRouter(prefix="/mailgun/v3", tags=["mailgun dialect"])
PLACEHOLDER = re.compile(r"%recipient\.([^%\s]+)%")


def _substituted(value: str, variables: Mapping[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), "")), value)


def _variables(form: FormData) -> dict[str, Any]:
    raw = str(form.get("recipient-variables") or "{}")
    try:
        variables = json.loads(raw)
    except ValueError:
        raise DialectError("recipient-variables", "not valid JSON") from None
    if not isinstance(variables, dict):
        raise DialectError("recipient-variables", "expected a JSON object")
    return variables


def _message(form: FormData, to: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    def field(name: str) -> str:
        return _substituted(str(form.get(name) or ""), variables)

    headers = {k[2:]: field(k) for k in form if k.startswith("h:")}
    user = {k[2:]: field(k) for k in form if k.startswith("v:")}
    message_id = next((v for k, v in headers.items() if k.lower() == "message-id"), "")
    return {
        "message_id": message_id,
        "to": to,
        "subject": field("subject"),
        "html": field("html"),
        "text": field("text"),
        "headers": {
            k: v for k, v in headers.items() if k.lower() not in ("message-id", "reply-to")
        },
        "metadata": fanout_ids(user, f"v: variables of {to}"),
    }


def messages_request(form: FormData) -> BulkRequest:
    """The engine's request of a batch-sending form."""
    recipients = [str(to) for to in form.getlist("to")]
    if not recipients:
        raise DialectError("to", "parameter is missing")
    if any("@" not in to.strip("@") for to in recipients):
        raise DialectError("to", "parameter is not a valid address. please check documentation")
    variables = _variables(form)
    messages = [_message(form, to, variables.get(to) or {}) for to in recipients]
    sender = str(form.get("from") or "")
    reply_to = form.get("h:Reply-To")
    return bulk_request(sender, str(reply_to) if reply_to else None, messages)


def _authorized(request: Request, key: str) -> bool:
    expected = "Basic " + base64.b64encode(f"api:{key}".encode()).decode()
    given = request.headers.get("Authorization", "")
    return bool(key) and hmac.compare_digest(given.encode(), expected.encode())


@router.post("/{domain}/messages", response_model=None)
async def send_message(
    domain: str, request: Request, simulator: SimulatorDep, dialects: DialectsDep
) -> Response:
    """Mailgun's Messages API (batch sending)."""
    if not _authorized(request, dialects.settings.mailgun_api_key.get_secret_value()):
        return PlainTextResponse("Forbidden", status_code=401)
    try:
        bulk = messages_request(await request.form())
    except DialectError as exc:
        return JSONResponse({"message": f"{exc.field} {exc.message}"}, status_code=400)
    answer = await simulator.send(bulk, dialect="mailgun", answers=ACCEPTED_ONLY)
    if isinstance(answer, CallRefused):
        body = {"message": answer.reason}
        return JSONResponse(body, status_code=answer.status_code, headers=retry_headers(answer))
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    message_id = f"<{stamp}.{secrets.token_hex(8)}@{domain}>"
    return JSONResponse({"id": message_id, "message": "Queued. Thank you."})
