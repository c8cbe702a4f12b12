"""What a fault works with and what it reports: the context, the strike, the protocol.

A fault gets the stack's settings, the simulator's control API and how to
(re)start services with the suite's settings; it returns a `Strike`: when it
struck, for pause and cancel when the API acknowledged them, and anything
it saw break itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fanout_cli.chaos.driver import CampaignRun
from fanout_cli.chaos.esp import SimulatorControl
from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import SERVICES, ServiceProcess, service_named
from shared.settings import CommonSettings

Say = Callable[[str], None]


class FaultNotApplicable(RuntimeError):
    """The component to strike is not this stack's own running process."""


@dataclass
class FaultContext:
    """What a fault may touch: the stack, the simulator, and how services are (re)started."""

    common: CommonSettings
    simulator: SimulatorControl
    say: Say
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def start_service(self, module: str) -> None:
        """Start a service with the suite's settings for it (e.g. the sender's pacing)."""
        service = service_named(module)
        orchestrate.up_service(self.common, service, self.say, self.service_env.get(module))

    def restart_services(self) -> None:
        """Restart every service (a stuck one looks alive: only a restart clears it)."""
        for service in SERVICES:
            env = self.service_env.get(service.module, {})
            orchestrate.restart_service(self.common, service, env, self.say)

    def revive(self) -> list[ServiceProcess]:
        """Start every service that is not running; those services."""
        dead = [s for s in SERVICES if s.process(self.common.home).pid() is None]
        for service in dead:
            self.start_service(service.module)
        return dead


@dataclass
class Strike:
    """What a fault did, for the verdict: when, and for commands when they were acknowledged.
    `problems` are broken guarantees the fault saw itself (e.g. a pause that did not hold)."""

    at: float
    acknowledged_at: float | None = None
    resumed_at: float | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Fault(Protocol):
    """One thing that goes wrong mid-campaign."""

    @property
    def launches(self) -> bool:
        """True when the fault launches the campaign itself (it strikes at launch)."""

    def strike(self, ctx: FaultContext, run: CampaignRun) -> Strike:
        """Do it (and undo it, e.g. restart what was killed) before returning."""
