"""`fanout`: the command-line tool (typer + rich).

Every command turns expected failures (a dependency down, bad input) into a
one-paragraph message and exit code 1, never a traceback.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fanout_cli.demo.run import print_summary, run_demo
from fanout_cli.stack import orchestrate
from fanout_cli.stack.errors import StackError
from services.campaign_api.cli import account_app
from services.report_sink.cli import report_app, sql_command
from shared.errors import DependencyUnavailable
from shared.logging import configure_logging
from shared.settings import CommonSettings

configure_logging("fanout-cli", level="WARNING")
for _noisy in ("aiokafka", "urllib3", "clickhouse_connect"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)
console = Console()
err = Console(stderr=True)

app = typer.Typer(
    help="Fanout: email campaigns at million-recipient scale.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The local stack: PostgreSQL, Kafka, chDB and the services.")
app.add_typer(stack_app, name="stack")
app.add_typer(account_app, name="account")
app.add_typer(report_app, name="report")
app.command("sql")(sql_command)


def fail(message: str) -> typer.Exit:
    """Print a clear error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


def _say(line: str) -> None:
    console.print(f"[green]•[/] {line}")


@stack_app.command("up")
def stack_up(
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Components to start (repeatable): infra, postgres, kafka, clickhouse, or a "
            "service name (esp-simulator, webhook-ingest, report-sink, campaign-api, "
            "lead-resolver, sender). Default: everything.",
        ),
    ] = None,
) -> None:
    """Start the local stack; components already running are left as they are."""
    try:
        orchestrate.up(CommonSettings(), only or [], _say)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    console.print("[bold green]stack is up[/] — `fanout stack status` shows it")


@stack_app.command("down")
def stack_down(
    wipe: Annotated[bool, typer.Option(help="Also delete the stack's data.")] = False,
) -> None:
    """Stop every process the stack started (by pid); data is kept unless --wipe."""
    try:
        orchestrate.down(CommonSettings(), wipe, _say)
    except StackError as exc:
        raise fail(str(exc)) from None
    console.print("[bold]stack is down[/]")


@stack_app.command("status")
def stack_status() -> None:
    """Each component with its address, pid and health."""
    table = Table("component", "address", "pid", "health")
    for row in orchestrate.status(CommonSettings()):
        colour = (
            "green"
            if row.health in ("ok", "ready") or row.health.startswith(("embedded", "server"))
            else "red"
        )
        table.add_row(row.name, row.address, str(row.pid or "-"), f"[{colour}]{row.health}[/]")
    console.print(table)


@app.command("migrate")
def migrate() -> None:
    """Apply the PostgreSQL migrations to FANOUT_DATABASE_URL."""
    from shared.migrations.postgres import upgrade

    settings = CommonSettings()
    try:
        upgrade(settings.database_url)
    except Exception as exc:
        raise fail(f"migrations failed: {exc}") from None
    console.print("migrations applied")


@app.command("demo")
def demo(
    leads: Annotated[int, typer.Option(help="How many synthetic leads to import.")] = 200_000,
) -> None:
    """The main job: bring the stack up, run a real campaign through it, print its funnel.

    Creates an account, imports realistic leads, creates a template and a campaign whose
    condition matches about half of them, launches it with a live progress bar, lets the
    simulator's deliveries, bounces and complaints flow back, and prints the funnel. The
    stack keeps running afterwards (`fanout stack down` stops it).
    """
    settings = CommonSettings()
    try:
        orchestrate.up(settings, [], _say)
        outcome = run_demo(settings, leads, console)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    print_summary(outcome, console)
    console.print("[bold green]demo finished successfully[/]")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.command("chaos")
def chaos(
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
    from fanout_cli.chaos.runner import ChaosPlan, run_suite
    from fanout_cli.chaos.scenarios import by_name
    from fanout_cli.chaos.table import verdict_table, write_json

    plan = ChaosPlan(leads=leads, scenarios=tuple(scenario or ()), send_rate=send_rate)
    try:
        by_name(plan.scenarios)  # before touching the stack
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    settings = CommonSettings()
    console.print(f"[bold]fanout chaos[/] on the stack in {settings.home}")
    # SIGTERM unwinds like Ctrl-C: a stopped broker or killed service is started again and
    # the simulator's knobs and the sender's settings are put back
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        orchestrate.up(settings, [], _say)
        verdicts = run_suite(settings, plan, _say)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    # the verdict column needs room; a pipe or CI log would otherwise wrap it at 80
    Console(width=max(console.width, 160)).print(verdict_table(verdicts))
    if json_path is not None:
        write_json(json_path, plan.as_dict(), verdicts)
        console.print(f"[green]•[/] wrote {json_path}")
    failed = [v.scenario for v in verdicts if not v.passed]
    if failed:
        raise fail(f"{len(failed)} of {len(verdicts)} scenarios failed: {', '.join(failed)}")
    console.print(f"[bold green]all {len(verdicts)} scenarios passed[/]")


@app.command("bench")
def bench(
    leads: Annotated[
        int, typer.Option(help="N: end-to-end campaign size (N/10 is run too, for memory).")
    ] = 1_000_000,
    latency_ms: Annotated[float, typer.Option(help="Realistic ESP latency per call.")] = 150.0,
    ingest_emails: Annotated[
        int, typer.Option(help="Classic vs Fanout growth (default 10M for N ≥ 1M, else N).")
    ] = 0,
    skip_ingest: Annotated[bool, typer.Option(help="Only the end-to-end runs.")] = False,
    out: Annotated[Path, typer.Option(help="Where results are written.")] = Path("bench/results"),
) -> None:
    """Benchmark Fanout end to end and against the classic per-email table (docs/benchmarks.md).

    Brings the stack up, runs campaigns of N/10 and N leads (no ESP latency) and N leads with
    a realistic latency, then grows a classic per-email Postgres table and Fanout's event log
    by the same workload slice by slice, with report queries during the writes. Writes JSON,
    a Markdown table and PNG charts to --out.
    """
    from fanout_cli.bench.render import write_all
    from fanout_cli.bench.run import BenchPlan, run_bench

    plan = BenchPlan(
        leads=leads, latency_ms=latency_ms, ingest_emails=ingest_emails, skip_ingest=skip_ingest
    )
    try:
        results = run_bench(CommonSettings(), plan, _say)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    for path in write_all(results, out):
        console.print(f"[green]•[/] wrote {path}")
    ok = all(run.every_lead_has_outcome for run in results.e2e)
    if not ok:
        raise fail("a benchmark campaign ended without an outcome for every lead")
    console.print("[bold green]benchmark finished[/]")


if __name__ == "__main__":
    app()
