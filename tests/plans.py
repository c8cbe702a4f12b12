"""What Postgres plans for a statement: the tables it reads, and how (for tests that
keep per-key look-ups index probes whatever size the tables are)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson


@dataclass(frozen=True)
class Scan:
    """One read of a table in a plan: the node type (`Index Only Scan`...), whether a
    hash node is built above it (the whole table read into a hash), and whether it sits in
    a hashed subplan; the index read, if any, with its condition, and the filter applied
    to the rows it reads."""

    relation: str
    node: str
    hashed: bool
    index: str | None = None
    index_cond: str | None = None
    filter: str | None = None


async def generic_plan_scans(conn: asyncpg.Connection, sql: str, types: list[str]) -> list[Scan]:
    """The table reads of `sql`'s generic plan (the plan a pooled connection keeps), its
    parameters of `types`, made on `conn` with that session's planner settings."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        await conn.execute(f"PREPARE probe_plan({', '.join(types)}) AS {sql}")
        nulls = ", ".join("NULL" for _ in types)
        text = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE probe_plan({nulls})")
    finally:
        await conn.execute("DEALLOCATE ALL")
        await conn.execute("RESET plan_cache_mode")
    return _scans(text)


async def custom_plan_scans(conn: asyncpg.Connection, sql: str, args: list[Any]) -> list[Scan]:
    """The table reads of `sql`'s plan for these `args` (planned with their values: how
    many keys each array holds, as the first executions of a pooled statement are)."""
    return _scans(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))


def _scans(explained: str) -> list[Scan]:
    """The table reads of an EXPLAIN (FORMAT JSON) answer."""
    scans: list[Scan] = []
    _walk(orjson.loads(explained)[0]["Plan"], False, scans)
    return scans


def _walk(node: dict[str, Any], hashed: bool, out: list[Scan]) -> None:
    hashed = hashed or node["Node Type"] == "Hash" or "hashed" in node.get("Subplan Name", "")
    if "Relation Name" in node and node["Node Type"] != "ModifyTable":  # a read, not the write
        index = node.get("Index Name") or _bitmap_indexes(node)
        out.append(
            Scan(
                node["Relation Name"],
                node["Node Type"],
                hashed,
                index,
                node.get("Index Cond"),
                node.get("Filter"),
            )
        )
    for child in node.get("Plans", []):
        _walk(child, hashed, out)


def _bitmap_indexes(node: dict[str, Any]) -> str | None:
    """The indexes a bitmap heap scan reads (its bitmap index scans), joined by `+`."""
    names: list[str] = []
    stack = list(node.get("Plans", []))
    while stack:
        child = stack.pop(0)
        if child["Node Type"] == "Bitmap Index Scan":
            names.append(child["Index Name"])
        elif child["Node Type"] in {"BitmapAnd", "BitmapOr"}:
            stack.extend(child.get("Plans", []))
    return "+".join(names) or None
