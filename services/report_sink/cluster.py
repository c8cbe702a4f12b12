"""The cluster DDL, generated from report_sink's single-node migrations.

report_sink's `migrations/NNNN_name.sql` are the one schema source. A replicated,
sharded cluster needs the same tables in another shape; this module derives it, file
for file, when it is applied (`python -m services.report_sink.migrate --cluster`) or
written out for review (`fanout clickhouse cluster-ddl --out DIR`). Nothing of it is
committed, so the two cannot drift:

- `CREATE TABLE t (...) ENGINE = XMergeTree(args)` becomes the local table `t_local ON
  CLUSTER '{cluster}'` on `ReplicatedXMergeTree('/clickhouse/tables/{shard}/{database}/t',
  '{replica}', args)`, plus a `Distributed` table named `t` (created last in its file),
  so the report SQL runs unchanged;
- `CREATE MATERIALIZED VIEW v TO t AS SELECT ... FROM s` runs on each shard's local
  rows: `v ON CLUSTER '{cluster}' TO t_local ... FROM s_local`; a view's new query
  (`ALTER TABLE v MODIFY QUERY SELECT ... FROM s`) likewise reads `s_local`;
- `non_replicated_deduplication_window` becomes `replicated_deduplication_window`;
- `INSERT INTO t SELECT ... FROM s` (a backfill) runs once, unchanged, on the
  Distributed tables, after every table of its file exists: rows are sharded as
  the views would have sharded them.

Rows are sharded by `cityHash64(campaign_id, lead_id)` (the columns of the two a table
has): every event of a (campaign, lead) lands on one shard, so FINAL, argMax and the
views stay exact shard by shard. Any other statement is refused with a clear error: a
new kind of migration needs its cluster form decided here first.
"""

from __future__ import annotations

import re
from pathlib import Path

from services.report_sink.schema import MIGRATIONS_DIR, Migration, load_migrations

CLUSTER = "ON CLUSTER '{cluster}'"
SHARD_COLUMNS = ("campaign_id", "lead_id")
_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\n(\(\n.*?\n\))\n(.*)$", re.DOTALL)
_ENGINE = re.compile(r"^ENGINE = (\w*MergeTree)(?:\((.*)\))?$", re.MULTILINE)
_VIEW = re.compile(r"^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\n(.*)$", re.DOTALL)
_VIEW_QUERY = re.compile(r"^ALTER TABLE (\w+) MODIFY QUERY\n(.*)$", re.DOTALL)
_BACKFILL = re.compile(r"^INSERT INTO (\w+)\nSELECT\b", re.DOTALL)


class ClusterDDLError(ValueError):
    """A migration statement the generator has no cluster form for."""


def _columns(body: str) -> list[str]:
    """Column names of a `( ... )` table body (indexes and projections skipped)."""
    names = [line.strip().split()[0] for line in body.splitlines()[1:-1] if line.strip()]
    return [n for n in names if n not in ("INDEX", "PROJECTION", "CONSTRAINT")]


def _local_table(name: str, body: str, rest: str) -> str:
    engine = _ENGINE.search(rest)
    if engine is None:
        raise ClusterDDLError(f"table {name}: only *MergeTree engines have a replicated form")
    args = [f"'/clickhouse/tables/{{shard}}/{{database}}/{name}'", "'{replica}'"]
    if engine.group(2):
        args.append(engine.group(2))
    replicated = f"ENGINE = Replicated{engine.group(1)}({', '.join(args)})"
    rest = rest[: engine.start()] + replicated + rest[engine.end() :]
    rest = rest.replace("non_replicated_deduplication_window", "replicated_deduplication_window")
    return f"CREATE TABLE IF NOT EXISTS {name}_local {CLUSTER}\n{body}\n{rest}"


def _distributed_table(name: str, columns: list[str]) -> str:
    keys = [c for c in SHARD_COLUMNS if c in columns]
    if not keys:
        raise ClusterDDLError(f"table {name}: no {' or '.join(SHARD_COLUMNS)} to shard by")
    return (
        f"CREATE TABLE IF NOT EXISTS {name} {CLUSTER} AS {name}_local\n"
        f"ENGINE = Distributed('{{cluster}}', currentDatabase(), {name}_local, "
        f"cityHash64({', '.join(keys)}))"
    )


def _local_select(select: str, tables: set[str]) -> str:
    for table in tables:  # a view reads the shard's own rows
        select = re.sub(rf"\b(FROM|JOIN)\s+{table}\b", rf"\1 {table}_local", select)
    return select


def _local_view(name: str, target: str, select: str, tables: set[str]) -> str:
    select = _local_select(select, tables)
    return f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name} {CLUSTER} TO {target}_local AS\n{select}"


def cluster_statements(migration: Migration, tables: set[str]) -> list[str]:
    """The cluster form of one migration's statements; `tables` collects the tables seen."""
    local: list[str] = []
    distributed: list[str] = []
    backfills: list[str] = []
    for statement in migration.statements:
        if table := _TABLE.match(statement):
            name, body, rest = table.groups()
            tables.add(name)
            local.append(_local_table(name, body, rest))
            distributed.append(_distributed_table(name, _columns(body)))
        elif view := _VIEW.match(statement):
            name, target, select = view.groups()
            local.append(_local_view(name, target, select, tables))
        elif query := _VIEW_QUERY.match(statement):
            name, select = query.groups()
            local.append(
                f"ALTER TABLE {name} {CLUSTER} MODIFY QUERY\n{_local_select(select, tables)}"
            )
        elif _BACKFILL.match(statement):
            backfills.append(statement)
        else:
            first = statement.splitlines()[0]
            raise ClusterDDLError(
                f"migration {migration.version:04d}: no cluster form for `{first}`; "
                "extend services/report_sink/cluster.py"
            )
    return local + distributed + backfills


def cluster_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every single-node migration of `directory` in its cluster form, same version and name."""
    tables: set[str] = set()
    return [
        Migration(m.version, m.name, tuple(cluster_statements(m, tables)))
        for m in load_migrations(directory)
    ]


def _header(migration: Migration) -> str:
    source = f"services/report_sink/migrations/{migration.version:04d}_{migration.name}.sql"
    return (
        "-- Generated by `fanout clickhouse cluster-ddl` from\n"
        f"-- {source}: edit that file, never this one.\n"
        "-- Replicated `*_local` tables on every node, views on the local tables, and\n"
        "-- Distributed tables with the names the reports query, sharded by campaign_id and\n"
        "-- lead_id (those the table has). Macros {cluster}, {shard}, {replica} come from\n"
        "-- each server's config.\n"
    )


def cluster_ddl(directory: Path = MIGRATIONS_DIR) -> dict[str, str]:
    """File name → text of every cluster migration, from the single-node `directory`."""
    return {
        f"{m.version:04d}_{m.name}.sql": _header(m) + ";\n\n".join(m.statements) + "\n"
        for m in cluster_migrations(directory)
    }
