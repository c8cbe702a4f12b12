"""Turning the recipients of a batch into ready-to-send emails, inline or off the event loop.

Every email carries a deterministic Message-ID per (campaign, lead) so a
provider can drop a resend, RFC 8058 one-click unsubscribe headers with a
signed link, and the account, campaign and lead ids as provider metadata so
webhooks map back without any lookup table.

Each email runs under the template render budget (shared.templating). A batch
is rendered on the event loop while that stays cheap: the typical template
takes tens of µs per email, and handing every batch to a worker thread cost
more CPU than the render (the thread's wake-up, the loop's wake-up pipe, the
two threads fighting for the GIL). Once a batch has used `INLINE_RENDER_S` of
the loop's CPU time, the rest of it goes to a worker thread and so does every
later batch of that template: while one campaign's template spends its budget
the event loop keeps sending every other campaign's batches. The loop is held
at most `INLINE_RENDER_S` plus one email's budget, once per template. A
recipient whose email cannot be rendered gets a `RenderFailed` with one
readable reason and its kind (this lead's data, the budget, or the template).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import weakref
from dataclasses import dataclass
from uuid import UUID

import structlog

from services.sender.campaigns import CampaignSpec
from services.sender.ids import CampaignIds, uuid_texts
from services.sender.providers.base import OutgoingEmail
from shared.contracts.fast_sends import FastRecipient
from shared.templating import CompiledTemplate, RenderError, RenderErrorKind
from shared.templating.cputime import render_clock
from shared.unsubscribe import UnsubscribeClaim, make_token, unsubscribe_url

log = structlog.get_logger(__name__)

ONE_CLICK = "List-Unsubscribe=One-Click"
# CPU time a batch may render on the event loop before the rest goes to a worker thread
INLINE_RENDER_S = 0.02
# templates that once went past it: rendered in a worker thread from then on
_OFF_LOOP: weakref.WeakSet[CompiledTemplate] = weakref.WeakSet()


@dataclass(frozen=True)
class LinkSigner:
    """Makes the signed unsubscribe link of one recipient."""

    secret: str
    base_url: str

    def url(self, account_id: UUID, campaign_id: UUID, lead_id: UUID, email: str) -> str:
        """The one-click unsubscribe URL for this lead of this campaign."""
        token = make_token(self.secret, UnsubscribeClaim(account_id, campaign_id, lead_id, email))
        return unsubscribe_url(self.base_url, token)

    def campaign(self, account_id: UUID, campaign_id: UUID) -> CampaignLinks:
        """The links of one campaign's leads, with the work they share done once."""
        return CampaignLinks(self, account_id, campaign_id)


class CampaignLinks:
    """`LinkSigner.url` for the leads of one campaign: the same links (tests compare them),
    the signature's key and the claim's campaign part prepared once (`shared.unsubscribe`
    makes the token: the payload `account|campaign|lead|email`, HMAC-SHA256 truncated)."""

    __slots__ = ("_mac", "_payload", "_prefix")

    def __init__(self, signer: LinkSigner, account_id: UUID, campaign_id: UUID) -> None:
        self._payload = f"{account_id}|{campaign_id}|".encode()
        self._mac = hmac.new(
            signer.secret.encode(), b"unsubscribe:" + self._payload, hashlib.sha256
        )
        self._prefix = f"{signer.base_url.rstrip('/')}/unsubscribe/"

    def url(self, lead_id: str, email: str) -> str:
        """The one-click unsubscribe URL of lead `lead_id` (as text) at `email`."""
        tail = f"{lead_id}|{email}".encode()
        mac = self._mac.copy()
        mac.update(tail)
        body = base64.urlsafe_b64encode(self._payload + tail).rstrip(b"=").decode()
        signature = base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode()
        return f"{self._prefix}{body}.{signature}"


class RenderFailed(ValueError):
    """One recipient's email could not be rendered: that lead's outcome is `failed`.

    `str(error)` is the outcome's reason, e.g.
    "template html_body line 3: attributes.company is missing"; `kind` says whose
    fault it is: this lead's data (other leads may render), the render budget, or
    the template (broken or gone: no lead will render).
    """

    def __init__(self, reason: str, kind: RenderErrorKind) -> None:
        super().__init__(reason)
        self.kind = kind


class _BatchRenderer:
    """What every email of one batch shares: the campaign's ids, links and metadata."""

    def __init__(self, spec: CampaignSpec, signer: LinkSigner, domain: str) -> None:
        self.spec = spec
        self.template = spec.template
        self.domain = domain
        self.links = signer.campaign(spec.account_id, spec.campaign_id)
        self.ids = CampaignIds(spec.campaign_id)
        self.account = str(spec.account_id)
        self.campaign = str(spec.campaign_id)

    def email(self, recipient: FastRecipient, lead: str | None = None) -> OutgoingEmail:
        """The email to `recipient` (`lead`: its lead id as text, when the caller has it);
        raises `RenderFailed` with the reason."""
        if self.template is None:
            reason = self.spec.template_error or "template unavailable"
            raise RenderFailed(reason, RenderErrorKind.TEMPLATE)
        lead = lead or str(recipient.lead_id)
        link = self.links.url(lead, recipient.email)
        try:
            rendered = self.template.render(recipient.merge_vars, link)
        except RenderError as exc:
            raise RenderFailed(f"template {exc}", exc.kind) from exc
        return OutgoingEmail(
            lead_id=recipient.lead_id,
            to=recipient.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            message_id=self.ids.message_id(lead, self.domain),
            headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK},
            metadata={"account_id": self.account, "campaign_id": self.campaign, "lead_id": lead},
        )


def render_email(
    spec: CampaignSpec, recipient: FastRecipient, signer: LinkSigner, domain: str
) -> OutgoingEmail:
    """The email to `recipient`; raises `RenderFailed` with the reason."""
    return _BatchRenderer(spec, signer, domain).email(recipient)


RenderedBatch = tuple[list[OutgoingEmail], list[tuple[FastRecipient, RenderFailed]]]


def _render_into(
    renderer: _BatchRenderer, recipients: list[FastRecipient], done: RenderedBatch
) -> RenderedBatch:
    emails, failures = done
    leads = uuid_texts(r.lead_id for r in recipients)
    for recipient, lead in zip(recipients, leads, strict=True):
        try:
            emails.append(renderer.email(recipient, lead))
        except RenderFailed as exc:
            failures.append((recipient, exc))
    return done


async def render_batch(
    spec: CampaignSpec, recipients: list[FastRecipient], signer: LinkSigner, domain: str
) -> RenderedBatch:
    """The emails of `recipients`, and the recipients that failed with why: on the event
    loop up to `INLINE_RENDER_S` of CPU time, the rest (and later batches of a template
    that needed more) in a worker thread."""
    done: RenderedBatch = ([], [])
    if not recipients:
        return done
    renderer = _BatchRenderer(spec, signer, domain)
    template = spec.template
    if template is not None and template in _OFF_LOOP:
        return await asyncio.to_thread(_render_into, renderer, recipients, done)
    # the wall clock is cheap to read; the thread's CPU time (a system call) only once the
    # wall clock says the slice may be spent (another process may have had the core), less
    # the garbage collections that ran meanwhile, as the render budget counts it
    wall, cpu = time.perf_counter(), render_clock()
    emails, failures = done
    leads = uuid_texts(r.lead_id for r in recipients)
    for i, recipient in enumerate(recipients):
        try:
            emails.append(renderer.email(recipient, leads[i]))
        except RenderFailed as exc:
            failures.append((recipient, exc))
        if (
            time.perf_counter() - wall > INLINE_RENDER_S
            and i + 1 < len(recipients)
            and render_clock() - cpu > INLINE_RENDER_S
        ):
            if template is not None:
                _OFF_LOOP.add(template)
                log.info(
                    "sender.render_off_loop",
                    campaign_id=str(spec.campaign_id),
                    rendered_inline=i + 1,
                )
            rest = recipients[i + 1 :]
            return await asyncio.to_thread(_render_into, renderer, rest, done)
    return done
