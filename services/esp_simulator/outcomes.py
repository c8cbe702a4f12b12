"""Rolls the fate of an accepted message: delivered or bounced, then complaint and engagement."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.esp_simulator.config import Knobs

HARD_BOUNCE_REASON = "550 5.1.1 The email account that you tried to reach does not exist"
SOFT_BOUNCE_REASON = "452 4.2.2 The email account that you tried to reach is over quota"
REJECTED_REASON = "550 5.1.1 simulated rejection: recipient refused"
COMPLAINT_REASON = "abuse: the recipient marked the message as spam"


@dataclass(frozen=True, slots=True)
class PlannedOutcome:
    """One event to emit `delay_s` after acceptance."""

    type: str
    delay_s: float
    bounce_type: str | None = None
    reason: str = ""


def rejected_bounce(knobs: Knobs) -> PlannedOutcome:
    """A rejected recipient of a provider that answers no recipient: it bounces hard."""
    return PlannedOutcome("bounced", knobs.outcome_delay_ms / 1000, "hard", REJECTED_REASON)


def plan_outcomes(
    knobs: Knobs, rng: random.Random, complaint_rate: float | None = None
) -> list[PlannedOutcome]:
    """The events of one accepted message, in the order they happen (complained about at
    `complaint_rate` when given, else at the knob's)."""
    outcome_at = knobs.outcome_delay_ms / 1000
    roll = rng.random()
    if roll < knobs.hard_bounce_rate:
        return [PlannedOutcome("bounced", outcome_at, "hard", HARD_BOUNCE_REASON)]
    if roll < knobs.hard_bounce_rate + knobs.soft_bounce_rate:
        return [PlannedOutcome("bounced", outcome_at, "soft", SOFT_BOUNCE_REASON)]
    planned = [PlannedOutcome("delivered", outcome_at)]
    later = outcome_at + knobs.engagement_delay_ms / 1000
    complaints = knobs.complaint_rate if complaint_rate is None else complaint_rate
    if rng.random() < complaints:
        planned.append(PlannedOutcome("complained", later, reason=COMPLAINT_REASON))
    if rng.random() < knobs.open_rate:
        planned.append(PlannedOutcome("opened", later))
        if rng.random() < knobs.click_rate:
            planned.append(PlannedOutcome("clicked", later + knobs.engagement_delay_ms / 1000))
    return planned
