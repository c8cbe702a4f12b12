"""The rebalance-under-load check of `fanout bench scale`: after one sender's `kill -9`,
every lead has one terminal outcome in all three sources and duplicates stay in the bound.

The sources and the verdict are the fault suite's (`fanout_cli/chaos`): the campaign
row's counters, the reports (funnel and recipients CSV) and the simulator's request log
for the campaign. On top, the simulator's own counters over the run, so a lead counted
twice anywhere shows: the reports' `sent` must equal the request log's accepted emails
and the counters' first acceptances, and the counters' duplicates the log's. The bound
is docs/reliability.md's: one instance ended mid-campaign, so it may repeat the calls it
had in flight, `FANOUT_SENDER_MAX_IN_FLIGHT` batches of 50, read from the running sender.
`fanout bench resolvers` checks its concurrent campaigns the same way
(`reconcile_campaigns`: each campaign's sources, the counters against all of them), with
no instance ended and so no duplicate allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from fanout_cli.chaos.driver import CampaignRun
from fanout_cli.chaos.esp import SimulatorControl
from fanout_cli.chaos.reconcile import Sources, gather, settle
from fanout_cli.chaos.sender import in_flight_bound, message_id_domain
from fanout_cli.chaos.verdict import Verdict, judge
from fanout_cli.demo.api_calls import checked_json
from shared.settings import CommonSettings

SCENARIO = "kill -9 of one sender of three, mid-campaign"
SETTLE_S = 180.0  # webhooks delivered, row and reports still


def reconcile(
    common: CommonSettings, run: CampaignRun, evicted_before: int, before: dict[str, Any]
) -> dict[str, Any]:
    """The verdict on `run`'s campaign as JSON-ready data, with the simulator's counters
    since `before` (read at launch); call it while the senders still run."""
    bound = in_flight_bound(common)
    [verdict], sources, counted = judged(common, [run], (evicted_before, before), SCENARIO, bound)
    verdict.reasons += counters_disagree(sources, counted["unique"], counted["duplicates"])
    return {**verdict.as_dict(), "simulator_counters": counted}


def reconcile_campaigns(
    common: CommonSettings,
    runs: Sequence[CampaignRun],
    evicted_before: int,
    before: dict[str, Any],
    scenario: str,
) -> dict[str, Any]:
    """The verdict on each of `runs`' campaigns, launched together after `before` with no
    instance ended (so no duplicate send is allowed), and the simulator's counters against
    all of them: `passed` when every one holds."""
    verdicts, sources, counted = judged(common, runs, (evicted_before, before), scenario, 0)
    reasons = counters_disagree(sources, counted["unique"], counted["duplicates"])
    return {
        "campaigns": [v.as_dict() for v in verdicts],
        "simulator_counters": counted,
        "reasons": reasons,
        "passed": not reasons and all(v.passed for v in verdicts),
    }


def judged(
    common: CommonSettings,
    runs: Sequence[CampaignRun],
    at_launch: tuple[int, dict[str, Any]],
    scenario: str,
    bound: int,
) -> tuple[list[Verdict], list[Sources], dict[str, int]]:
    """Each campaign settled, its sources read and judged with the duplicate `bound`; the
    simulator's counters since the launch (`at_launch`: the request log's evicted records
    and the counters then), over every campaign of the run."""
    evicted_before, before = at_launch
    domain = message_id_domain(common)
    verdicts, sources = [], []
    with httpx.Client(timeout=60) as http:
        simulator = SimulatorControl(http, runs[0].endpoints.simulator)
        for run in runs:
            settled = settle(run, simulator, SETTLE_S)
            read = gather(run, simulator, domain, evicted_before, settled)
            verdicts.append(judge(Verdict(scenario, leads=run.leads), read, None, bound))
            sources.append(read)
        after = checked_json(http.get(f"{runs[0].endpoints.simulator}/v1/counters"), "counters")
    counted = {name: after[name] - before[name] for name in ("unique", "duplicates")}
    return verdicts, sources, counted


def counters_disagree(sources: Sequence[Sources], unique: int, duplicates: int) -> list[str]:
    """Reasons the simulator's counters tell another story than its log and the reports
    (summed over the campaigns of `sources`)."""
    sent = sum(int(s.funnel.get("sent", 0)) for s in sources)
    logged = sum(s.simulator.accepted for s in sources)
    logged_duplicates = sum(s.simulator.duplicates for s in sources)
    reasons = []
    if not unique == logged == sent:
        reasons.append(
            f"first acceptances: simulator counters {unique:,}, its request log {logged:,}, "
            f"reports {sent:,} sent"
        )
    if duplicates != logged_duplicates:
        reasons.append(
            f"duplicates: simulator counters {duplicates:,}, its request log {logged_duplicates:,}"
        )
    return reasons
