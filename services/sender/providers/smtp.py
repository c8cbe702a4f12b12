"""SMTP adapter (aiosmtplib): one transaction per email over a pool of connections.

A batch's emails are sent side by side over the pool (`smtp_pool`), each as
its own MIME message (`smtp_message`), so content stays exact per recipient.
Each email's answer:
- 250 after DATA → ACCEPTED (its Message-ID is the provider message id);
- RCPT or DATA refused 5xx → REJECTED with the relay's reply; 4xx → RETRY;
- connection lost or timed out (also mid-batch) → RETRY, the others keep
  their answers;
- AUTH refused, or the sender refused 5xx (not allowed to send as this
  address), or a 5xx greeting → `ProviderStopped`: the campaign pauses.
Bounces arrive later by the relay's own means (DSN to the envelope sender,
ARF from feedback loops): docs/providers.md says what Fanout records.
"""

from __future__ import annotations

import asyncio

import aiosmtplib

from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    RecipientResult,
    SendRequest,
)
from services.sender.providers.partial import combine, run_part
from services.sender.providers.smtp_config import SmtpConfig
from services.sender.providers.smtp_message import message_bytes, needs_smtputf8
from services.sender.providers.smtp_pool import SmtpPool

CONNECTION_ERRORS = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    OSError,
)

__all__ = ["SmtpConfig", "SmtpProvider"]


def _answer(outgoing: OutgoingEmail, code: int, message: str, what: str) -> RecipientResult:
    outcome = Outcome.REJECTED if code >= 500 else Outcome.RETRY
    return RecipientResult(outgoing.lead_id, outcome, reason=f"{what} {code} {message}"[:1000])


class SmtpProvider:
    """`EmailProvider` over an SMTP relay."""

    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._pool = SmtpPool(config)

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        """Every email in its own transaction, over the pool's connections at once."""
        parts = await asyncio.gather(
            *(run_part([e], lambda one: self._send(request, one[0])) for e in request.emails)
        )
        return combine(request.emails, parts)

    async def max_send_rate(self) -> float | None:
        """A relay tells no rate: the sender's budget rules."""
        return None

    async def aclose(self) -> None:
        """Say QUIT on every idle connection."""
        await self._pool.aclose()

    async def _send(self, request: SendRequest, outgoing: OutgoingEmail) -> list[RecipientResult]:
        message = message_bytes(request, outgoing)
        options = ["SMTPUTF8"] if needs_smtputf8(request, outgoing) else None
        try:
            async with self._pool.connection() as client:
                await client.sendmail(
                    request.from_email, [outgoing.to], message, mail_options=options
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return [_answer(outgoing, refused.code, refused.message, "RCPT TO refused:")]
        except aiosmtplib.SMTPDataError as exc:
            return [_answer(outgoing, exc.code, exc.message, "DATA refused:")]
        except aiosmtplib.SMTPResponseException as exc:  # AUTH, MAIL FROM, greeting, EHLO
            raise _refused(exc) from exc
        except CONNECTION_ERRORS as exc:
            raise ProviderRetryable(f"smtp: {exc.__class__.__name__}: {exc}") from exc
        return [RecipientResult(outgoing.lead_id, Outcome.ACCEPTED, outgoing.message_id)]


def _refused(exc: aiosmtplib.SMTPResponseException) -> Exception:
    """A refusal about the session, not the recipient: a 4xx passes, a 5xx stops sending."""
    reason = f"smtp {exc.__class__.__name__}: {exc.code} {exc.message}"
    if exc.code >= 500:
        return ProviderStopped(reason)
    return ProviderRetryable(reason)
