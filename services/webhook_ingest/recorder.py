"""Recording a request's events: Postgres changes first, then Kafka, both before the 2xx.

Postgres changes (suppressions) are committed in one transaction, and a request
whose events change nothing there (opens, clicks, deliveries of addresses without a
soft-bounce run: most requests of a provider that posts one event each) opens none and
makes at most the one read that says so (on the development box a round trip from
asyncpg cost 72–101 µs of the client's CPU and 28–46 µs of Postgres'; a post of one
event 0.85–0.88× of this service's CPU and 0.47–0.57× of Postgres', side by side:
bench/results/20261205T1505Z-round25). Then the events are produced as one
`EventBatch` per campaign and every send is awaited until the broker acknowledged it.
Any failure raises `RecordingFailed` and the endpoint answers 503, so the provider
retries the whole request; both steps are idempotent, so the retry records each event
once.
A value Postgres refuses (`DataError`) is the payload's fault: `MalformedPayload`.
Events that cannot be recorded are dead-lettered (`deadletters.py`), also
before the 2xx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.webhook_ingest import suppressions
from services.webhook_ingest.deadletters import send_rejected
from services.webhook_ingest.known_runs import KnownRuns
from services.webhook_ingest.providers.base import MalformedPayload, Rejected
from shared.contracts.fast_events import FastEvent, encode_events

MAX_EVENTS_PER_BATCH = 1000
PG_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class RecordingFailed(Exception):
    """Postgres or Kafka did not take the events; the provider should retry."""


Value = tuple[bytes, bytes]  # a Kafka key and value


def batches(events: list[FastEvent]) -> Iterator[Value]:
    """One value per campaign, events in arrival order, at most 1000 each; keyed by the
    campaign and the first event's lead (as `EventBatch.key`).

    Per campaign rather than per (campaign, lead): a provider's request holds events of
    many leads, and aiokafka's per-record cost (~35 µs of CPU) was this service's largest.
    The sink is indifferent to the grouping; event ids stay per event.
    """
    groups: dict[UUID, list[FastEvent]] = {}
    for event in events:
        groups.setdefault(event.campaign_id, []).append(event)
    for group in groups.values():
        for start in range(0, len(group), MAX_EVENTS_PER_BATCH):
            chunk = group[start : start + MAX_EVENTS_PER_BATCH]
            yield f"{chunk[0].campaign_id}:{chunk[0].lead_id}".encode(), encode_events(chunk)


@dataclass
class Recorder:
    """Where a request's events go, and the knobs of how."""

    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    topic: str
    soft_bounce_threshold: int
    send_timeout_s: float
    known_runs: KnownRuns | None = None  # None: every delivered address is looked up

    async def record(self, events: list[FastEvent]) -> None:
        """Make `events` durable in Postgres and on Kafka, or raise `RecordingFailed`."""
        if not events:
            return
        await self._write(events)
        await self._emit(events)

    async def dead_letter(self, provider: str, rejected: list[Rejected]) -> None:
        """Put `rejected` on the dead-letter topic, or raise `RecordingFailed`."""
        if not rejected:
            return
        try:
            async with asyncio.timeout(self.send_timeout_s):
                await send_rejected(self.producer, self.topic, provider, rejected)
        except (KafkaError, TimeoutError) as exc:
            raise RecordingFailed(f"Kafka: {exc.__class__.__name__}: {exc}") from exc

    async def account_exists(self, account_id: UUID) -> bool:
        """True if the account exists (`RecordingFailed` if Postgres does not answer)."""
        try:
            async with self.pool.acquire(timeout=10) as conn:
                found = await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id)
        except PG_ERRORS as exc:
            raise RecordingFailed(f"Postgres: {exc.__class__.__name__}: {exc}") from exc
        return found is not None

    async def _write(self, events: list[FastEvent]) -> None:
        changes = suppressions.Changes.of(events)
        if changes.empty:  # opens and clicks: nothing here to write, no round trip
            return
        try:
            async with self.pool.acquire(timeout=10) as conn:
                changes = await suppressions.to_write(conn, changes, self.known_runs)
                if changes.empty:  # deliveries of addresses without a run: read only
                    return
                async with conn.transaction():
                    await suppressions.apply(conn, changes, self.soft_bounce_threshold)
        except asyncpg.DataError as exc:  # a value Postgres cannot store: the payload's fault
            raise MalformedPayload(f"a value cannot be stored: {exc}") from exc
        except PG_ERRORS as exc:
            raise RecordingFailed(f"Postgres: {exc.__class__.__name__}: {exc}") from exc

    async def _emit(self, events: list[FastEvent]) -> None:
        try:
            async with asyncio.timeout(self.send_timeout_s):
                futures = [
                    await self.producer.send(self.topic, value, key=key)
                    for key, value in batches(events)
                ]
                await asyncio.gather(*futures)
        except (KafkaError, TimeoutError) as exc:
            raise RecordingFailed(f"Kafka: {exc.__class__.__name__}: {exc}") from exc
