"""What the guard counts: delivered-or-bounced outcomes, hard bounces and complaints.

A record of `email.events` holds the events of one campaign; the guard keeps, of each,
only what its rates are made of (`Fact`), and adds facts up per campaign and per account
and hour (`Tally`). Everything else (sent, opened, clicked, ...) is read past.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import msgspec

from shared.contracts import EventType
from shared.contracts.fast_events import EventFields

COUNTED = frozenset({EventType.DELIVERED, EventType.BOUNCED, EventType.COMPLAINED})


Flags = tuple[bool, bool, bool, bool]  # outcome, bounced, hard bounce, complaint
_DELIVERED: Flags = (True, False, False, False)
_SOFT_BOUNCE: Flags = (True, True, False, False)
_HARD_BOUNCE: Flags = (True, True, True, False)
_COMPLAINT: Flags = (False, False, False, True)
_FLAGS: dict[EventType, Flags] = {
    EventType.DELIVERED: _DELIVERED,
    EventType.BOUNCED: _SOFT_BOUNCE,  # hard when its bounce type says so
    EventType.COMPLAINED: _COMPLAINT,
}
assert _FLAGS.keys() == COUNTED


class Fact(msgspec.Struct, frozen=True, gc=False):
    """One counted event (the guard makes one per delivery, bounce or complaint).

    Nothing of it is for the cyclic garbage collector to walk: a batch holds its facts
    until it is written (up to `batch_max_seconds`) and every timed collection
    (`collect_cycles`) walks what is tracked. So a struct the collector does not track
    (`gc=False`; a named tuple stays tracked), the ids as their 128-bit integers (a `UUID`
    is a tracked object, three per fact; an int hashes in C, for grouping and
    `RecentIds`), and the flags one of four shared tuples."""

    event_id: int
    campaign_id: int
    account_id: int
    hour: datetime
    flags: Flags


@dataclass
class Counts:
    """Counters of one campaign, or of one account in one hour."""

    outcomes: int = 0
    delivered: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0

    def add(self, flags: Flags, times: int = 1) -> None:
        """Count `times` events of these flags (`Fact.flags`)."""
        outcome, bounced, hard_bounce, complaint = flags
        self.outcomes += outcome * times
        self.delivered += (outcome and not bounced) * times
        self.bounced_hard += hard_bounce * times
        self.bounced_soft += (bounced and not hard_bounce) * times
        self.complained += complaint * times


@dataclass
class Tally:
    """A batch's facts added up per campaign and per (account, hour)."""

    campaigns: dict[UUID, Counts] = field(default_factory=lambda: defaultdict(Counts))
    accounts_of: dict[UUID, UUID] = field(default_factory=dict)  # campaign → account
    hours: dict[tuple[UUID, datetime], Counts] = field(default_factory=lambda: defaultdict(Counts))
    events: int = 0

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> Tally:
        """The tally of `facts`: grouped first by campaign, account, hour and flags, then
        counted per group."""
        grouped = Counter((f.campaign_id, f.account_id, f.hour, f.flags) for f in facts)
        tally = cls()
        for (campaign, account, hour, flags), times in grouped.items():
            tally.add(UUID(int=campaign), UUID(int=account), hour, flags, times)
        return tally

    def add(self, campaign: UUID, account: UUID, hour: datetime, flags: Flags, times: int) -> None:
        """Count `times` events of `flags` for the campaign and its account's hour."""
        self.campaigns[campaign].add(flags, times)
        self.accounts_of[campaign] = account
        self.hours[(account, hour)].add(flags, times)
        self.events += times


def facts_of(events: Iterable[EventFields]) -> list[Fact]:
    """The counted events among `events`."""
    facts: list[Fact] = []
    for event in events:
        flags = _FLAGS.get(event.type)
        if flags is None:
            continue
        if flags is _SOFT_BOUNCE and event.bounce_type == "hard":
            flags = _HARD_BOUNCE
        hour = event.occurred_at.replace(minute=0, second=0, microsecond=0)
        facts.append(
            Fact(event.event_id.int, event.campaign_id.int, event.account_id.int, hour, flags)
        )
    return facts
