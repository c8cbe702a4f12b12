"""The verdict's checks on hand-made sources: each broken guarantee is named, a clean run passes."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
from rich.console import Console

from fanout_cli.chaos.context import Strike
from fanout_cli.chaos.esp import CallStart, CampaignCalls
from fanout_cli.chaos.reconcile import Recipients, Sources
from fanout_cli.chaos.scenarios import SCENARIOS, by_name
from fanout_cli.chaos.table import verdict_table
from fanout_cli.chaos.verdict import Verdict, judge

LEADS = 1_000
ACK = 1_700_000_000.0


def _sources(**changes: Any) -> Sources:
    """A campaign of LEADS leads whose three sources agree: 990 sent, 10 suppressed."""
    counts = {"sent": 990, "failed": 0, "suppressed": 10, "cancelled": 0}
    outcomes = {"delivered": 900, "bounced_hard": 70, "bounced_soft": 20, "complained": 9}
    row = {"state": "completed", "matched": LEADS, "state_reason": None, **counts}
    recipients = Recipients(
        rows=LEADS, leads=LEADS, by_status=Counter({"delivered": 900, "bounced": 90})
    )
    sources = Sources(
        row=row,
        funnel={**counts, **outcomes},
        recipients=recipients,
        simulator=CampaignCalls(accepted=990, duplicates=0, outcomes=dict(outcomes)),
        accepted_not_sent=Counter(),
        log_complete=True,
        settled=True,
    )
    for name, value in changes.items():
        setattr(sources, name, value)
    return sources


def _judge(
    sources: Sources, strike: Strike | None = None, bound: int = 0, expect: str = "completed"
) -> Verdict:
    return judge(Verdict("test", leads=LEADS, expected_state=expect), sources, strike, bound)


def test_judge_agreeing_sources_pass() -> None:
    verdict = _judge(_sources())
    assert verdict.passed, verdict.reasons
    assert verdict.outcomes == {"sent": 990, "failed": 0, "suppressed": 10, "cancelled": 0}


def test_judge_lead_counted_twice_fails() -> None:
    sources = _sources()
    sources.funnel["suppressed"] += 15
    verdict = _judge(sources)
    assert "reports count 1,015 outcomes for 1,000 leads" in verdict.reasons
    assert "campaign row ≠ reports: suppressed 10 vs 25" in verdict.reasons


def test_judge_accepted_mail_not_counted_as_sent_fails() -> None:
    sources = _sources(accepted_not_sent=Counter({"suppressed": 2}))
    sources.simulator.accepted += 2
    verdict = _judge(sources)
    assert "2 emails the ESP accepted are reported suppressed" in verdict.reasons
    assert "2 emails the ESP accepted are not counted as sent" in verdict.reasons


def test_judge_failed_on_throttling_fails() -> None:
    sources = _sources()
    sources.recipients.failed_on_transient = 7
    assert "7 leads failed on throttling or errors" in _judge(sources).reasons


def test_judge_funnel_differs_from_simulator_fails() -> None:
    sources = _sources()
    sources.simulator.outcomes["complained"] = 12
    assert "funnel ≠ ESP: complained 9 vs 12" in _judge(sources).reasons


def test_judge_duplicates_over_bound_fail() -> None:
    sources = _sources()
    sources.simulator.duplicates = 120
    assert _judge(sources, bound=1_600).passed
    assert "120 duplicate sends > bound 0" in _judge(sources, bound=0).reasons


def test_judge_wrong_final_state_fails_with_reason() -> None:
    sources = _sources()
    sources.row.update(state="paused", state_reason="simulator stopped sending")
    verdict = _judge(sources)
    assert "ended paused, expected completed: simulator stopped sending" in verdict.reasons


def test_judge_missing_recipients_fail() -> None:
    sources = _sources()
    sources.recipients.rows = sources.recipients.leads = 998
    assert "recipients CSV lists 998 rows for 1,000 leads" in _judge(sources).reasons


def test_judge_pause_measures_calls_after_acknowledgment() -> None:
    sources = _sources()
    sources.simulator.calls = [
        CallStart(ACK - 2.0, "ok", 50, 50),
        CallStart(ACK + 0.4, "ok", 50, 50),
        CallStart(ACK + 3.5, "ok", 50, 48),
        CallStart(ACK + 20.0, "ok", 50, 50),  # after the resume: allowed
    ]
    strike = Strike(at=ACK, acknowledged_at=ACK, resumed_at=ACK + 8.0)
    verdict = _judge(sources, strike)
    assert verdict.stop_delay_s == pytest.approx(3.5)
    assert verdict.sent_after_stop == 98
    assert any(r.startswith("1 ESP calls started more than 1 s after") for r in verdict.reasons)


def test_judge_pause_within_a_second_passes() -> None:
    sources = _sources()
    sources.simulator.calls = [CallStart(ACK + 0.9, "ok", 50, 50)]
    verdict = _judge(sources, Strike(at=ACK, acknowledged_at=ACK, resumed_at=ACK + 8.0))
    assert verdict.passed, verdict.reasons
    assert verdict.stop_delay_s == pytest.approx(0.9)


def test_judge_truncated_request_log_fails() -> None:
    reasons = _judge(_sources(log_complete=False)).reasons
    assert any("request log overflowed" in r for r in reasons)


def test_could_not_run_fails_verdict() -> None:
    verdict = Verdict("kill-sender")
    verdict.could_not_run("could not run: sender is not running")
    assert not verdict.passed
    assert verdict.as_dict()["passed"] is False


def test_by_name_keeps_suite_order_and_refuses_unknown() -> None:
    assert [s.name for s in by_name(["cancel", "baseline"])] == ["baseline", "cancel"]
    assert len(by_name([])) == len(SCENARIOS)
    with pytest.raises(KeyError, match="no-such"):
        by_name(["no-such"])


def test_verdict_table_shows_reasons() -> None:
    failing = _judge(_sources(log_complete=False))
    console = Console(file=io.StringIO(), width=200)
    console.print(verdict_table([failing, _judge(_sources())]))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "FAIL" in text and "PASS" in text and "request log overflowed" in text
