"""ClickHouse migrations: idempotent, recorded, durable; the precedence kept in step."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from services.report_sink.cluster import cluster_migrations
from services.report_sink.config import Settings
from services.report_sink.precedence import PRECEDENCE, rank
from services.report_sink.schema import (
    GROWING_TABLES,
    MIGRATIONS_DIR,
    cap_merges,
    load_migrations,
    migrate,
    split_statements,
    tune_event_merges,
    tune_lead_set_merges,
)
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.events import EventType
from tests.events import event

pytestmark = pytest.mark.clickhouse


async def test_apply_migrations_twice_and_after_reopen(chdb_path: Path) -> None:
    ch = AsyncClickHouse(connect_embedded(chdb_path))
    try:
        first = await migrate(ch)
        second = await migrate(ch)
        assert first == [m.version for m in load_migrations()] and first
        assert second == []
        tables = {r[0] for r in await ch.rows("SHOW TABLES")}
        assert {"email_events", "lead_status", "campaign_hourly", "schema_migrations"} <= tables
    finally:
        ch.close()
    reopened = AsyncClickHouse(connect_embedded(chdb_path))
    try:
        assert await migrate(reopened) == []
        versions = await reopened.rows("SELECT version FROM schema_migrations ORDER BY version")
        assert [v for (v,) in versions] == first
    finally:
        reopened.close()


async def _create(ch: AsyncClickHouse, table: str) -> str:
    return str((await ch.rows(f"SHOW CREATE TABLE {table}"))[0][0])


Tune = Callable[[AsyncClickHouse, int], Awaitable[None]]


@pytest.mark.parametrize(
    ("tune", "setting", "table", "field", "other", "wrong", "refusal"),
    [
        # email_events merges wait for more parts of a like size than ClickHouse's 5
        (
            tune_event_merges,
            "merge_selector_base",
            "email_events",
            "chdb_events_merge_selector_base",
            7,
            (1, 1001),
            "2..1000",
        ),
        # campaign_hourly's sets are read a few rows at a time, not ClickHouse's 8,192
        (
            tune_lead_set_merges,
            "merge_max_block_size",
            "campaign_hourly",
            "chdb_lead_set_merge_block_rows",
            3,
            (0, 8193),
            "1..8192",
        ),
    ],
    ids=["event-merges", "lead-set-merges"],
)
async def test_table_tuning_lands_on_its_table_only(
    ch: AsyncClickHouse,
    tune: Tune,
    setting: str,
    table: str,
    field: str,
    other: int,
    wrong: tuple[int, ...],
    refusal: str,
) -> None:
    default = getattr(Settings(), field)  # read when the test runs, not when it is collected
    assert default != other
    await tune(ch, default)
    assert f"{setting} = {default}" in await _create(ch, table)
    for untouched in {*GROWING_TABLES, "campaign_summary"} - {table}:
        assert setting not in await _create(ch, untouched)
    await tune(ch, other)  # applied at every start: the latest value holds
    assert f"{setting} = {other}" in await _create(ch, table)
    for value in wrong:
        with pytest.raises(ValueError, match=refusal):
            await tune(ch, value)


async def test_lead_sets_merged_a_row_at_a_time_stay_exact(ch: AsyncClickHouse) -> None:
    """Merging the sets one row per block changes how much is in memory, not the counts:
    leads delivered in three inserts, some twice, count once each after the merge."""
    await tune_lead_set_merges(ch, 1)
    account, campaigns = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    leads = [uuid.uuid4() for _ in range(30)]
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    writer = EventWriter(ch)
    for i in range(3):  # leads 0-14, 10-24, 20-29: three parts, overlapping sets
        lines = (
            orjson.dumps(event(account, c, lead, EventType.DELIVERED, at).model_dump(mode="json"))
            for c in campaigns
            for lead in leads[i * 10 : i * 10 + 15]
        )
        await writer.insert(b"\n".join(lines), f"sets-{i}")
    await ch.command("OPTIMIZE TABLE campaign_hourly FINAL")
    assert await _parts(ch, "campaign_hourly") == 1
    counts = await ch.rows(
        "SELECT campaign_id, uniqExactMerge(leads) FROM campaign_hourly"
        " WHERE account_id = {a:UUID} AND type = 'delivered' GROUP BY campaign_id",
        {"a": account},
    )
    assert sorted(n for _, n in counts) == [30, 30]


async def test_merge_cap_on_the_tables_that_grow(ch: AsyncClickHouse) -> None:
    cap = Settings().chdb_max_merge_bytes
    assert cap > 0
    await cap_merges(ch, cap)
    setting = f"max_bytes_to_merge_at_max_space_in_pool = {cap}"
    for table in GROWING_TABLES:
        assert setting in await _create(ch, table)
    assert "max_bytes_to_merge" not in await _create(ch, "campaign_summary")
    await cap_merges(ch, 0)  # 0: ClickHouse's own default again (applied at every start)
    for table in GROWING_TABLES:
        assert "max_bytes_to_merge" not in await _create(ch, table)
    with pytest.raises(ValueError, match="0 \\(none\\) or a size in bytes"):
        await cap_merges(ch, -1)


async def _parts(ch: AsyncClickHouse, table: str) -> int:
    query = (
        "SELECT count() FROM system.parts"
        " WHERE active AND database = currentDatabase() AND table = {t:String}"
    )
    return int((await ch.rows(query, {"t": table}))[0][0])


async def test_parts_past_the_merge_cap_are_left_apart(ch: AsyncClickHouse) -> None:
    """The engine honours the cap: parts whose merge would pass it stay as they are; without
    the cap the same parts merge into one."""
    await cap_merges(ch, 1)
    account, campaign = uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    writer = EventWriter(ch)
    for i in range(3):  # three inserts: three parts in each table
        lines = (
            orjson.dumps(event(account, campaign, uuid.uuid4(), kind, at).model_dump(mode="json"))
            for kind in (EventType.SENT, EventType.DELIVERED)
        )
        await writer.insert(b"\n".join(lines), f"cap-{i}")
    for table in GROWING_TABLES:
        await ch.command(f"OPTIMIZE TABLE {table}")  # a merge as the selector picks one
        assert await _parts(ch, table) == 3, table
    await cap_merges(ch, 0)  # the same parts merge without it (a background merge may too)
    for table in GROWING_TABLES:
        for _ in range(50):
            await ch.command(f"OPTIMIZE TABLE {table}")
            if await _parts(ch, table) == 1:
                break
            await asyncio.sleep(0.1)
        assert await _parts(ch, table) == 1, table


async def test_apply_migrations_reruns_a_half_applied_file(ch: AsyncClickHouse) -> None:
    # a crash after a file's statements but before its version was recorded
    await ch.command("DELETE FROM schema_migrations WHERE version = 2")
    assert await migrate(ch) == [2]


def test_precedence_matches_lead_status_view() -> None:
    """The view's latest query (the last migration that sets it) ranks types as Python does."""
    views = [p for p in sorted(MIGRATIONS_DIR.glob("*.sql")) if "lead_status_mv" in p.read_text()]
    sql = views[-1].read_text()
    found = re.search(r"transform\(\s*type,\s*\[(.*?)\],\s*\[(.*?)\]", sql, re.DOTALL)
    assert found is not None
    names = re.findall(r"'(\w+)'", found.group(1))
    ranks = [int(n) for n in found.group(2).split(",")]
    assert names == [t.value for t in PRECEDENCE]
    assert ranks == [rank(t) for t in PRECEDENCE]
    assert {t.value for t in EventType} == set(names)  # every type ranked explicitly


async def test_lead_status_keeps_a_send_outcome_over_excluded(ch: AsyncClickHouse) -> None:
    account, campaign, lead = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    body = b"\n".join(
        orjson.dumps(event(account, campaign, lead, kind, when).model_dump(mode="json"))
        for kind, when in ((EventType.SENT, at), (EventType.EXCLUDED, at + timedelta(hours=1)))
    )
    await EventWriter(ch).insert(body, "t")
    [(status,)] = await ch.rows(
        "SELECT status FROM lead_status FINAL WHERE campaign_id = {c:UUID}", {"c": campaign}
    )
    assert status == "sent"


DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "clickhouse"


async def test_parse_cluster_ddl_and_users(ch: AsyncClickHouse) -> None:
    users = split_statements((DEPLOY / "users.sql").read_text())
    cluster = [s for m in cluster_migrations() for s in m.statements]
    for statement in [*users, *cluster]:
        await ch.rows("SELECT formatQuery({q:String})", {"q": statement})
