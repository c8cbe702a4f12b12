"""The rebalance-under-load check of `fanout bench scale`: after one sender's `kill -9`,
every lead has one terminal outcome in all three sources and duplicates stay in the bound.

The sources and the verdict are the fault suite's (`fanout_cli/chaos`): the campaign
row's counters, the reports (funnel and recipients CSV) and the simulator's request log
for the campaign. On top, the simulator's own counters over the run, so a lead counted
twice anywhere shows: the reports' `sent` must equal the request log's accepted emails
and the counters' first acceptances, and the counters' duplicates the log's. The bound
is docs/reliability.md's: one instance ended mid-campaign, so it may repeat the calls it
had in flight, `FANOUT_SENDER_MAX_IN_FLIGHT` batches of 50, read from the running sender.
"""

from __future__ import annotations

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
    with httpx.Client(timeout=60) as http:
        simulator = SimulatorControl(http, run.endpoints.simulator)
        settled = settle(run, simulator, SETTLE_S)
        sources = gather(run, simulator, message_id_domain(common), evicted_before, settled)
        after = checked_json(http.get(f"{run.endpoints.simulator}/v1/counters"), "counters")
    unique = after["unique"] - before["unique"]
    duplicates = after["duplicates"] - before["duplicates"]
    verdict = judge(Verdict(SCENARIO, leads=run.leads), sources, None, bound)
    verdict.reasons += counters_disagree(sources, unique, duplicates)
    counted = {"unique": unique, "duplicates": duplicates}
    return {**verdict.as_dict(), "simulator_counters": counted}


def counters_disagree(sources: Sources, unique: int, duplicates: int) -> list[str]:
    """Reasons the simulator's counters tell another story than its log and the reports."""
    sent, logged = int(sources.funnel.get("sent", 0)), sources.simulator.accepted
    reasons = []
    if not unique == logged == sent:
        reasons.append(
            f"first acceptances: simulator counters {unique:,}, its request log {logged:,}, "
            f"reports {sent:,} sent"
        )
    if duplicates != sources.simulator.duplicates:
        reasons.append(
            f"duplicates: simulator counters {duplicates:,}, its request log "
            f"{sources.simulator.duplicates:,}"
        )
    return reasons
