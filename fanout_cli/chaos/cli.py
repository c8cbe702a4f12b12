"""`fanout chaos`: run the fault scenarios on the stack the environment points at.

Scenario names are checked before anything is touched. SIGTERM unwinds like
Ctrl-C, so a stopped broker or a killed service is started again and the
simulator's knobs and the sender's settings are put back.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fanout_cli.chaos.runner import ChaosPlan, run_suite
from fanout_cli.chaos.scenarios import by_name
from fanout_cli.chaos.table import verdict_table, write_json
from fanout_cli.output import console, fail, say
from fanout_cli.stack import orchestrate
from fanout_cli.stack.errors import StackError
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

TABLE_WIDTH = 160  # the verdict column needs room; a pipe or CI log would wrap it at 80


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def chaos_command(
    leads: Annotated[int, typer.Option(help="Leads of each scenario's campaign.")] = 5_000,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="Scenario to run (repeatable); default: all (docs/reliability.md)."),
    ] = None,
    send_rate: Annotated[
        float | None,
        typer.Option(help="The sender's emails/s during the run; default: paced to --leads."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON here.")
    ] = None,
) -> None:
    """Inject faults into the stack (FANOUT_HOME and the FANOUT_* ports) and judge each run.

    Each scenario runs a fresh campaign, strikes mid-campaign (kill -9 of a service, the
    broker stopped, Postgres restarted, pause/resume, cancel, the ESP throttling or down),
    then reconciles the ESP simulator's counters, the campaign row and the reports. Prints
    a verdict table; exits 1 if any scenario fails. It kills and restarts processes of the
    stack it is pointed at: never point it at a stack others are using.
    """
    plan = ChaosPlan(leads=leads, scenarios=tuple(scenario or ()), send_rate=send_rate)
    try:
        by_name(plan.scenarios)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    settings = CommonSettings()
    console.print(f"[bold]fanout chaos[/] on the stack in {settings.home}")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        orchestrate.up(settings, [], say)
        verdicts = run_suite(settings, plan, say)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    Console(width=max(console.width, TABLE_WIDTH)).print(verdict_table(verdicts))
    if json_path is not None:
        write_json(json_path, plan.as_dict(), verdicts)
        say(f"wrote {json_path}")
    failed = [v.scenario for v in verdicts if not v.passed]
    if failed:
        raise fail(f"{len(failed)} of {len(verdicts)} scenarios failed: {', '.join(failed)}")
    console.print(f"[bold green]all {len(verdicts)} scenarios passed[/]")
