"""A campaign's reports from its events: the real ClickHouse schema in a chDB folder."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson

from services.report_sink import queries
from services.report_sink.api.models import FunnelCounts
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts import EmailEvent
from tests.send_path import Seeded


async def funnel_of(
    events: Sequence[EmailEvent], folder: Path, seeded: Seeded
) -> tuple[FunnelCounts, dict[uuid.UUID, str]]:
    """The campaign's funnel and each lead's status, after loading `events` into ClickHouse."""
    ch = AsyncClickHouse(connect_embedded(folder))
    try:
        await migrate(ch)
        body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
        if body:
            await EventWriter(ch).insert(body, uuid.uuid4().hex)
        counts = await queries.funnel(ch, seeded.account_id, seeded.campaign_id)
        rows = await queries.recipients(
            ch, seeded.account_id, seeded.campaign_id, "", queries.NIL, 1_000_000
        )
        return counts, {r.lead_id: r.status for r in rows}
    finally:
        ch.close()
