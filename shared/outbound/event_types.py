"""The webhook event types an endpoint subscribes to, and what makes each.

Campaign events come from the campaign change log (`shared.campaigns`): the moves a
customer cares about map to a type; internal steps (resolve, send) map to none. Lead
events come from `email.events`: the provider feedback about one email.
`endpoint.disabled` tells the account's other endpoints that one was disabled for
failing (the notifier's notice). Types are
full-stop delimited and grouped by subject, as the Standard Webhooks specification
recommends.
"""

from __future__ import annotations

from enum import StrEnum

from shared.campaigns.lifecycle import Action
from shared.contracts.events import EventType


class WebhookEventType(StrEnum):
    """What a webhook tells; the `type` of its payload."""

    CAMPAIGN_SCHEDULED = "campaign.scheduled"
    CAMPAIGN_LAUNCHED = "campaign.launched"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CAMPAIGN_CANCELLED = "campaign.cancelled"
    CAMPAIGN_COMPLETED = "campaign.completed"
    CAMPAIGN_FAILED = "campaign.failed"
    LEAD_DELIVERED = "lead.delivered"
    LEAD_BOUNCED = "lead.bounced"
    LEAD_COMPLAINED = "lead.complained"
    LEAD_UNSUBSCRIBED = "lead.unsubscribed"
    LEAD_OPENED = "lead.opened"
    LEAD_CLICKED = "lead.clicked"
    ENDPOINT_DISABLED = "endpoint.disabled"


W = WebhookEventType
# A scheduled campaign that starts is "launched" like one launched at once; a resume that
# waits for its scheduled time again is still a resume (its `state` says `scheduled`).
CAMPAIGN_EVENTS: dict[Action, WebhookEventType] = {
    Action.SCHEDULE: W.CAMPAIGN_SCHEDULED,
    Action.LAUNCH: W.CAMPAIGN_LAUNCHED,
    Action.START: W.CAMPAIGN_LAUNCHED,
    Action.PAUSE: W.CAMPAIGN_PAUSED,
    Action.RESUME: W.CAMPAIGN_RESUMED,
    Action.RESCHEDULE: W.CAMPAIGN_RESUMED,
    Action.CANCEL: W.CAMPAIGN_CANCELLED,
    Action.COMPLETE: W.CAMPAIGN_COMPLETED,
    Action.FAIL: W.CAMPAIGN_FAILED,
}
LEAD_EVENTS: dict[EventType, WebhookEventType] = {
    EventType.DELIVERED: W.LEAD_DELIVERED,
    EventType.BOUNCED: W.LEAD_BOUNCED,
    EventType.COMPLAINED: W.LEAD_COMPLAINED,
    EventType.UNSUBSCRIBED: W.LEAD_UNSUBSCRIBED,
    EventType.OPENED: W.LEAD_OPENED,
    EventType.CLICKED: W.LEAD_CLICKED,
}
# Provider feedback counted per campaign for the summary of `campaign.completed`.
FEEDBACK: tuple[EventType, ...] = tuple(LEAD_EVENTS)


def campaign_event(action: str) -> WebhookEventType | None:
    """The event type a logged move makes, or None for an internal step."""
    try:
        return CAMPAIGN_EVENTS.get(Action(action))
    except ValueError:
        return None
