"""`fanout sql "SELECT ..."`: one read-only query on the report tables, through report_sink.

In embedded mode only report_sink may open the chDB folder, so the query goes to it:
with an API key (`--api-key` or FANOUT_API_KEY) to `POST /reports/sql`, reading only
that account's events; with `--admin` to the operators' `POST /internal/sql`, reading
every account's, with the admin token (`--token`, FANOUT_ADMIN_TOKEN, or the stack's
secrets file).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fanout_cli.output import console, fail, table
from fanout_cli.report.client import UrlOption, admin_token, base_url, request
from services.report_sink.api.routes.sql import ADMIN_HEADER


def sql_command(
    query: Annotated[str, typer.Argument(help="One read-only ClickHouse statement.")],
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="FANOUT_API_KEY", help="Your API key: your events."),
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="Operators: every account's data (admin token).")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="FANOUT_ADMIN_TOKEN", help="Admin token (with --admin)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    url: UrlOption = None,
) -> None:
    """Run a read-only SQL statement on the report tables (through report_sink, which owns
    chDB): your account's events with an API key, every account's with --admin."""
    if admin:
        path, headers = "/internal/sql", {ADMIN_HEADER: admin_token(token)}
    elif api_key:
        path, headers = "/reports/sql", {"Authorization": f"Bearer {api_key}"}
    else:
        raise fail("pass --api-key (your account's events) or --admin (operators)")
    body = request("POST", base_url(url), path, headers, json={"query": query}).json()
    if as_json:
        console.print_json(json.dumps(body))
        return
    console.print(table("", body["columns"], body["rows"]))
