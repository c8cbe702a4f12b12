"""The status precedence of a (campaign, lead): which event type is its "latest status".

Events arrive out of order (an open before the delivery, a bounce after an open), so
"last write wins" would be wrong. The latest status is the event with the highest
(precedence, time): negative signals that decide future sends outrank engagement,
engagement implies delivery, a delivery outranks the send outcome, and any send
outcome outranks `excluded` (a lead left out at resolve time gets no other event of
the campaign; should a later decision send it anyway, what happened to the email
wins). The same list is encoded in the lead_status view, last set by
migrations/0004_lead_status_excluded.sql; a test keeps the two in step.
"""

from __future__ import annotations

from shared.contracts.events import EventType

PRECEDENCE: tuple[EventType, ...] = (
    EventType.EXCLUDED,
    EventType.QUEUED,
    EventType.CANCELLED,
    EventType.SUPPRESSED,
    EventType.FAILED,
    EventType.SENT,
    EventType.DELIVERED,
    EventType.OPENED,
    EventType.CLICKED,
    EventType.BOUNCED,
    EventType.UNSUBSCRIBED,
    EventType.COMPLAINED,
)
"""Lowest first: complained > unsubscribed > bounced > clicked > opened > delivered > sent
> failed > suppressed > cancelled > queued > excluded; ties broken by the later event time."""


def rank(event_type: EventType) -> int:
    """0 for the weakest status (`excluded`, which keeps the ranks 1..11 the other types
    had before it existed), len(PRECEDENCE) - 1 for the strongest."""
    return PRECEDENCE.index(event_type)


OUTCOME_PRECEDENCE: tuple[EventType, ...] = (
    EventType.CANCELLED,
    EventType.SUPPRESSED,
    EventType.FAILED,
    EventType.SENT,
)
"""The terminal send outcome of a (campaign, lead) when its outcome events disagree, lowest
first: an accepted send always wins (the provider has the email, whatever was recorded
later), then failed > suppressed > cancelled; ties broken by the later time. Encoded in
`migrations/0005_send_outcomes.sql`; a test keeps the two in step."""
