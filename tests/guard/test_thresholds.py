"""The thresholds' model: defaults from the providers' published lines, and the checks that
keep the window's and the account's lines at or above the campaign's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.reputation import GuardThresholds


def test_defaults_are_the_providers_lines() -> None:
    t = GuardThresholds()
    assert (t.hard_bounce_rate, t.complaint_rate, t.min_outcomes) == (0.05, 0.001, 1000)
    assert (t.window_complaint_rate, t.window_outcomes) == (0.003, 2000)
    assert (t.account_hard_bounce_rate, t.account_complaint_rate) == (0.10, 0.005)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"account_complaint_rate": 0.0005}, "account_complaint_rate"),
        ({"window_hard_bounce_rate": 0.01}, "window_hard_bounce_rate"),
        ({"hard_bounce_rate": 0}, "hard_bounce_rate"),
        ({"complaint_rate": 1.5}, "complaint_rate"),
        ({"min_outcomes": 10}, "min_outcomes"),
        ({"surprise": 1}, "surprise"),
        # a campaign line over a default account line names the account line
        ({"complaint_rate": 0.02, "window_complaint_rate": 0.02}, "account_complaint_rate"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GuardThresholds.model_validate(values)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]


def test_stored_json_round_trips_and_none_is_the_defaults() -> None:
    custom = GuardThresholds(complaint_rate=0.002, window_complaint_rate=0.004)
    assert GuardThresholds.from_json(custom.model_dump_json()) == custom
    assert GuardThresholds.from_json(None) == GuardThresholds()
