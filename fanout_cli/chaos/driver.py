"""One scenario's campaign, driven through the public APIs as a user's client would.

A fresh account (its key from the CLI's account code), synthetic leads
streamed to campaign_api's import, the demo's template, a campaign whose
condition matches every lead, then launch and the lifecycle commands. Reads
made while a fault is in force tolerate a service that does not answer:
they retry until their deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from fanout_client import AuthenticatedClient
from fanout_client.api.campaigns import (
    cancel_campaign,
    create_campaign,
    get_campaign,
    launch_campaign,
    pause_campaign,
    resume_campaign,
)
from fanout_client.api.templates import create_template
from fanout_client.models import CampaignCreate, TemplateCreate
from rich.console import Console

from fanout_cli.api_client import api_client, checked
from fanout_cli.demo.api_calls import account_domain, verified_domain
from fanout_cli.demo.run import TEMPLATE, new_account, upload_leads
from fanout_cli.stack.components import service_url
from fanout_cli.stack.errors import StackError
from shared.reputation import GuardThresholds
from shared.settings import CommonSettings

EVERY_LEAD = {"field": "email", "op": "exists", "value": True}
TERMINAL_STEPS = ("sent", "failed", "suppressed", "cancelled", "excluded")
POLL_S = 0.25
COMMANDS = {
    "launch": launch_campaign.sync_detailed,
    "pause": pause_campaign.sync_detailed,
    "resume": resume_campaign.sync_detailed,
    "cancel": cancel_campaign.sync_detailed,
}


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the services the suite talks to."""

    api: str
    reports: str
    simulator: str

    @classmethod
    def of_stack(cls) -> Endpoints:
        """The stack's URLs, from the port settings in force now."""
        api, reports = service_url("campaign_api"), service_url("report_sink")
        return cls(api, reports, service_url("esp_simulator"))


def decided(row: dict[str, Any]) -> int:
    """Leads with a terminal outcome, by a campaign row's or a funnel's counters."""
    return sum(int(row.get(step) or 0) for step in TERMINAL_STEPS)


@dataclass
class CampaignRun:
    """A campaign of one scenario and the client that owns it."""

    endpoints: Endpoints
    api: AuthenticatedClient
    account_id: UUID
    campaign_id: UUID
    leads: int

    @classmethod
    def create(
        cls, common: CommonSettings, endpoints: Endpoints, leads: int, name: str
    ) -> CampaignRun:
        """Account, leads, template and a draft campaign matching every lead."""
        # its lists bounce and complain far past the guard's lines on purpose: the faults
        # are judged, not the list, so the guard leaves its campaigns alone
        quiet = GuardThresholds(enabled=False)
        account_id, key = asyncio.run(new_account(common, f"chaos {name}", quiet))
        api = api_client(endpoints.api, key, timeout_s=120.0)
        try:
            domain = verified_domain(api, endpoints.simulator, account_domain("chaos", account_id))
            imported = upload_leads(api, leads, Console(quiet=True))
            template = checked(
                create_template.sync_detailed(client=api, body=TemplateCreate.from_dict(TEMPLATE)),
                "creating template",
            )
            body = CampaignCreate(
                name=f"chaos {name}",
                from_email=f"chaos@{domain}",
                template_id=template.id,
                condition=EVERY_LEAD,
            )
            campaign = checked(create_campaign.sync_detailed(client=api, body=body), "campaign")
        except BaseException:
            api.get_httpx_client().close()
            raise
        return cls(endpoints, api, account_id, campaign.id, imported)

    def close(self) -> None:
        """Close the HTTP client."""
        self.api.get_httpx_client().close()

    def command(self, action: str) -> float:
        """launch, pause, resume or cancel; the wall-clock time the API acknowledged it."""
        checked(COMMANDS[action](self.campaign_id, client=self.api), action)
        return time.time()

    def row(self) -> dict[str, Any]:
        """The campaign as campaign_api shows it."""
        answer = get_campaign.sync_detailed(self.campaign_id, client=self.api)
        return checked(answer, "reading the campaign").to_dict()

    def report(self, path: str) -> httpx.Response:
        """A report of this campaign (`funnel`, `recipients.csv`, ...)."""
        url = f"{self.endpoints.reports}/reports/campaigns/{self.campaign_id}/{path}"
        return self.api.get_httpx_client().get(url)

    def wait_row(self, done: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
        """Poll the campaign until `done(row)`; the last row read (the API may be down)."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while True:
            try:
                last = self.row()
            except (httpx.HTTPError, StackError):
                last = last or {}
            else:
                if done(last):
                    return last
            if time.monotonic() > deadline:
                return last
            time.sleep(POLL_S)
