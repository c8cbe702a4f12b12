"""The guard's verdicts: whether counted rates cross an account's thresholds, and why.

Pure functions over counts, so every line is tested without Kafka or Postgres. A
verdict is the reason the campaign row, the API and the CLI show, written for
people: "paused by guard: complaint rate 0.4 % over the last 2,000 outcomes
(limit 0.3 %)". Hard bounces are judged before complaints; the campaign line
before the window (docs/deliverability.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.reputation import GuardThresholds, percent

PREFIX = "paused by guard: "


@dataclass(frozen=True)
class Rates:
    """Outcomes, hard bounces and complaints over some span of a campaign or account."""

    outcomes: int
    bounced_hard: int
    complained: int

    def over(self, hard_line: float, complaint_line: float) -> tuple[str, float, float] | None:
        """The first rate above its line: (name, rate, line); None when both are within."""
        if self.outcomes <= 0:
            return None
        hard = self.bounced_hard / self.outcomes
        if hard > hard_line:
            return "hard-bounce", hard, hard_line
        complaints = self.complained / self.outcomes
        if complaints > complaint_line:
            return "complaint", complaints, complaint_line
        return None


@dataclass(frozen=True)
class Verdict:
    """A pause, with the rule that called it (for the metric) and the reason (for people)."""

    rule: str  # campaign | window | account
    rate: str  # hard-bounce | complaint
    reason: str


def campaign_verdict(t: GuardThresholds, total: Rates, window: Rates) -> Verdict | None:
    """Whether a campaign crossed its cumulative or its sliding-window line."""
    if not t.enabled:
        return None
    if total.outcomes >= t.min_outcomes:
        crossed = total.over(t.hard_bounce_rate, t.complaint_rate)
        if crossed is not None:
            name, rate, line = crossed
            span = f"over {total.outcomes:,} outcomes"
            return Verdict("campaign", name, _reason(name, rate, span, line))
    if total.outcomes >= t.window_outcomes:
        crossed = window.over(t.window_hard_bounce_rate, t.window_complaint_rate)
        if crossed is not None:
            name, rate, line = crossed
            span = f"over the last {window.outcomes:,} outcomes"
            return Verdict("window", name, _reason(name, rate, span, line))
    return None


def account_verdict(t: GuardThresholds, day: Rates) -> Verdict | None:
    """Whether an account's last 24 hours crossed the account-wide line."""
    if not t.enabled or day.outcomes < t.account_min_outcomes:
        return None
    crossed = day.over(t.account_hard_bounce_rate, t.account_complaint_rate)
    if crossed is None:
        return None
    name, rate, line = crossed
    span = f"over {day.outcomes:,} outcomes of the account in the last 24 h"
    return Verdict("account", name, _reason(f"account-wide {name}", rate, span, line))


def _reason(name: str, rate: float, span: str, line: float) -> str:
    return f"{PREFIX}{name} rate {percent(rate)} {span} (limit {percent(line)})"
