"""Sender reputation: the guard's thresholds per account, warm-up ramps, receiving-domain groups.

Each is read by more than one service: campaign_api validates and stores thresholds
(`GET/PUT /guard`) and warm-up schedules (`/warmups`), the guard pauses campaigns by the
thresholds, the lead resolver emits leads within the warm-up allowances, and the sender
throttles receiving domains by the groups and limits a provider configuration carries. One
model each, here, so the API's validation and the workers' reading never disagree
(docs/deliverability.md).
"""

from shared.reputation.domains import (
    DomainLimit,
    check_distinct,
    domain_of,
    group_of,
    group_table,
)
from shared.reputation.thresholds import (
    GuardThresholds,
    load_thresholds,
    percent,
    save_thresholds,
)
from shared.reputation.warmup import STANDARD_RAMP, Ramp, next_day_starts, utc_day

__all__ = [
    "STANDARD_RAMP",
    "DomainLimit",
    "GuardThresholds",
    "check_distinct",
    "Ramp",
    "domain_of",
    "group_of",
    "group_table",
    "load_thresholds",
    "next_day_starts",
    "percent",
    "save_thresholds",
    "utc_day",
]
