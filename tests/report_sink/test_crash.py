"""The sink as a real process, killed with SIGKILL mid-run and restarted: exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from typer import Typer
from typer.testing import CliRunner

from fanout_cli.report.commands import report_app
from fanout_cli.report.sql import sql_command
from shared.settings import CommonSettings
from tests.ports import free_port
from tests.report_sink.helpers import batches, make_tenant, publish, sends, wait_until
from tests.waiting import wait_healthy

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse, pytest.mark.slow]

TOKEN = "crash-test-admin-token"
EVENTS = 20_000


class SinkProcess:
    """`python -m services.report_sink` with the test's env; reads its log lines (stdout)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.lines = []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.report_sink", env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace"))

    def output(self) -> str:
        """The last lines it wrote, for failure messages."""
        return "".join(self.lines[-30:])

    def logged(self, event: str) -> Callable[[], asyncio.Future[bool]]:
        async def check() -> bool:
            return any(event in line for line in self.lines)

        return check  # type: ignore[return-value]

    async def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout=60)
        if self._reader is not None:
            await self._reader
        return code


@pytest.fixture
async def sink_process(
    settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[tuple[SinkProcess, str]]:
    port = free_port()
    env = {
        **os.environ,
        "FANOUT_HOME": str(tmp_path),
        "FANOUT_TOPIC_PREFIX": settings.topic_prefix,
        "FANOUT_DATABASE_URL": settings.database_url,
        "FANOUT_ENVIRONMENT": "test",
        "FANOUT_REPORT_SINK_PORT": str(port),
        "FANOUT_REPORT_SINK_GROUP_ID": f"crash-{uuid.uuid4().hex[:8]}",
        "FANOUT_REPORT_SINK_BATCH_MAX_EVENTS": "3000",
        "FANOUT_REPORT_SINK_BATCH_MAX_SECONDS": "0.3",
        "FANOUT_REPORT_SINK_POLL_MAX_RECORDS": "50",
        "FANOUT_ADMIN_TOKEN": TOKEN,
        "FANOUT_REPORT_SINK_CHDB_MAX_MEMORY_BYTES": str(2 * 1024**3),
    }
    process = SinkProcess(env)
    yield process, f"http://127.0.0.1:{port}"
    if process.proc is not None and process.proc.returncode is None:
        await process.signal(signal.SIGKILL)


async def _sql(url: str, query: str) -> list[list[object]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post("/internal/sql", json={"query": query},
                              headers={"X-Fanout-Admin-Token": TOKEN})  # fmt: skip
        r.raise_for_status()
        rows: list[list[object]] = r.json()["rows"]
        return rows


async def test_sink_killed_mid_batch_counts_every_event_once(
    settings: CommonSettings, sink_process: tuple[SinkProcess, str], pool: asyncpg.Pool
) -> None:
    process, url = sink_process
    tenant = await make_tenant(pool, matched=EVENTS)
    account, campaign = tenant.account_id, tenant.campaign_id
    messages = batches(sends(account, campaign, EVENTS), per_message=10)
    await process.start()
    await wait_healthy(url, details=process.output)
    await publish(settings, messages)
    await wait_until(process.logged('"sink.inserted"'), timeout=60)
    assert await process.signal(signal.SIGKILL) == -signal.SIGKILL  # mid-run: no shutdown

    await process.start()
    await wait_healthy(url, details=process.output)

    # An insert commits `email_events`' part before its views' parts (ClickHouse has no
    # transaction across them): a read between the two saw the events complete and
    # campaign_hourly 2,000 short (the last, partial batch of 3,000). So every table is
    # waited for; one that stays short (a block lost to the views) times the wait out.
    counts = {
        "events": "SELECT uniqExact(event_id) FROM email_events",
        "hourly": "SELECT uniqExactMerge(leads) FROM campaign_hourly "
        f"WHERE campaign_id = '{campaign}' AND type = 'sent'",
        "leads": f"SELECT count() FROM lead_status FINAL WHERE campaign_id = '{campaign}'",
    }
    seen: dict[str, object] = {}

    async def all_stored() -> bool:
        for name, query in counts.items():
            seen[name] = (await _sql(url, query))[0][0]
        return all(n == EVENTS for n in seen.values())

    try:
        await wait_until(all_stored, timeout=90)
    except AssertionError:
        raise AssertionError(f"counts after 90 s, {EVENTS} expected in each: {seen}") from None
    assert seen == dict.fromkeys(counts, EVENTS)  # exactly once: sets and FINAL, never more
    assert await process.logged('"sink.inserted"')()  # the restart had uncommitted work

    # the engine's memory is capped as configured
    cap = await _sql(url, "SELECT getServerSetting('max_server_memory_usage')")
    assert cap == [[2 * 1024**3]]

    # the analysts' command goes through this running process
    cli = Typer()
    cli.command()(sql_command)
    query = "SELECT uniqExact(event_id) AS n FROM email_events"
    result = CliRunner().invoke(cli, [query, "--url", url, "--admin", "--token", TOKEN])
    assert result.exit_code == 0, result.output
    assert str(EVENTS) in result.output
    # its errors are the problem's detail, on one line
    for args, shown in (
        (["DROP TABLE email_events", "--token", TOKEN], "error: HTTP 400: query refused: "),
        (["SELECT 1", "--token", "wrong"], "error: HTTP 401: missing or invalid credentials"),
    ):
        result = CliRunner().invoke(cli, [*args, "--url", url, "--admin"], env={"COLUMNS": "1000"})
        assert result.exit_code == 1, result.output
        assert result.output.startswith(shown) and len(result.output.splitlines()) == 1

    # and `fanout report funnel` reads the same numbers through the API
    cli = Typer()
    cli.add_typer(report_app, name="report")
    args = ["report", "funnel", str(campaign), "--url", url, "--api-key", tenant.api_key]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert re.search(rf"│ sent\s+│ {EVENTS}\s+│", result.output), result.output
    assert re.search(r"│ matched\s+│ 20000\s+│", result.output), result.output
    args = ["report", "funnel", str(uuid.uuid4()), "--url", url, "--api-key", tenant.api_key]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "1000"})
    assert (result.exit_code, result.output) == (1, "error: HTTP 404: campaign not found\n")

    assert await process.signal(signal.SIGTERM) == 0  # graceful stop


async def _start_and_wait(env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.report_sink", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, stderr.decode(errors="replace")


async def test_start_fails_fast_when_kafka_is_unreachable(
    base_settings: CommonSettings, pg_dsn: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "FANOUT_HOME": str(tmp_path),
        "FANOUT_DATABASE_URL": pg_dsn,
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "FANOUT_REPORT_SINK_PORT": str(free_port()),
    }
    code, stderr = await _start_and_wait(env)
    assert code == 2
    assert "report_sink cannot start: Kafka at 127.0.0.1:" in stderr
    assert "Traceback" not in stderr


async def test_start_fails_fast_when_chdb_folder_is_taken(
    base_settings: CommonSettings, pg_dsn: str, tmp_path: Path
) -> None:
    from shared.clickhouse import AsyncClickHouse, connect_embedded

    holder = AsyncClickHouse(connect_embedded(tmp_path / "chdb"))  # this process owns it
    try:
        env = {**os.environ, "FANOUT_HOME": str(tmp_path), "FANOUT_DATABASE_URL": pg_dsn,
               "FANOUT_REPORT_SINK_PORT": str(free_port())}  # fmt: skip
        code, stderr = await _start_and_wait(env)
    finally:
        holder.close()
    assert code == 2
    assert "embedded ClickHouse (chDB)" in stderr and "only one process" in stderr
