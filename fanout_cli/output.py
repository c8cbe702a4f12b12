"""How every `fanout` command speaks: progress lines, tables, and one clear failure line.

Expected failures (a dependency down, bad input) end as `fail(...)`: one paragraph on
stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print a clear error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}")  # details may hold [brackets]
    return typer.Exit(1)


def say(line: str) -> None:
    """One progress line."""
    console.print(f"[green]•[/] {line}")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A rich table of `rows`; None prints as an empty cell."""
    result = Table(title=title)
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*("" if v is None else str(v) for v in row))
    return result
