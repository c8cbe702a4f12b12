"""One attempt at a batch's undecided recipients: screen, render, send.

    halted campaign? → hold back all but a repeated in-flight call
    screen (suppressed since resolving; never the in-flight recipients)
    the lead fields a recipient lacks for the template (edited since it was resolved)
    render (failures: `failed`; too many: the campaign is paused, with the reason)
    mark the call in flight → ESP calls (a repeated in-flight call first, then the rest)

What it returns is decided outcomes plus the recipients still undecided (held
back, or left by a pause, cancel or provider stop) and those deferred for their
receiving domain's rate, with the time they may come back; `deferrals.settle`
records them. Postgres steps are retried until they succeed (`durable`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from uuid import UUID

import asyncpg
import structlog

from services.sender.backoff import RetryPolicy
from services.sender.campaigns import CampaignSpec, SpecCache
from services.sender.delivery import Attempts, Delivery, deliver
from services.sender.durable import durable
from services.sender.esp_call import Gate
from services.sender.ledger import Ledger
from services.sender.merge_fields import complete, lacking
from services.sender.outcomes import Outcome
from services.sender.providers.base import OutgoingEmail, SendRequest
from services.sender.providers.registry import ProviderPool, ProviderUnavailable
from services.sender.render import LinkSigner, render_batch
from services.sender.render_guard import RenderGuard
from services.sender.screening import Blocked, screen
from services.sender.waiting import ProviderWaits
from shared.campaigns import Action, move
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch

log = structlog.get_logger(__name__)


@dataclass
class Step:
    """What one attempt decided, and what it could not."""

    outcomes: list[Outcome] = field(default_factory=list)
    undecided: list[FastRecipient] = field(default_factory=list)
    deferred: list[FastRecipient] = field(default_factory=list)  # over their domain's rate
    deferred_s: float = 0.0  # from now, when `deferred` may come back
    stopped_reason: str = ""  # the provider stopped all sending
    exhausted_reason: str = ""  # some recipients failed after the retry deadline


@dataclass
class Attempter:
    """Everything an attempt needs."""

    pool: asyncpg.Pool
    ledger: Ledger
    specs: SpecCache
    providers: ProviderPool
    signer: LinkSigner
    domain: str
    policy: RetryPolicy
    waits: ProviderWaits
    guard: RenderGuard

    async def attempt(
        self,
        batch: FastSendBatch,
        spec: CampaignSpec,
        recipients: list[FastRecipient],
        in_flight: frozenset[UUID],
        found: Blocked | None = None,
    ) -> Step:
        """Decide what can be decided now for `recipients` of `batch`; `found` is what blocks
        them as read with the batch's ledger look-up (None: read it now)."""
        step = Step()
        if spec.halt:
            to_send = [r for r in recipients if r.lead_id in in_flight]
            step.undecided = [r for r in recipients if r.lead_id not in in_flight]
        else:
            if found is None:  # looked up again: the recipients left after a resume
                again = batch.with_recipients(recipients)
                found = (await durable(partial(self.ledger.find, again))).blocked
            step.outcomes, to_send = screen(found, recipients, in_flight)
        emails = await self._render(spec, to_send, step.outcomes)
        if not emails:
            return step
        delivery = await self._send(batch, spec, emails, in_flight)
        by_lead = {r.lead_id: r for r in to_send}
        step.outcomes += [
            Outcome(by_lead[lead], EventType.SENT, provider_message_id=message)
            for lead, message in delivery.sent.items()
        ]
        step.outcomes += [
            Outcome(by_lead[lead], EventType.FAILED, reason=reason)
            for lead, reason in delivery.failed.items()
        ]
        step.undecided += [by_lead[e.lead_id] for e in delivery.undecided]
        step.deferred = [by_lead[e.lead_id] for e in delivery.deferred]
        step.deferred_s = delivery.deferred_s
        step.stopped_reason = delivery.stopped_reason
        step.exhausted_reason = delivery.exhausted_reason
        return step

    async def _render(
        self, spec: CampaignSpec, recipients: list[FastRecipient], outcomes: list[Outcome]
    ) -> list[OutgoingEmail]:
        if lacking(spec.reads, recipients):  # resolved for the template before an edit
            read = partial(complete, self.pool, spec.account_id, spec.reads, recipients)
            recipients = await durable(read)
        emails, unrendered = await render_batch(spec, recipients, self.signer, self.domain)
        outcomes += [Outcome(r, EventType.FAILED, reason=str(exc)) for r, exc in unrendered]
        if recipients:
            await self._pause_if_failing(spec, len(recipients), [str(e) for _, e in unrendered])
        return emails

    async def _pause_if_failing(
        self, spec: CampaignSpec, rendered: int, failures: list[str]
    ) -> None:
        pause = self.guard.observe(spec.campaign_id, rendered, failures)
        if not pause:
            return
        await durable(partial(move, self.pool, spec.campaign_id, Action.PAUSE, reason=pause))
        self.specs.invalidate(spec.campaign_id)
        log.warning("sender.render_pause", campaign_id=str(spec.campaign_id), reason=pause)

    async def _send(
        self,
        batch: FastSendBatch,
        spec: CampaignSpec,
        emails: list[OutgoingEmail],
        in_flight: frozenset[UUID],
    ) -> Delivery:
        try:
            chosen = await durable(partial(self.providers.for_campaign, self.pool, spec))
        except ProviderUnavailable as exc:
            return Delivery(undecided=emails, stopped_reason=str(exc))
        leads = [e.lead_id for e in emails]
        await durable(partial(self.ledger.mark_in_flight, batch, leads))
        gate = self._gate(batch.campaign_id)
        attempts = Attempts(
            chosen.provider, chosen.rate, self.policy, gate, self.waits, chosen.domains
        )
        repeated = [e for e in emails if e.lead_id in in_flight] if in_flight else []
        new = [e for e in emails if e.lead_id not in in_flight] if in_flight else emails
        result = Delivery()
        if repeated:
            result.merge(await deliver(attempts, _request(spec, repeated), repeat_in_flight=True))
        if new and result.stopped_reason:
            result.undecided += new
        elif new:
            result.merge(await deliver(attempts, _request(spec, new)))
        if result.stopped_reason and chosen.config is not None:
            # the configuration as a whole is refused: every campaign naming it stops
            config = chosen.config
            result.stopped_reason = (
                f"provider configuration {config.name!r}: {result.stopped_reason}"
            )
            stop = partial(
                self.providers.configured.disable, self.pool, config, result.stopped_reason
            )
            await durable(stop)
        return result

    def _gate(self, campaign_id: UUID) -> Gate:
        async def gate() -> str:
            spec = await durable(partial(self.specs.get, campaign_id))
            return spec.halt

        return gate


def _request(spec: CampaignSpec, emails: list[OutgoingEmail]) -> SendRequest:
    return SendRequest(
        spec.account_id, spec.campaign_id, spec.from_email, spec.from_name, spec.reply_to, emails
    )
