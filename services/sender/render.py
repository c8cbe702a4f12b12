"""Turning one recipient of a batch into one ready-to-send email.

Every email carries a deterministic Message-ID per (campaign, lead) so a
provider can drop a resend, RFC 8058 one-click unsubscribe headers with a
signed link, and the account, campaign and lead ids as provider metadata so
webhooks map back without any lookup table.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.sender.campaigns import CampaignSpec
from services.sender.providers.base import OutgoingEmail
from shared.contracts.events import message_id
from shared.contracts.sends import Recipient
from shared.templating import TemplateError
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
    """One recipient's email could not be rendered: that lead's outcome is `failed`."""


def render_email(
    spec: CampaignSpec, recipient: Recipient, signer: LinkSigner, domain: str
) -> OutgoingEmail:
    """The email to `recipient`; raises `RenderFailed` with the reason."""
    if spec.template is None:
        raise RenderFailed(spec.template_error or "template unavailable")
    link = signer.url(spec.account_id, spec.campaign_id, recipient.lead_id, recipient.email)
    try:
        rendered = spec.template.render(recipient.merge_vars, link)
    except TemplateError as exc:
        raise RenderFailed(str(exc)) from exc
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
