"""Faults made through the APIs: a pause then resume, a cancel, the ESP going down.

Pause and cancel return the wall-clock time the API acknowledged them: the
verdict measures, from the simulator's request log, how long after that ESP
calls for the campaign kept starting (the guarantee: not more than 1 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fanout_cli.chaos.context import FaultContext, Strike
from fanout_cli.chaos.driver import CampaignRun


@dataclass(frozen=True)
class PauseThenResume:
    """Pause mid-campaign, hold it `hold_s`, resume."""

    hold_s: float = 8.0
    launches: bool = False

    def strike(self, _ctx: FaultContext, run: CampaignRun) -> Strike:
        acknowledged = run.command("pause")
        time.sleep(self.hold_s)
        held = run.row()
        resumed = run.command("resume")
        strike = Strike(at=acknowledged, acknowledged_at=acknowledged, resumed_at=resumed)
        strike.notes.append(f"paused for {resumed - acknowledged:.1f} s (state {held['state']})")
        if held["state"] != "paused":
            strike.problems.append(f"the campaign was {held['state']} during the pause")
        return strike


@dataclass(frozen=True)
class Cancel:
    """Cancel mid-campaign."""

    launches: bool = False

    def strike(self, _ctx: FaultContext, run: CampaignRun) -> Strike:
        acknowledged = run.command("cancel")
        return Strike(at=acknowledged, acknowledged_at=acknowledged, notes=["cancelled"])


@dataclass(frozen=True)
class EspDown:
    """The ESP answers every call 503 for `seconds` from the strike."""

    seconds: float = 30.0
    launches: bool = False

    def strike(self, ctx: FaultContext, _run: CampaignRun) -> Strike:
        ctx.simulator.go_down(self.seconds)
        return Strike(at=time.time(), notes=[f"ESP down for {self.seconds:g} s"])


@dataclass(frozen=True)
class Nothing:
    """No strike: the scenario's simulator knobs are the fault (or it is the baseline).
    It launches the campaign itself, so no trigger is awaited."""

    note: str = "no fault"
    launches: bool = True

    def strike(self, _ctx: FaultContext, run: CampaignRun) -> Strike:
        return Strike(at=run.command("launch"), notes=[self.note])
