"""The verdict of one scenario: every check of the guarantees against the three sources.

A scenario passes when its campaign ended in the expected state and: every
matched lead has exactly one terminal outcome in the reports (funnel and
recipients CSV) and in the campaign row; no email the ESP accepted is
reported as anything but sent; no lead failed where the ESP only throttled
or erred; the funnel's sent, delivered, bounced and complained equal the
simulator's; duplicate sends stay within the scenario's bound; and after a
pause or cancel no ESP call for the campaign started more than 1 s after
the API acknowledged it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fanout_cli.chaos.context import Strike
from fanout_cli.chaos.driver import TERMINAL_STEPS, decided
from fanout_cli.chaos.reconcile import Sources

STOP_BOUND_S = 1.0
COMPARED = (("sent", "accepted"),) + tuple(
    (name, name) for name in ("delivered", "bounced_hard", "bounced_soft", "complained")
)


@dataclass
class Verdict:
    """One scenario's result: the figures of the table and every reason it failed."""

    scenario: str
    leads: int = 0
    matched: int | None = None
    state: str = "?"
    expected_state: str = "completed"
    outcomes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    bound: int = 0
    failed_on_transient: int = 0
    funnel_vs_simulator: dict[str, list[int]] = field(default_factory=dict)
    stop_delay_s: float | None = None
    sent_after_stop: int = 0
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    error: str | None = None  # the scenario could not run as designed
    stuck: bool = False  # the campaign stopped progressing before it ended

    @property
    def passed(self) -> bool:
        return not self.reasons and self.error is None

    def could_not_run(self, why: str) -> None:
        """Record that the scenario did not run as designed (not a finding about the stack)."""
        self.error = why
        self.reasons.append(why)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data."""
        from dataclasses import asdict

        return {**asdict(self), "passed": self.passed}


def judge(verdict: Verdict, sources: Sources, strike: Strike | None, bound: int) -> Verdict:
    """Fill `verdict` from `sources`: its figures, and a reason for every broken guarantee."""
    row, funnel, sim = sources.row, sources.funnel, sources.simulator
    verdict.matched = row["matched"]
    verdict.state = row["state"]
    verdict.outcomes = {k: int(funnel.get(k, 0)) for k in TERMINAL_STEPS if k in funnel}
    verdict.duplicates, verdict.bound = sim.duplicates, bound
    verdict.failed_on_transient = sources.recipients.failed_on_transient
    verdict.funnel_vs_simulator = {
        ours: [int(funnel[ours]), sim.accepted if theirs == "accepted" else sim.outcomes[theirs]]
        for ours, theirs in COMPARED
    }
    reasons = verdict.reasons
    reasons += _state(verdict, row)
    reasons += _one_outcome_each(verdict, sources)
    reasons += _accepted_is_sent(sources)
    if verdict.failed_on_transient:
        reasons.append(f"{verdict.failed_on_transient:,} leads failed on throttling or errors")
    reasons += _accepted_counted_as_sent(verdict.funnel_vs_simulator["sent"])
    compared = verdict.funnel_vs_simulator.items()
    unequal = {k: v for k, v in compared if v[0] != v[1] and k != "sent"}
    if unequal:
        pairs = ", ".join(f"{k} {a:,} vs {b:,}" for k, (a, b) in unequal.items())
        reasons.append(f"funnel ≠ ESP: {pairs}")
    if verdict.duplicates > bound:
        reasons.append(f"{verdict.duplicates:,} duplicate sends > bound {bound:,}")
    if strike is not None:
        reasons += strike.problems
        reasons += _stopped_in_time(verdict, sources, strike)
    if not sources.log_complete:
        reasons.append("the simulator's request log overflowed (raise its request_log_max)")
    if not sources.settled:
        verdict.notes.append("reports still changing at the deadline")
    return verdict


def _state(verdict: Verdict, row: dict[str, Any]) -> list[str]:
    reasons = []
    if verdict.state != verdict.expected_state:
        why = f": {row['state_reason']}" if row.get("state_reason") else ""
        reasons.append(f"ended {verdict.state}, expected {verdict.expected_state}{why}")
    if verdict.matched is not None and verdict.matched != verdict.leads:
        reasons.append(f"matched {verdict.matched:,} of {verdict.leads:,} leads (all match)")
    return reasons


def _one_outcome_each(verdict: Verdict, sources: Sources) -> list[str]:
    matched = verdict.matched
    if matched is None:
        return ["matched never set: resolving did not finish"]
    reasons = []
    reported = decided(sources.funnel)
    if reported != matched:
        reasons.append(f"reports count {reported:,} outcomes for {matched:,} leads")
    if decided(sources.row) != matched:
        reasons.append(f"campaign row counts {decided(sources.row):,} outcomes")
    row = sources.row
    unequal = {k: (int(row.get(k) or 0), n) for k, n in verdict.outcomes.items()}
    mismatched = {k: pair for k, pair in unequal.items() if pair[0] != pair[1]}
    if mismatched:
        pairs = ", ".join(f"{k} {ours:,} vs {theirs:,}" for k, (ours, theirs) in mismatched.items())
        reasons.append(f"campaign row ≠ reports: {pairs}")
    recipients = sources.recipients
    if recipients.leads != matched or recipients.rows != recipients.leads:
        reasons.append(f"recipients CSV lists {recipients.rows:,} rows for {matched:,} leads")
    if recipients.by_status.get("queued"):
        reasons.append(f"{recipients.by_status['queued']:,} leads still queued")
    return reasons


def _accepted_is_sent(sources: Sources) -> list[str]:
    return [
        f"{count:,} emails the ESP accepted are reported {status}"
        for status, count in sorted(sources.accepted_not_sent.items())
    ]


def _accepted_counted_as_sent(sent: list[int]) -> list[str]:
    reported, accepted = sent
    if reported < accepted:
        return [f"{accepted - reported:,} emails the ESP accepted are not counted as sent"]
    if reported > accepted:
        return [f"{reported - accepted:,} emails counted as sent the ESP never accepted"]
    return []


def _stopped_in_time(verdict: Verdict, sources: Sources, strike: Strike) -> list[str]:
    """After a pause/cancel: when did the campaign's last ESP call start, relative to the ack?"""
    if strike.acknowledged_at is None:
        return []
    ack = strike.acknowledged_at
    after = sources.simulator.started_between(ack, strike.resumed_at)
    verdict.stop_delay_s = max((c.started_at - ack for c in after), default=0.0)
    verdict.sent_after_stop = sum(c.accepted for c in after)
    verdict.notes.append(
        f"last ESP call started {verdict.stop_delay_s:+.2f} s after the acknowledgment; "
        f"{verdict.sent_after_stop:,} emails accepted after it"
    )
    late = [c for c in after if c.started_at - ack > STOP_BOUND_S]
    if not late:
        return []
    return [
        f"{len(late):,} ESP calls started more than {STOP_BOUND_S:g} s after the "
        f"acknowledgment (the last {verdict.stop_delay_s:.1f} s after; "
        f"{verdict.sent_after_stop:,} emails sent after it)"
    ]
