"""What the guard counts: delivered-or-bounced outcomes, hard bounces and complaints.

A record of `email.events` holds the events of one campaign; the guard keeps, of each,
only what its rates are made of (`Fact`), and adds facts up per campaign and per account
and hour (`Tally`). Everything else (sent, opened, clicked, ...) is read past.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from shared.contracts import EventType
from shared.contracts.fast_events import EventFields

COUNTED = frozenset({EventType.DELIVERED, EventType.BOUNCED, EventType.COMPLAINED})


@dataclass(frozen=True, slots=True)
class Fact:
    """One counted event."""

    event_id: UUID
    campaign_id: UUID
    account_id: UUID
    hour: datetime
    outcome: bool  # delivered or bounced
    bounced: bool
    hard_bounce: bool
    complaint: bool


@dataclass
class Counts:
    """Counters of one campaign, or of one account in one hour."""

    outcomes: int = 0
    delivered: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0

    def add(self, fact: Fact) -> None:
        """Count `fact`."""
        self.outcomes += fact.outcome
        self.delivered += fact.outcome and not fact.bounced
        self.bounced_hard += fact.hard_bounce
        self.bounced_soft += fact.bounced and not fact.hard_bounce
        self.complained += fact.complaint


@dataclass
class Tally:
    """A batch's facts added up per campaign and per (account, hour)."""

    campaigns: dict[UUID, Counts] = field(default_factory=lambda: defaultdict(Counts))
    accounts_of: dict[UUID, UUID] = field(default_factory=dict)  # campaign → account
    hours: dict[tuple[UUID, datetime], Counts] = field(default_factory=lambda: defaultdict(Counts))
    events: int = 0

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> Tally:
        """The tally of `facts`."""
        tally = cls()
        for fact in facts:
            tally.add(fact)
        return tally

    def add(self, fact: Fact) -> None:
        """Count `fact` for its campaign and its account's hour."""
        self.campaigns[fact.campaign_id].add(fact)
        self.accounts_of[fact.campaign_id] = fact.account_id
        self.hours[(fact.account_id, fact.hour)].add(fact)
        self.events += 1


def facts_of(events: Iterable[EventFields]) -> list[Fact]:
    """The counted events among `events`."""
    return [fact_of(event) for event in events if event.type in COUNTED]


def fact_of(event: EventFields) -> Fact:
    """What the guard keeps of a delivered, bounced or complained event."""
    kind = event.type
    bounced = kind is EventType.BOUNCED
    return Fact(
        event_id=event.event_id,
        campaign_id=event.campaign_id,
        account_id=event.account_id,
        hour=event.occurred_at.replace(minute=0, second=0, microsecond=0),
        outcome=kind is not EventType.COMPLAINED,
        bounced=bounced,
        hard_bounce=bounced and event.bounce_type == "hard",
        complaint=kind is EventType.COMPLAINED,
    )
