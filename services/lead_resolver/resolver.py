"""The resolver's scheduler: a round-robin over the campaigns this instance owns.

Each turn gives every active campaign one step, decided from its row in
Postgres (the durable truth), so a step is safe to repeat after a crash:

    queued            → take it over (resolving), or fail it if its template is broken
    resolving         → re-emit parked batches that are due, else one page of leads (if W
                        and today's warm-up allowance allow; held until the next UTC day
                        when the allowance is used up), else finish: matched = leads
                        emitted + leads excluded, resolve_done, → sending
    cancelled         → the same, every parked batch at once, so every matched lead still
                        gets an outcome (`cancelled`, made by the sender); matched = 0 if
                        nothing was ever emitted
    sending           → re-emit parked batches that are due (recipients the sender set
                        aside for their receiving domain's rate), wait for those that are
                        not, else complete it if every matched lead has an outcome
    paused, finished  → nothing (dropped until a command or sweep brings it back)

Parked batches are re-emitted in two steps: the due rows are packed into full batches and
claimed under new batch numbers (counted in `batches_emitted` in the same transaction),
then emitted and dropped; a crash between the two re-emits exactly the claimed batches.

A page is every lead the condition matched after the checkpoint (a multiple of 50):
its send batches and the `excluded` events of the leads it leaves out
(`exclusions`) are emitted, acknowledged by Kafka, and only then is the checkpoint
advanced, counting the page's leads and exclusions in the same statement: a crash
repeats at most the page in progress, under the same batch numbers and event ids,
which the sender's accounting and the reports absorb, and counts it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from services.lead_resolver import store, warmup
from services.lead_resolver.batcher import Page, pack_parked, plan_page
from services.lead_resolver.config import Settings
from services.lead_resolver.emitter import emit, emit_page
from services.lead_resolver.known_suppressed import KnownSuppressed
from services.lead_resolver.ownership import campaign_partition
from shared import metrics
from shared.campaigns import Action, State, complete_if_accounted, move
from shared.conditions import ConditionError, compile_condition, parse_condition
from shared.contracts.fast_sends import FastSendBatch
from shared.contracts.sends import MAX_BATCH, SendBatch
from shared.periodic import Clock, Every
from shared.reputation import next_day_starts, utc_day
from shared.retry import retryable
from shared.templating import CompiledTemplate, TemplateError
from shared.templating.usage import fields_read
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)

WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    """The production wall clock."""
    return datetime.now(UTC)


class Step(Enum):
    """What one turn did for a campaign."""

    PROGRESSED = "progressed"  # emitted or moved: give it another turn
    WAITING = "waiting"  # W batches outstanding: later
    DONE = "done"  # nothing more to do until something changes


class Resolver:
    """Round-robin scheduler over owned campaigns; one step (≤ one page) per campaign per turn."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        sends_topic: str,
        clock: Clock = time.monotonic,
        wall: WallClock = utc_now,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._producer = producer
        self._topic = sends_topic
        self._events_topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        self._active: dict[UUID, None] = {}  # insertion-ordered set
        self._holding: set[UUID] = set()  # campaigns held by a warm-up allowance (logged once)
        self._owned: set[int] = set()
        self._partitions = 0
        self._wake = asyncio.Event()
        self._step_lock = asyncio.Lock()
        self._sweeps = Every(settings.sweep_interval_s, clock)
        self._wall = wall  # warm-up days and parked batches' due times
        # each account's suppressed addresses, so a page probes only those it may hold
        self._known = KnownSuppressed() if settings.known_suppressions_filter else None

    @property
    def active(self) -> list[UUID]:
        """Campaigns currently in the round-robin."""
        return list(self._active)

    def owns(self, campaign_id: UUID) -> bool:
        """Whether `campaign_id`'s launches partition is assigned to this instance."""
        if not self._partitions:
            return False
        return campaign_partition(campaign_id, self._partitions) in self._owned

    def wake(self) -> None:
        """Something may let a campaign progress (outcomes counted): take a turn now."""
        self._wake.set()

    def admit(self, campaign_id: UUID) -> None:
        """A command arrived for a campaign of ours: give it a turn soon.

        Nothing else is needed for the command to be durable: the campaign's state is in
        Postgres, and a sweep after any restart or rebalance finds it again.
        """
        self._active[campaign_id] = None
        self._wake.set()

    async def own(self, partitions: set[int], total: int) -> None:
        """Partitions assigned: resume every campaign of theirs with work left."""
        self._owned |= partitions
        self._partitions = total
        await self.sweep()

    async def disown(self, partitions: set[int]) -> None:
        """Partitions revoked: stop (after the step in progress) their campaigns."""
        async with self._step_lock:
            self._owned -= partitions
            for campaign_id in [c for c in self._active if not self.owns(c)]:
                self._active.pop(campaign_id, None)

    async def sweep(self) -> None:
        """Find owned campaigns with work left in Postgres (after restarts, lost commands)."""
        self._sweeps.mark()
        for campaign_id in await store.active_ids(self._pool):
            if self.owns(campaign_id) and campaign_id not in self._active:
                self._active[campaign_id] = None
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Turn after turn until `stop`; sleeps when no campaign could progress."""
        while not stop.is_set():
            try:
                if self._sweeps.due():
                    await self.sweep()
                progressed = await self._turn()
            except Exception as exc:
                if not retryable(exc):  # Postgres or Kafka away: the next turn retries
                    raise
                log.warning("resolver.turn_failed", error=repr(exc))
                progressed = False
            if not progressed:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.idle_sleep_s)

    async def _turn(self) -> bool:
        progressed = False
        for campaign_id in list(self._active):
            async with self._step_lock:
                if campaign_id not in self._active:
                    continue
                step = await self.step(campaign_id)
                if step is Step.DONE:
                    self._active.pop(campaign_id, None)
            progressed |= step is Step.PROGRESSED
        return progressed

    async def step(self, campaign_id: UUID) -> Step:
        """One step of one campaign, decided by its current row."""
        campaign = await store.load(self._pool, campaign_id)
        if campaign is None:
            return Step.DONE
        state = campaign.state
        if state is State.QUEUED:
            return await self._take_over(campaign)
        if state is State.SENDING:
            return await self._sending(campaign)
        if state is State.CANCELLED and not campaign.resolve_done and not campaign.started:
            await store.finish(self._pool, campaign)  # cancelled before any lead: matched 0
            return Step.PROGRESSED
        if state not in (State.RESOLVING, State.CANCELLED):
            return Step.DONE
        if await self._reemit_parked(campaign):
            return Step.PROGRESSED
        if campaign.resolve_done:
            return await self._after_resolved(campaign)
        return await self._page(campaign)

    async def _take_over(self, campaign: store.Campaign) -> Step:
        try:
            CompiledTemplate(campaign.template_source)
        except TemplateError as exc:
            await move(self._pool, campaign.id, Action.FAIL, reason=f"template: {exc}")
            return Step.DONE
        if await move(self._pool, campaign.id, Action.RESOLVE, run_id=campaign.run_id):
            log.info("resolver.took_over", campaign_id=str(campaign.id))
        return Step.PROGRESSED

    async def _sending(self, campaign: store.Campaign) -> Step:
        """Every lead is emitted; parked recipients still go out when due, then it completes."""
        if await self._reemit_parked(campaign):
            return Step.PROGRESSED
        if await store.has_parked(self._pool, campaign.id):
            return Step.WAITING  # set aside for their receiving domain's rate: due later
        await complete_if_accounted(self._pool, [campaign.id])
        return Step.DONE

    async def _after_resolved(self, campaign: store.Campaign) -> Step:
        """Resumed after every lead was emitted: nothing to stream, only to finish."""
        if campaign.state is State.RESOLVING:
            await move(self._pool, campaign.id, Action.SEND, run_id=campaign.run_id)
            await complete_if_accounted(self._pool, [campaign.id])
        return Step.DONE

    async def _page(self, campaign: store.Campaign) -> Step:
        settings = self._settings
        room = page_room(settings.window, settings.page_batches, campaign.outstanding)
        if room <= 0:
            return Step.WAITING
        allowed = await self._allowance(campaign)
        if allowed.used_up:
            return await self._hold(campaign, allowed)
        try:
            sql, params = self._condition(campaign)
        except ConditionError as exc:
            await move(self._pool, campaign.id, Action.FAIL, reason=f"condition: {exc}")
            return Step.DONE
        if allowed.remaining is not None:  # whole slices still: a day may pass it by < 50
            room = min(room, -(-allowed.remaining // MAX_BATCH))
        limit = room * MAX_BATCH  # whole slices of 50: see `batcher`
        # only the lead fields the template reads: the page reads and the batches carry no
        # others (the sender fills in those a template edited since reads)
        fields = fields_read(campaign.template_source)
        rows = await store.leads_page(self._pool, campaign, sql, params, limit, self._known, fields)
        if rows:
            page = self._plan(campaign, rows, fields)
            await emit_page(self._producer, self._topic, self._events_topic, page)
            if not await self._advance(campaign, page, allowed):
                log.warning("resolver.lost_campaign", campaign_id=str(campaign.id))
                return Step.DONE
            _count(page)
        if len(rows) == limit:
            return Step.PROGRESSED
        return await self._finish(campaign, len(rows))

    async def _allowance(self, campaign: store.Campaign) -> warmup.Allowance:
        today = utc_day(self._wall())
        return await warmup.allowance(
            self._pool, campaign.account_id, campaign.from_email, campaign.provider_config_id, today
        )

    async def _advance(
        self, campaign: store.Campaign, page: Page, allowed: warmup.Allowance
    ) -> bool:
        """The checkpoint moves and the warm-up schedules are charged together."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await store.advance(conn, campaign, page):
                return False
            await warmup.charge(conn, allowed, page.leads)
        self._holding.discard(campaign.id)
        return True

    async def _hold(self, campaign: store.Campaign, allowed: warmup.Allowance) -> Step:
        """Today's warm-up allowance is used up: wait for the next UTC day, and say so."""
        until = next_day_starts(self._wall())
        reason = f"warm-up allowance of {allowed.limited_by} used up for {allowed.day}"
        if campaign.id not in self._holding:
            self._holding.add(campaign.id)
            metrics.WARMUP_HOLDS.inc()
            log.info("resolver.warmup_hold", campaign_id=str(campaign.id), until=until.isoformat())
        await store.hold(self._pool, campaign, reason, until)
        return Step.WAITING

    def _plan(
        self, campaign: store.Campaign, rows: Sequence[Mapping[str, Any]], fields: frozenset[str]
    ) -> Page:
        assert campaign.run_id is not None
        return plan_page(
            rows,
            campaign_id=campaign.id,
            account_id=campaign.account_id,
            run_id=campaign.run_id,
            first_batch_no=campaign.batches_emitted,
            fields=fields,
        )

    async def _finish(self, campaign: store.Campaign, last_page: int) -> Step:
        fresh = await store.load(self._pool, campaign.id)
        if fresh is None:
            return Step.DONE
        # matched and resolving → sending together: no crash leaves one without the other
        async with self._pool.acquire() as conn, conn.transaction():
            if await store.finish(conn, fresh):
                await move(conn, fresh.id, Action.SEND, run_id=fresh.run_id)
        await complete_if_accounted(self._pool, [campaign.id])
        log.info(
            "resolver.resolved",
            campaign_id=str(campaign.id),
            emitted=fresh.enqueued,
            batches=fresh.batches_emitted,
            last_page=last_page,
        )
        return Step.DONE

    async def _reemit_parked(self, campaign: store.Campaign) -> bool:
        """Re-emit the batches claimed before (after a crash), else claim the parked rows due
        now and re-emit them; False when none is due."""
        if not campaign.parked:  # read with the campaign: no look-up while none is parked
            return False
        claimed = await store.claimed(self._pool, campaign.id)
        if not claimed:
            everything = campaign.state is State.CANCELLED  # cancelled: nothing waits
            limit = self._settings.page_batches * 2
            due = await store.due_parked(
                self._pool, campaign.id, self._wall(), limit, all_now=everything
            )
            if not due:
                return False
            if not await store.claim(self._pool, campaign, pack_parked(due)):
                return True  # the campaign moved meanwhile: the next turn reads it again
            claimed = await store.claimed(self._pool, campaign.id)
        assert campaign.run_id is not None
        batches = [
            FastSendBatch.of(
                SendBatch(
                    campaign_id=campaign.id,
                    account_id=campaign.account_id,
                    run_id=campaign.run_id,
                    batch_no=c.batch_no,
                    recipients=c.recipients,
                )
            )
            for c in claimed
        ]
        await emit(self._producer, self._topic, batches)
        await store.reemitted(self._pool, campaign.id, [c.batch_no for c in claimed])
        metrics.BATCHES_REEMITTED.inc(len(batches))
        log.info("resolver.reemitted_parked", campaign_id=str(campaign.id), batches=len(batches))
        return True

    def _condition(self, campaign: store.Campaign) -> tuple[str, list[object]]:
        compiled = compile_condition(
            parse_condition(campaign.condition),
            now=campaign.audience_at,  # every page of a campaign: the same instant
            first_param=store.FIRST_CONDITION_PARAM,
        )
        return compiled.sql, list(compiled.params)


def page_room(window: int, page_batches: int, outstanding: int) -> int:
    """Batches the next page may hold: the room under the window W, once it holds a whole
    page (or all of W, when W is smaller), else 0. A page of one or two batches costs as
    many statements as a full one, and a campaign whose sender keeps up would otherwise
    be paged a batch or two at a time, the steps' statements paid per batch."""
    room = min(page_batches, window - outstanding)
    return room if room >= min(page_batches, window) else 0


def _count(page: Page) -> None:
    metrics.LEADS_RESOLVED.inc(page.leads)
    for reason, leads in page.excluded_by_reason().items():
        metrics.LEADS_EXCLUDED.labels(reason.value).inc(leads)
