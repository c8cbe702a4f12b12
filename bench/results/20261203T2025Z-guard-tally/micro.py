"""The guard's Python per record: decode, facts, first copies, tally.

Usage: python micro.py LABEL. One value of 50 webhook events (45 delivered, 4 opened, 1
hard bounce) and one of 50 sent events, as the sender and webhook_ingest write them; the
best of 5 repeats of 5,000, in µs per pair of values (100 events, 51 counted).
"""

from __future__ import annotations

import sys
import timeit
import uuid
from datetime import UTC, datetime, timedelta

from services.guard.tally import Tally, facts_of
from shared.contracts.base import encode
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.contracts.fast_events import decode_events

T0 = datetime(2026, 11, 23, tzinfo=UTC)
KINDS = [EventType.DELIVERED] * 45 + [EventType.OPENED] * 4 + [EventType.BOUNCED]


def _values() -> tuple[bytes, bytes]:
    account, campaign = uuid.uuid4(), uuid.uuid4()
    events = [
        EmailEvent(
            event_id=uuid.uuid4(),
            account_id=account,
            campaign_id=campaign,
            lead_id=uuid.uuid4(),
            email=f"l{n}@x.com",
            type=KINDS[n],
            provider="simulator",
            provider_message_id=f"<{n}@f>",
            occurred_at=T0 + timedelta(seconds=n),
            bounce_type="hard" if KINDS[n] is EventType.BOUNCED else None,
        )
        for n in range(50)
    ]
    sent = [e.model_copy(update={"type": EventType.SENT}) for e in events]
    return encode(EventBatch(events=events)), encode(EventBatch(events=sent))


def _step(value: bytes) -> Tally:
    """What `GuardStep` does with a value, as far as Python goes (no Postgres)."""
    seen: set[uuid.UUID] = set()
    first = []
    for fact in facts_of(decode_events(value)):
        if fact.event_id not in seen:
            seen.add(fact.event_id)
            first.append(fact)
    return Tally.of(first)


def main(label: str) -> None:
    """Print the best time per pair of values."""
    webhook, sent = _values()
    n = 5000
    best = min(timeit.repeat(lambda: (_step(webhook), _step(sent)), number=n, repeat=5)) / n
    sys.stdout.write(f"{label}: {best * 1e6:.1f} us per pair of values (100 events, 51 counted)\n")


if __name__ == "__main__":
    main(sys.argv[1])
