"""The write side: one JSONEachRow insert per batch into `email_events`."""

from __future__ import annotations

from services.report_sink.decode import EVENT_COLUMNS
from shared.clickhouse import AsyncClickHouse

EVENTS_TABLE = "email_events"
INSERT_SETTINGS: dict[str, object] = {
    "date_time_input_format": "best_effort",  # ISO 8601 with Z or an offset
    "input_format_null_as_default": 1,  # bounce_type null → ''
    "input_format_skip_unknown_fields": 0,
}


class EventWriter:
    """Inserts event lines; the token makes a retried identical insert a no-op."""

    def __init__(self, ch: AsyncClickHouse) -> None:
        self._ch = ch

    async def insert(self, body: bytes, token: str) -> None:
        """One insert of JSONEachRow `body`, deduplicated by `token`."""
        settings = {**INSERT_SETTINGS, "insert_deduplication_token": token}
        await self._ch.raw_insert(EVENTS_TABLE, EVENT_COLUMNS, body, "JSONEachRow", settings)
