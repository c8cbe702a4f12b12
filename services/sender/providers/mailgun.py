"""Mailgun Messages API adapter: one batch call per batch, with recipient variables.

Answers: 200 `{"id", "message": "Queued. Thank you."}` → every email ACCEPTED
with the call's id. 400 (a bad parameter, e.g. one invalid address: Mailgun
does not say which) → a batch of several is split into one call per email, so
only the email at fault is REJECTED. 401 (bad key) and 403 (domain disabled,
account suspended) → `ProviderRequestError` that pauses the campaign; 404
(the sending domain is not on this account or region) → `ProviderStopped`;
429 and 5xx, timeouts → `ProviderRetryable`. US and EU accounts live on
different API hosts (`region`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal
from urllib.parse import urlencode

import httpx
from pydantic import Field, SecretStr

from services.sender.providers import http
from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderStopped,
    RecipientResult,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError
from services.sender.providers.mailgun_content import messages_form, plan
from services.sender.providers.partial import send_in_parts
from services.sender.providers.settings import ProviderConfig
from shared.settings import Seconds

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REGIONS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}


class MailgunConfig(ProviderConfig):
    """A Mailgun sending domain: its API key, domain and region."""

    required = ("api_key", "domain")

    api_key: SecretStr = Field(SecretStr(""), description="Private API key (or a domain key).")
    domain: str = Field("", description="The sending domain, as set up at Mailgun.")
    region: Literal["us", "eu"] = Field("us", description="Where the domain lives.")
    base_url: str = Field("", description="Override of the region's API host (tests).")
    timeout_s: Seconds = Field(30.0, description="Timeout of one call.")
    connections: int = Field(16, ge=1, description="HTTP connections kept open.")

    @property
    def messages_url(self) -> str:
        """`POST` here to send."""
        host = (self.base_url or REGIONS[self.region]).rstrip("/")
        return f"{host}/v3/{self.domain}/messages"


class MailgunProvider(http.HttpAdapter[MailgunConfig]):
    """`EmailProvider` over Mailgun's Messages API (batch sending)."""

    name = "mailgun"

    def __init__(self, config: MailgunConfig, http_client: httpx.AsyncClient | None = None):
        super().__init__(config, http_client)
        self._auth = ("api", config.api_key.get_secret_value())

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        """One batch call (more if an address repeats); a 400 splits the call per email."""
        split = partial(self._send_or_split, request)
        return await send_in_parts(request.emails, plan(request.emails), split)

    async def _send_or_split(
        self, request: SendRequest, emails: Sequence[OutgoingEmail]
    ) -> list[RecipientResult]:
        try:
            return await self._send(request, emails)
        except ProviderRequestError as exc:
            if exc.status_code != 400 or len(emails) == 1:
                raise
        return await send_in_parts(emails, ([e] for e in emails), partial(self._send, request))

    async def _send(
        self, request: SendRequest, emails: Sequence[OutgoingEmail]
    ) -> list[RecipientResult]:
        content = urlencode(messages_form(request, emails)).encode()
        response = await http.call(
            self._http,
            self.name,
            "POST",
            self.config.messages_url,
            content=content,
            headers=FORM,
            auth=self._auth,
        )
        reason = http.body_reason(response, "message")
        if response.status_code == 200:
            message_id = http.body_reason(response, "id") if response.content else ""
            return [RecipientResult(e.lead_id, Outcome.ACCEPTED, message_id) for e in emails]
        if response.status_code == 404:
            raise ProviderStopped(f"Mailgun domain {self.config.domain!r} not found: {reason}")
        raise http.refusal(self.name, response, reason)
