"""Turning the recipients of a batch into ready-to-send emails, off the event loop.

Every email carries a deterministic Message-ID per (campaign, lead) so a
provider can drop a resend, RFC 8058 one-click unsubscribe headers with a
signed link, and the account, campaign and lead ids as provider metadata so
webhooks map back without any lookup table.

A batch is rendered in a worker thread: each email runs under the template
render budget (shared.templating), and while one campaign's template spends
its budget the event loop keeps sending every other campaign's batches. A
recipient whose email cannot be rendered gets a `RenderFailed` with one
readable reason and its kind (this lead's data, the budget, or the template).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

from services.sender.campaigns import CampaignSpec
from services.sender.providers.base import OutgoingEmail
from shared.contracts.events import message_id
from shared.contracts.sends import Recipient
from shared.templating import RenderError, RenderErrorKind
from shared.unsubscribe import UnsubscribeClaim, make_token, unsubscribe_url

ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class LinkSigner:
    """Makes the signed unsubscribe link of one recipient."""

    secret: str
    base_url: str

    def url(self, account_id: UUID, campaign_id: UUID, lead_id: UUID, email: str) -> str:
        """The one-click unsubscribe URL for this lead of this campaign."""
        token = make_token(self.secret, UnsubscribeClaim(account_id, campaign_id, lead_id, email))
        return unsubscribe_url(self.base_url, token)


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


def render_email(
    spec: CampaignSpec, recipient: Recipient, signer: LinkSigner, domain: str
) -> OutgoingEmail:
    """The email to `recipient`; raises `RenderFailed` with the reason."""
    if spec.template is None:
        raise RenderFailed(spec.template_error or "template unavailable", RenderErrorKind.TEMPLATE)
    link = signer.url(spec.account_id, spec.campaign_id, recipient.lead_id, recipient.email)
    try:
        rendered = spec.template.render(recipient.merge_vars, link)
    except RenderError as exc:
        raise RenderFailed(f"template {exc}", exc.kind) from exc
    return OutgoingEmail(
        lead_id=recipient.lead_id,
        to=recipient.email,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        message_id=message_id(spec.campaign_id, recipient.lead_id, domain),
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK},
        metadata={
            "account_id": str(spec.account_id),
            "campaign_id": str(spec.campaign_id),
            "lead_id": str(recipient.lead_id),
        },
    )


RenderedBatch = tuple[list[OutgoingEmail], list[tuple[Recipient, RenderFailed]]]


def _render_all(
    spec: CampaignSpec, recipients: list[Recipient], signer: LinkSigner, domain: str
) -> RenderedBatch:
    emails: list[OutgoingEmail] = []
    failures: list[tuple[Recipient, RenderFailed]] = []
    for recipient in recipients:
        try:
            emails.append(render_email(spec, recipient, signer, domain))
        except RenderFailed as exc:
            failures.append((recipient, exc))
    return emails, failures


async def render_batch(
    spec: CampaignSpec, recipients: list[Recipient], signer: LinkSigner, domain: str
) -> RenderedBatch:
    """The emails of `recipients`, and the recipients that failed with why, rendered in a thread."""
    if not recipients:
        return [], []
    return await asyncio.to_thread(_render_all, spec, recipients, signer, domain)
