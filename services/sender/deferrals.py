"""Recording a batch, deciding first what becomes of recipients that could not be sent now.

Recipients are undecided when the campaign may not send now (paused through the
API, scheduled again, cancelled: the gate before each ESP call refused) or when
the provider stopped all sending (quota exhausted, account paused). They are
never failed and never lost: in one transaction holding the campaign's row
(which the API's pause, resume and cancel hold too, so neither can slip in
between), the batch is recorded according to the campaign's current state:

- cancelled or finished: the undecided recipients become `cancelled` outcomes;
- paused or scheduled (or paused now, with the reason, when the provider
  stopped): they are parked in `send_batch_deferrals` beside the batch's outcome;
  on resume (or cancel) the lead resolver re-emits every parked batch under
  fresh batch numbers and deletes it, so each parked recipient gets exactly one
  outcome later;
- working again (resumed meanwhile): nothing is written and the caller sends them.

A batch recorded before (a redelivery racing the first attempt) parks nothing twice:
`recorded` is False and the caller re-emits the outcome that was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.sender import ledger
from services.sender.campaigns import HELD
from services.sender.ledger import Ledger
from services.sender.outcomes import Outcome
from shared import metrics
from shared.campaigns import WORKING, Action, State, move
from shared.contracts import EventType, Recipient, SendBatch

LOCK = "SELECT state FROM campaigns WHERE id = $1 FOR UPDATE"


@dataclass(frozen=True)
class Settled:
    """How a batch was recorded."""

    outcomes: list[Outcome]
    recorded: bool  # False: recorded before, or resumed (nothing written)
    resumed: list[Recipient] = field(default_factory=list)


async def settle(
    book: Ledger,
    batch: SendBatch,
    outcomes: list[Outcome],
    undecided: list[Recipient],
    recorded_at: datetime,
    *,
    provider_stop: str = "",
) -> Settled:
    """Record `outcomes`, parking or cancelling `undecided` as the campaign's state says."""
    if not undecided:  # the common case: in a statement shared with other batches
        return Settled(outcomes, await book.record(batch, outcomes, recorded_at))
    async with book.pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(LOCK, batch.campaign_id)
        state = State(found) if found is not None else State.CANCELLED
        if provider_stop and state in WORKING:
            await move(conn, batch.campaign_id, Action.PAUSE, reason=provider_stop)
            state = State.PAUSED
        if state in WORKING:
            return Settled(outcomes, False, resumed=undecided)
        if state not in HELD:
            closed = outcomes + [cancelled(r, f"campaign {state.value}") for r in undecided]
            return Settled(closed, await ledger.record(conn, batch, closed, recorded_at))
        reason = provider_stop or f"campaign {state.value}"
        done = await ledger.record(
            conn, batch, outcomes, recorded_at, parked=undecided, parked_reason=reason
        )
    if done:
        kind = "provider_stopped" if provider_stop else state.value
        metrics.RECIPIENTS_PARKED.labels(kind).inc(len(undecided))
    return Settled(outcomes, done)


def cancelled(recipient: Recipient, reason: str = "campaign cancelled") -> Outcome:
    """The `cancelled` outcome of a recipient that will not be sent."""
    return Outcome(recipient, EventType.CANCELLED, reason=reason)
