"""`fanout`: the command-line tool (typer + rich).

Every command turns expected failures (a dependency down, bad input) into a
one-paragraph message and exit code 1, never a traceback.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated

import httpx
import typer
from rich.table import Table

from fanout_cli.bench.cli import bench_app
from fanout_cli.campaign.cli import campaign_app
from fanout_cli.chaos.cli import chaos_command
from fanout_cli.clickhouse.cli import clickhouse_app
from fanout_cli.demo.run import print_dashboard, print_summary, run_demo
from fanout_cli.dlq.cli import dlq_app
from fanout_cli.output import console, fail, say
from fanout_cli.report.commands import report_app
from fanout_cli.report.sql import sql_command
from fanout_cli.stack import orchestrate
from fanout_cli.stack.components import service_named
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.instances import parse_scale
from fanout_cli.testrun.cli import PASS_THROUGH, test_command
from services.campaign_api.cli import account_app
from shared.errors import DependencyUnavailable
from shared.logging import configure_logging
from shared.settings import CommonSettings

app = typer.Typer(
    help="Fanout: email campaigns at million-recipient scale.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _quiet_logs() -> None:
    """Only warnings from the libraries a command uses (configured when a command runs, not
    at import, so importing the CLI never reconfigures another program's logging)."""
    configure_logging("fanout-cli", level="WARNING", cache=False)
    for noisy in ("aiokafka", "urllib3", "clickhouse_connect"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


stack_app = typer.Typer(help="The local stack: PostgreSQL, Kafka, chDB and the services.")
app.add_typer(stack_app, name="stack")
app.add_typer(account_app, name="account")
app.add_typer(campaign_app, name="campaign")
app.add_typer(report_app, name="report")
app.add_typer(bench_app, name="bench")
app.add_typer(clickhouse_app, name="clickhouse")
app.add_typer(dlq_app, name="dlq")
app.command("sql")(sql_command)
app.command("chaos")(chaos_command)
app.command("test", context_settings=PASS_THROUGH)(test_command)


@stack_app.command("up")
def stack_up(
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Components to start (repeatable): infra, postgres, kafka, clickhouse, or a "
            "service name (esp-simulator, webhook-ingest, report-sink, campaign-api, "
            "lead-resolver, sender, notifier, guard). Default: everything.",
        ),
    ] = None,
    scale: Annotated[
        str,
        typer.Option(
            "--scale",
            help="Instances per service, e.g. sender=3,lead_resolver=2,webhook_ingest=2. "
            "Instance k of a service on port P is <service>-k on port P+10*(k-1), with its own "
            "log and pid. report_sink runs once in embedded chDB mode (chDB allows one process "
            "per data folder; set FANOUT_CLICKHOUSE_URL to scale it); esp_simulator runs once.",
        ),
    ] = "",
) -> None:
    """Start the local stack; components already running are left as they are."""
    try:
        settings = CommonSettings()
        orchestrate.up(settings, only or [], say, parse_scale(settings, scale))
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    console.print("[bold green]stack is up[/] — `fanout stack status` shows it")


@stack_app.command("scale")
def stack_scale(
    service: Annotated[str, typer.Argument(help="A service, e.g. sender or lead_resolver.")],
    instances: Annotated[int, typer.Argument(help="How many instances to run (1 or more).")],
) -> None:
    """Change how many instances of one service the running stack has: the missing ones are
    started, the ones above INSTANCES stopped gracefully (SIGTERM: they drain and commit).
    report_sink cannot run twice in embedded chDB mode, nor esp_simulator at all."""
    settings = CommonSettings()
    try:
        ((module, count),) = parse_scale(settings, f"{service}={instances}").items()
        orchestrate.scale_service(settings, service_named(module), count, say)
    except StackError as exc:
        raise fail(str(exc)) from None
    console.print(f"[bold green]{service} runs {instances} instance(s)[/]")


@stack_app.command("down")
def stack_down(
    wipe: Annotated[bool, typer.Option(help="Also delete the stack's data.")] = False,
) -> None:
    """Stop every process the stack started (by pid); data is kept unless --wipe."""
    try:
        orchestrate.down(CommonSettings(), wipe, say)
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
            if row.health == "ready" or row.health.startswith(("ok", "embedded", "server"))
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


class DemoProvider(StrEnum):
    """The adapters the demo can send through (each to the simulator's dialect of it)."""

    SIMULATOR = "simulator"
    SENDGRID = "sendgrid"
    MAILGUN = "mailgun"
    POSTMARK = "postmark"
    SES = "ses"
    SMTP = "smtp"


@app.command("demo")
def demo(
    leads: Annotated[int, typer.Option(help="How many synthetic leads to import.")] = 200_000,
    provider: Annotated[
        DemoProvider,
        typer.Option(help="Send through this adapter, to the simulator's dialect of it."),
    ] = DemoProvider.SIMULATOR,
) -> None:
    """The main job: bring the stack up, run a real campaign through it, print its funnel.

    Creates an account, imports realistic leads, creates a template and a campaign whose
    condition matches about half of them, launches it with a live progress bar, lets the
    simulator's deliveries, bounces and complaints flow back, and prints the funnel. With
    `--provider sendgrid|mailgun|postmark|ses|smtp` the campaign goes through that adapter
    to the simulator's dialect of the provider, and its webhooks come back in that
    provider's format and signature. The stack keeps running afterwards (`fanout stack
    down` stops it).
    """
    settings = CommonSettings()
    try:
        orchestrate.up(settings, [], say)
        outcome = run_demo(settings, leads, console, provider.value)
    except (StackError, DependencyUnavailable) as exc:
        raise fail(str(exc)) from None
    except httpx.TransportError as exc:
        where = exc.request.url if _has_request(exc) else "a service of the stack"
        raise fail(
            f"the demo lost the stack: {exc.__class__.__name__} at {where} "
            "(was it stopped?). `fanout stack status` shows what runs; `fanout stack up` "
            "starts what is missing, then run the demo again."
        ) from None
    print_summary(outcome, console)
    console.print("[bold green]demo finished successfully[/]")
    print_dashboard(outcome, console)  # last: where to look at it in a browser


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True


if __name__ == "__main__":
    app()
