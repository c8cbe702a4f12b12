"""The write side: one JSONEachRow insert per batch into `email_events`."""

from __future__ import annotations

import asyncio

from services.report_sink.decode import EVENT_COLUMNS
from shared.clickhouse import AsyncClickHouse

EVENTS_TABLE = "email_events"
INSERT_SETTINGS: dict[str, object] = {
    "date_time_input_format": "best_effort",  # ISO 8601 with Z or an offset
    "input_format_null_as_default": 1,  # bounce_type null → ''
    "input_format_skip_unknown_fields": 0,
}


class EventWriter:
    """Inserts event lines; the token makes a retried identical insert a no-op.

    Given several clients (each its own thread and connection), as many inserts run at
    once: an insert's views and parts are written by one thread, so under a backlog one
    insert at a time leaves a core idle (`Settings.insert_concurrency`).
    """

    def __init__(self, *clients: AsyncClickHouse) -> None:
        if not clients:
            raise ValueError("EventWriter needs at least one client")
        self.concurrency = len(clients)
        self._idle: asyncio.Queue[AsyncClickHouse] = asyncio.Queue()
        for client in clients:
            self._idle.put_nowait(client)

    async def insert(self, body: bytes, token: str) -> None:
        """One insert of JSONEachRow `body`, deduplicated by `token`, on an idle client."""
        settings = {**INSERT_SETTINGS, "insert_deduplication_token": token}
        ch = await self._idle.get()
        try:
            await ch.raw_insert(EVENTS_TABLE, EVENT_COLUMNS, body, "JSONEachRow", settings)
        finally:
            self._idle.put_nowait(ch)
