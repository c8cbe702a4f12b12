"""Postmark's per-message answers to a batch call, as per-recipient outcomes.

Each result carries an `ErrorCode` (Postmark's API error codes): 0 → ACCEPTED
with Postmark's MessageID; codes about the recipient or the message (inactive
recipient 406, invalid request 300, forbidden attachment 411, invalid JSON
402/403) → REJECTED; rate limit 429 and maintenance 100 → RETRY; codes that
refuse the whole server or sender (bad token 10, sender signature not found or
not confirmed 400/401, not allowed to send 405, account pending or not allowed
412/413) → `ProviderStopped` when every message got one, RETRY beside accepted
ones (they are not sent twice; the next call stops the campaign). Unknown codes
→ RETRY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    RecipientResult,
)

ACCEPTED = 0
REJECTING_CODES = frozenset({300, 402, 403, 406, 411})
RETRYING_CODES = frozenset({100, 429})
STOPPING_CODES = frozenset({10, 400, 401, 405, 412, 413})


def outcome_of(code: int) -> Outcome:
    """The outcome of one message's `ErrorCode`."""
    if code == ACCEPTED:
        return Outcome.ACCEPTED
    if code in REJECTING_CODES:
        return Outcome.REJECTED
    return Outcome.RETRY


def _result(outgoing: OutgoingEmail, answer: dict[str, Any]) -> RecipientResult:
    code = int(answer.get("ErrorCode", -1))
    outcome = outcome_of(code)
    if outcome is Outcome.ACCEPTED:
        return RecipientResult(outgoing.lead_id, outcome, str(answer.get("MessageID") or ""))
    reason = f"Postmark error {code}: {answer.get('Message') or ''}".rstrip(": ")
    return RecipientResult(outgoing.lead_id, outcome, reason=reason)


def batch_results(
    emails: Sequence[OutgoingEmail], response: httpx.Response
) -> list[RecipientResult]:
    """One result per email from a 200 batch answer; raises when every message was refused
    for a reason about the server or sender."""
    try:
        answers = response.json()
        codes = [int(a["ErrorCode"]) for a in answers]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderRetryable("Postmark answered a malformed batch result") from exc
    if len(answers) != len(emails):
        raise ProviderRetryable("Postmark answered a different number of results")
    if all(code in STOPPING_CODES for code in codes):
        raise ProviderStopped(f"Postmark error {codes[0]}: {answers[0].get('Message') or ''}")
    return [_result(e, a) for e, a in zip(emails, answers, strict=True)]
