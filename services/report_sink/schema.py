"""Versioned ClickHouse migrations: `migrations/NNNN_name.sql`, applied once each, in order.

Each file holds one or more statements separated by `;` at the end of a line. Applied
versions are recorded in `schema_migrations`; every statement is idempotent (IF NOT
EXISTS), so a run that died half-way through a file simply runs that file again.
The same files run on chDB and on a ClickHouse server; `cluster.py` derives their
replicated/distributed form for a cluster, applied through `migrate(..., migrations=)`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from shared.clickhouse import AsyncClickHouse

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)

CREATE_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    statements: tuple[str, ...]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations of `directory`, sorted by version; refuses duplicate numbers."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise ValueError(f"{path}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"{path}: version {version} appears twice")
        found[version] = Migration(version, match.group(2), split_statements(path.read_text()))
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> tuple[str, ...]:
    """Statements of a file: split on `;` ending a line; `--` comment lines dropped."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in _STATEMENT_END.split(code) if s.strip())


async def applied_versions(ch: AsyncClickHouse) -> set[int]:
    """Versions already recorded in `schema_migrations`."""
    await ch.command(CREATE_VERSIONS)
    return {int(row[0]) for row in await ch.rows("SELECT version FROM schema_migrations")}


async def migrate(
    ch: AsyncClickHouse,
    directory: Path = MIGRATIONS_DIR,
    *,
    migrations: Sequence[Migration] | None = None,
) -> list[int]:
    """Apply the migrations not applied yet (`directory`'s, or the given ones, e.g. their
    cluster form); returns the versions applied now."""
    done = await applied_versions(ch)
    applied: list[int] = []
    for migration in load_migrations(directory) if migrations is None else migrations:
        if migration.version in done:
            continue
        for statement in migration.statements:
            await ch.command(statement)
        await ch.command(
            "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
            {"v": migration.version, "n": migration.name},
        )
        log.info("clickhouse.migrated", version=migration.version, name=migration.name)
        applied.append(migration.version)
    return applied


async def tune_event_merges(ch: AsyncClickHouse, base: int) -> None:
    """Set `email_events`'s `merge_selector_base` (an embedded engine's own table setting,
    applied at every start; a ClickHouse server's tables are its operator's to tune).

    Merges were the largest cost of the sink's threads: `MergeMutate` took a third of its
    CPU during a 300k run on the development stack. The event log is read only through
    its sort key (no `FINAL`), so more parts cost its reads little; with base 20 instead of
    ClickHouse's 5, parts wait for more of a like size before a merge, and each event is
    rewritten fewer times. A fresh store taking 1M events and then 500,000 at the stack's
    rate, until no merge ran: 2.12 / 2.18 µs of merge CPU per event with 5, 1.69 / 1.77
    with 20, for 9 active parts instead of 3 (bench/results/20261203T2220Z-sink-merges).
    The per-lead tables read with `FINAL` keep the default: a report's read there costs in
    their number of parts.
    """
    if not 2 <= base <= 1000:
        raise ValueError(f"merge_selector_base must be 2..1000, not {base}")
    await ch.command(f"ALTER TABLE email_events MODIFY SETTING merge_selector_base = {base:d}")
    log.info("clickhouse.event_merges", merge_selector_base=base)


LEAD_SETS = "campaign_hourly"  # its rows hold sets of lead ids (uniqExact states)


async def tune_lead_set_merges(ch: AsyncClickHouse, rows: int) -> None:
    """Set how many rows of `campaign_hourly` a merge reads at once from each part
    (`merge_max_block_size`; an embedded engine's own table setting, applied at every start).

    A row of that table is a set of lead ids: a campaign of 1M leads holds sets of a
    million ids, and a merged part holds the sets of many campaigns of its month. A merge reads
    blocks of up to 8,192 rows (ClickHouse's default), so it built every set of a part in
    memory at once: merging the table of a 19M-event store took a process from 283 to
    1,015 MB, where each per-lead table's merge stayed under 390 MB. ClickHouse's docs give
    this remedy for tables of wide rows; with blocks of 8 rows the same merge peaked at
    751 MB, and on a table of many small sets it cost no more CPU than the default
    (docs/benchmarks.md, "Round 23 of issue 17").
    """
    if not 1 <= rows <= 8192:
        raise ValueError(f"merge_max_block_size must be 1..8192, not {rows}")
    await ch.command(f"ALTER TABLE {LEAD_SETS} MODIFY SETTING merge_max_block_size = {rows:d}")
    log.info("clickhouse.lead_set_merges", merge_max_block_size=rows)


# The tables that grow with every event (campaign_summary holds a row per campaign)
GROWING_TABLES = ("email_events", "lead_status", "send_outcomes", "lead_steps", "campaign_hourly")
_MERGE_CAP = "max_bytes_to_merge_at_max_space_in_pool"


async def cap_merges(ch: AsyncClickHouse, max_bytes: int) -> None:
    """Cap the size a merge may reach in the tables that grow with every event (an
    embedded engine's own table setting, applied at every start; 0: ClickHouse's default,
    150 GB).

    A merge rewrites every row of its parts, and ClickHouse's merge selector merges parts
    of a like size, so a row is rewritten once per level of a store's part sizes: the
    bigger the store, the more levels. The per-lead tables cannot be partitioned by time
    (a lead's rows must meet in one partition for `FINAL`), so without a cap their merges
    now and then rewrite parts of gigabytes, and report_sink's CPU per email grew with
    the store. Parts at the cap are left alone: a row is rewritten until its part reaches
    the cap, whatever the store's size, and a report's `FINAL` reads a few more parts (its
    campaign's rows are in the parts written during the campaign; the others' primary
    index excludes them).
    """
    if max_bytes < 0:
        raise ValueError(f"a merge cap must be 0 (none) or a size in bytes, not {max_bytes}")
    for table in GROWING_TABLES:
        if max_bytes:
            await ch.command(f"ALTER TABLE {table} MODIFY SETTING {_MERGE_CAP} = {max_bytes:d}")
        else:
            await ch.command(f"ALTER TABLE {table} RESET SETTING {_MERGE_CAP}")
    log.info("clickhouse.merge_cap", max_bytes=max_bytes or None)
