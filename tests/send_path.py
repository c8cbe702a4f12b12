"""The send path on the real broker and Postgres, for the sender's and lead resolver's tests.

Seeds an account, a template, leads and a launched campaign through the services' own
functions (`tests.factories`), publishes the launch command itself, runs lead_resolver and
sender as subprocesses against the in-process ESP simulator, and reads the
outcome events back from `email.events`. The fixtures `simulator`, `start` and
`resolver` are re-exported by the conftest of each test folder that uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.testing import running_simulator
from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.resolver import Resolver
from shared.contracts import (
    CampaignCommand,
    CommandKind,
    EmailEvent,
    EventBatch,
    EventType,
    SendBatch,
    decode,
    encode,
)
from shared.contracts.base import M
from shared.contracts.fast_sends import FastSendBatch
from shared.kafka.producer import make_producer
from shared.settings import SECRET_NAMES, CommonSettings, env_name
from shared.topics import Topic, topic_name
from tests import factories
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
MATCHING = {"field": "country", "op": "eq", "value": "DE"}


@dataclass
class Seeded:
    """One campaign and its leads."""

    account_id: uuid.UUID
    campaign_id: uuid.UUID
    run_id: uuid.UUID
    matching: set[uuid.UUID] = field(default_factory=set)  # matched and sendable
    others: set[uuid.UUID] = field(default_factory=set)
    excluded: dict[uuid.UUID, str] = field(default_factory=dict)  # matched, left out: reason

    @property
    def matched(self) -> set[uuid.UUID]:
        """Every lead the campaign's condition matches (the segment preview's count)."""
        return self.matching | set(self.excluded)


async def seed_campaign(
    pool: asyncpg.Pool,
    *,
    matching: int,
    non_matching: int = 0,
    suppressed: int = 0,
    unsubscribed: int = 0,
    invalid: int = 0,
    account_id: uuid.UUID | None = None,
    provider: str = "simulator",
    provider_config_id: uuid.UUID | None = None,
    domains: Sequence[str] = ("example.com",),
    from_email: str = "news@acme.example",
) -> Seeded:
    """An account (or the given one) with leads and a launched (`queued`) campaign selecting
    country DE, made through the services' own functions (`tests.factories`).

    Beside `matching` leads the campaign matches `suppressed`, `unsubscribed` and `invalid`
    ones (an address the API refuses, as a row written around it holds), which it excludes.
    Addresses take the receiving `domains` in turn; the campaign sends from `from_email`.
    """
    if account_id is None:
        account_id = (await factories.account(pool, "send-path test")).id
    template_id = await factories.template(
        pool,
        account_id,
        subject="Hello {{ first_name }}",
        html_body="<p>Hi {{ first_name }}</p>",
        text_body="Hi {{ first_name }} from {{ country }}",
    )
    tag = uuid.uuid4().hex[:8]
    kinds = (
        [("m", "DE")] * matching
        + [("n", "FR")] * non_matching
        + [("s", "DE")] * suppressed
        + [("u", "DE")] * unsubscribed
    )
    emails = [f"{k}{i}-{tag}@{domains[i % len(domains)]}" for i, (k, _) in enumerate(kinds)]
    rows = [
        {"email": e, "first_name": "Ada", "country": c}
        for e, (_, c) in zip(emails, kinds, strict=True)
    ]
    lead_ids = await factories.leads(pool, account_id, rows)
    await factories.suppress(pool, account_id, [e for e in emails if e.startswith("s")])
    await factories.unsubscribe(
        pool, account_id, [i for i, e in zip(lead_ids, emails, strict=True) if e.startswith("u")]
    )
    invalid_emails = [f"i{i}-{tag}@example..com" for i in range(invalid)]
    lead_ids += await _invalid_leads(pool, account_id, invalid_emails)
    campaign_id = await factories.campaign(
        pool,
        account_id,
        template_id,
        from_email=from_email,
        from_name="Acme",
        condition=MATCHING,
        provider=provider,
        provider_config_id=provider_config_id,
    )
    launched = await factories.launch(
        pool, account_id, campaign_id, topic_name(Topic.CAMPAIGN_LAUNCHES)
    )
    seeded = Seeded(account_id, campaign_id, launched.run_id)
    reasons = {"s": "suppressed", "u": "unsubscribed", "i": "invalid_email"}
    for lead_id, email in zip(lead_ids, emails + invalid_emails, strict=True):
        kind = email[0]
        if kind in reasons:
            seeded.excluded[lead_id] = reasons[kind]
        (seeded.matching if kind == "m" else seeded.others).add(lead_id)
    return seeded


async def _invalid_leads(
    pool: asyncpg.Pool, account_id: uuid.UUID, emails: list[str]
) -> list[uuid.UUID]:
    """Leads with addresses the API refuses: only a row written around it holds one."""
    rows = await pool.fetch(
        "INSERT INTO leads (account_id, email, first_name, country) "
        "SELECT $1, e, 'Ada', 'DE' FROM unnest($2::text[]) AS e RETURNING id, email",
        account_id,
        emails,
    )
    ids = {row["email"]: row["id"] for row in rows}
    return [ids[email] for email in emails]


async def publish_command(
    settings: CommonSettings, seeded: Seeded, kind: CommandKind = CommandKind.LAUNCH
) -> None:
    """What campaign_api's outbox relay would publish."""
    command = CampaignCommand(
        command_id=uuid.uuid4(),
        kind=kind,
        campaign_id=seeded.campaign_id,
        account_id=seeded.account_id,
        run_id=seeded.run_id,
        issued_at=datetime.now(UTC),
    )
    producer = make_producer(settings)
    await producer.start()
    try:
        topic = topic_name(Topic.CAMPAIGN_LAUNCHES, settings.topic_prefix)
        await producer.send_and_wait(topic, encode(command), key=command.key())
    finally:
        await producer.stop()


async def set_state(pool: asyncpg.Pool, seeded: Seeded, state: str, *, new_run: bool) -> None:
    """What the API does on pause (paused), resume (queued, new run) and cancel."""
    if new_run:
        seeded.run_id = uuid.uuid4()
    await pool.execute(
        "UPDATE campaigns SET state = $2, run_id = $3 WHERE id = $1",
        seeded.campaign_id,
        state,
        seeded.run_id,
    )


async def set_template_part(
    pool: asyncpg.Pool, campaign_id: uuid.UUID, part: str, text: str
) -> None:
    """Overwrite `part` (subject, html_body or text_body) of the campaign's template."""
    if part not in ("subject", "html_body", "text_body"):
        raise ValueError(f"not a template part: {part}")
    await pool.execute(
        f"UPDATE templates SET {part} = $2 "  # noqa: S608 - one of three fixed column names
        "WHERE id = (SELECT template_id FROM campaigns WHERE id = $1)",
        campaign_id,
        text,
    )


async def campaign(pool: asyncpg.Pool, campaign_id: uuid.UUID) -> dict[str, Any]:
    """The campaign row."""
    row = await pool.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
    assert row is not None
    return dict(row)


async def outcomes_recorded(pool: asyncpg.Pool, campaign_id: uuid.UUID) -> int:
    """Terminal outcomes accounted in send_batch_outcomes."""
    return int(
        await pool.fetchval(
            "SELECT coalesce(sum(sent + failed + suppressed + cancelled), 0) "
            "FROM send_batch_outcomes WHERE campaign_id = $1",
            campaign_id,
        )
    )


COUNTED_BATCH = """
WITH batch AS (
    INSERT INTO send_batch_outcomes (campaign_id, batch_no, sent, failed, suppressed, cancelled)
    VALUES ($1, $2, $3, $4, $5, $6) RETURNING *
)
UPDATE campaigns c SET sent = c.sent + b.sent, failed = c.failed + b.failed,
    suppressed = c.suppressed + b.suppressed, cancelled = c.cancelled + b.cancelled,
    batches_counted = c.batches_counted + 1
FROM batch b WHERE c.id = b.campaign_id
"""


async def counted_batch(
    pool: asyncpg.Pool,
    campaign_id: uuid.UUID,
    batch_no: int,
    *,
    sent: int = 0,
    failed: int = 0,
    suppressed: int = 0,
    cancelled: int = 0,
) -> None:
    """A send batch as the sender leaves it once counted: its outcome row, counted, and its
    counts in the campaign's counters (`services.sender.accounting` does both in one
    statement)."""
    await pool.execute(COUNTED_BATCH, campaign_id, batch_no, sent, failed, suppressed, cancelled)


async def wait_for(
    pool: asyncpg.Pool, campaign_id: uuid.UUID, states: set[str], timeout: float = 60
) -> dict[str, Any]:
    """Poll until the campaign is in one of `states`; fail with its row otherwise."""
    deadline = time.monotonic() + timeout
    row = await campaign(pool, campaign_id)
    while row["state"] not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"campaign still {row['state']} after {timeout}s: {row}")
        await asyncio.sleep(0.2)
        row = await campaign(pool, campaign_id)
    return row


async def read_topic(settings: CommonSettings, topic: Topic, model: type[M]) -> list[M]:
    """Every message on the test's `topic` up to its current end."""
    name = topic_name(topic, settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    messages: list[M] = []
    try:
        parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        if not parts:
            parts = [TopicPartition(name, p) for p in range(12)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                messages += [decode(model, record.value) for record in records]
    finally:
        await consumer.stop()
    return messages


async def read_events(settings: CommonSettings) -> list[EmailEvent]:
    """Every event on `email.events` up to its current end."""
    values = await read_topic(settings, Topic.EMAIL_EVENTS, EventBatch)
    return [event for value in values for event in value.events]


async def read_sends(settings: CommonSettings) -> list[FastSendBatch]:
    """Every batch on `email.sends` up to its current end, each read by the contract's
    pydantic model (what the resolver wrote must satisfy it) and handed over as the
    struct the sender works on."""
    return [FastSendBatch.of(b) for b in await read_topic(settings, Topic.EMAIL_SENDS, SendBatch)]


class Service:
    """`python -m services.<name>` as a subprocess, its log in a temporary file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        """Start the process (stdout and stderr into the log file)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no draining, no commit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 30 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the service's log, for failure messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def healthy(service: Service, timeout_s: float = 180) -> None:
    """Wait until `service` answers its /healthz (on the port its environment gives it)."""
    port = service.env[f"FANOUT_{service.name.upper()}_PORT"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{service.name} did not start: {service.log_tail()}")


def service_env(settings: CommonSettings, **extra: str) -> dict[str, str]:
    """Environment of a service process on the test's topics and database."""
    return {
        "FANOUT_ENVIRONMENT": "test",
        "FANOUT_TOPIC_PREFIX": settings.topic_prefix,
        "FANOUT_DATABASE_URL": settings.database_url,
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "FANOUT_LOG_LEVEL": "INFO",
        "FANOUT_SENDER_PORT": str(free_port()),
        "FANOUT_LEAD_RESOLVER_PORT": str(free_port()),
        "FANOUT_SENDER_FLUSH_INTERVAL_S": "0.2",
        "FANOUT_SENDER_RETRY_INITIAL_S": "0.05",
        "FANOUT_SENDER_RETRY_MAX_S": "1",
        "FANOUT_SENDER_RETRY_JITTER_S": "0.05",
        "FANOUT_SENDER_RATE_BUDGETS": '{"simulator": 0}',
        # this process's secrets, so the services and the in-process simulator agree
        **{env_name(CommonSettings, name): settings.secret(name) for name in SECRET_NAMES},
        "FANOUT_LEAD_RESOLVER_IDLE_SLEEP_S": "0.05",
        "FANOUT_LEAD_RESOLVER_SWEEP_INTERVAL_S": "1",
        **extra,
    }


async def simulator_counters(base_url: str) -> dict[str, Any]:
    """The simulator's counters."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base_url}/v1/counters")
        response.raise_for_status()
        return dict(response.json())


async def configure_simulator(base_url: str, **knobs: Any) -> None:
    """Change simulator knobs at runtime."""
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base_url}/v1/config", json=knobs)
        response.raise_for_status()


StartService = Callable[..., Service]


@pytest.fixture
async def simulator() -> AsyncIterator[str]:
    """The ESP simulator in-process on a free port, no webhooks."""
    async with running_simulator(SimulatorSettings(webhook_url="", seed=7)) as base_url:
        yield base_url


@pytest.fixture
async def resolver(pool: asyncpg.Pool, settings: CommonSettings) -> AsyncIterator[Resolver]:
    """A lead resolver in-process on the test's topics (it steps when told to; no loop)."""
    producer = make_producer(settings)
    await producer.start()
    try:
        sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
        yield Resolver(ResolverSettings(common=settings), pool, producer, sends)
    finally:
        await producer.stop()


# Campaigns earlier tests left with work (the suite shares one database): a resolver process
# sweeps every campaign with work left, and would send theirs on this test's topics.
RETIRE_LEFTOVERS = """
UPDATE campaigns SET state = 'failed', updated_at = now()
WHERE state NOT IN ('completed', 'failed', 'paused')
"""


@pytest.fixture
async def retired_leftovers(pool: asyncpg.Pool) -> None:
    """No campaign of an earlier test is left for this test's resolver to find."""
    await pool.execute(RETIRE_LEFTOVERS)


@pytest.fixture
def start(
    settings: CommonSettings, simulator: str, tmp_path: Path, retired_leftovers: None
) -> Iterator[StartService]:
    """Start `lead_resolver` or `sender` processes; all stopped at the end of the test."""
    started: list[Service] = []

    def start_service(name: str, **env: str) -> Service:
        extra = {"FANOUT_SENDER_SIMULATOR_URL": simulator, **env}
        service = Service(name, service_env(settings, **extra), tmp_path).start()
        started.append(service)
        return service

    yield start_service
    for service in started:
        service.stop()


def outcomes_by_lead(events: list[EmailEvent], seeded: Seeded) -> Counter[object]:
    """How many distinct outcome events each lead of the campaign got."""
    ids = {(e.lead_id, e.event_id) for e in events if e.campaign_id == seeded.campaign_id}
    return Counter(lead for lead, _ in ids)


def assert_exactly_one_outcome(events: list[EmailEvent], seeded: Seeded) -> None:
    """Every matched lead has exactly one outcome id (the excluded ones `excluded`, with
    their reason); no other lead has any."""
    per_lead = outcomes_by_lead(events, seeded)
    assert set(per_lead) == seeded.matched, (
        f"missing {len(seeded.matched - set(per_lead))}, "
        f"unexpected {len(set(per_lead) - seeded.matched)}"
    )
    assert max(per_lead.values()) == 1
    mine = [e for e in events if e.campaign_id == seeded.campaign_id]
    excluded = {e.lead_id: e.reason for e in mine if e.type is EventType.EXCLUDED}
    assert excluded == seeded.excluded


@dataclass(frozen=True)
class Completed:
    """A campaign that completed, its events and what the simulator counted."""

    row: dict[str, Any]
    events: list[EmailEvent]
    counters: dict[str, Any]


async def completed_once(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, seeded: Seeded, timeout: float
) -> Completed:
    """Wait for the campaign to finish; assert it completed with exactly one outcome per lead."""
    row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=timeout)
    assert row["state"] == "completed", row
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    return Completed(row, events, await simulator_counters(simulator))
