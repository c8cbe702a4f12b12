"""Posts outcome events to the webhook URL in signed batches, retrying until accepted.

Events wait in a heap until they are due, then in a ready queue; a worker
posts a batch once `batch_size` events are ready or the oldest has waited
`flush_s`. A failed post (non-2xx or connection error) keeps its batch and
retries it with exponential backoff and jitter, so nothing is lost while
webhook_ingest is down; the whole backlog is bounded by `queue_max`
(the bulk API refuses new mail with 503 while it is full).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson
import structlog

from services.esp_simulator.events import OutcomeEvent
from services.esp_simulator.protocol import WebhookCounts
from shared.metrics import SIMULATOR_WEBHOOK_PENDING, SIMULATOR_WEBHOOK_POSTS
from shared.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How events are batched and retried."""

    secret: str
    batch_size: int = 100
    flush_s: float = 0.2
    queue_max: int = 500_000
    concurrency: int = 1
    timeout_s: float = 10.0
    retry_base_s: float = 0.5
    retry_max_s: float = 30.0


class WebhookOutbox:
    """The bounded backlog of outcome events and the workers that post it."""

    def __init__(self, policy: DeliveryPolicy, url: Callable[[], str]) -> None:
        self.policy = policy
        self._url = url
        self._delayed: list[tuple[float, int, OutcomeEvent]] = []
        self._ready: deque[tuple[float, OutcomeEvent]] = deque()
        self._in_flight = 0
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._generation = 0
        self._jitter = random.Random()
        self.counts = WebhookCounts()

    @property
    def pending(self) -> int:
        """Events decided but not yet accepted by the webhook receiver."""
        return len(self._delayed) + len(self._ready) + self._in_flight

    def has_room(self, events: int) -> bool:
        """Whether `events` more events fit in the backlog."""
        return self.pending + events <= self.policy.queue_max

    def add(self, event: OutcomeEvent, delay_s: float) -> None:
        """Queue `event` to be posted `delay_s` from now."""
        heapq.heappush(self._delayed, (time.monotonic() + delay_s, next(self._seq), event))
        self._wake.set()

    def reset(self) -> None:
        """Forget every waiting event and the counts (batches in flight are dropped)."""
        self._generation += 1
        self._delayed.clear()
        self._ready.clear()
        self._in_flight = 0
        self.counts = WebhookCounts()

    def snapshot(self) -> WebhookCounts:
        """The delivery counts with the current backlog."""
        return self.counts.model_copy(update={"events_pending": self.pending})

    async def run(self) -> None:
        """Post batches forever (cancel the task to stop); `concurrency` posts in flight."""
        async with httpx.AsyncClient(timeout=self.policy.timeout_s) as http:
            workers = [
                asyncio.create_task(self._work(http), name=f"webhook-{i}")
                for i in range(self.policy.concurrency)
            ]
            try:
                await asyncio.gather(*workers)
            finally:
                for worker in workers:
                    worker.cancel()

    async def _work(self, http: httpx.AsyncClient) -> None:
        while True:
            batch = await self._next_batch()
            generation = self._generation
            self._in_flight += len(batch)
            try:
                await self._deliver(http, batch, generation)
            finally:
                if generation == self._generation:
                    self._in_flight -= len(batch)
                SIMULATOR_WEBHOOK_PENDING.set(self.pending)

    async def _next_batch(self) -> list[OutcomeEvent]:
        while True:
            now = time.monotonic()
            while self._delayed and self._delayed[0][0] <= now:
                due, _, event = heapq.heappop(self._delayed)
                self._ready.append((due, event))
            size = self.policy.batch_size
            if len(self._ready) >= size or (
                self._ready and now - self._ready[0][0] >= self.policy.flush_s
            ):
                return [self._ready.popleft()[1] for _ in range(min(size, len(self._ready)))]
            await self._sleep_until_next(now)

    async def _sleep_until_next(self, now: float) -> None:
        deadlines = []
        if self._ready:
            deadlines.append(self._ready[0][0] + self.policy.flush_s)
        if self._delayed:
            deadlines.append(self._delayed[0][0])
        timeout = max(0.001, min(deadlines) - now) if deadlines else None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _deliver(
        self, http: httpx.AsyncClient, batch: list[OutcomeEvent], generation: int
    ) -> None:
        body = orjson.dumps({"events": [event.as_json() for event in batch]})
        attempt = 0
        while generation == self._generation:
            url = self._url()
            if not url:
                return
            failure = await self._post(http, url, body)
            if failure is None:
                self.counts.events_sent += len(batch)
                SIMULATOR_WEBHOOK_POSTS.labels("ok").inc()
                return
            self.counts.failed_attempts += 1
            SIMULATOR_WEBHOOK_POSTS.labels("failed").inc()
            delay = min(self.policy.retry_max_s, self.policy.retry_base_s * 2**attempt)
            delay *= self._jitter.uniform(0.5, 1.0)
            log.warning("webhook.post_failed", url=url, error=failure, retry_in_s=round(delay, 3))
            attempt += 1
            await asyncio.sleep(delay)

    async def _post(self, http: httpx.AsyncClient, url: str, body: bytes) -> str | None:
        """Post once; None on a 2xx answer, else what went wrong."""
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.policy.secret, timestamp, body),
        }
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{exc.__class__.__name__}: {exc}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"
