"""Amazon SES v2 adapter: `SendBulkEmail` over httpx, signed with botocore's SigV4 signer.

Per entry: SUCCESS → ACCEPTED (SES MessageId); ACCOUNT_THROTTLED and
TRANSIENT_FAILURE → RETRY; MESSAGE_REJECTED, INVALID_PARAMETER, FAILED →
REJECTED. Statuses that refuse every email of the account or configuration
(suspended, paused, daily quota, unverified MAIL FROM domain, missing
configuration set, template or sending pool) raise `ProviderStopped` when
they are all the call got; beside accepted entries they become RETRY, so the
accepted ones are never sent twice and the next call stops the campaign.

Call level: 429 TooManyRequestsException, throttling, LimitExceededException,
5xx, timeouts and connection errors → `ProviderRetryable`;
AccountSuspendedException, SendingPausedException,
MailFromDomainNotVerifiedException, NotFoundException → `ProviderStopped`;
MessageRejected → every email REJECTED; any other 4xx →
`ProviderRequestError`.
"""

from __future__ import annotations

import logging
from typing import Any

import botocore.session
import httpx
import orjson
import structlog
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pydantic import Field, SecretStr

from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    RecipientResult,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError, retry_after_seconds
from services.sender.providers.http import AdapterClient
from services.sender.providers.ses_content import ascii_address, send_bulk_email_body
from services.sender.providers.settings import ProviderConfig
from shared.http.direct import direct_client
from shared.settings import Seconds

log = structlog.get_logger(__name__)

SEND_BULK_PATH = "/v2/email/outbound-bulk-emails"
ACCOUNT_PATH = "/v2/email/account"

ENTRY_OUTCOMES = {
    "SUCCESS": Outcome.ACCEPTED,
    **dict.fromkeys(("ACCOUNT_THROTTLED", "TRANSIENT_FAILURE"), Outcome.RETRY),
    **dict.fromkeys(("MESSAGE_REJECTED", "INVALID_PARAMETER", "FAILED"), Outcome.REJECTED),
}
# Entry statuses that say nothing about the recipient and everything about the sender.
STOPPING_STATUSES = frozenset(
    {
        "ACCOUNT_SUSPENDED",
        "ACCOUNT_SENDING_PAUSED",
        "ACCOUNT_DAILY_QUOTA_EXCEEDED",
        "CONFIGURATION_SET_SENDING_PAUSED",
        "MAIL_FROM_DOMAIN_NOT_VERIFIED",
        "CONFIGURATION_SET_NOT_FOUND",
        "TEMPLATE_NOT_FOUND",
        "INVALID_SENDING_POOL_NAME",
    }
)
RETRYABLE_ERRORS = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "InternalFailure",
        "InternalServiceErrorException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
STOPPING_ERRORS = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
    }
)


class SesConfig(ProviderConfig):
    """An Amazon SES v2 account and region; empty keys use botocore's chain (env, profile,
    role). The configuration set is required: SES publishes events (with Fanout's message
    tags) only through a configuration set's event destination."""

    required = ("configuration_set_name",)

    region: str = Field("us-east-1", description="The SES region.")
    access_key_id: str = Field("", description="Access key id; empty: botocore's chain.")
    secret_access_key: SecretStr = Field(SecretStr(""), description="Secret access key.")
    session_token: SecretStr | None = Field(None, description="Session token, if temporary.")
    configuration_set_name: str = Field(
        "",
        description="Configuration set with an event destination (SNS topic) for Bounce, "
        "Complaint, Delivery, Open and Click events; required.",
    )
    endpoint_url: str = Field("", description="Override of https://email.<region>.amazonaws.com.")
    timeout_s: Seconds = Field(30.0, description="Timeout of one call.")

    @property
    def base_url(self) -> str:
        """The SES v2 endpoint of the region (or the override)."""
        return (self.endpoint_url or f"https://email.{self.region}.amazonaws.com").rstrip("/")


def _credentials(settings: SesConfig) -> Any:
    """Explicit keys from settings, else botocore's default chain (env, profile, role)."""
    if settings.access_key_id:
        token = settings.session_token.get_secret_value() if settings.session_token else None
        return Credentials(
            settings.access_key_id, settings.secret_access_key.get_secret_value(), token
        )
    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise ValueError("no AWS credentials: set access_key_id and secret_access_key")
    return found


def sign(method: str, url: str, body: bytes, credentials: Any, region: str) -> dict[str, str]:
    """The headers of a SigV4-signed SES request (Authorization, X-Amz-Date, ...)."""
    frozen = credentials.get_frozen_credentials()
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(frozen, "ses", region).add_auth(request)
    return dict(request.headers.items())


def error_code(response: httpx.Response) -> tuple[str, str]:
    """The AWS error code and message of a failed rest-json call."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = response.headers.get("x-amzn-ErrorType") or body.get("__type") or body.get("code") or ""
    code = str(code).split(":")[0].split("#")[-1]
    message = str(body.get("message") or body.get("Message") or response.text[:300])
    return code, message


class SesProvider:
    """`EmailProvider` over Amazon SES v2 SendBulkEmail."""

    name = "ses"

    def __init__(self, settings: SesConfig, http: httpx.AsyncClient | None = None) -> None:
        if not settings.configuration_set_name:
            raise ValueError(
                "configuration_set_name is required: SES publishes bounces and complaints "
                "with Fanout's tags only through a configuration set's event destination"
            )
        self.settings = settings
        self._credentials = _credentials(self.settings)
        self._client = AdapterClient(http, lambda: direct_client(settings.timeout_s))
        self._http = self._client.http
        # botocore logs canonical requests (with any session token) at DEBUG.
        logging.getLogger("botocore.auth").setLevel(logging.INFO)

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        """One SendBulkEmail call; recipients SES cannot address are REJECTED without a call."""
        addressed = [(e, ascii_address(e.to)) for e in request.emails]
        sendable = [(e, to) for e, to in addressed if to is not None]
        results: dict[int, RecipientResult] = {
            i: RecipientResult(e.lead_id, Outcome.REJECTED, reason="address SES cannot send to")
            for i, (e, to) in enumerate(addressed)
            if to is None
        }
        if sendable:
            sent = iter(await self._send_bulk(request, sendable))
            for i, (_, to) in enumerate(addressed):
                if to is not None:
                    results[i] = next(sent)
        return [results[i] for i in range(len(addressed))]

    async def _send_bulk(
        self, request: SendRequest, sendable: list[tuple[OutgoingEmail, str]]
    ) -> list[RecipientResult]:
        body = send_bulk_email_body(request, sendable, self.settings.configuration_set_name)
        emails = [e for e, _ in sendable]
        try:
            response = await self._call("POST", SEND_BULK_PATH, orjson.dumps(body))
        except _MessageRejected as exc:
            return [RecipientResult(e.lead_id, Outcome.REJECTED, reason=str(exc)) for e in emails]
        return self._entry_results(emails, response)

    async def max_send_rate(self) -> float | None:
        """`SendQuota.MaxSendRate` from GetAccount; None if it cannot be read."""
        try:
            response = await self._call("GET", ACCOUNT_PATH, b"")
            rate = float(response.json()["SendQuota"]["MaxSendRate"])
        except (ProviderRetryable, ProviderStopped, ValueError, KeyError, TypeError) as exc:
            log.warning("ses.rate_unknown", error=f"{exc.__class__.__name__}: {exc}")
            return None
        return rate if rate > 0 else None

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: bytes) -> httpx.Response:
        url = f"{self.settings.base_url}{path}"
        headers = sign(method, url, body, self._credentials, self.settings.region)
        try:
            response = await self._http.request(method, url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderRetryable(f"SES timeout: {exc.__class__.__name__}") from exc
        except httpx.TransportError as exc:
            raise ProviderRetryable(f"SES unreachable: {exc.__class__.__name__}") from exc
        if response.is_success:
            return response
        raise self._call_error(response)

    def _call_error(self, response: httpx.Response) -> Exception:
        code, message = error_code(response)
        status = response.status_code
        reason = f"SES {code or 'error'} (HTTP {status}): {message}"
        if code in RETRYABLE_ERRORS or status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return ProviderRetryable(reason, retry_after)
        if code in STOPPING_ERRORS:
            return ProviderStopped(reason)
        if code == "MessageRejected":
            return _MessageRejected(reason)
        return ProviderRequestError(self.name, status, f"{code}: {message}")

    def _entry_results(
        self, emails: list[OutgoingEmail], response: httpx.Response
    ) -> list[RecipientResult]:
        try:
            entries = response.json()["BulkEmailEntryResults"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderRetryable("SES answered a malformed body") from exc
        if not isinstance(entries, list) or len(entries) != len(emails):
            raise ProviderRetryable("SES answered a different number of results")
        statuses = [str(entry.get("Status", "")) for entry in entries]
        if all(status in STOPPING_STATUSES for status in statuses):
            raise ProviderStopped(f"SES refuses sending: {statuses[0]}: {entries[0].get('Error')}")
        return [_entry_result(e, entry) for e, entry in zip(emails, entries, strict=True)]


class _MessageRejected(Exception):
    """SES refused the message content itself: every recipient of the call is rejected."""


def _entry_result(outgoing: OutgoingEmail, entry: dict[str, Any]) -> RecipientResult:
    status = str(entry.get("Status", ""))
    reason = "" if status == "SUCCESS" else f"{status}: {entry.get('Error') or ''}".rstrip(": ")
    # Unknown statuses and sender-wide ones beside accepted entries: retry, never drop.
    outcome = ENTRY_OUTCOMES.get(status, Outcome.RETRY)
    message_id = str(entry.get("MessageId") or "") if outcome is Outcome.ACCEPTED else ""
    return RecipientResult(outgoing.lead_id, outcome, message_id, reason)
