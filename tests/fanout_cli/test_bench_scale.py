"""`fanout bench scale`: arithmetic, knobs, reconciliation (the run needs a stack of its own)."""

from __future__ import annotations

from collections import Counter

from fanout_cli.bench.rebalance import counters_disagree
from fanout_cli.bench.scale import (
    ScaleResult,
    accepted_rate,
    sender_env,
    simulator_knobs,
    steady_rate,
)
from fanout_cli.chaos.esp import CampaignCalls
from fanout_cli.chaos.reconcile import Recipients, Sources
from services.esp_simulator.config import Knobs


def test_rate_counts_from_the_first_acceptance_to_the_last_gain() -> None:
    timeline = [(0.0, 0), (1.0, 0), (2.0, 100), (4.0, 500), (5.0, 900), (9.0, 900)]
    assert accepted_rate(timeline) == (900 - 100) / (5.0 - 2.0)
    assert accepted_rate([(0.0, 0), (1.0, 50)]) == 0.0  # one point with acceptances: no rate yet


def test_throttled_share_of_the_calls() -> None:
    result = ScaleResult(senders=3, rate_limit_per_s=200, leads=12_000, calls=275)
    result.throttled_calls = 22
    assert result.throttled_share == 0.08
    assert ScaleResult(senders=3, rate_limit_per_s=200, leads=1).throttled_share == 0.0


def test_simulator_knobs_are_valid_and_refuse_nothing_but_the_rate() -> None:
    knobs = Knobs(**simulator_knobs(200.0, 50.0))
    assert knobs.rate_limit_per_s == 200.0
    assert knobs.error_5xx_rate == knobs.throttle_429_rate == knobs.reject_rate == 0.0


def test_sender_env_sets_only_what_is_given() -> None:
    assert sender_env(200.0) == {"FANOUT_SENDER_RATE_BUDGETS": '{"simulator": 200.0}'}
    env = sender_env(0.0, max_in_flight=4, session_timeout_ms=6000)
    assert env["FANOUT_SENDER_MAX_IN_FLIGHT"] == "4"
    assert env["FANOUT_SENDER_SESSION_TIMEOUT_MS"] == "6000"


def _sources(sent: int, logged: int, duplicates: int) -> Sources:
    calls = CampaignCalls(accepted=logged, duplicates=duplicates)
    return Sources(
        row={},
        funnel={"sent": sent},
        recipients=Recipients(),
        simulator=calls,
        accepted_not_sent=Counter(),
        log_complete=True,
        settled=True,
    )


def test_counters_agreeing_with_log_and_reports_give_no_reason() -> None:
    assert counters_disagree([_sources(12_000, 12_000, 50)], 12_000, 50) == []


def test_a_lead_counted_twice_shows() -> None:
    reasons = counters_disagree([_sources(12_001, 12_000, 50)], 12_000, 50)
    assert reasons == [
        "first acceptances: simulator counters 12,000, its request log 12,000, reports 12,001 sent"
    ]
    assert "duplicates" in counters_disagree([_sources(12_000, 12_000, 50)], 12_000, 51)[0]


def test_counters_are_compared_with_every_campaign_of_the_run() -> None:
    campaigns = [_sources(10_000, 10_000, 0), _sources(10_000, 10_000, 2)]
    assert counters_disagree(campaigns, 20_000, 2) == []
    assert counters_disagree(campaigns, 10_000, 2) != []  # one campaign's worth is not all


def test_steady_rate_leaves_out_the_first_and_last_tenth() -> None:
    timeline = [(0.0, 0), (1.0, 100), (2.0, 300), (6.0, 900), (9.0, 950), (20.0, 1000)]
    assert steady_rate(timeline, 1000) == (900 - 100) / (6.0 - 1.0)  # from 10 % to 90 %
    assert steady_rate([(0.0, 0), (1.0, 50)], 1000) == 0.0  # never reached 10 %
