"""The fault scenarios: what each does, how the ESP behaves, and what it must end with.

Every scenario runs with the ESP's webhooks flowing (bounces and complaints
suppress addresses while the campaign runs, so a replayed batch meets them)
and strikes when `trigger` of the leads have an outcome. `repeats_in_flight`
marks the faults that may legitimately repeat the ESP calls in flight at that
moment (the sender or the broker going away): their duplicate bound is the
sender's `max_in_flight` batches × 50; every other scenario must send nothing
twice.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any

from fanout_cli.chaos.actions import Cancel, EspDown, Nothing, PauseThenResume
from fanout_cli.chaos.context import Fault
from fanout_cli.chaos.faults import KillService, RestartPostgres, StopBroker
from fanout_cli.demo.run import SIMULATOR_REALISM

# The demo's realistic ESP, with more bounces and complaints coming back sooner, and
# every refusal knob explicit so one scenario's ESP never leaks into the next.
WEBHOOKS_FLOWING: dict[str, Any] = {
    **SIMULATOR_REALISM,
    "hard_bounce_rate": 0.08,
    "soft_bounce_rate": 0.02,
    "complaint_rate": 0.02,
    "outcome_delay_ms": 50.0,
    "engagement_delay_ms": 50.0,
    "rate_limit_per_s": 0.0,
    "error_5xx_rate": 0.0,
    "throttle_429_rate": 0.0,
    "recipient_throttle_rate": 0.0,
    "transient_rate": 0.0,
    "reject_rate": 0.0,
}
# Issue 10's throttling run: 30 % of calls 429, 5 % 503, and per recipient 5 % throttled
# and 5 % transient answers.
THROTTLING: dict[str, Any] = {
    "throttle_429_rate": 0.3,
    "throttle_retry_after_s": 1,
    "error_5xx_rate": 0.05,
    "recipient_throttle_rate": 0.05,
    "transient_rate": 0.05,
}


@dataclass(frozen=True)
class Scenario:
    """One fault and what the campaign must end with."""

    name: str
    summary: str
    fault: Fault
    knobs: dict[str, Any] = field(default_factory=dict)
    expect: str = "completed"
    repeats_in_flight: bool = False


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("baseline", "no fault: the instrument's control run", Nothing("control run")),
    *(
        Scenario(
            f"kill-{module.replace('_', '-')}",
            f"kill -9 {module} mid-campaign, restart it after 5 s",
            KillService(module, late_in_commit_cycle=module == "sender"),
            repeats_in_flight=module == "sender",
        )
        for module in ("lead_resolver", "sender", "webhook_ingest", "report_sink")
    ),
    Scenario(
        "kill-campaign-api",
        "kill -9 campaign_api right after it acknowledged the launch, restart it after 5 s",
        KillService("campaign_api", at_launch=True),
    ),
    Scenario(
        "broker-sigterm",
        "stop Kafka with SIGTERM mid-campaign, restart it after 20 s",
        StopBroker(signal.SIGTERM),
        repeats_in_flight=True,
    ),
    Scenario(
        "broker-sigkill",
        "kill Kafka with SIGKILL mid-campaign, restart it after 20 s",
        StopBroker(signal.SIGKILL),
        repeats_in_flight=True,
    ),
    Scenario(
        "postgres-restart",
        "stop PostgreSQL (fast shutdown) mid-campaign, start it after 5 s",
        RestartPostgres(),
    ),
    Scenario(
        "pause-resume",
        "pause mid-campaign for 8 s, then resume",
        PauseThenResume(),
    ),
    Scenario("cancel", "cancel mid-campaign", Cancel(), expect="cancelled"),
    Scenario(
        "esp-throttling",
        "the ESP refuses 30 % of calls with 429 and 5 % with 503, and answers 5 % of "
        "recipients throttled and 5 % transient_error",
        Nothing("the ESP throttles throughout"),
        knobs=THROTTLING,
    ),
    Scenario("esp-down", "the ESP answers 503 to everything for 30 s mid-campaign", EspDown()),
)


def by_name(names: list[str] | tuple[str, ...]) -> list[Scenario]:
    """The named scenarios in suite order (all of them for no names); KeyError on unknown."""
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    wanted = set(names)
    return [s for s in SCENARIOS if not wanted or s.name in wanted]
