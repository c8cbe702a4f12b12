"""`fanout bench providers`: calls per batch of 50 as each provider's API allows."""

from __future__ import annotations

from fanout_cli.bench.providers import BATCH, measure


def test_measure_calls_per_batch_of_50() -> None:
    costs = {cost.provider: cost for cost in measure(2)}
    assert {name: cost.calls for name, cost in costs.items()} == {
        "sendgrid": 1,
        "mailgun": 1,
        "postmark": 1,
        "ses": 1,
        "smtp": BATCH,
    }
    assert all(cost.request_bytes > cost.content_bytes > 0 for cost in costs.values())
