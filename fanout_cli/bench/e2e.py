"""End to end: a campaign of N leads through the running stack, timed per stage.

The one implementation behind `fanout bench` (three runs) and `fanout bench e2e` (one
run on the stack as it is). Leads are written to a file, then uploaded to campaign_api's
`POST /leads/import` (the upload has its own figure); the campaign is created and
launched through campaign_api; progress is read from campaign_api (resolve, send) and
from report_sink's reports API (outcome events in ClickHouse, provider events flowing
back by webhook). CPU time and peak RSS of every stack process are sampled throughout.
The services are found on their ports (`FANOUT_<SERVICE>_PORT`, as `fanout stack`
starts them) and processes under FANOUT_HOME.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from fanout_client import AuthenticatedClient
from fanout_client.api.campaigns import create_campaign, get_campaign, launch_campaign
from fanout_client.api.templates import create_template
from fanout_client.models import CampaignCreate, TemplateCreate

from fanout_cli.api_client import api_client, checked, import_leads
from fanout_cli.bench import kafka_load, pg_load
from fanout_cli.bench.machine import Reference, reference
from fanout_cli.bench.sampler import ProcessFigures, Sampler
from fanout_cli.demo.api_calls import account_domain, checked_json, verified_domain
from fanout_cli.demo.leads import jsonl_chunks
from fanout_cli.demo.run import ACCOUNTED, API, REPORTS, SIMULATOR
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.orchestrate import broker
from fanout_cli.stack.secrets import stack_secret
from services.report_sink.api.routes.sql import ADMIN_HEADER
from shared.auth import create_account
from shared.db import create_pool
from shared.reputation import GuardThresholds, save_thresholds
from shared.settings import CommonSettings

ALL_LEADS = {"field": "email", "op": "exists", "value": True}
TEMPLATE = {
    "name": "Benchmark",
    "subject": "Hello {{ first_name }}",
    "html_body": "<p>Hi {{ first_name }} from {{ country }}.</p>",
    "text_body": "Hi {{ first_name }}.",
}


@dataclass
class StageFigures:
    """When a stage finished (seconds after launch) and its throughput."""

    done_s: float | None = None
    per_s: float | None = None


@dataclass
class E2EResult:
    """One end-to-end run."""

    leads: int
    latency_ms: float
    matched: int = 0
    import_s: float = 0.0
    import_per_s: float = 0.0
    completed_s: float | None = None
    reported_s: float | None = None
    emails_per_s: float | None = None
    stages: dict[str, StageFigures] = field(default_factory=dict)
    processes: dict[str, ProcessFigures] = field(default_factory=dict)
    postgres_roles: dict[str, float] = field(default_factory=dict)  # CPU s by server role
    statements: list[pg_load.StatementLoad] = field(default_factory=list)  # top by time
    broker: kafka_load.BrokerLoad = field(default_factory=kafka_load.BrokerLoad)
    simulator_duplicates: int = 0
    outcomes_reported: int = 0
    every_lead_has_outcome: bool = False
    stored_events_before: int | None = None
    """Events in ClickHouse's `email_events` at launch (None: report_sink did not say). The
    engine's merges rewrite what is stored, so report_sink's CPU per email grows with it."""
    reference: Reference | None = None
    """The machine's speed just before launch (`machine.reference`): the same code's CPU
    per email moves with it, so runs compare only beside their references."""
    reference_after: Reference | None = None
    """...and once the campaign was followed to its end (the phase may change meanwhile)."""


def simulator_config(latency_ms: float) -> dict[str, float]:
    """Simulator knobs for a run: no throttling, realistic outcomes, the given latency."""
    return {
        "latency_p50_ms": latency_ms,
        "latency_p99_ms": latency_ms * 2,
        "rate_limit_per_s": 0.0,
        "throttle_429_rate": 0.0,
        "error_5xx_rate": 0.0,
        "transient_rate": 0.0,
        "reject_rate": 0.0,
        "hard_bounce_rate": 0.02,
        "soft_bounce_rate": 0.01,
        "complaint_rate": 0.001,
        "open_rate": 0.2,
        "click_rate": 0.03,
        "outcome_delay_ms": 100.0,
    }


UPLOAD_READ_BYTES = 64 * 1024


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(UPLOAD_READ_BYTES):
            yield chunk


def _import_file(key: str, path: Path) -> float:
    """POST the leads file at `path` to campaign_api's `/leads/import`, streamed: seconds."""
    with api_client(API, key, timeout_s=1800) as client:
        started = time.monotonic()
        import_leads(client, _file_chunks(path), "application/x-ndjson")
        return time.monotonic() - started


async def prepare_account(common: CommonSettings, leads: int, seed: int) -> tuple[UUID, str, float]:
    """A new account with `leads` leads: (id, API key, import seconds).

    The leads file (JSON Lines) is written to a temporary file first, then uploaded to
    campaign_api's `POST /leads/import` as a user would send it, and only the upload is
    timed: generating a million realistic leads costs about 7 s of CPU in this process,
    which is not the import's (before 2026-12-05 they were generated while being imported,
    in-process, and that was in the figure).
    """
    pool = await create_pool(common.database_url, max_size=1)
    try:
        account, key = await create_account(pool, f"bench {leads}")
        # its 0.1 % complaints sit on the guard's default line: a throughput run is not paused
        await save_thresholds(pool, account, GuardThresholds(enabled=False))
    finally:
        await pool.close()
    with tempfile.TemporaryDirectory(prefix="fanout-bench-leads-") as folder:
        path = Path(folder) / "leads.jsonl"
        await asyncio.to_thread(_write_leads, path, leads, seed)
        seconds = await asyncio.to_thread(_import_file, key, path)
    return account, key, seconds


def _write_leads(path: Path, leads: int, seed: int) -> None:
    with path.open("wb") as file:
        for chunk in jsonl_chunks(leads, seed=seed, chunk_rows=5000):
            file.write(chunk)


async def delete_account(common: CommonSettings, account: UUID) -> None:
    """Remove a benchmark account and its leads and campaigns from Postgres, then vacuum
    the database: the dead rows of a million leads were otherwise cleaned up by autovacuum
    during the next run (its index passes over the seven indexes of `leads`), and charged
    to that run's PostgreSQL CPU per email."""
    pool = await create_pool(common.database_url, max_size=1)
    try:
        await pool.execute("DELETE FROM accounts WHERE id = $1", account)
        await pool.execute("VACUUM (ANALYZE)")
    finally:
        await pool.close()


async def run_e2e(
    common: CommonSettings, leads: int, latency_ms: float, timeout_s: float = 1800
) -> E2EResult:
    """Import `leads`, launch an all-matching campaign, follow it to the end.

    The account, its leads and its campaign are deleted once the campaign has finished
    (kept after a failure, for inspection).
    """
    result = E2EResult(leads=leads, latency_ms=latency_ms)
    account, key, result.import_s = await prepare_account(common, leads, seed=leads)
    result.import_per_s = leads / result.import_s
    await _run_campaign(common, (account, key), result, timeout_s)
    await delete_account(common, account)
    return result


def sending_domain(account: UUID, key: str) -> str:
    """The account's sending domain, registered and verified as the demo does its own."""
    with api_client(API, key, timeout_s=60) as client:
        return verified_domain(client, SIMULATOR, account_domain("bench", account))


async def _run_campaign(
    common: CommonSettings, account: tuple[UUID, str], result: E2EResult, timeout_s: float
) -> None:
    domain = await asyncio.to_thread(sending_domain, account[0], account[1])
    async with api_client(API, account[1], timeout_s=60) as api:
        client = api.get_async_httpx_client()  # the simulator and the reports
        config = simulator_config(result.latency_ms)
        checked_json(await client.post(f"{SIMULATOR}/v1/config", json=config), "simulator config")
        duplicates_before = await _simulator_duplicates(client)
        result.stored_events_before = await stored_events(client, common)
        result.reference = reference()
        campaign_id = await create_bench_campaign(api, result.leads, f"bench@{domain}")
        sampler = Sampler(common)
        statements_before = await _statements(common)
        broker_pid = broker(common).process.pid()
        broker_before = await kafka_load.snapshot(broker_pid)
        jit_before = kafka_load.jit_cpu_s(broker_pid)
        sampler.start()
        stop = asyncio.Event()
        sampling = asyncio.create_task(sampler.run(stop))
        launched = time.monotonic()
        checked(await launch_campaign.asyncio_detailed(campaign_id, client=api), "launch")
        try:
            await _follow(api, campaign_id, launched, result, timeout_s)
        finally:
            stop.set()
            await sampling
        result.processes = sampler.figures
        result.postgres_roles = sampler.postgres_roles
        result.statements = pg_load.difference(statements_before, await _statements(common))
        jit_after = kafka_load.jit_cpu_s(broker_pid)
        result.broker = kafka_load.difference(broker_before, await kafka_load.snapshot(broker_pid))
        result.broker.jit_cpu_s = kafka_load.jit_difference(jit_before, jit_after)
        result.simulator_duplicates = await _simulator_duplicates(client) - duplicates_before
        result.reference_after = reference()


async def _statements(common: CommonSettings) -> pg_load.Snapshot:
    conn = await asyncpg.connect(common.database_url)
    try:
        return await pg_load.snapshot(conn)
    finally:
        await conn.close()


async def stored_events(client: httpx.AsyncClient, common: CommonSettings) -> int | None:
    """Every account's events in `email_events` (report_sink's operators' SQL), or None
    when it does not answer: the figure explains a run, it does not stop one."""
    try:
        token = stack_secret(common, "admin_token")
        response = await client.post(
            f"{REPORTS}/internal/sql",
            headers={ADMIN_HEADER: token},
            json={"query": "SELECT count() FROM email_events"},
        )
        response.raise_for_status()
        return int(response.json()["rows"][0][0])
    except (httpx.HTTPError, StackError, KeyError, IndexError, ValueError):
        return None


async def _simulator_duplicates(client: httpx.AsyncClient) -> int:
    counters = checked_json(await client.get(f"{SIMULATOR}/v1/counters"), "simulator counters")
    return int(counters["duplicates"])


async def create_bench_campaign(api: AuthenticatedClient, leads: int, sender: str) -> UUID:
    """A template and a draft campaign from `sender` matching every lead of the account."""
    source = TemplateCreate.from_dict(TEMPLATE)
    template = checked(await create_template.asyncio_detailed(client=api, body=source), "template")
    body = CampaignCreate(
        name=f"bench {leads}", from_email=sender, template_id=template.id, condition=ALL_LEADS
    )
    campaign = checked(await create_campaign.asyncio_detailed(client=api, body=body), "campaign")
    return campaign.id


async def _follow(
    api: AuthenticatedClient,
    campaign_id: UUID,
    launched: float,
    result: E2EResult,
    timeout_s: float,
) -> None:
    stages = {name: StageFigures() for name in ("resolve", "send", "sink", "webhooks")}
    result.stages = stages
    deadline = launched + timeout_s
    reads = FunnelReads()
    while time.monotonic() < deadline:
        now = time.monotonic() - launched
        try:
            done = await _poll(api, campaign_id, now, result, stages, reads)
        except httpx.TransportError:  # a reused keep-alive connection the server closed
            done = False  # (a stalled, loaded machine): a read, asked again next time
        if done:
            break
        await asyncio.sleep(0.25)
    if result.reported_s is not None:
        result.emails_per_s = result.matched / result.reported_s
    result.every_lead_has_outcome = (
        result.matched == result.leads and result.outcomes_reported == result.matched
    )


async def _poll(
    api: AuthenticatedClient,
    campaign_id: UUID,
    now: float,
    result: E2EResult,
    stages: dict[str, StageFigures],
    reads: FunnelReads,
) -> bool:
    """Read the campaign, and its funnel when `reads` says so, marking the stages done;
    True once all are: every outcome in the reports and the campaign completed (the reports
    may show the last outcome before the campaign's own counters reach it)."""
    answer = await get_campaign.asyncio_detailed(campaign_id, client=api)
    state = checked(answer, "campaign").to_dict()
    matched = state["matched"]
    if state["state"] in ("failed", "cancelled", "paused"):
        raise StackError(f"benchmark campaign ended {state['state']}: {state['state_reason']}")
    if matched is not None:
        result.matched = int(matched)
        resolved = int(state["enqueued"]) + int(state["excluded"])
        _mark(stages["resolve"], now, resolved >= matched, matched)
        _mark(stages["send"], now, state["state"] == "completed", matched)
        if state["state"] == "completed" and result.completed_s is None:
            result.completed_s = now
    if stages["webhooks"].done_s is not None:  # the reports have it all: not read again
        return stages["send"].done_s is not None
    if not reads.due(now, state, reported=stages["sink"].done_s is not None):
        return False
    reports = api.get_async_httpx_client()
    funnel = checked_json(
        await reports.get(f"{REPORTS}/reports/campaigns/{campaign_id}/funnel"), "funnel"
    )["counts"]
    reported = sum(funnel[k] for k in ACCOUNTED)
    result.outcomes_reported = reported
    if matched is not None and reported >= matched:
        _mark(stages["sink"], now, True, matched)
        result.reported_s = result.reported_s or now
        back = funnel["delivered"] + funnel["bounced"]
        _mark(stages["webhooks"], now, back >= funnel["sent"], back)
    return stages["webhooks"].done_s is not None and stages["send"].done_s is not None


@dataclass
class FunnelReads:
    """When the benchmark reads the campaign's funnel from the reports API.

    The funnel is an exact distinct count over every lead of the campaign: at 1M leads
    one read costs report_sink up to a second of CPU (0.95 s on 80 parts of a fresh
    store), and what the benchmark reads is charged to the pipeline's CPU per email
    (report-sink's row) though no sending needs it. Until the campaign's own counters
    (Postgres, about a second behind) account for `near` of the matched leads, or would
    at their average rate since the launch within `ahead_s` (a small campaign's last
    second is a large share of it), the reports are not close to holding every outcome:
    the funnel is read only every `early_s` (a fallback should those counters stall).
    Then at every poll (0.25 s), so the moment the last outcome is visible in the reports
    is still caught to within a poll. Once it is (`reported`: the sink's stage is done),
    what is left is the provider's webhooks, whose last ones may come tens of seconds
    after the campaign completed: read every `webhooks_s`, so "webhooks back" is caught
    to within that. Read at every poll in that phase, the funnel had cost report_sink a
    tenth more CPU in a 300k run
    (`bench/results/20261204T0430Z-funnel-reads`); read every 2 s before `near` (until
    round 24), 3.2 and 5.4 µs per email of its query threads in 1M runs
    (`bench/results/20261205T1205Z-round24-summary-pacing/bench-funnel-reads-2s-vs-10s.log`).
    """

    early_s: float = 10.0
    webhooks_s: float = 2.0
    near: float = 0.95
    ahead_s: float = 3.0
    last_s: float | None = None

    def due(self, now: float, state: dict[str, Any], *, reported: bool = False) -> bool:
        """Whether to read the funnel now (`state`: the campaign as campaign_api shows it;
        `reported`: every outcome is in the reports, the webhooks are awaited); a True
        answer counts as the read."""
        matched = state.get("matched")
        accounted = sum(int(state.get(k) or 0) for k in ACCOUNTED)
        close = not reported and (
            state.get("state") == "completed"
            or (matched is not None and self._near(now, accounted, int(matched)))
        )
        every = self.webhooks_s if reported else self.early_s
        if close or self.last_s is None or now - self.last_s >= every:
            self.last_s = now
            return True
        return False

    def _near(self, now: float, accounted: int, matched: int) -> bool:
        """`near` of the matched leads accounted for, or the rest due within `ahead_s`."""
        rate = accounted / now if now > 0 else 0.0
        return accounted >= self.near * matched or accounted + rate * self.ahead_s >= matched


def _mark(stage: StageFigures, now: float, done: bool, count: int) -> None:
    if done and stage.done_s is None:
        stage.done_s = now
        stage.per_s = count / now if now > 0 else None
