"""`fanout bench templates`: a campaign_api of its own under hostile templates (issue 11).

Starts `python -m services.campaign_api` on a free port with a scratch database and
a topic prefix of its own, probes `/healthz` alone for a while (the machine's own
noise), then has several clients save and preview templates built to exhaust the
render budget, in a loop, while the probe goes on and the RSS of the API process
and of its template worker is sampled. The acceptance: `/healthz` within 100 ms and
the API under 300 MB. The process is stopped and the database dropped at the end.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import httpx
import psutil

from fanout_cli.bench.scratch import scratch_database, sibling_dsn
from fanout_cli.stack.secrets import fresh_secrets
from fanout_cli.testrun.ports import free_port
from shared.auth import create_account

HOSTILE: dict[str, str] = {
    "issue 11's nested loops": (
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
    ),
    "loops sized by the lead": (
        "{% for a in range(attributes.n) %}{% for b in range(attributes.n) %}x"
        "{% endfor %}{% endfor %}"
    ),
    "output bomb": "{% for a in range(attributes.n) %}{{ email * 1000 }}{% endfor %}",
    "doubling": "{% set s = email %}" + "{% set s = s ~ s %}" * 40 + "{{ s }}",
    "busy loop": "{% for a in range(99999) %}{{ loop.index is odd }}{% endfor %}",
    "largest template": "{{ first_name }}" * 2_990,
}


@dataclass
class Probe:
    """What the hostile clients saw and what the probe measured."""

    answers: Counter[str] = field(default_factory=Counter)
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    api_rss: int = 0
    worker_rss: int = 0

    def percentile(self, q: float) -> float:
        """The `q` quantile of `/healthz` latency (ms)."""
        ordered = sorted(self.health_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def _hostile_client(http: httpx.AsyncClient, lead_id: str, until: float, seen: Probe) -> None:
    while time.monotonic() < until:
        for name, html in HOSTILE.items():
            body = {"name": "hostile", "subject": "s", "html_body": html, "text_body": ""}
            saved = await http.post("/templates", json=body)
            seen.answers[f"{name}: save {saved.status_code}"] += 1
            if saved.status_code != 201:
                continue
            template = saved.json()["id"]
            shown = await http.post(f"/templates/{template}/preview", json={"lead_id": lead_id})
            seen.answers[f"{name}: preview {shown.status_code}"] += 1
            await http.delete(f"/templates/{template}")


def probe_for(api_url: str, pid: int, seconds: float) -> Probe:
    """`/healthz` every 50 ms and the RSS of `pid` and its children, for `seconds`.

    Runs in a process of its own, so the hostile clients' work never delays a probe.
    """
    seen = Probe()
    api = psutil.Process(pid)
    until = time.monotonic() + seconds
    with httpx.Client(base_url=api_url, timeout=5) as http:
        while time.monotonic() < until:
            began = time.perf_counter()
            try:
                answer = http.get("/healthz")
                seen.health_ms.append((time.perf_counter() - began) * 1000)
                seen.health_failures += answer.status_code != 200
            except httpx.HTTPError:
                seen.health_failures += 1
            seen.api_rss = max(seen.api_rss, api.memory_info().rss)
            for child in api.children(recursive=True):  # the template worker (and its tracker)
                seen.worker_rss = max(seen.worker_rss, child.memory_info().rss)
            time.sleep(0.05)
    return seen


def _start_api(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **fresh_secrets(),  # its own: it shares nothing with the stack
        "FANOUT_DATABASE_URL": database_url,
        "FANOUT_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}.",
        "FANOUT_CAMPAIGN_API_PORT": str(port),
        "FANOUT_LOG_LEVEL": "WARNING",
        # the hostile clients must reach the renderer: rate limits would answer 429 first
        "FANOUT_CAMPAIGN_API_RATE_LIMIT": "",
    }
    return subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "services.campaign_api"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_healthy(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("campaign_api did not start (is Kafka up? `fanout stack up --only infra`)")


async def _measure(
    api_url: str,
    key: str,
    started: subprocess.Popen[bytes],
    seconds: float,
    clients: int,
    quiet: float,
) -> tuple[Probe, Probe]:
    answers = Probe()
    headers = {"Authorization": f"Bearer {key}"}
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as http:
        await _wait_healthy(http, started)
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as prober:
            alone = await loop.run_in_executor(prober, probe_for, api_url, started.pid, quiet)
            big = {"email": "h@example.com", "attributes": {"n": 10**5}}
            lead = (await http.post("/leads", json=big)).raise_for_status().json()
            probing = loop.run_in_executor(prober, probe_for, api_url, started.pid, seconds)
            until = time.monotonic() + seconds
            await asyncio.gather(
                *(_hostile_client(http, lead["id"], until, answers) for _ in range(clients))
            )
            loaded = await probing
    loaded.answers = answers.answers
    return alone, loaded


async def run_hostile(
    database_url: str, seconds: float, clients: int, quiet: float
) -> tuple[Probe, Probe]:
    """`/healthz` and RSS probed alone for `quiet` s, then under hostile clients for `seconds`."""
    async with scratch_database(database_url) as scratch:
        _, key = await create_account(scratch.pool, "bench")
        port = free_port(set())  # below the ephemeral range: see its module
        started = _start_api(sibling_dsn(database_url, scratch.name), port)
        try:
            return await _measure(f"http://127.0.0.1:{port}", key, started, seconds, clients, quiet)
        finally:
            started.terminate()
            started.wait(30)
