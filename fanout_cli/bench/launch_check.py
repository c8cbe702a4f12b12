"""`fanout bench launch-check`: a launch with its template check, on N leads.

N synthetic leads (the generator of `fanout bench import`) in one account of a
scratch database, then `POST /campaigns/{id}/launch` through the campaign API
in-process (no relay runs: nothing is published) for templates that pass and fail
the check, under conditions matching every lead and a tenth of them. The campaigns
send from a domain verified first, through the ESP simulator's DNS server run
in-process (docs/domains.md).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from fanout_cli.bench.lead_import import synthetic_file
from fanout_cli.bench.scratch import scratch_database, sibling_dsn
from fanout_cli.stack.errors import StackError
from services.campaign_api.config import Settings
from services.campaign_api.domains.settings import DomainSettings
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.campaign_api.main import create_app
from services.esp_simulator.dns import PublishedRecord, Zone, serving_dns
from shared.auth import create_account
from shared.http.client import error_line
from shared.settings import CommonSettings

CONDITIONS: dict[str, Any] = {
    "every lead": {
        "field": "country",
        "op": "in",
        "value": ["US", "DE", "FR", "GB", "ES", "IT", "NL", "SE", "PL", "BR"],
    },
    "a tenth": {"field": "country", "op": "eq", "value": "DE"},
}
TEMPLATES = {
    "fields and an attribute every lead has": (
        "<p>Hi {{ first_name }}, your {{ attributes.plan }} plan</p>"
        "{% for t in tags %}{{ t }}{% endfor %}"
    ),
    "an attribute no lead has": "<p>{{ attributes.company }}</p>",
    "attributes read whole": "{% for k, v in attributes.items() %}{{ k }}{% endfor %}",
}
SENDING_DOMAIN = "bench.fanout.example"  # the scratch database's only account sends from it


@dataclass(frozen=True)
class LaunchFigures:
    """One template under one condition: the launch's median time and its answers."""

    condition: str
    template: str
    median_s: float
    statuses: tuple[int, ...]


async def _verified_sender(http: httpx.AsyncClient, zone: Zone) -> str:
    """An address of a domain registered, published in `zone` and verified, as a customer's."""
    domain = (await http.post("/domains", json={"name": SENDING_DOMAIN})).json()
    zone.publish(PublishedRecord(r["type"], r["name"], r["value"]) for r in domain["records"])
    verified = await http.post(f"/domains/{domain['id']}/verify")
    if verified.status_code != 200:
        raise StackError(f"verifying the bench's sending domain failed: {error_line(verified)}")
    return f"news@{SENDING_DOMAIN}"


async def _launch(
    http: httpx.AsyncClient, sender: str, html: str, condition: Any
) -> tuple[float, int]:
    template = await http.post("/templates", json={"name": "t", "subject": "s", "html_body": html})
    body = {
        "name": "c",
        "from_email": sender,
        "template_id": template.json()["id"],
        "condition": condition,
    }
    campaign = await http.post("/campaigns", json=body)
    began = time.perf_counter()
    launched = await http.post(f"/campaigns/{campaign.json()['id']}/launch")
    return time.perf_counter() - began, launched.status_code


async def run_launch_check(
    database_url: str, leads: int, runs: int
) -> tuple[float, list[LaunchFigures]]:
    """Seconds to import the leads, and each template's launch under each condition."""
    async with scratch_database(database_url) as scratch:
        account_id, key = await create_account(scratch.pool, "bench")
        began = time.perf_counter()
        csv = ImportFormat.CSV
        await import_leads(scratch.pool, account_id, synthetic_file(leads, csv), csv)
        imported = time.perf_counter() - began
        await scratch.pool.execute("ANALYZE leads")
        common = CommonSettings(
            database_url=sibling_dsn(database_url, scratch.name), topic_prefix="bench."
        )
        zone = Zone()  # the simulator's DNS, in-process: the domain is verified through it
        async with serving_dns(zone, "127.0.0.1", 0) as dns_port:
            domains = DomainSettings(
                dns_nameservers=["127.0.0.1"],  # parsed by pydantic
                dns_nameserver_port=dns_port,
            )
            app = create_app(Settings(common=common, domains=domains), scratch.pool)
            figures = await _measure(app, key, zone, runs)
    return imported, figures


async def _measure(app: FastAPI, key: str, zone: Zone, runs: int) -> list[LaunchFigures]:
    figures: list[LaunchFigures] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers
        ) as http,
    ):
        sender = await _verified_sender(http, zone)
        for label, condition in CONDITIONS.items():
            for name, html in TEMPLATES.items():
                timings = [await _launch(http, sender, html, condition) for _ in range(runs)]
                median = statistics.median(seconds for seconds, _ in timings)
                statuses = tuple(sorted({status for _, status in timings}))
                figures.append(LaunchFigures(label, name, median, statuses))
    return figures
