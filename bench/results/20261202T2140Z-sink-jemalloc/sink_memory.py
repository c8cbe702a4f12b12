"""report_sink's ClickHouse side fed N emails' events; the process's peak RSS at the end.

The service's own engine (`open_clickhouse`: its settings, caches, memory cap, malloc
arenas), migrations, code release and summary worker (every 2 s), then one campaign of
N emails as the pipeline makes it (sent; delivered 97 % or bounced 3 %; opened 35 % of
those delivered), inserted through `EventWriter` in batches of BATCH events (about one
second of a 5,000 events/s sink). Prints one line: N, seconds, VmHWM and VmRSS in MB.

Run with a fresh FANOUT_HOME per run: `FANOUT_HOME=$(mktemp -d) python sink_memory.py N`.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from services.report_sink.config import Settings
from services.report_sink.decode import event_rows
from services.report_sink.main import open_clickhouse
from services.report_sink.memory import release_engine_code
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from services.report_sink.summary import CampaignSummaries
from shared.clickhouse import AsyncClickHouse, connect
from shared.contracts.base import encode
from shared.contracts.events import EmailEvent, EventBatch, EventType

BATCH = 5_000
PER_VALUE = 1_000
# SINK_SUMMARY_THREADS=1 runs the summary's recompute on one thread (max_threads)
SUMMARY_SETTINGS = (
    {"max_threads": int(os.environ["SINK_SUMMARY_THREADS"])}
    if os.environ.get("SINK_SUMMARY_THREADS")
    else {}
)
T0 = datetime(2026, 12, 2, tzinfo=UTC)


def status(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def events(emails: int) -> Iterator[EmailEvent]:
    """The events of `emails` emails of one campaign, in the order they arrive (roughly),
    made as they are inserted (the harness's own memory stays flat)."""
    rng = random.Random(7)
    account, campaign = uuid.uuid4(), uuid.uuid4()
    for n in range(emails):
        lead = uuid.uuid4()
        kinds = [EventType.SENT]
        if rng.random() < 0.97:
            kinds.append(EventType.DELIVERED)
            if rng.random() < 0.35:
                kinds.append(EventType.OPENED)
        else:
            kinds.append(EventType.BOUNCED)
        for k, kind in enumerate(kinds):
            yield EmailEvent(
                    event_id=uuid.uuid4(), account_id=account, campaign_id=campaign,
                    lead_id=lead, email=f"lead{n}@d{n % 50}.example.com", type=kind,
                    provider="simulator", provider_message_id=f"<{n}@fanout.local>",
                    occurred_at=T0 + timedelta(milliseconds=n + 200 * k),
                    bounce_type="hard" if kind is EventType.BOUNCED else None,
            )  # fmt: skip


async def main(emails: int) -> None:
    settings = Settings()
    writer, reader, analyst = open_clickhouse(settings)
    await migrate(writer)
    release_engine_code()
    summaries = CampaignSummaries(
        AsyncClickHouse(connect(settings.common, settings=SUMMARY_SETTINGS)),
        interval_s=float(os.environ.get("SINK_SUMMARY_INTERVAL_S", "2.0")),
        busy_share=float(os.environ.get("SINK_SUMMARY_BUSY_SHARE", "1.0")),
    )
    stop = asyncio.Event()
    # SINK_SUMMARY=0 leaves the summary worker out (which part of the peak is its)
    run_summaries = os.environ.get("SINK_SUMMARY", "1") != "0"
    sweeper = asyncio.create_task(summaries.run(stop) if run_summaries else stop.wait())
    sink = EventWriter(writer)
    started = time.perf_counter()
    batch: list[EmailEvent] = []
    bodies: list[bytes] = []

    async def insert() -> None:
        await sink.insert(b"\n".join(bodies), uuid.uuid4().hex)
        bodies.clear()

    for event in events(emails):
        batch.append(event)
        if len(batch) == PER_VALUE:  # one Kafka value's worth, as the sink decodes them
            rows = event_rows(encode(EventBatch(events=batch)))
            bodies.append(rows.body)
            summaries.touched(rows.campaigns)
            batch = []
            if len(bodies) * PER_VALUE >= BATCH:
                await insert()
    if batch:
        rows = event_rows(encode(EventBatch(events=batch)))
        bodies.append(rows.body)
    if bodies:
        await insert()
    await asyncio.sleep(4)  # a last summary round
    stop.set()
    await sweeper
    elapsed = time.perf_counter() - started
    sys.stdout.write(
        f"emails={emails} seconds={elapsed:.1f} VmHWM_MB={status('VmHWM'):.0f} "
        f"VmRSS_MB={status('VmRSS'):.0f} recomputes={summaries.recomputed}\n"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
