"""`fanout bench scale`'s own arithmetic and knobs (the run itself needs a stack of its own)."""

from __future__ import annotations

from fanout_cli.bench.scale import ScaleResult, accepted_rate, simulator_knobs
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
