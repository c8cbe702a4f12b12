"""`fanout report ...` and `fanout sql`: clients of report_sink's HTTP API (port 8702).

Mounted by fanout_cli.main: `app.add_typer(report_app, name="report")` and
`app.command("sql")(sql_command)`. Report commands authenticate with an API key
(`--api-key` or FANOUT_API_KEY); `fanout sql` with the admin token (`--token`,
FANOUT_REPORT_SINK_ADMIN_TOKEN, or the file report_sink writes for the local admin).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.report_sink.api.routes.sql import ADMIN_HEADER
from services.report_sink.config import Settings
from shared.http.client import error_line

report_app = typer.Typer(help="Campaign reports (from report_sink).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="FANOUT_REPORT_SINK_URL", help="report_sink's base URL."),
]
KeyOption = Annotated[
    str, typer.Option("--api-key", envvar="FANOUT_API_KEY", help="Your API key (fo_...).")
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")  # details may hold [brackets]
    return typer.Exit(1)


def _base_url(url: str | None) -> str:
    return url or f"http://127.0.0.1:{Settings().port}"


def _request(method: str, url: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    """One call to report_sink; expected failures become clear messages, never tracebacks."""
    try:
        response = httpx.request(method, url + path, headers=headers, timeout=120, **kw)
    except httpx.TransportError as exc:
        raise _fail(
            f"report_sink is not answering at {url} ({exc.__class__.__name__}); start it with "
            "`fanout stack up --only report-sink` or pass --url"
        ) from None
    if response.status_code >= 400:
        raise _fail(error_line(response))
    return response


def _get(url: str | None, path: str, api_key: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {api_key}"}
    query = {k: v for k, v in params.items() if v is not None}
    return _request("GET", _base_url(url), path, headers, params=query).json()


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


@report_app.command("funnel")
def funnel(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """A campaign's funnel: distinct leads per step, with rates."""
    body = _get(url, f"/reports/campaigns/{campaign_id}/funnel", api_key)
    rows = [["matched", body["matched"]], *([k, v] for k, v in body["counts"].items())]
    rows += [[k, "" if v is None else f"{v:.2%}"] for k, v in body["rates"].items()]
    console.print(_table(f"campaign {campaign_id}", ["step", "leads / rate"], rows))


@report_app.command("recipients")
def recipients(
    campaign_id: str,
    api_key: KeyOption,
    status: Annotated[str | None, typer.Option(help="Only this latest status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of a previous page.")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every recipient to this CSV file.")
    ] = None,
    url: UrlOption = None,
) -> None:
    """A page of a campaign's recipients with their latest status, or all of them as CSV."""
    path = f"/reports/campaigns/{campaign_id}/recipients"
    if csv_file is not None:
        _export_csv(_base_url(url), path + ".csv", api_key, status, csv_file)
        return
    body = _get(url, path, api_key, status=status, limit=limit, cursor=cursor)
    columns = ["lead_id", "email", "status", "bounce_type", "reason", "status_at"]
    rows = [[item[c] for c in columns] for item in body["items"]]
    console.print(_table(f"recipients of {campaign_id}", columns, rows))
    if body["next_cursor"]:
        console.print(f"next page: --cursor {body['next_cursor']}")


def _export_csv(url: str, path: str, api_key: str, status: str | None, target: Path) -> None:
    params = {"status": status} if status else {}
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        with (
            httpx.stream("GET", url + path, params=params, headers=headers, timeout=None) as r,
            target.open("wb") as out,
        ):
            if r.status_code >= 400:
                r.read()
                raise _fail(error_line(r))
            for chunk in r.iter_bytes():
                out.write(chunk)
    except httpx.TransportError as exc:
        raise _fail(f"report_sink is not answering at {url} ({exc.__class__.__name__})") from None
    console.print(f"wrote {target}")


@report_app.command("campaigns")
def campaigns(
    api_key: KeyOption,
    since: Annotated[str | None, typer.Option(help="ISO 8601 time with zone.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 time with zone.")] = None,
    url: UrlOption = None,
) -> None:
    """The account's campaigns with headline numbers."""
    body = _get(url, "/reports/campaigns", api_key, since=since, until=until)
    columns = ["campaign_id", "name", "state", "sent", "delivered", "bounced", "complained",
               "opened", "clicked", "last_event_hour"]  # fmt: skip
    rows = [[item[c] for c in columns] for item in body["items"]]
    console.print(_table("campaigns", columns, rows))


@report_app.command("history")
def history(lead_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """One lead's events across campaigns."""
    body = _get(url, f"/reports/leads/{lead_id}/history", api_key)
    columns = ["occurred_at", "campaign_id", "type", "bounce_type", "reason", "provider"]
    rows = [[e[c] for c in columns] for e in body["events"]]
    console.print(_table(f"lead {lead_id}", columns, rows))


@report_app.command("bounces")
def bounces(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """Bounced leads by type, reason and recipient domain."""
    body = _get(url, f"/reports/campaigns/{campaign_id}/bounces", api_key)
    console.print(f"bounced leads: {body['total']}")
    for key, title in (("by_type", "type"), ("by_reason", "reason"), ("by_domain", "domain")):
        rows = [[b["value"], b["leads"]] for b in body[key]]
        console.print(_table(f"bounces by {title}", [title, "leads"], rows))


@report_app.command("timeline")
def timeline(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """Sends per minute."""
    body = _get(url, f"/reports/campaigns/{campaign_id}/timeline", api_key)
    rows = [[m["minute"], m["sent"], m["failed"]] for m in body["minutes"]]
    console.print(_table(f"timeline of {campaign_id}", ["minute", "sent", "failed"], rows))


def _admin_token(token: str | None) -> str:
    if token:
        return token
    path = Settings().common.home / "report_sink.admin_token"
    try:
        return path.read_text().strip()
    except OSError:
        raise _fail(
            f"no admin token: pass --token, set FANOUT_REPORT_SINK_ADMIN_TOKEN, or run as the "
            f"local admin who can read {path} (report_sink writes it at start-up)"
        ) from None


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
    headers = {ADMIN_HEADER: _admin_token(token)}
    body = _request("POST", _base_url(url), "/internal/sql", headers, json={"query": query}).json()
    if as_json:
        console.print_json(json.dumps(body))
        return
    console.print(_table("", body["columns"], body["rows"]))
    if body["truncated"]:
        err.print(f"[yellow]result cut at {len(body['rows'])} rows[/]")
