"""Lead events (`email.events`) → batched deliveries to the endpoints that want them.

The consumer is a batched strategy on the shared runner, readable top to bottom:

    poll → decode the events (`decode_events`; invalid → dead letter; a value whose
           `event-types` header names no feedback type is read past), keep provider feedback
         → accumulate (≤ batch_max_events events or batch_max_seconds)
         → one transaction: skip records already applied (`shared.kafka.applied`), count feedback,
           queue deliveries → commit offsets

Millions of leads can bounce or be delivered, so a delivery carries up to
`events_per_delivery` events of one type for one endpoint: one webhook per type per
endpoint per batch, not one per lead. Only enabled endpoints subscribed to the type get
it; sends, failures and exclusions are not offered as lead webhooks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID, uuid4

import asyncpg

from services.notifier.feedback import count_feedback
from services.notifier.payloads import lead_body
from services.notifier.queue import NewDelivery, Subscriber, enqueue, subscribers
from shared.contracts.fast_events import EventFields, decode_events, holds_none_of
from shared.kafka.applied import unapplied
from shared.kafka.strategies.batch import Batch
from shared.kafka.strategy import KafkaRecord
from shared.outbound.event_types import LEAD_EVENTS, WebhookEventType

Events = list[EventFields]


def lead_deliveries(
    events: Iterable[EventFields],
    wanted: Mapping[UUID, Sequence[Subscriber]],
    per_delivery: int,
) -> list[NewDelivery]:
    """The deliveries telling `events` to the endpoints that want them, ≤ per_delivery each."""
    if not wanted:  # no account of theirs has an endpoint (the common case): nothing to read
        return []
    groups: dict[tuple[UUID, UUID, WebhookEventType], Events] = defaultdict(list)
    for event in events:
        kind = LEAD_EVENTS.get(event.type)
        if kind is None:
            continue
        for subscriber in wanted.get(event.account_id, ()):
            if subscriber.wants(kind, event.occurred_at):
                groups[(subscriber.endpoint_id, event.account_id, kind)].append(event)
    return [
        NewDelivery(uuid4(), endpoint, account, kind.value, len(chunk), lead_body(kind, chunk))
        for (endpoint, account, kind), grouped in groups.items()
        for chunk in _chunks(grouped, per_delivery)
    ]


def _accounts(events: Events) -> set[UUID]:
    """The accounts of `events` (grouped by their ids' integers: a `UUID` hashes in Python)."""
    return {UUID(int=account) for account in {event.account_id.int for event in events}}


def _chunks(events: Events, size: int) -> Iterable[Events]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


class LeadEventsStep:
    """The notifier's part of the batched strategy over `email.events`."""

    def __init__(self, pool: asyncpg.Pool, group: str, per_delivery: int) -> None:
        self._pool = pool
        self._group = group
        self._per_delivery = per_delivery

    def decode(self, record: KafkaRecord) -> tuple[Events, int]:
        """The record's provider feedback (weight: every event it holds). A value whose
        header says it holds no feedback (the sender's outcomes, the resolver's
        exclusions) is read past undecoded (weight 1)."""
        if holds_none_of(record.headers, LEAD_EVENTS):
            return [], 1
        events = decode_events(record.value)
        return [e for e in events if e.type in LEAD_EVENTS], len(events)

    def recheck(self, record: KafkaRecord) -> tuple[Events, int]:
        """The same full contract check (decoding is already strict)."""
        return self.decode(record)

    async def write(self, batch: Batch[Events]) -> None:
        """Apply the batch's new records in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = [
                event for events in await unapplied(conn, self._group, batch) for event in events
            ]
            if not fresh:
                return
            await count_feedback(conn, fresh)
            wanted = await subscribers(conn, _accounts(fresh))
            await enqueue(conn, lead_deliveries(fresh, wanted, self._per_delivery), "lead")
