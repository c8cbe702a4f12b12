"""webhook_ingest's `email.events` value of 50 delivered events: pydantic's `encode` against
`encode_batch` (orjson), alternating, 7 rounds of 2,000 values each; µs per value (process
CPU). Run from the repository root:
`.venv/bin/python bench/results/20261203T2245Z-webhook-encode/micro.py`."""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

from shared.contracts import encode
from shared.contracts.events import EmailEvent, EventBatch, EventType, encode_batch

account, campaign = uuid.uuid4(), uuid.uuid4()
batch = EventBatch(
    events=[
        EmailEvent(
            event_id=uuid.uuid4(),
            account_id=account,
            campaign_id=campaign,
            lead_id=uuid.uuid4(),
            email=f"lead{i}@example{i % 7}.com",
            type=EventType.DELIVERED,
            provider="simulator",
            provider_message_id=f"sim-{uuid.uuid4()}",
            occurred_at=datetime.now(UTC),
        )
        for i in range(50)
    ]
)
assert encode(batch) == encode_batch(batch)
timings: dict[str, list[float]] = {"encode (pydantic)": [], "encode_batch (orjson)": []}
for _ in range(7):
    for name, fn in (("encode (pydantic)", encode), ("encode_batch (orjson)", encode_batch)):
        start = time.process_time()
        for _ in range(2000):
            fn(batch)
        timings[name].append((time.process_time() - start) / 2000 * 1e6)
for name, xs in timings.items():
    rounds = [round(x, 1) for x in xs]
    sys.stdout.write(
        f"{name}: median {statistics.median(xs):.1f} µs per value of 50 events, rounds {rounds}\n"
    )
