"""`fanout campaign show ID` and `fanout campaign resume ID [--override-guard]`.

Both call campaign_api through the generated client with the account's API key (`--api-key`
or FANOUT_API_KEY). `show` prints the state, progress and every reason the campaign does
not send right now: the guard's pause, a warm-up hold, a wait on the provider, a stall.
`resume` of a campaign the guard paused needs `--override-guard`; without it the API's
answer (409, naming the guard's reason) is printed and nothing changes.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import httpx
import typer
from fanout_client.api.campaigns import get_campaign, resume_campaign
from fanout_client.models import Campaign

from fanout_cli.api_client import api_client, checked
from fanout_cli.output import console, fail, table
from fanout_cli.stack.components import service_url
from fanout_cli.stack.errors import StackError

campaign_app = typer.Typer(help="A campaign's state and why; resume it.", no_args_is_help=True)

KeyOption = Annotated[
    str, typer.Option("--api-key", envvar="FANOUT_API_KEY", help="Your API key (fo_...).")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="FANOUT_CAMPAIGN_API_URL", help="campaign_api's base URL."),
]


def _call(url: str | None, api_key: str, what: str, call: Any) -> Campaign:
    base = url or service_url("campaign_api")
    try:
        with api_client(base, api_key, timeout_s=60) as api:
            found: Campaign = checked(call(api), what)
            return found
    except StackError as exc:
        raise fail(str(exc)) from None
    except httpx.TransportError as exc:
        raise fail(
            f"campaign_api is not answering at {base} ({exc.__class__.__name__}); start it "
            "with `fanout stack up --only campaign-api` or pass --url"
        ) from None


def rows_of(campaign: dict[str, Any]) -> list[list[Any]]:
    """What `show` prints: state, progress, and why it does not send now, if it does not."""
    rows: list[list[Any]] = [
        ["state", campaign["state"]],
        ["matched", campaign.get("matched")],
        ["enqueued", campaign["enqueued"]],
        ["sent", campaign["sent"]],
        ["failed", campaign["failed"]],
        ["suppressed", campaign["suppressed"]],
        ["cancelled", campaign["cancelled"]],
        ["excluded", campaign["excluded"]],
    ]
    guard = campaign.get("guard")
    if guard:
        rows.append(["guard", f"{guard['reason']} (since {guard['paused_at']})"])
        rows.append(["to resume", "fanout campaign resume ID --override-guard"])
    if campaign.get("guard_overridden_at"):
        rows.append(["guard overridden", campaign["guard_overridden_at"]])
    held = campaign.get("held")
    if held:
        rows.append(["held", f"{held['reason']}; continues at {held['until']}"])
    wait = campaign.get("provider_wait")
    if wait:
        rows.append(["waiting on provider", f"{wait['reason']} (since {wait['since']})"])
    stalled = campaign.get("stalled")
    if stalled:
        rows.append(["stalled", f"{stalled['reason']}: {stalled['detail']}"])
    if campaign.get("state_reason") and not guard:
        rows.append(["reason", campaign["state_reason"]])
    return rows


@campaign_app.command("show")
def show(campaign_id: UUID, api_key: KeyOption, url: UrlOption = None) -> None:
    """A campaign's state, progress and why it is not sending, if it is not."""
    found = _call(
        url,
        api_key,
        "reading the campaign",
        lambda api: get_campaign.sync_detailed(client=api, campaign_id=campaign_id),
    )
    console.print(table(f"campaign {campaign_id}", ["", ""], rows_of(found.to_dict())))


@campaign_app.command("resume")
def resume(
    campaign_id: UUID,
    api_key: KeyOption,
    override_guard: Annotated[
        bool,
        typer.Option(
            "--override-guard",
            help="Resume a campaign the guard paused for its bounces or complaints anyway; "
            "the guard leaves it alone from then on.",
        ),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Resume a paused campaign (`--override-guard` for one the guard paused)."""
    found = _call(
        url,
        api_key,
        "resuming the campaign",
        lambda api: resume_campaign.sync_detailed(
            client=api, campaign_id=campaign_id, override_guard=override_guard
        ),
    )
    console.print(table(f"campaign {campaign_id}", ["", ""], rows_of(found.to_dict())))
