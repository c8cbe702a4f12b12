"""The main job: a real campaign through the real local stack, shown as it happens.

Everything goes through the services' public APIs, as a user's client would:
the account's key from the CLI, leads streamed to campaign_api's import, a
template and a campaign, a launch, campaign progress from campaign_api, the
funnel and bounces from report_sink's reports API. The ESP is the simulator,
set to realistic bounce, complaint and engagement rates, reached through the
campaign's provider: the simulator's own API, or one of the provider adapters
(SendGrid, Mailgun, Postmark, SES, SMTP) talking to the simulator's dialect of
that provider, its webhooks coming back in that provider's format.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from fanout_client import AuthenticatedClient
from fanout_client.api.campaigns import create_campaign, get_campaign, launch_campaign
from fanout_client.api.segments import preview
from fanout_client.api.suppressions import add_suppressions
from fanout_client.api.templates import create_template
from fanout_client.models import (
    CampaignCreate,
    SegmentPreviewRequest,
    SuppressionBulk,
    TemplateCreate,
)
from fanout_client.types import UNSET, Unset
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fanout_cli.api_client import api_client, checked, import_leads
from fanout_cli.demo.api_calls import (
    account_domain,
    checked_json,
    dialect_provider,
    verified_domain,
)
from fanout_cli.demo.leads import jsonl_chunks, lead_rows
from fanout_cli.stack.components import service_named, simulator_smtp_port
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.esp_dialects import DialectCredentials, dialect_configs
from fanout_cli.stack.secrets import stack_secret
from shared.auth import create_account
from shared.db import create_pool
from shared.reputation import GuardThresholds, save_thresholds
from shared.settings import CommonSettings

API = f"http://127.0.0.1:{service_named('campaign_api').port}"
REPORTS = f"http://127.0.0.1:{service_named('report_sink').port}"
SIMULATOR = f"http://127.0.0.1:{service_named('esp_simulator').port}"
DASHBOARD = f"{API}/app"  # the web dashboard campaign_api serves (docs/dashboard.md)

SIMULATOR_REALISM = {
    "latency_p50_ms": 20.0,
    "latency_p99_ms": 120.0,
    "hard_bounce_rate": 0.02,
    "soft_bounce_rate": 0.01,
    "complaint_rate": 0.002,
    "open_rate": 0.35,
    "click_rate": 0.08,
    "outcome_delay_ms": 200.0,
}

# The simulated list complains at 0.2 %, over the guard's default 0.1 % campaign line: the
# demo's account raises its complaint lines (PUT /guard) so the campaign runs to the end.
# Five times the list's rate, not less: a line at 0.5 % is crossed by chance (6 complaints
# in the first 1,000 outcomes, where 2 are expected) in about 4 % of 6,000-lead campaigns,
# which then pause and never complete (tests/fanout_cli/test_demo_guard.py).
DEMO_GUARD = {
    "complaint_rate": 0.01,
    "window_complaint_rate": 0.01,
    "account_complaint_rate": 0.01,
}

TEMPLATE = {
    "name": "Winter product update",
    "subject": "{{ first_name }}, what's new in your {{ attributes.plan }} plan",
    "html_body": "<p>Hi {{ first_name }},</p><p>Here is what changed this month for "
    "{{ attributes.seats }} seats in {{ country }}.</p>"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    "text_body": "Hi {{ first_name }}, here is what changed this month.\n",
}

# Paying or newsletter leads in the main markets, minus churn risks: about half of them.
CONDITION = {
    "all": [
        {"field": "country", "op": "in", "value": ["US", "GB", "DE", "FR", "NL", "SE", "ES"]},
        {
            "any": [
                {"field": "attributes.plan", "op": "in", "value": ["pro", "team", "enterprise"]},
                {"field": "tags", "op": "contains", "value": "newsletter"},
                {"field": "attributes.seats", "op": "gte", "value": 50},
            ]
        },
        {"not": {"field": "tags", "op": "contains", "value": "churn-risk"}},
    ]
}

TERMINAL = {"completed", "cancelled", "failed"}
# What every matched lead ends as: a send outcome, or excluded at resolve time.
ACCOUNTED = ("sent", "failed", "suppressed", "cancelled", "excluded")
# One lead in SUPPRESSED_EVERY is on the suppression list before the launch (as if it had
# hard-bounced in an earlier campaign), so the campaign shows leads it excluded and why.
SUPPRESSED_EVERY = 250


@dataclass
class DemoOutcome:
    """What the demo did, for its summary and for tests."""

    account_id: UUID
    api_key: str
    campaign_id: UUID
    imported: int
    matched: int
    campaign: dict[str, Any]
    funnel: dict[str, Any]
    bounces: dict[str, Any]
    simulator_delta: dict[str, int]
    send_seconds: float


async def new_account(
    common: CommonSettings, label: str = "Demo", guard: GuardThresholds | None = None
) -> tuple[UUID, str]:
    """A fresh account named `label` and the date, with its first API key (and the guard's
    thresholds `guard`, if given)."""
    pool = await create_pool(common.database_url, max_size=2)
    try:
        account = await create_account(pool, f"{label} {time.strftime('%Y-%m-%d %H:%M:%S')}")
        if guard is not None:
            await save_thresholds(pool, account[0], guard)
        return account
    finally:
        await pool.close()


def _simulator_counters(client: httpx.Client) -> dict[str, int]:
    data = checked_json(client.get(f"{SIMULATOR}/v1/counters"), "reading simulator counters")
    flat = {k: v for k, v in data.items() if isinstance(v, int)}
    flat.update({f"outcome_{k}": v for k, v in data.get("outcomes", {}).items()})
    flat.update({f"webhook_{k}": v for k, v in data.get("webhooks", {}).items()})
    return flat


def _upload(leads: int, advance: Callable[[int], None]) -> Iterator[bytes]:
    for chunk in jsonl_chunks(leads):
        advance(chunk.count(b"\n"))
        yield chunk


def _provider_config(api: AuthenticatedClient, common: CommonSettings, kind: str) -> UUID | Unset:
    """The configuration the campaign names: none for the simulator (the account's default),
    else one of `kind` made for the account, pointed at the simulator's dialect of it."""
    if kind == "simulator":
        return UNSET
    creds = DialectCredentials.derive(stack_secret(common, "simulator_webhook_secret"))
    configs = dialect_configs(creds, SIMULATOR, simulator_smtp_port(os.environ))
    return dialect_provider(api, kind, configs[kind])


def run_demo(
    common: CommonSettings, leads: int, console: Console, provider: str = "simulator"
) -> DemoOutcome:
    """Create, import, launch, follow and report one campaign sent through `provider`;
    returns what happened."""
    account_id, key = asyncio.run(new_account(common))
    console.print(f"[green]•[/] account {account_id} created; its API key (shown once): {key}")
    with api_client(API, key) as api:
        http = api.get_httpx_client()  # the simulator and the reports, with the same key
        checked_json(http.post(f"{SIMULATOR}/v1/config", json=SIMULATOR_REALISM), "configuring ESP")
        checked_json(http.put("/guard", json=DEMO_GUARD), "setting the guard's thresholds")
        console.print(
            "[green]•[/] guard: complaint lines raised to 1 % for the simulator's deliberately "
            "noisy list (0.2 % complaints; docs/deliverability.md)"
        )
        domain = verified_domain(api, SIMULATOR, account_domain("demo", account_id))
        console.print(f"[green]•[/] sending domain {domain} verified (DNS: the simulator's)")
        config_id = _provider_config(api, common, provider)
        before = _simulator_counters(http)
        imported = upload_leads(api, leads, console)
        _suppress_earlier_bounces(api, leads, console)
        template = checked(
            create_template.sync_detailed(client=api, body=TemplateCreate.from_dict(TEMPLATE)),
            "creating template",
        )
        request = SegmentPreviewRequest(condition=CONDITION)
        matching = checked(preview.sync_detailed(client=api, body=request), "previewing segment")
        console.print(
            f"[green]•[/] segment preview: {matching.matched:,} of {imported:,} leads match"
        )
        body = CampaignCreate(
            name="Winter product update",
            from_email=f"updates@{domain}",
            from_name="Fanout Demo",
            reply_to=f"support@{domain}",
            template_id=template.id,
            condition=CONDITION,
            provider=provider,
            provider_config_id=config_id,
        )
        campaign = checked(
            create_campaign.sync_detailed(client=api, body=body), "creating campaign"
        )
        console.print(
            f"[green]•[/] campaign sends through the account's [bold]{provider}[/] configuration"
        )
        campaign_id = campaign.id
        checked(launch_campaign.sync_detailed(campaign_id, client=api), "launching campaign")
        started = time.monotonic()
        final = follow_campaign(api, campaign_id, console)
        send_seconds = time.monotonic() - started
        if final["state"] != "completed":
            raise StackError(
                f"campaign ended {final['state']}: {final.get('state_reason') or 'no reason'}"
            )
        funnel = _settle(http, campaign_id, int(final["matched"] or 0), console)
        bounces = checked_json(
            http.get(f"{REPORTS}/reports/campaigns/{campaign_id}/bounces"), "bounces"
        )
        after = _simulator_counters(http)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return DemoOutcome(
        account_id,
        key,
        campaign_id,
        imported,
        int(final["matched"] or 0),
        final,
        funnel,
        bounces,
        delta,
        send_seconds,
    )


def upload_leads(client: AuthenticatedClient, leads: int, console: Console) -> int:
    """Stream `leads` synthetic leads to campaign_api; how many it accepted."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("importing leads", total=leads)
        rows = _upload(leads, lambda n: progress.advance(task, n))
        result = import_leads(client, rows, "application/x-ndjson")
    console.print(f"[green]•[/] imported {result.accepted:,} leads ({result.rejected} rejected)")
    return result.accepted


def _suppress_earlier_bounces(client: AuthenticatedClient, leads: int, console: Console) -> None:
    emails = [
        str(row["email"]) for n, row in enumerate(lead_rows(leads)) if n % SUPPRESSED_EVERY == 7
    ]
    for start in range(0, len(emails), 10_000):  # the API's bulk limit
        body = SuppressionBulk(emails[start : start + 10_000], reason="hard_bounce (earlier)")
        checked(add_suppressions.sync_detailed(client=client, body=body), "suppressing")
    console.print(
        f"[green]•[/] {len(emails):,} addresses suppressed (hard bounces of an earlier "
        "campaign): the campaign excludes those it matches, with the reason"
    )


def follow_campaign(
    client: AuthenticatedClient, campaign_id: UUID, console: Console
) -> dict[str, Any]:
    """A live progress bar of the campaign until it reaches a final state; a `StackError`
    naming the reason and the fix if the guard pauses it (only its owner resumes it)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.fields[matched]}"),
        TextColumn(
            "sent {task.fields[sent]:,} failed {task.fields[failed]:,} "
            "excluded {task.fields[excluded]:,}"
        ),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(
            "launching", total=None, matched="?", sent=0, failed=0, excluded=0, rate=0.0
        )
        last_done, last_at = 0, time.monotonic()
        while True:
            answer = get_campaign.sync_detailed(campaign_id, client=client)
            state = checked(answer, "reading campaign").to_dict()
            done = sum(int(state[k]) for k in ACCOUNTED)
            now = time.monotonic()
            rate = (done - last_done) / max(now - last_at, 1e-6)
            last_done, last_at = done, now
            matched = state["matched"]
            progress.update(
                task,
                description=state["state"],
                completed=done,
                total=matched if matched else None,
                matched=f"{matched:,}" if matched else "?",
                sent=int(state["sent"]),
                failed=int(state["failed"]),
                excluded=int(state["excluded"]),
                rate=rate,
            )
            if state["state"] in TERMINAL:
                return dict(state)
            if state.get("guard"):  # a guard's pause waits for its owner: never, here
                raise StackError(
                    f"campaign {campaign_id} {state['guard']['reason']}; to send it anyway: "
                    f"fanout campaign resume {campaign_id} --override-guard "
                    "(docs/deliverability.md)"
                )
            time.sleep(0.5)


def _settle(
    client: httpx.Client, campaign_id: UUID, matched: int, console: Console
) -> dict[str, Any]:
    """Wait until the ESP's webhooks have flowed back into the reports, then the funnel."""
    previous: dict[str, Any] | None = None
    stable = 0
    deadline = time.monotonic() + 180
    with console.status("waiting for deliveries, bounces and complaints to flow back"):
        while time.monotonic() < deadline:
            funnel = checked_json(
                client.get(f"{REPORTS}/reports/campaigns/{campaign_id}/funnel"), "reading funnel"
            )
            pending = _simulator_counters(client).get("webhook_events_pending", 0)
            counts = funnel["counts"]
            terminal = sum(counts[k] for k in ACCOUNTED)
            settled = terminal >= matched and pending == 0 and funnel == previous
            stable = stable + 1 if settled else 0
            if stable >= 3:
                return dict(funnel)
            previous = funnel
            time.sleep(1.0)
    return dict(previous or {})


def print_summary(outcome: DemoOutcome, console: Console) -> None:
    """The funnel, the bounce breakdown, the check against the ESP, and where to look next."""
    counts, rates = outcome.funnel["counts"], outcome.funnel["rates"]
    table = Table(title=f"Funnel of campaign {outcome.campaign_id}")
    table.add_column("step")
    table.add_column("leads", justify="right")
    table.add_column("rate", justify="right")
    rate_of = {
        "delivered": "delivery_rate",
        "bounced": "bounce_rate",
        "complained": "complaint_rate",
        "opened": "open_rate",
        "clicked": "click_rate",
        "unsubscribed": "unsubscribe_rate",
    }
    table.add_row("matched", f"{outcome.matched:,}", "")
    for step in (
        "sent",
        "failed",
        "suppressed",
        "cancelled",
        "excluded",
        "excluded_suppressed",
        "excluded_unsubscribed",
        "excluded_invalid_email",
        "excluded_duplicate",
        "delivered",
        "bounced",
        "bounced_hard",
        "bounced_soft",
        "complained",
        "opened",
        "clicked",
        "unsubscribed",
    ):
        rate = rates.get(rate_of.get(step, ""), None)
        table.add_row(step, f"{counts[step]:,}", "" if rate is None else f"{rate:.2%}")
    console.print(table)
    bounces = Table(title="Bounces")
    for column in ("by type", "leads", "top reasons", "leads ", "top domains", "leads  "):
        bounces.add_column(column)
    rows = [outcome.bounces[k][:5] for k in ("by_type", "by_reason", "by_domain")]
    for i in range(max(map(len, rows), default=0)):
        cells: list[str] = []
        for col in rows:
            cells += [col[i]["value"], f"{col[i]['leads']:,}"] if i < len(col) else ["", ""]
        bounces.add_row(*cells)
    console.print(bounces)
    sim = outcome.simulator_delta
    console.print(
        f"ESP simulator saw {sim.get('unique', 0):,} unique emails, "
        f"{sim.get('duplicates', 0):,} duplicates; it reported "
        f"{sim.get('outcome_bounced_hard', 0):,} hard and {sim.get('outcome_bounced_soft', 0):,} "
        f"soft bounces and {sim.get('outcome_complained', 0):,} complaints."
    )
    per_s = outcome.matched / outcome.send_seconds if outcome.send_seconds else 0.0
    console.print(
        f"[bold green]Campaign completed:[/] {outcome.matched:,} matched leads, each with one "
        f"terminal outcome or excluded with its reason, in {outcome.send_seconds:.1f} s "
        f"({per_s:,.0f} leads/s)."
    )
    console.print(
        "\nWhere to look next:\n"
        f"  API docs:        {API}/docs  (reports: {REPORTS}/docs)\n"
        f"  reports:         fanout report funnel {outcome.campaign_id} "
        f"--api-key {outcome.api_key}\n"
        f"  recipients:      fanout report recipients {outcome.campaign_id} --status bounced "
        f"--api-key {outcome.api_key}\n"
        '  SQL (read-only): fanout sql "SELECT type, count() FROM email_events GROUP BY type" '
        f"--api-key {outcome.api_key}\n"
        "  stop the stack:  fanout stack down"
    )


def print_dashboard(outcome: DemoOutcome, console: Console) -> None:
    """The demo's last lines: the web dashboard, where the campaign and its funnel are."""
    console.print(
        f"\nThe campaign's report (funnel, bounces, recipients) in the web dashboard:\n"
        f"  {DASHBOARD}/campaigns/{outcome.campaign_id}/report\n"
        f"  sign in with the API key {outcome.api_key}\n"
        f"Dashboard: [bold]{DASHBOARD}[/]"
    )
