"""Postmark batch adapter: `POST /email/batch`, one message per email, ids as `Metadata`.

Every message names its message stream: the campaign's (`SendRequest.options`
`message_stream`) or the configuration's, `broadcast` by default, since
Postmark wants bulk mail on a broadcast stream. Postmark answers a batch 200
with one result per message, in order (`postmark_results`); a call refused
whole answers 401 (bad token: the campaign pauses), 422 with an `ErrorCode`
(account-level codes → `ProviderStopped`, others → `ProviderRequestError`),
429 or 5xx (`ProviderRetryable`).
"""

from __future__ import annotations

import email.utils
from typing import Any

import httpx
import orjson
from pydantic import Field, SecretStr

from services.sender.providers import http
from services.sender.providers.base import (
    OutgoingEmail,
    ProviderStopped,
    RecipientResult,
    SendRequest,
)
from services.sender.providers.postmark_results import STOPPING_CODES, batch_results
from services.sender.providers.settings import ProviderConfig
from shared.settings import Seconds

BATCH_PATH = "/email/batch"


class PostmarkConfig(ProviderConfig):
    """A Postmark server: its server token, and the stream bulk mail goes on."""

    required = ("server_token",)

    server_token: SecretStr = Field(SecretStr(""), description="The server's API token.")
    message_stream: str = Field(
        "broadcast", description="Stream of campaigns that name none (a broadcast stream)."
    )
    base_url: str = Field("https://api.postmarkapp.com", description="API host.")
    timeout_s: Seconds = Field(30.0, description="Timeout of one call.")
    connections: int = Field(16, ge=1, description="HTTP connections kept open.")


def _message(request: SendRequest, outgoing: OutgoingEmail, stream: str) -> dict[str, Any]:
    headers = [
        {"Name": name, "Value": value}
        for name, value in outgoing.headers.items()
        if value and name.lower() != "message-id"
    ]
    message: dict[str, Any] = {
        "From": email.utils.formataddr((request.from_name, request.from_email)),
        "To": outgoing.to,
        "Subject": outgoing.subject,
        "Headers": [*headers, {"Name": "Message-ID", "Value": outgoing.message_id}],
        "Metadata": {
            "account_id": str(request.account_id),
            "campaign_id": str(request.campaign_id),
            "lead_id": str(outgoing.lead_id),
        },
        "MessageStream": stream,
    }
    if outgoing.html:
        message["HtmlBody"] = outgoing.html
    if outgoing.text or not outgoing.html:
        message["TextBody"] = outgoing.text
    if request.reply_to:
        message["ReplyTo"] = request.reply_to
    return message


def batch_body(request: SendRequest, default_stream: str) -> list[dict[str, Any]]:
    """The JSON array of one batch call."""
    stream = request.options.get("message_stream") or default_stream
    return [_message(request, e, stream) for e in request.emails]


class PostmarkProvider(http.HttpAdapter[PostmarkConfig]):
    """`EmailProvider` over Postmark's batch endpoint."""

    name = "postmark"

    def __init__(self, config: PostmarkConfig, http_client: httpx.AsyncClient | None = None):
        super().__init__(config, http_client)
        self._headers = {
            "X-Postmark-Server-Token": config.server_token.get_secret_value(),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        """One batch call; one result per message, in order."""
        url = f"{self.config.base_url.rstrip('/')}{BATCH_PATH}"
        content = orjson.dumps(batch_body(request, self.config.message_stream))
        response = await http.call(
            self._http, self.name, "POST", url, content=content, headers=self._headers
        )
        if response.status_code == 200:
            return batch_results(request.emails, response)
        code, reason = _error(response)
        if response.status_code == 422 and code in STOPPING_CODES:
            raise ProviderStopped(f"Postmark error {code}: {reason}")
        raise http.refusal(self.name, response, f"error {code}: {reason}")


def _error(response: httpx.Response) -> tuple[int | None, str]:
    try:
        body = response.json()
        return int(body["ErrorCode"]), str(body.get("Message") or "")[:300]
    except (ValueError, KeyError, TypeError):
        return None, response.text[:300]
