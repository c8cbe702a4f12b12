"""Benchmark of the send path on the running local stack (`fanout stack up`).

Imports N realistic leads into a new account (or reuses the account of an
earlier run with the same N), creates a template and a campaign matching every
lead, launches it and times:

- launch → campaign `completed` (campaign_api: every matched lead has an outcome);
- launch → every terminal outcome visible in report_sink's funnel;
- launch → the simulator's webhook backlog drained and the funnel stable.

While it runs it samples every service process (pid files under
$FANOUT_HOME/run) for CPU seconds and peak RSS. Not part of the test suite:

    .venv/bin/python bench/send_path.py --leads 200000
    .venv/bin/python bench/send_path.py --leads 200000 --latency-ms 150

For a stack on other ports, set BENCH_API, BENCH_REPORTS and BENCH_SIMULATOR (base
URLs) and FANOUT_HOME / FANOUT_DATABASE_URL to that stack's. For throughput runs start
the sender with FANOUT_SENDER_RATE_BUDGETS='{"simulator": 0}' (the default budget is
2,000/s); for 150 ms of ESP latency also FANOUT_SENDER_MAX_IN_FLIGHT=128 and
FANOUT_LEAD_RESOLVER_WINDOW=600. Each run's account is reused, so later runs match
fewer leads (earlier runs' hard bounces and complaints are suppressed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from fanout_cli.demo.leads import jsonl_chunks
from shared.auth import create_account
from shared.db import create_pool
from shared.settings import CommonSettings

API = os.environ.get("BENCH_API", "http://127.0.0.1:8700")
REPORTS = os.environ.get("BENCH_REPORTS", "http://127.0.0.1:8702")
SIMULATOR = os.environ.get("BENCH_SIMULATOR", "http://127.0.0.1:8705")
HOME = Path(os.environ.get("FANOUT_HOME", "/var/lib/fanout"))
SERVICES = (
    "campaign-api",
    "lead-resolver",
    "sender",
    "esp-simulator",
    "webhook-ingest",
    "report-sink",
    "kafka",
)
REALISM = {
    "hard_bounce_rate": 0.02,
    "soft_bounce_rate": 0.01,
    "complaint_rate": 0.002,
    "open_rate": 0.35,
    "click_rate": 0.08,
    "outcome_delay_ms": 200.0,
}
TEMPLATE = {
    "name": "bench",
    "subject": "{{ first_name }}, what's new in your {{ attributes.plan }} plan",
    "html_body": "<p>Hi {{ first_name }},</p><p>News for {{ attributes.seats }} seats in "
    '{{ country }}.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    "text_body": "Hi {{ first_name }}, here is what changed this month.\n",
}
EVERY_LEAD = {"field": "email", "op": "exists", "value": True}
TERMINAL = ("sent", "failed", "suppressed", "cancelled")


class Sampler(threading.Thread):
    """CPU seconds (user+system) and peak RSS of each service process, every 0.25 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.procs: dict[str, psutil.Process] = {}
        for name in SERVICES:
            for pid_file in (
                HOME / "run" / f"{name}.pid",
                HOME / "run" / f"{name.replace('-', '_')}.pid",
                Path("/var/lib/fanout/run") / f"{name}.pid",  # the broker of the default stack
            ):
                if pid_file.exists():
                    self.procs[name] = psutil.Process(int(pid_file.read_text().split()[0]))
                    break
        self.cpu0 = {n: self._cpu(p) for n, p in self.procs.items()}
        self.peak = dict.fromkeys(self.procs, 0)
        self.stopped = threading.Event()

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            for name, proc in self.procs.items():
                self.peak[name] = max(self.peak[name], proc.memory_info().rss)

    def result(self) -> dict[str, dict[str, float]]:
        self.stopped.set()
        self.join()
        return {
            name: {
                "cpu_s": round(self._cpu(proc) - self.cpu0[name], 1),
                "peak_rss_mb": round(self.peak[name] / 2**20, 1),
            }
            for name, proc in self.procs.items()
        }


def check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.url}: HTTP {response.status_code}: {response.text}")
    return response.json()


async def new_account(common: CommonSettings) -> str:
    pool = await create_pool(common.database_url, max_size=2)
    try:
        _, key = await create_account(pool, f"bench send path {time.time():.0f}")
        return key
    finally:
        await pool.close()


def account_key(leads: int) -> str:
    """The key of an account holding `leads` leads (imported once, then reused)."""
    database = CommonSettings().database_url.rsplit("/", 1)[-1]
    state = Path(f"/tmp/fanout-bench-send-path-{database}-{leads}.json")
    if state.exists():
        return str(json.loads(state.read_text())["key"])
    key = asyncio.run(new_account(CommonSettings()))
    with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {key}"}) as client:
        started = time.monotonic()
        result = check(
            client.post(
                f"{API}/leads/import",
                content=jsonl_chunks(leads),
                headers={"Content-Type": "application/x-ndjson"},
            )
        )
        print(f"imported {result['accepted']:,} leads in {time.monotonic() - started:.1f} s")  # noqa: T201
    state.write_text(json.dumps({"key": key}))
    return key


def run(leads: int, latency_ms: float) -> dict[str, Any]:
    key = account_key(leads)
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
        knobs = {**REALISM, "latency_p50_ms": latency_ms, "latency_p99_ms": latency_ms}
        check(client.post(f"{SIMULATOR}/v1/config", json=knobs))
        template = check(client.post(f"{API}/templates", json=TEMPLATE))
        campaign = check(
            client.post(
                f"{API}/campaigns",
                json={
                    "name": "bench",
                    "from_email": "bench@fanout.example",
                    "from_name": "Bench",
                    "template_id": template["id"],
                    "condition": EVERY_LEAD,
                },
            )
        )
        cid = campaign["id"]
        load0 = os.getloadavg()
        sampler = Sampler()
        sampler.start()
        started = time.monotonic()
        check(client.post(f"{API}/campaigns/{cid}/launch"))
        state: dict[str, Any] = {}
        while True:
            state = check(client.get(f"{API}/campaigns/{cid}"))
            if state["state"] in ("completed", "cancelled", "failed"):
                break
            time.sleep(0.25)
        completed = time.monotonic() - started
        matched = int(state["matched"])
        reported = settled = None
        previous = None
        while time.monotonic() - started < 1200:
            funnel = check(client.get(f"{REPORTS}/reports/campaigns/{cid}/funnel"))
            counts = funnel["counts"]
            if reported is None and sum(counts[k] for k in TERMINAL) >= matched:
                reported = time.monotonic() - started
            pending = check(client.get(f"{SIMULATOR}/v1/counters"))["webhooks"]["events_pending"]
            if reported is not None and pending == 0 and funnel == previous:
                settled = time.monotonic() - started
                break
            previous = funnel
            time.sleep(0.5)
        usage = sampler.result()
    return {
        "leads": leads,
        "latency_ms": latency_ms,
        "campaign_id": cid,
        "state": state["state"],
        "matched": matched,
        "completed_s": round(completed, 1),
        "emails_per_s": round(matched / completed),
        "reported_s": round(reported, 1) if reported else None,
        "settled_s": round(settled, 1) if settled else None,
        "funnel": funnel["counts"],
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "services": usage,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=None, help="append the JSON result here")
    args = parser.parse_args()
    result = run(args.leads, args.latency_ms)
    line = json.dumps(result)
    print(line)  # noqa: T201
    if args.out:
        with args.out.open("a") as out:
            out.write(line + "\n")


if __name__ == "__main__":
    main()
