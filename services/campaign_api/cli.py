"""`fanout account ...`: make an account and its first API key (mounted by fanout_cli.main)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

import asyncpg
import typer
from rich.console import Console
from rich.panel import Panel

from shared.auth import create_account
from shared.db import create_pool, redact_dsn
from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

account_app = typer.Typer(help="Accounts and their API keys.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@account_app.callback()
def accounts() -> None:
    """Accounts and their API keys."""


async def _create(database_url: str, name: str) -> tuple[UUID, str]:
    pool = await create_pool(database_url, max_size=1)
    try:
        return await create_account(pool, name)
    finally:
        await pool.close()


@account_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="The account's display name.")],
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL DSN (default: FANOUT_DATABASE_URL or the local stack)."),
    ] = None,
) -> None:
    """Create an account and its first API key; the key is printed this once only."""
    if not name.strip() or "\x00" in name or len(name) > 200:
        err.print("[bold red]error:[/] --name must be 1-200 printable characters")
        raise typer.Exit(1)
    dsn = database_url or CommonSettings().database_url
    try:
        account_id, key = asyncio.run(_create(dsn, name.strip()))
    except DependencyUnavailable as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except asyncpg.UndefinedTableError:
        err.print(
            f"[bold red]error:[/] the database at {redact_dsn(dsn)} has no schema yet; "
            "run `fanout stack up` (it applies the migrations) first"
        )
        raise typer.Exit(1) from None
    console.print(
        Panel.fit(
            f"account [bold]{name.strip()}[/]  id {account_id}\n\n"
            f"API key: [bold green]{key}[/]\n\n"
            "[yellow]Store it now: it is shown only this once.[/] "
            "Use it as `Authorization: Bearer <key>`.",
            title="account created",
        )
    )
