"""One send batch, from the record to a recorded outcome, acknowledged events and a queued count.

    spec (cached) → ledger: recorded already? → re-emit the recorded outcome, send nothing
                  → attempt (screen, render, ESP calls: `attempt`)
                  → record the outcome, parking or cancelling what could not be sent
                    (`deferrals.settle`: held back, or over its receiving domain's rate);
                    a campaign resumed meanwhile: attempt again
                  → outcome events published (acknowledged) → batch queued for counting

The outcome is in Postgres before its events are published and before the
record's offset can be committed, so a redelivery (crash, rebalance) replays it
exactly: same types, same provider message ids, same event times, no ESP call.
Only a call that may have been in flight when an earlier attempt died is made
again (`screening`). Steps that touch Postgres or Kafka are retried until they
succeed, so a batch either finishes or its task is cancelled and the record is
redelivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from aiokafka import AIOKafkaProducer

from services.sender.accounting import Accounting
from services.sender.attempt import Attempter
from services.sender.campaigns import CampaignSpec, SpecCache
from services.sender.deferrals import Settled, settle
from services.sender.durable import durable
from services.sender.ledger import Found, Ledger, Recorded
from services.sender.outcomes import Outcome, publish_outcomes
from services.sender.screening import Blocked
from shared import metrics
from shared.contracts.fast_sends import FastRecipient, FastSendBatch


@dataclass
class SendPipeline:
    """Everything one batch needs; `process` is the whole pipeline."""

    ledger: Ledger
    producer: AIOKafkaProducer
    events_topic: str
    specs: SpecCache
    accounting: Accounting
    attempter: Attempter

    async def process(self, batch: FastSendBatch) -> str:
        """Handle one batch; returns "" or the reason it belongs in the dead-letter topic."""
        spec = await durable(partial(self.specs.get, batch.campaign_id))
        found = await durable(partial(self.ledger.find, batch))
        if found.recorded is not None:
            metrics.SEND_REPLAYS.labels("recorded").inc()
            await self._replay(batch, spec, found.recorded)
            return ""
        if found.in_flight:
            metrics.SEND_REPLAYS.labels("in_flight").inc()
        settled, exhausted, recorded_at = await self._decide(batch, spec, found)
        if not settled.recorded:  # another attempt recorded it first: that is the outcome
            again = await durable(partial(self.ledger.find, batch))
            if again.recorded is not None:
                await self._replay(batch, spec, again.recorded)
            return ""
        await self._publish(batch, spec, settled.outcomes, recorded_at)
        self.accounting.record(batch)
        for kind in {o.type for o in settled.outcomes}:
            count = sum(1 for o in settled.outcomes if o.type is kind)
            metrics.EMAILS.labels(spec.provider, kind.value).inc(count)
        return exhausted

    async def _decide(
        self, batch: FastSendBatch, spec: CampaignSpec, found: Found
    ) -> tuple[Settled, str, datetime]:
        """Attempt until the batch is recorded (a resume meanwhile means: attempt again)."""
        outcomes: list[Outcome] = []
        recipients: list[FastRecipient] = list(batch.recipients)
        deferred: list[FastRecipient] = []
        deferred_s, exhausted = 0.0, ""
        blocked: Blocked | None = found.blocked  # read with the look-up: the first attempt's
        while True:
            step = await self.attempter.attempt(batch, spec, recipients, found.in_flight, blocked)
            blocked = None  # an attempt after a resume screens again
            outcomes += step.outcomes
            deferred += step.deferred
            deferred_s = max(deferred_s, step.deferred_s)
            exhausted = exhausted or step.exhausted_reason
            recorded_at = datetime.now(UTC)
            settled = await durable(
                partial(
                    settle,
                    self.ledger,
                    batch,
                    outcomes,
                    step.undecided,
                    recorded_at,
                    provider_stop=step.stopped_reason,
                    deferred=deferred,
                    not_before=recorded_at + timedelta(seconds=deferred_s),
                )
            )
            if not settled.resumed:
                return settled, exhausted, recorded_at
            recipients = settled.resumed
            spec = await durable(partial(self.specs.get, batch.campaign_id, fresh=True))

    async def _replay(self, batch: FastSendBatch, spec: CampaignSpec, recorded: Recorded) -> None:
        """Re-emit a recorded outcome whose events may not be out yet; nothing is sent."""
        if recorded.outcomes is None:  # counted: its events were acknowledged long ago
            return
        await self._publish(batch, spec, recorded.outcomes, recorded.recorded_at)
        self.accounting.record(batch)

    async def _publish(
        self, batch: FastSendBatch, spec: CampaignSpec, outcomes: list[Outcome], at: datetime
    ) -> None:
        if not outcomes:
            return
        await durable(
            partial(
                publish_outcomes,
                self.producer,
                self.events_topic,
                outcomes,
                account_id=batch.account_id,
                campaign_id=batch.campaign_id,
                provider=spec.provider,
                occurred_at=at,
            )
        )
