"""CPU of report_sink's ClickHouse side per event, with each materialized view dropped in turn.

Usage: python mvcost.py DROP [EVENTS]  (DROP: a view name, "none" to keep every view, or
"all" to drop every view). A fresh chDB folder, report_sink's migrations, then DROP's
view(s) dropped; EVENTS events of one campaign (per lead: sent, delivered, 20 % opened,
in values of 50 as the sender writes them) decoded by the sink's fast path and inserted
10,000 per insert as the sink does; the process's CPU time (every chDB thread included)
from the first insert to 5 s after the last (background merges), per event.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.report_sink.decode import event_rows
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.base import encode
from shared.contracts.events import EmailEvent, EventBatch, EventType

VIEWS = (
    "lead_status_mv",
    "campaign_hourly_mv",
    "send_outcomes_mv",
    "campaign_summary_mv",
    "lead_steps_mv",
)
T0 = datetime(2026, 11, 23, tzinfo=UTC)
PER_INSERT = 10_000


def _events(count: int) -> list[EmailEvent]:
    account, campaign = uuid.uuid4(), uuid.uuid4()
    out: list[EmailEvent] = []
    n = 0
    while len(out) < count:
        lead = uuid.uuid4()
        kinds = [EventType.SENT, EventType.DELIVERED] + ([EventType.OPENED] if n % 5 == 0 else [])
        for k, kind in enumerate(kinds):
            out.append(
                EmailEvent(
                    event_id=uuid.uuid4(),
                    account_id=account,
                    campaign_id=campaign,
                    lead_id=lead,
                    email=f"lead{n}@d{n % 50}.example.com",
                    type=kind,
                    provider="simulator",
                    provider_message_id=f"<{n}@fanout.local>",
                    occurred_at=T0 + timedelta(milliseconds=n * 3 + k),
                )
            )
        n += 1
    return out[:count]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(drop: str, count: int) -> None:
    events = _events(count)
    values = [encode(EventBatch(events=events[i : i + 50])) for i in range(0, count, 50)]
    with tempfile.TemporaryDirectory(prefix="mvcost-") as tmp:
        ch = AsyncClickHouse(connect_embedded(Path(tmp) / "chdb"))
        await migrate(ch)
        for view in VIEWS if drop == "all" else [v for v in VIEWS if v == drop]:
            await ch.command(f"DROP VIEW {view}")
        writer = EventWriter(ch)
        per_insert = PER_INSERT // 50
        bodies = [
            b"\n".join(event_rows(value).body for value in values[i : i + per_insert])
            for i in range(0, len(values), per_insert)
        ]
        cpu, wall = _cpu(), time.perf_counter()
        for k, body in enumerate(bodies):
            await writer.insert(body, f"t{k}")
        inserted = time.perf_counter() - wall
        await asyncio.sleep(5)
        spent = _cpu() - cpu
    sys.stdout.write(
        f"{drop:20s} {count} events  {spent / count * 1e6:7.2f} us CPU per event"
        f"  inserts {inserted:6.2f} s\n"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300_000))
