"""Posts outcome events to the webhook URLs in signed posts, retrying until accepted.

Events wait in a queue per delay until they are due, then in a ready queue; a worker
takes a batch once `batch_size` events are ready (looked at every `fill_check_s` while
fewer are) or the oldest has waited `flush_s`, and posts it in the webhook format of each
event's dialect: the simulator's own (one signed post per batch, below) or a provider's
(`dialects/*_events.py`: SendGrid posts arrays, Mailgun, Postmark and SES
one event per post), each dialect to its own URL. A failed post (non-2xx or
connection error) is retried with exponential backoff and jitter, its body
made anew each time so signed timestamps stay fresh, so nothing is lost while
webhook_ingest is down; the whole backlog is bounded by `queue_max` (the send
APIs refuse new mail with 503 while it is full).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import operator
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
import msgspec
import structlog

from services.esp_simulator.events import OutcomeEvent, WireEvent
from services.esp_simulator.protocol import WebhookCounts
from shared.http.direct import direct_client
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
    # While events are ready but fewer than a batch, a worker looks again this often (and
    # when the oldest has waited `flush_s`) rather than at each event that falls due: at
    # 24,000 events a second one falls due every few microseconds, and waking at each (at
    # least 1 ms apart) and at every add cost ~525 wake-ups a second against ~120
    # (bench/results/20261205T1925Z-round27, `outbox_bench.py`). A batch that fills is
    # taken up to this much later.
    fill_check_s: float = 0.01
    timeout_s: float = 10.0
    retry_base_s: float = 0.5
    retry_max_s: float = 30.0


POSTS_IN_FLIGHT = 16  # per worker, for the formats that post one event at a time


@dataclass(frozen=True)
class Post:
    """One webhook request: the events it carries, and its body and headers, made anew at
    each attempt (signatures carry the time of the post)."""

    events: int
    make: Callable[[], tuple[bytes, dict[str, str]]]


class WebhookFormat(Protocol):
    """How one dialect posts a batch of its events."""

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        """The requests that carry `events`."""
        ...


class _WireBatch(msgspec.Struct, gc=False):
    """`protocol.WebhookBatch`."""

    events: list[WireEvent]


# `enc_hook=str`: ids of another type than UUID or str (a UUID subclass, asyncpg's, from a
# caller's rows) are written as `str()` writes them
_encode_batch = msgspec.json.Encoder(enc_hook=str).encode


class SimulatorFormat:
    """The simulator's own webhooks: `{"events": [...]}`, HMAC-signed, one post per batch."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        """One post of every event."""
        times: dict[float, str] = {}  # the events of one call share their times
        wires = []
        for event in events:
            at = times.get(event.occurred_at)
            if at is None:
                at = datetime.fromtimestamp(event.occurred_at, UTC).isoformat()
                times[event.occurred_at] = at
            wires.append(event.wire(at))
        body = _encode_batch(_WireBatch(wires))
        return [Post(len(events), lambda: (body, self._headers(body)))]

    def _headers(self, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }


_due_and_seq = operator.attrgetter("due", "seq")


class WebhookOutbox:
    """The bounded backlog of outcome events and the workers that post it."""

    def __init__(
        self,
        policy: DeliveryPolicy,
        url: Callable[[str], str],
        formats: Mapping[str, WebhookFormat] | None = None,
    ) -> None:
        self.policy = policy
        self._url = url  # of a dialect; empty: not posted
        self._formats = dict(formats or {})
        self._formats.setdefault("simulator", SimulatorFormat(policy.secret))
        self._posting = asyncio.Semaphore(POSTS_IN_FLIGHT)
        # Waiting events, one FIFO per delay: events of one delay are added in the order
        # they fall due, so each queue stays sorted without a heap (a heap push and pop per
        # event was a tenth of the simulator's CPU); then the ready ones, in order.
        self._delayed: dict[float, deque[OutcomeEvent]] = {}
        self._delayed_count = 0
        self._ready: deque[OutcomeEvent] = deque()
        self._in_flight = 0
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._sleepers: dict[object, float] = {}  # a sleeping worker → when it wakes anyway
        self._generation = 0
        self._jitter = random.Random()
        self.counts = WebhookCounts()

    @property
    def pending(self) -> int:
        """Events decided but not yet accepted by the webhook receiver."""
        return self._delayed_count + len(self._ready) + self._in_flight

    def has_room(self, events: int) -> bool:
        """Whether `events` more events fit in the backlog."""
        return self.pending + events <= self.policy.queue_max

    def add(self, event: OutcomeEvent, delay_s: float) -> None:
        """Queue `event` to be posted `delay_s` from now."""
        self.add_all([(delay_s, event)], time.monotonic())

    def add_all(self, events: list[tuple[float, OutcomeEvent]], now: float) -> None:
        """Queue each `(delay_s, event)` to be posted `delay_s` after `now` (monotonic)."""
        delayed, seq = self._delayed, self._seq
        for delay_s, event in events:
            queue = delayed.get(delay_s)
            if queue is None:
                queue = delayed[delay_s] = deque()
            event.due = now + delay_s
            event.seq = next(seq)
            queue.append(event)
        self._delayed_count += len(events)
        # wake the workers only for an event due before the first of them wakes anyway
        if events and not self._wake.is_set():
            first_due = now + min(delay_s for delay_s, _ in events)
            if not self._sleepers or first_due < min(self._sleepers.values()):
                self._wake.set()

    def reset(self) -> None:
        """Forget every waiting event and the counts (batches in flight are dropped)."""
        self._generation += 1
        self._delayed.clear()
        self._delayed_count = 0
        self._ready.clear()
        self._in_flight = 0
        self.counts = WebhookCounts()

    def snapshot(self) -> WebhookCounts:
        """The delivery counts with the current backlog."""
        return self.counts.model_copy(update={"events_pending": self.pending})

    async def run(self) -> None:
        """Post batches forever (cancel the task to stop); `concurrency` posts in flight."""
        # the lean transport: a third of httpx's own CPU per post (shared/http/direct.py)
        async with direct_client(self.policy.timeout_s, POSTS_IN_FLIGHT) as http:
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
            self._release_due(now)
            size = self.policy.batch_size
            if len(self._ready) >= size or (
                self._ready and now - self._ready[0].due >= self.policy.flush_s
            ):
                return [self._ready.popleft() for _ in range(min(size, len(self._ready)))]
            await self._sleep_until_next(now)

    def _release_due(self, now: float) -> None:
        """Move the events due by `now` to the ready queue, in the order they fall due (and
        were added, for the same time)."""
        released: list[OutcomeEvent] = []
        runs = 0
        for delay_s, queue in list(self._delayed.items()):
            start = len(released)
            while queue and queue[0].due <= now:
                released.append(queue.popleft())
            runs += len(released) > start
            if not queue:
                del self._delayed[delay_s]
        if runs > 1:  # sorted runs: merged by timsort in linear time
            released.sort(key=_due_and_seq)
        self._delayed_count -= len(released)
        self._ready.extend(released)

    async def _sleep_until_next(self, now: float) -> None:
        """Until the next event falls due or, while events are ready, until the oldest has
        waited `flush_s` or the next fill check, whichever comes first (`add_all` wakes
        the workers earlier for an event due before then)."""
        next_due = min((queue[0].due for queue in self._delayed.values() if queue), default=None)
        wake_at = next_due
        if self._ready:
            flush_at = self._ready[0].due + self.policy.flush_s
            checked_at = now + self.policy.fill_check_s
            wake_at = flush_at if next_due is None else min(flush_at, max(next_due, checked_at))
        timeout = None if wake_at is None else max(0.001, wake_at - now)
        token = object()
        self._sleepers[token] = math.inf if timeout is None else now + timeout
        self._wake.clear()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            del self._sleepers[token]

    async def _deliver(
        self, http: httpx.AsyncClient, batch: list[OutcomeEvent], generation: int
    ) -> None:
        by_dialect: dict[str, list[OutcomeEvent]] = defaultdict(list)
        for event in batch:
            by_dialect[event.message.dialect].append(event)
        for dialect, events in by_dialect.items():
            form = self._formats.get(dialect)
            if form is None:  # a provider that publishes none (SES without a configuration set)
                continue
            posts = form.posts(events)
            await asyncio.gather(
                *(self._deliver_post(http, dialect, post, generation) for post in posts)
            )

    async def _deliver_post(
        self, http: httpx.AsyncClient, dialect: str, post: Post, generation: int
    ) -> None:
        attempt = 0
        while generation == self._generation:
            url = self._url(dialect)
            if not url:
                return
            async with self._posting:
                failure = await self._post(http, url, *post.make())
            if failure is None:
                self.counts.events_sent += post.events
                SIMULATOR_WEBHOOK_POSTS.labels("ok").inc()
                return
            self.counts.failed_attempts += 1
            SIMULATOR_WEBHOOK_POSTS.labels("failed").inc()
            delay = min(self.policy.retry_max_s, self.policy.retry_base_s * 2**attempt)
            delay *= self._jitter.uniform(0.5, 1.0)
            log.warning("webhook.post_failed", url=url, error=failure, retry_in_s=round(delay, 3))
            attempt += 1
            await asyncio.sleep(delay)

    async def _post(
        self, http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> str | None:
        """Post once; None on a 2xx answer, else what went wrong."""
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{exc.__class__.__name__}: {exc}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"
