"""Faults on the stack's processes, found by their pid files: kill, stop, restart.

Only processes this stack runs can be struck: a service or broker without a
live pid file under FANOUT_HOME, or a Postgres that is not the stack's own
cluster, makes the scenario fail with `FaultNotApplicable` rather than touch
something else. After a fault the suite acts as a supervisor would: a
service that exited on its own is started again, and the verdict says so.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from fanout_cli.chaos.context import FaultContext, FaultNotApplicable, Strike
from fanout_cli.chaos.driver import CampaignRun, decided
from fanout_cli.chaos.sender import sender_setting
from fanout_cli.stack import orchestrate
from fanout_cli.stack import postgres as pg
from fanout_cli.stack.components import service_named
from fanout_cli.stack.processes import ManagedProcess

COMMIT_CYCLE_SHARE = 0.7


def signal_process(process: ManagedProcess, what: str, sig: signal.Signals) -> int:
    """Send `sig` to the process group of a stack process; its pid."""
    pid = process.pid()
    if pid is None:
        raise FaultNotApplicable(f"{what} is not running under this stack's home")
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        os.kill(pid, sig)
    return pid


def wait_for_row_move(run: CampaignRun, timeout_s: float = 10.0) -> None:
    """Return as soon as the campaign's outcome counters change (a sender flush)."""
    start = decided(run.row())
    deadline = time.monotonic() + timeout_s
    while decided(run.row()) == start and time.monotonic() < deadline:
        time.sleep(0.02)


def wait_gone(process: ManagedProcess, timeout_s: float) -> bool:
    """Wait until the process has exited; False if it still runs after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while process.pid() is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass(frozen=True)
class KillService:
    """`kill -9` a service, keep it down `down_s`, start it again; optionally at launch.

    `late_in_commit_cycle` times a sender kill for the most batches sent but not yet
    committed: the campaign row moves when the sender flushes its tallies and commits
    its offsets, so the kill comes `COMMIT_CYCLE_SHARE` of a flush interval after a move.
    Without it a kill right after a commit may leave nothing to replay.
    """

    module: str
    down_s: float = 5.0
    at_launch: bool = False
    late_in_commit_cycle: bool = False

    @property
    def launches(self) -> bool:
        return self.at_launch

    def strike(self, ctx: FaultContext, run: CampaignRun) -> Strike:
        service = service_named(self.module)
        process = service.process(ctx.common.home)
        if self.at_launch:
            run.command("launch")
        if self.late_in_commit_cycle:
            wait_for_row_move(run)
            time.sleep(COMMIT_CYCLE_SHARE * float(sender_setting(ctx.common, "flush_interval_s")))
        pid = signal_process(process, service.name, signal.SIGKILL)
        strike = Strike(at=time.time(), notes=[f"{service.name} (pid {pid}) killed with SIGKILL"])
        try:
            wait_gone(process, 10)
            time.sleep(self.down_s)
        finally:
            ctx.start_service(self.module)
        return strike


@dataclass(frozen=True)
class StopBroker:
    """Stop the stack's Kafka broker with `sig`, keep it down `down_s`, start it again."""

    sig: signal.Signals
    down_s: float = 20.0
    launches: bool = False

    def strike(self, ctx: FaultContext, _run: CampaignRun) -> Strike:
        broker = orchestrate.broker(ctx.common)
        pid = signal_process(broker.process, "the Kafka broker", self.sig)
        strike = Strike(at=time.time(), notes=[f"Kafka (pid {pid}) stopped with {self.sig.name}"])
        try:
            if not wait_gone(broker.process, 60):
                broker.process.stop(timeout=1)
                strike.notes.append("Kafka ignored SIGTERM for 60 s and was killed")
            time.sleep(self.down_s)
        finally:
            orchestrate.up_kafka(ctx.common, ctx.say)
        return strike


@dataclass(frozen=True)
class RestartPostgres:
    """Stop the stack's own PostgreSQL cluster (fast shutdown), wait `down_s`, start it."""

    down_s: float = 5.0
    launches: bool = False

    def strike(self, ctx: FaultContext, _run: CampaignRun) -> Strike:
        target = pg.PostgresTarget.from_dsn(ctx.common.database_url, ctx.common.home)
        bindir = pg.ensure_installed([])
        if not pg.is_running(bindir, target):
            raise FaultNotApplicable(f"no PostgreSQL of this stack runs in {target.data_dir}")
        strike = Strike(at=time.time(), notes=["PostgreSQL stopped (fast shutdown)"])
        try:
            pg.stop(bindir, target)
            time.sleep(self.down_s)
        finally:
            pg.start(bindir, target, [])
        return strike
