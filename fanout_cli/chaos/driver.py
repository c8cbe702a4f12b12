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
from rich.console import Console

from fanout_cli.demo.api_calls import account_domain, checked_json, verified_domain
from fanout_cli.demo.run import TEMPLATE, new_account, upload_leads
from fanout_cli.stack.components import service_url
from fanout_cli.stack.errors import StackError
from shared.settings import CommonSettings

EVERY_LEAD = {"field": "email", "op": "exists", "value": True}
TERMINAL_STEPS = ("sent", "failed", "suppressed", "cancelled", "excluded")
POLL_S = 0.25


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
    client: httpx.Client
    account_id: UUID
    campaign_id: UUID
    leads: int

    @classmethod
    def create(
        cls, common: CommonSettings, endpoints: Endpoints, leads: int, name: str
    ) -> CampaignRun:
        """Account, leads, template and a draft campaign matching every lead."""
        account_id, key = asyncio.run(new_account(common, f"chaos {name}"))
        client = httpx.Client(
            headers={"Authorization": f"Bearer {key}"}, timeout=httpx.Timeout(120.0, connect=5.0)
        )
        try:
            domain = verified_domain(
                client, endpoints.api, endpoints.simulator, account_domain("chaos", account_id)
            )
            imported = upload_leads(client, endpoints.api, leads, Console(quiet=True))
            template = checked_json(
                client.post(f"{endpoints.api}/templates", json=TEMPLATE), "creating template"
            )
            body = {
                "name": f"chaos {name}",
                "from_email": f"chaos@{domain}",
                "template_id": template["id"],
                "condition": EVERY_LEAD,
            }
            campaign = checked_json(
                client.post(f"{endpoints.api}/campaigns", json=body), "creating campaign"
            )
        except BaseException:
            client.close()
            raise
        return cls(endpoints, client, account_id, UUID(campaign["id"]), imported)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def command(self, action: str) -> float:
        """launch, pause, resume or cancel; the wall-clock time the API acknowledged it."""
        url = f"{self.endpoints.api}/campaigns/{self.campaign_id}/{action}"
        checked_json(self.client.post(url), action)
        return time.time()

    def row(self) -> dict[str, Any]:
        """The campaign as campaign_api shows it."""
        url = f"{self.endpoints.api}/campaigns/{self.campaign_id}"
        return dict(checked_json(self.client.get(url), "reading the campaign"))

    def report(self, path: str) -> httpx.Response:
        """A report of this campaign (`funnel`, `recipients.csv`, ...)."""
        url = f"{self.endpoints.reports}/reports/campaigns/{self.campaign_id}/{path}"
        return self.client.get(url)

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
