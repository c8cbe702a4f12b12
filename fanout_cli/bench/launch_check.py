"""`fanout bench launch-check`: a launch with its template check, on N leads.

N synthetic leads (the generator of `fanout bench import`) in one account of a
scratch database, then `POST /campaigns/{id}/launch` through the campaign API
in-process (no relay runs: nothing is published) for templates that pass and fail
the check, under conditions matching every lead and a tenth of them.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from fanout_cli.bench.lead_import import synthetic_file
from fanout_cli.bench.scratch import scratch_database, sibling_dsn
from services.campaign_api.config import Settings
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.campaign_api.main import create_app
from shared.auth import create_account
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


@dataclass(frozen=True)
class LaunchFigures:
    """One template under one condition: the launch's median time and its answers."""

    condition: str
    template: str
    median_s: float
    statuses: tuple[int, ...]


async def _launch(http: httpx.AsyncClient, html: str, condition: Any) -> tuple[float, int]:
    template = await http.post("/templates", json={"name": "t", "subject": "s", "html_body": html})
    body = {
        "name": "c",
        "from_email": "news@example.com",
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
    figures: list[LaunchFigures] = []
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
        app = create_app(Settings(common=common), scratch.pool)
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers
            ) as http,
        ):
            for label, condition in CONDITIONS.items():
                for name, html in TEMPLATES.items():
                    timings = [await _launch(http, html, condition) for _ in range(runs)]
                    median = statistics.median(seconds for seconds, _ in timings)
                    statuses = tuple(sorted({status for _, status in timings}))
                    figures.append(LaunchFigures(label, name, median, statuses))
    return imported, figures
