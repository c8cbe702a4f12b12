"""One scenario from a fresh campaign to its verdict, and the whole suite.

    ESP knobs → account, leads, campaign → launch → wait for `trigger` → strike
      → follow to the end (restarting services that exit, as a supervisor
      would) → settle → the three sources → verdict

The suite paces the sender for the campaign size first (see `sender`) and
puts the simulator's knobs and the sender back as they were at the end.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from fanout_cli.chaos import sender
from fanout_cli.chaos.context import FaultContext, FaultNotApplicable, Say, Strike
from fanout_cli.chaos.driver import CampaignRun, Endpoints, decided
from fanout_cli.chaos.esp import SimulatorControl
from fanout_cli.chaos.reconcile import gather, settle
from fanout_cli.chaos.scenarios import WEBHOOKS_FLOWING, Scenario, by_name
from fanout_cli.chaos.verdict import Verdict, judge
from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import service_named
from fanout_cli.stack.errors import StackError
from shared.settings import CommonSettings

ENDED = frozenset({"completed", "cancelled", "failed", "paused"})
FOLLOW_FLOOR_S = 300.0  # beyond 10× the paced duration: restarts, outages, throttling
STALLED_S = 300.0  # no new outcome for this long: the campaign is stuck
SLOW_WAIT_S = 30.0  # a longer wait for a new outcome is noted in the verdict
SETTLE_S = 180.0
REVIVE_EVERY_S = 5.0


@dataclass(frozen=True)
class ChaosPlan:
    """What one suite run does."""

    leads: int = 5_000
    scenarios: tuple[str, ...] = ()  # none: all of them
    send_rate: float | None = None  # the sender's emails/s; None: paced to the campaign size
    trigger: float = 0.3  # share of the leads with an outcome when the fault strikes
    restore: bool = True  # put the sender back as it was afterwards

    @property
    def rate(self) -> float:
        return self.send_rate or sender.pace(self.leads)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


def run_suite(common: CommonSettings, plan: ChaosPlan, say: Say) -> list[Verdict]:
    """Every scenario of `plan` on the stack of `common`, one after the other."""
    scenarios = by_name(plan.scenarios)
    endpoints = Endpoints.of_stack()
    env = sender.pacing_env(plan.rate)
    with httpx.Client(timeout=30.0) as http:
        simulator = SimulatorControl(http, endpoints.simulator)
        ctx = FaultContext(common, simulator, say, {"sender": env})
        saved = simulator.knobs()
        paced = not sender.runs_with(common, env)
        if paced:
            orchestrate.restart_service(common, service_named("sender"), env, say)
        try:
            return [run_scenario(ctx, endpoints, s, plan) for s in scenarios]
        finally:
            simulator.configure(saved)
            if paced and plan.restore:
                orchestrate.restart_service(common, service_named("sender"), {}, say)


def run_scenario(
    ctx: FaultContext, endpoints: Endpoints, scenario: Scenario, plan: ChaosPlan
) -> Verdict:
    """Run `scenario` on a fresh campaign; any error becomes a failed verdict."""
    verdict = Verdict(scenario.name, expected_state=scenario.expect)
    ctx.say(f"{scenario.name}: {scenario.summary}")
    run: CampaignRun | None = None
    try:
        ctx.simulator.configure({**WEBHOOKS_FLOWING, **scenario.knobs})
        run = CampaignRun.create(ctx.common, endpoints, plan.leads, scenario.name)
        verdict.leads = run.leads
        evicted = ctx.simulator.evicted()
        launched = time.monotonic()
        strike = _strike(ctx, run, scenario, plan, verdict)
        row, revived = _follow(ctx, run, FOLLOW_FLOOR_S + 10 * run.leads / plan.rate, verdict)
        verdict.notes.append(
            f"{row.get('state', '?')} {time.monotonic() - launched:.0f} s after the launch "
            f"(~{run.leads / plan.rate:.0f} s at the sender's pace)"
        )
        ctx.say(f"  campaign {row.get('state', '?')}; waiting for the reports to settle")
        settled = settle(run, ctx.simulator, SETTLE_S)
        domain = sender.message_id_domain(ctx.common)
        sources = gather(run, ctx.simulator, domain, evicted, settled)
        # a sender that ended mid-campaign (struck, or exiting on its own) may repeat the
        # calls it had in flight; otherwise nothing may be sent twice
        crashed = scenario.repeats_in_flight or "sender" in revived
        judge(verdict, sources, strike, sender.in_flight_bound(ctx.common) if crashed else 0)
    except (StackError, FaultNotApplicable, httpx.HTTPError) as exc:
        verdict.could_not_run(f"could not run: {exc}")
    finally:
        if run is not None:
            run.close()
        ctx.revive()
    if verdict.stuck:
        ctx.say("  the campaign got stuck: restarting every service for the next scenario")
        ctx.restart_services()
    ctx.say(f"  {'PASS' if verdict.passed else 'FAIL: ' + '; '.join(verdict.reasons)}")
    return verdict


def _strike(
    ctx: FaultContext, run: CampaignRun, scenario: Scenario, plan: ChaosPlan, verdict: Verdict
) -> Strike | None:
    """Launch, wait until `trigger` of the leads have an outcome, strike (or strike at launch)."""
    fault = scenario.fault
    if fault.launches:
        strike = fault.strike(ctx, run)
    else:
        run.command("launch")
        goal = plan.trigger * run.leads
        row = run.wait_row(
            lambda r: decided(r) >= goal or r.get("state") in ENDED,
            FOLLOW_FLOOR_S + run.leads / plan.rate,
        )
        if row.get("state") in ENDED or decided(row) < goal:
            verdict.could_not_run(
                f"the fault never struck: the campaign was {row.get('state')} with "
                f"{decided(row):,} outcomes"
            )
            return None
        verdict.notes.append(f"struck at {decided(row) / run.leads:.0%} of the leads")
        strike = fault.strike(ctx, run)
    verdict.notes += strike.notes
    ctx.say("  " + "; ".join(strike.notes or ["struck"]))
    return strike


def _follow(
    ctx: FaultContext, run: CampaignRun, timeout_s: float, verdict: Verdict
) -> tuple[dict[str, Any], set[str]]:
    """Follow the campaign until it ends, stalls or `timeout_s` passes, restarting services
    that exited; the last row and the modules of the services restarted."""
    deadline = time.monotonic() + timeout_s
    revived: set[str] = set()
    progress, progressed_at, longest_wait = -1, time.monotonic(), 0.0
    while True:
        row = run.wait_row(lambda r: r.get("state") in ENDED, REVIVE_EVERY_S)
        for service in ctx.revive():
            revived.add(service.module)
            verdict.notes.append(f"{service.name} exited on its own and was restarted")
        now = time.monotonic()
        longest_wait = max(longest_wait, now - progressed_at)
        if decided(row) != progress:
            progress, progressed_at = decided(row), now
        ended = row.get("state") in ENDED
        if ended or now > deadline or now - progressed_at > STALLED_S:
            break
    if longest_wait > SLOW_WAIT_S:
        verdict.notes.append(f"no new outcome for {longest_wait:.0f} s at one point")
    if not ended:
        verdict.stuck = True
        verdict.notes.append(f"stopped following: {progress:,} outcomes, no end in sight")
    return row, revived
