"""`fanout sql "SELECT ..."`: one read-only query on the report tables, through report_sink.

In embedded mode only report_sink may open the chDB folder, so the query goes to its
`POST /internal/sql` (read-only session, row and time limits) with the admin token.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fanout_cli.output import console, err, table
from fanout_cli.report.client import UrlOption, admin_token, base_url, request
from services.report_sink.api.routes.sql import ADMIN_HEADER


def sql_command(
    query: Annotated[str, typer.Argument(help="One read-only ClickHouse query.")],
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="FANOUT_REPORT_SINK_ADMIN_TOKEN", help="Admin token."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    url: UrlOption = None,
) -> None:
    """Run a read-only SQL query on the report tables (through report_sink, which owns chDB)."""
    headers = {ADMIN_HEADER: admin_token(token)}
    body = request("POST", base_url(url), "/internal/sql", headers, json={"query": query}).json()
    if as_json:
        console.print_json(json.dumps(body))
        return
    console.print(table("", body["columns"], body["rows"]))
    if body["truncated"]:
        err.print(f"[yellow]result cut at {len(body['rows'])} rows[/]")
