"""SendGrid v3 Mail Send adapter: one call per batch, one personalization per email.

Answers: 202 → every email ACCEPTED with the call's `X-Message-Id`. 400 whose
errors all name personalizations (`personalizations.3.to.0.email`) → those
emails REJECTED, the others RETRY (sent again alone on the next call); any
other 400, 404, 413 → `ProviderRequestError`. 401 (bad key) and 403 (sender
identity not verified, access revoked) → `ProviderRequestError` that the
delivery step turns into a pause. 429 → `ProviderRetryable` after Retry-After
or `X-RateLimit-Reset`; 5xx, timeouts → `ProviderRetryable`. Emails whose
bodies exceed the substitution limit go in calls of their own
(`sendgrid_content`), combined by `partial`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from functools import partial

import httpx
import orjson
from pydantic import Field, SecretStr

from services.sender.providers import http
from services.sender.providers.base import Outcome, OutgoingEmail, RecipientResult, SendRequest
from services.sender.providers.partial import send_in_parts
from services.sender.providers.sendgrid_content import fits, mail_send_body
from services.sender.providers.settings import ProviderConfig
from shared.settings import Seconds

MAIL_SEND_PATH = "/v3/mail/send"
PERSONALIZATION_FIELD = re.compile(r"^personalizations\.(\d+)\b")


class SendGridConfig(ProviderConfig):
    """A SendGrid account: an API key with Mail Send access, and the API's region."""

    required = ("api_key",)

    api_key: SecretStr = Field(SecretStr(""), description="API key (Mail Send permission).")
    base_url: str = Field(
        "https://api.sendgrid.com",
        description="https://api.sendgrid.com, or https://api.eu.sendgrid.com for EU subusers.",
    )
    timeout_s: Seconds = Field(30.0, description="Timeout of one call.")
    connections: int = Field(16, ge=1, description="HTTP connections kept open.")


def plan(emails: Sequence[OutgoingEmail]) -> list[list[OutgoingEmail]]:
    """The calls of a batch: every email that fits in one, each oversized one alone."""
    batch = [e for e in emails if fits(e)]
    alone = [[e] for e in emails if not fits(e)]
    return ([batch] if batch else []) + alone


def rate_limit_reset(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds until `X-RateLimit-Reset` (unix seconds), if SendGrid sent it."""
    value = response.headers.get("X-RateLimit-Reset", "")
    if not value.isdigit():
        return None
    return max(0.0, int(value) - (time.time() if now is None else now))


def rejected_personalizations(response: httpx.Response) -> dict[int, str] | None:
    """Index → message of a 400 whose every error names a personalization; else None."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return None
    if not isinstance(errors, list) or not errors:
        return None
    found: dict[int, str] = {}
    for error in errors:
        match = PERSONALIZATION_FIELD.match(str((error or {}).get("field") or ""))
        if match is None:
            return None
        found[int(match.group(1))] = str(error.get("message") or "refused")[:300]
    return found


class SendGridProvider(http.HttpAdapter[SendGridConfig]):
    """`EmailProvider` over SendGrid's v3 Mail Send."""

    name = "sendgrid"

    def __init__(self, config: SendGridConfig, http_client: httpx.AsyncClient | None = None):
        super().__init__(config, http_client)
        self._headers = {
            "Authorization": f"Bearer {config.api_key.get_secret_value()}",
            "Content-Type": "application/json",
        }

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        """One Mail Send call for the emails that fit, one per oversized email."""
        send = partial(self._send, request)
        return await send_in_parts(request.emails, plan(request.emails), send)

    async def _send(
        self, request: SendRequest, emails: Sequence[OutgoingEmail]
    ) -> list[RecipientResult]:
        url = f"{self.config.base_url.rstrip('/')}{MAIL_SEND_PATH}"
        content = orjson.dumps(mail_send_body(request, emails))
        response = await http.call(
            self._http, self.name, "POST", url, content=content, headers=self._headers
        )
        if response.status_code == 202:
            message_id = response.headers.get("X-Message-Id", "")
            return [RecipientResult(e.lead_id, Outcome.ACCEPTED, message_id) for e in emails]
        if response.status_code == 400:
            rejected = rejected_personalizations(response)
            if rejected is not None and max(rejected) < len(emails):
                return _partly_rejected(emails, rejected)
        reason = http.body_reason(response, "errors", "message")
        raise http.refusal(self.name, response, reason, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    if response.headers.get("Retry-After"):
        return None  # `refusal` reads it
    return rate_limit_reset(response)


def _partly_rejected(
    emails: Sequence[OutgoingEmail], rejected: dict[int, str]
) -> list[RecipientResult]:
    """SendGrid refused the call for these personalizations: the others were not sent."""
    return [
        RecipientResult(e.lead_id, Outcome.REJECTED, reason=f"SendGrid: {rejected[i]}")
        if i in rejected
        else RecipientResult(e.lead_id, Outcome.RETRY, reason="sent again without the refused")
        for i, e in enumerate(emails)
    ]
