"""Benchmark: the launch check (template test-rendered for the matched leads) at 1M leads.

Imports N synthetic leads with the same generator and importer as
bench/import_leads.py into a new account of the database FANOUT_DATABASE_URL
names (migrated; use a database of your own), then, through the campaign API
in-process (no relay: nothing is published), times `POST /campaigns/{id}/launch`
for templates that pass and fail the check, under conditions matching all
leads and a tenth of them. Not part of the test suite:

    .venv/bin/python -m bench.launch_check              # 1,000,000 leads
    .venv/bin/python -m bench.launch_check -n 100000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx

from bench.import_leads import synthetic_file
from services.campaign_api.config import Settings
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.campaign_api.main import create_app
from shared.auth import create_account
from shared.db import create_pool
from shared.settings import CommonSettings

EVERYONE = {
    "field": "country",
    "op": "in",
    "value": ["US", "DE", "FR", "GB", "ES", "IT", "NL", "SE", "PL", "BR"],
}
A_TENTH = {"field": "country", "op": "eq", "value": "DE"}
TEMPLATES = {
    "fields and attributes (passes)": (
        "<p>Hi {{ first_name }}, your {{ attributes.plan }} plan</p>"
        "{% for t in tags %}{{ t }}{% endfor %}"
    ),
    "an attribute no lead has (422)": "<p>{{ attributes.company }}</p>",
    "attributes read whole (passes)": "{% for k, v in attributes.items() %}{{ k }}{% endfor %}",
}


async def _launch_once(http: httpx.AsyncClient, html: str, condition: Any) -> tuple[float, int]:
    template = await http.post("/templates", json={"name": "t", "subject": "s", "html_body": html})
    campaign = await http.post(
        "/campaigns",
        json={
            "name": "c",
            "from_email": "news@example.com",
            "template_id": template.json()["id"],
            "condition": condition,
        },
    )
    began = time.perf_counter()
    launched = await http.post(f"/campaigns/{campaign.json()['id']}/launch")
    return time.perf_counter() - began, launched.status_code


async def run(n: int, runs: int) -> None:
    common = CommonSettings()
    pool = await create_pool(common.database_url, max_size=4)
    account_id, key = await create_account(pool, "launch-check bench")
    began = time.perf_counter()
    await import_leads(pool, account_id, synthetic_file(n, ImportFormat.CSV), ImportFormat.CSV)
    print(f"imported {n:,} leads in {time.perf_counter() - began:.0f} s")  # noqa: T201
    await pool.execute("ANALYZE leads")
    app = create_app(Settings(common=common.model_copy(update={"topic_prefix": "bench."})), pool)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as http,
    ):
        for cond_name, condition in (("all leads", EVERYONE), ("a tenth", A_TENTH)):
            for name, html in TEMPLATES.items():
                timings = [await _launch_once(http, html, condition) for _ in range(runs)]
                median = statistics.median(t for t, _ in timings)
                status = {code for _, code in timings}
                print(  # noqa: T201 - a benchmark prints its result
                    f"{cond_name:9} | {name:32} | launch {median * 1000:7.0f} ms (median of "
                    f"{runs}) | answered {sorted(status)}"
                )
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="number of leads")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.runs))


if __name__ == "__main__":
    main()
