"""The bits of `lead_steps` (migration 0007): which funnel steps a (campaign, lead) reached.

The view ORs one bit per event into the lead's row, so a lead counts under a step once
however many events of that type it has, and the funnel is `countIf` of each bit over
the campaign's rows read with FINAL: one ordered pass, no set of lead ids per step.
The migration spells the same bits in SQL; `tests/report_sink/test_lead_steps.py` checks
the two agree, and that counting bits gives the distinct-lead counts of campaign_hourly.
"""

from __future__ import annotations

from collections.abc import Iterable

STEP_BITS: dict[str, int] = {
    "sent": 1,
    "failed": 2,
    "suppressed": 4,
    "cancelled": 8,
    "excluded": 16,
    "delivered": 32,
    "bounced": 64,
    "complained": 128,
    "opened": 256,
    "clicked": 512,
    "unsubscribed": 1024,
    "bounced_hard": 2048,  # a `bounced` event with bounce_type 'hard'
    "bounced_soft": 4096,  # ... 'soft'
}


def count_steps(names: Iterable[str], column: str = "steps") -> str:
    """`countIf(bitAnd(steps, bit) != 0) AS name, ...`: leads per step (constants only)."""
    return ", ".join(f"countIf(bitAnd({column}, {STEP_BITS[n]}) != 0) AS {n}" for n in names)
