"""Recording a batch, deciding first what becomes of recipients that could not be sent now.

Recipients are undecided when the campaign may not send now (paused through the
API, scheduled again, cancelled: the gate before each ESP call refused) or when
the provider stopped all sending (quota exhausted, account paused); they are
deferred when their receiving domain is over its rate (`domain_rates`). They are
never failed and never lost: in one transaction holding the campaign's row
(which the API's pause, resume and cancel hold too, so neither can slip in
between), the batch is recorded according to the campaign's current state:

- cancelled or finished: the undecided and deferred recipients become `cancelled`
  outcomes;
- paused or scheduled (or paused now, with the reason, when the provider
  stopped): they are parked in `send_batch_deferrals` beside the batch's outcome;
  on resume (or cancel) the lead resolver re-emits every parked batch under
  fresh batch numbers and deletes it, so each parked recipient gets exactly one
  outcome later;
- working again (resumed meanwhile): nothing is written and the caller sends them.

A batch with only deferred recipients is recorded with them parked until their domain's
rate has room (`not_before`), without the campaign's lock and in a statement shared with
other batches (`Ledger.park`): whatever the campaign's state, the lead resolver does the
right thing with a parked row (re-emits it when due while it works, on resume when
paused, at once when cancelled, where the sender makes them `cancelled`).

A batch recorded before (a redelivery racing the first attempt) parks nothing twice:
`recorded` is False and the caller re-emits the outcome that was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.sender import ledger
from services.sender.campaigns import HELD
from services.sender.ledger import Ledger, Recording
from services.sender.outcomes import Outcome
from shared import metrics
from shared.campaigns import WORKING, Action, State, move
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch

LOCK = "SELECT state FROM campaigns WHERE id = $1 FOR UPDATE"
DOMAIN_RATE = "over its receiving domain's rate"


@dataclass(frozen=True)
class Settled:
    """How a batch was recorded."""

    outcomes: list[Outcome]
    recorded: bool  # False: recorded before, or resumed (nothing written)
    resumed: list[FastRecipient] = field(default_factory=list)


async def settle(
    book: Ledger,
    batch: FastSendBatch,
    outcomes: list[Outcome],
    undecided: list[FastRecipient],
    recorded_at: datetime,
    *,
    provider_stop: str = "",
    deferred: Sequence[FastRecipient] = (),
    not_before: datetime | None = None,
) -> Settled:
    """Record `outcomes`, parking or cancelling `undecided` and `deferred` (due at
    `not_before`) as the campaign's state says."""
    if not undecided and not deferred:  # the common case: in a statement shared with others
        return Settled(outcomes, await book.record(batch, outcomes, recorded_at))
    if not undecided:  # parked whatever the state (see the module's docstring)
        parking = Recording(batch, outcomes, recorded_at, list(deferred), DOMAIN_RATE, not_before)
        done = await book.park(parking)
        if done:
            metrics.RECIPIENTS_PARKED.labels("domain_rate").inc(len(deferred))
        return Settled(outcomes, done)
    async with book.pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(LOCK, batch.campaign_id)
        state = State(found) if found is not None else State.CANCELLED
        if provider_stop and state in WORKING:
            await move(conn, batch.campaign_id, Action.PAUSE, reason=provider_stop)
            state = State.PAUSED
        if state in WORKING:
            return Settled(outcomes, False, resumed=undecided)
        left = [*undecided, *deferred]
        if state not in HELD:
            closed = outcomes + [cancelled(r, f"campaign {state.value}") for r in left]
            return Settled(closed, await ledger.record(conn, batch, closed, recorded_at))
        reason = provider_stop or f"campaign {state.value}"
        done = await ledger.record(
            conn, batch, outcomes, recorded_at, parked=left, parked_reason=reason
        )
    if done:
        kind = "provider_stopped" if provider_stop else state.value
        metrics.RECIPIENTS_PARKED.labels(kind).inc(len(left))
    return Settled(outcomes, done)


def cancelled(recipient: FastRecipient, reason: str = "campaign cancelled") -> Outcome:
    """The `cancelled` outcome of a recipient that will not be sent."""
    return Outcome(recipient, EventType.CANCELLED, reason=reason)
