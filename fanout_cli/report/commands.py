"""`fanout report funnel|recipients|campaigns|history|bounces|exclusions|timeline`: reports.

Each command reads one endpoint of report_sink's reports API with the account's API
key and prints it as a table (recipients also as a CSV file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fanout_cli.output import console, table
from fanout_cli.report.client import UrlOption, base_url, download, get_json

report_app = typer.Typer(help="Campaign reports (from report_sink).", no_args_is_help=True)

KeyOption = Annotated[
    str, typer.Option("--api-key", envvar="FANOUT_API_KEY", help="Your API key (fo_...).")
]


@report_app.command("funnel")
def funnel(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """A campaign's funnel: distinct leads per step, with rates."""
    body = get_json(url, f"/reports/campaigns/{campaign_id}/funnel", api_key)
    rows = [["matched", body["matched"]], *([k, v] for k, v in body["counts"].items())]
    rows += [[k, "" if v is None else f"{v:.2%}"] for k, v in body["rates"].items()]
    console.print(table(f"campaign {campaign_id}", ["step", "leads / rate"], rows))


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
        params = {"status": status} if status else {}
        download(base_url(url), path + ".csv", api_key, params, csv_file)
        return
    body = get_json(url, path, api_key, status=status, limit=limit, cursor=cursor)
    columns = ["lead_id", "email", "status", "bounce_type", "reason", "status_at"]
    rows = [[item[c] for c in columns] for item in body["items"]]
    console.print(table(f"recipients of {campaign_id}", columns, rows))
    if body["next_cursor"]:
        console.print(f"next page: --cursor {body['next_cursor']}")


@report_app.command("campaigns")
def campaigns(
    api_key: KeyOption,
    since: Annotated[str | None, typer.Option(help="ISO 8601 time with zone.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 time with zone.")] = None,
    url: UrlOption = None,
) -> None:
    """The account's campaigns with headline numbers."""
    body = get_json(url, "/reports/campaigns", api_key, since=since, until=until)
    columns = ["campaign_id", "name", "state", "sent", "delivered", "bounced", "complained",
               "opened", "clicked", "last_event_hour"]  # fmt: skip
    rows = [[item[c] for c in columns] for item in body["items"]]
    console.print(table("campaigns", columns, rows))


@report_app.command("history")
def history(lead_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """One lead's events across campaigns."""
    body = get_json(url, f"/reports/leads/{lead_id}/history", api_key)
    columns = ["occurred_at", "campaign_id", "type", "bounce_type", "reason", "provider"]
    rows = [[e[c] for c in columns] for e in body["events"]]
    console.print(table(f"lead {lead_id}", columns, rows))


@report_app.command("bounces")
def bounces(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """Bounced leads by type, reason and recipient domain."""
    body = get_json(url, f"/reports/campaigns/{campaign_id}/bounces", api_key)
    _print_breakdowns("bounced", "bounces", body, ("type", "reason", "domain"))


@report_app.command("exclusions")
def exclusions(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """Matched leads left out at resolve time, by reason and recipient domain."""
    body = get_json(url, f"/reports/campaigns/{campaign_id}/exclusions", api_key)
    _print_breakdowns("excluded", "exclusions", body, ("reason", "domain"))


def _print_breakdowns(
    adjective: str, noun: str, body: dict[str, Any], dimensions: tuple[str, ...]
) -> None:
    """A breakdown report: the total, then one table per dimension (`by_<dimension>`)."""
    console.print(f"{adjective} leads: {body['total']}")
    for dimension in dimensions:
        rows = [[b["value"], b["leads"]] for b in body[f"by_{dimension}"]]
        console.print(table(f"{noun} by {dimension}", [dimension, "leads"], rows))


@report_app.command("timeline")
def timeline(campaign_id: str, api_key: KeyOption, url: UrlOption = None) -> None:
    """Sends per minute."""
    body = get_json(url, f"/reports/campaigns/{campaign_id}/timeline", api_key)
    rows = [[m["minute"], m["sent"], m["failed"]] for m in body["minutes"]]
    console.print(table(f"timeline of {campaign_id}", ["minute", "sent", "failed"], rows))
