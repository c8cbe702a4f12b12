"""Rolls the fate of an accepted message: delivered or bounced, then complaint and engagement."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    counter: str = field(init=False)  # its name among the outcome counters (bounced_hard...)

    def __post_init__(self) -> None:
        counter = f"bounced_{self.bounce_type}" if self.type == "bounced" else self.type
        object.__setattr__(self, "counter", counter)


def rejected_bounce(knobs: Knobs) -> PlannedOutcome:
    """A rejected recipient of a provider that answers no recipient: it bounces hard."""
    return PlannedOutcome("bounced", knobs.outcome_delay_ms / 1000, "hard", REJECTED_REASON)


class OutcomePlanner:
    """Rolls the events of accepted messages under one set of knobs; the events it can
    plan are made once, as the knobs are set, not per message."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        outcome_at = knobs.outcome_delay_ms / 1000
        later = outcome_at + knobs.engagement_delay_ms / 1000
        self._hard = (PlannedOutcome("bounced", outcome_at, "hard", HARD_BOUNCE_REASON),)
        self._soft = (PlannedOutcome("bounced", outcome_at, "soft", SOFT_BOUNCE_REASON),)
        self._delivered = PlannedOutcome("delivered", outcome_at)
        self._complained = PlannedOutcome("complained", later, reason=COMPLAINT_REASON)
        self._opened = PlannedOutcome("opened", later)
        self._clicked = PlannedOutcome("clicked", later + knobs.engagement_delay_ms / 1000)
        self.rejected = (rejected_bounce(knobs),)

    def plan(
        self, rng: random.Random, complaint_rate: float | None = None
    ) -> Sequence[PlannedOutcome]:
        """The events of one accepted message, in the order they happen (complained about
        at `complaint_rate` when given, else at the knob's)."""
        knobs = self.knobs
        roll = rng.random()
        if roll < knobs.hard_bounce_rate:
            return self._hard
        if roll < knobs.hard_bounce_rate + knobs.soft_bounce_rate:
            return self._soft
        planned = [self._delivered]
        complaints = knobs.complaint_rate if complaint_rate is None else complaint_rate
        if rng.random() < complaints:
            planned.append(self._complained)
        if rng.random() < knobs.open_rate:
            planned.append(self._opened)
            if rng.random() < knobs.click_rate:
                planned.append(self._clicked)
        return planned


def plan_outcomes(
    knobs: Knobs, rng: random.Random, complaint_rate: float | None = None
) -> Sequence[PlannedOutcome]:
    """The events of one accepted message, in the order they happen (complained about at
    `complaint_rate` when given, else at the knob's)."""
    return OutcomePlanner(knobs).plan(rng, complaint_rate)
