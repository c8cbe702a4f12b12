"""Benchmark: a running campaign_api under hostile templates (issue 11's acceptance).

Several clients save and preview templates built to exhaust the render budget
(nested loops, output and memory bombs, the largest template accepted), in a
loop, while a probe asks `/healthz` every 50 ms and the server's RSS is sampled.
Prints what each request answered, the `/healthz` latency (p50, p99, max) and
the peak RSS. The acceptance: `/healthz` within 100 ms, RSS under 300 MB.

Start a campaign_api of your own first (its own port, database and topic prefix),
then point this at it; the account is created in that database:

    createdb ... ; FANOUT_DATABASE_URL=postgresql://.../mydb .venv/bin/fanout migrate
    FANOUT_DATABASE_URL=postgresql://.../mydb FANOUT_TOPIC_PREFIX=bench. \\
        FANOUT_CAMPAIGN_API_PORT=8790 .venv/bin/python -m services.campaign_api &
    FANOUT_DATABASE_URL=postgresql://.../mydb .venv/bin/python bench/hostile_templates.py \\
        --api http://127.0.0.1:8790 --pid $! --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from shared.auth import create_account
from shared.db import create_pool
from shared.settings import CommonSettings

LOOPS = (
    "{% for a in range(attributes.n) %}{% for b in range(attributes.n) %}x{% endfor %}{% endfor %}"
)
HOSTILE: dict[str, str] = {
    "issue 11 (refused at save)": (
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
    ),
    "loops sized by the lead": LOOPS,
    "output bomb": "{% for a in range(attributes.n) %}{{ first_name * 1000 }}{% endfor %}",
    "doubling": "{% set s = email %}" + "{% set s = s ~ s %}" * 40 + "{{ s }}",
    "slow loop": "{% for a in range(99999) %}{{ loop.index is odd }}{% endfor %}",
    "largest template": "{{ first_name }}" * 2_990,
}


@dataclass
class Tally:
    """What the hostile clients saw and what the probe measured."""

    answers: Counter[str] = field(default_factory=Counter)
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    peak_rss: int = 0


async def hostile_client(http: httpx.AsyncClient, lead_id: str, until: float, tally: Tally) -> None:
    """Save, preview and delete each hostile template in turn until `until`."""
    while time.monotonic() < until:
        for name, html in HOSTILE.items():
            body = {"name": name, "subject": "s", "html_body": html, "text_body": ""}
            saved = await http.post("/templates", json=body)
            tally.answers[f"{name}: save {saved.status_code}"] += 1
            if saved.status_code != 201:
                continue
            template_id = saved.json()["id"]
            shown = await http.post(f"/templates/{template_id}/preview", json={"lead_id": lead_id})
            tally.answers[f"{name}: preview {shown.status_code}"] += 1
            await http.delete(f"/templates/{template_id}")


async def probe(http: httpx.AsyncClient, until: float, tally: Tally, pid: int | None) -> None:
    """`/healthz` every 50 ms, and the server's RSS."""
    process = psutil.Process(pid) if pid else None
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            answer = await http.get("/healthz", timeout=5)
            tally.health_ms.append((time.perf_counter() - began) * 1000)
            tally.health_failures += answer.status_code != 200
        except httpx.HTTPError:
            tally.health_failures += 1
        if process is not None:
            tally.peak_rss = max(tally.peak_rss, process.memory_info().rss)
        await asyncio.sleep(0.05)


async def _account_key() -> str:
    pool = await create_pool(CommonSettings().database_url, max_size=1)
    try:
        _, key = await create_account(pool, "hostile-templates bench")
    finally:
        await pool.close()
    return key


def report(tally: Tally, seconds: float) -> str:
    """The figures, for people."""
    ms = sorted(tally.health_ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    lines = [f"{sum(tally.answers.values()):,} hostile requests in {seconds:.0f} s:"]
    lines += [f"  {count:6,} × {what}" for what, count in sorted(tally.answers.items())]
    lines.append(
        f"/healthz: {len(ms):,} probes, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
        f"max {ms[-1]:.1f} ms, {tally.health_failures} failed"
        if ms
        else "/healthz: no answer"
    )
    if tally.peak_rss:
        lines.append(f"campaign_api peak RSS: {tally.peak_rss / 2**20:.0f} MB")
    return "\n".join(lines)


async def run(
    api: str, pid: int | None, seconds: float, clients: int, baseline: float
) -> tuple[Tally, Tally]:
    """The probe alone for `baseline` seconds (the machine's own noise), then with the
    hostile clients for `seconds`."""
    key = await _account_key()
    headers = {"Authorization": f"Bearer {key}"}
    quiet, tally = Tally(), Tally()
    async with (
        httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http,
        httpx.AsyncClient(base_url=api) as health,
    ):
        await probe(health, time.monotonic() + baseline, quiet, pid)
        lead = await http.post(
            "/leads", json={"email": "hostile@example.com", "attributes": {"n": 100_000}}
        )
        lead.raise_for_status()
        until = time.monotonic() + seconds
        work: list[Any] = [
            hostile_client(http, lead.json()["id"], until, tally) for _ in range(clients)
        ]
        await asyncio.gather(probe(health, until, tally, pid), *work)
    return quiet, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="campaign_api base URL")
    parser.add_argument("--pid", type=int, help="campaign_api's process id (for its RSS)")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=4, help="concurrent hostile clients")
    parser.add_argument("--baseline", type=float, default=20, help="seconds of probing alone first")
    args = parser.parse_args()
    quiet, tally = asyncio.run(run(args.api, args.pid, args.seconds, args.clients, args.baseline))
    print(f"Before ({args.baseline:.0f} s, no hostile requests):")  # noqa: T201
    print(report(quiet, args.baseline))  # noqa: T201
    print(f"\nUnder hostile templates ({args.clients} clients):")  # noqa: T201
    print(report(tally, args.seconds))  # noqa: T201 - a benchmark prints its result


if __name__ == "__main__":
    main()
