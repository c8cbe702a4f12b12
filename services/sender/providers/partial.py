"""Several provider calls for one batch, answered as one list of per-recipient results.

Adapters that cannot send a whole batch in one call (SMTP sends one message per
transaction; SendGrid and Mailgun split off the emails their batch call cannot
carry) make several calls and combine them here. What one part's failure means
depends on the others: when no part was answered at all, the failure is the
batch's (raised, so the delivery step backs off or pauses the campaign); when
some were answered, those answers are kept and the failed parts' emails
become RETRY, so an accepted email is never sent twice and the next call meets
the failure alone; a part refused for good (a request error other than
401/403) then rejects its own emails only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    RecipientResult,
)
from services.sender.providers.errors import ProviderRequestError

STOP_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class Part:
    """The emails of one call and what the call gave: results, or the exception it raised."""

    emails: Sequence[OutgoingEmail]
    answer: list[RecipientResult] | Exception


def stops(error: Exception) -> bool:
    """Whether `error` refuses all sending (the campaign pauses)."""
    if isinstance(error, ProviderStopped):
        return True
    return isinstance(error, ProviderRequestError) and error.status_code in STOP_STATUSES


Send = Callable[[Sequence[OutgoingEmail]], Awaitable[list[RecipientResult]]]


async def run_part(emails: Sequence[OutgoingEmail], send: Send) -> Part:
    """One call, its classified failure kept as the part's answer."""
    try:
        return Part(emails, await send(emails))
    except (ProviderRetryable, ProviderStopped, ProviderRequestError) as exc:
        return Part(emails, exc)


async def send_in_parts(
    emails: Sequence[OutgoingEmail], parts: Iterable[Sequence[OutgoingEmail]], send: Send
) -> list[RecipientResult]:
    """One `send` call per part of `emails`, one after the other, combined."""
    return combine(emails, [await run_part(part, send) for part in parts])


def combine(emails: Sequence[OutgoingEmail], parts: Sequence[Part]) -> list[RecipientResult]:
    """One result per email of `emails`, in order; raises when no part was answered."""
    errors = [p.answer for p in parts if isinstance(p.answer, Exception)]
    if errors and len(errors) == len(parts):
        raise next((e for e in errors if stops(e)), errors[0])
    by_lead: dict[UUID, RecipientResult] = {}
    for part in parts:
        by_lead.update(_results(part))
    return [by_lead[e.lead_id] for e in emails]


def _results(part: Part) -> dict[UUID, RecipientResult]:
    answer = part.answer
    if not isinstance(answer, Exception):
        return {r.lead_id: r for r in answer}
    lasting = isinstance(answer, ProviderRequestError) and not stops(answer)
    outcome = Outcome.REJECTED if lasting else Outcome.RETRY
    return {e.lead_id: RecipientResult(e.lead_id, outcome, reason=str(answer)) for e in part.emails}
