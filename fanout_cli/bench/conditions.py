"""`fanout bench conditions`: every operator of the condition language on N leads, with their plans.

Loads N synthetic leads with COPY into a scratch database beside FANOUT_DATABASE_URL's
(all migrations applied, so the real indexes), ANALYZEs, then times each condition's
preview as `POST /segments/preview` runs it (its count, a sample and its warnings; median
of --runs) and shows which indexes its count's plan uses and the parallel workers it
launched (EXPLAIN ANALYZE). The database is dropped afterwards.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from fanout_cli.bench.scratch import scratch_database
from services.campaign_api.condition_warnings import warnings_for
from services.campaign_api.segments import preview_segment
from shared.conditions import compile_condition, parse_condition

NOW = datetime.now(UTC)
SAMPLE = 10  # leads a preview returns (POST /segments/preview)
COUNTRIES = ["US", "US", "US", "DE", "FR", "GB", "ES", "IT", "NL", "SE", "PL", "BR"]
TAGS = ["vip", "newsletter", "trial", "churned", "beta", "partner"]
PLANS = ["free", "free", "free", "pro", "team"]
COLUMNS = [
    "account_id", "email", "first_name", "last_name", "country", "tags", "attributes",
    "created_at", "updated_at", "unsubscribed_at",
]  # fmt: skip
# (operator, label, condition): every operator of docs/conditions.md at least once, on the
# field where it costs the most (attributes where the operator applies to them)
CONDITIONS: list[tuple[str, str, Any]] = [
    ("eq", 'country eq "DE"', {"field": "country", "op": "eq", "value": "DE"}),
    ("eq", 'attributes.plan eq "team"', {"field": "attributes.plan", "op": "eq", "value": "team"}),
    ("eq", "attributes.newsletter eq true",
     {"field": "attributes.newsletter", "op": "eq", "value": True}),
    ("ne", 'attributes.plan ne "free"', {"field": "attributes.plan", "op": "ne", "value": "free"}),
    ("lt", "attributes.age lt 25", {"field": "attributes.age", "op": "lt", "value": 25}),
    ("lte", 'last_name lte "Last2"', {"field": "last_name", "op": "lte", "value": "Last2"}),
    ("gt", 'attributes.plan gt "pro"', {"field": "attributes.plan", "op": "gt", "value": "pro"}),
    ("gte", "attributes.age gte 65", {"field": "attributes.age", "op": "gte", "value": 65}),
    ("in", "attributes.age in [18, 19, 20]",
     {"field": "attributes.age", "op": "in", "value": [18, 19, 20]}),
    ("not_in", 'country not_in ["US", "DE"]',
     {"field": "country", "op": "not_in", "value": ["US", "DE"]}),
    ("starts_with", 'first_name starts_with "first12"',
     {"field": "first_name", "op": "starts_with", "value": "first12"}),
    ("ends_with", 'email ends_with "@EXAMPLE7.com"',
     {"field": "email", "op": "ends_with", "value": "@EXAMPLE7.com"}),
    ("contains_text", 'attributes.plan contains_text "EA"',
     {"field": "attributes.plan", "op": "contains_text", "value": "EA"}),
    ("contains", 'tags contains "partner"',
     {"field": "tags", "op": "contains", "value": "partner"}),
    ("contains_any", 'tags contains_any ["trial", "beta"]',
     {"field": "tags", "op": "contains_any", "value": ["trial", "beta"]}),
    ("contains_all", 'tags contains_all ["vip", "newsletter"]',
     {"field": "tags", "op": "contains_all", "value": ["vip", "newsletter"]}),
    ("before", 'created_at before {"ago": {"days": 365}}',
     {"field": "created_at", "op": "before", "value": {"ago": {"days": 365}}}),
    ("before", 'attributes.renewal before "2030-01-01" (worst case)',
     {"field": "attributes.renewal", "op": "before", "value": "2030-01-01"}),
    ("after", 'attributes.renewal after "2000-01-01" (worst case)',
     {"field": "attributes.renewal", "op": "after", "value": "2000-01-01"}),
    ("within_last", 'created_at within_last {"days": 7}',
     {"field": "created_at", "op": "within_last", "value": {"days": 7}}),
    ("within_last", 'attributes.renewal within_last {"days": 30}',
     {"field": "attributes.renewal", "op": "within_last", "value": {"days": 30}}),
    ("exists", "unsubscribed_at exists true",
     {"field": "unsubscribed_at", "op": "exists", "value": True}),
    ("exists", "attributes.renewal exists false",
     {"field": "attributes.renewal", "op": "exists", "value": False}),
    ("all", 'all: tags contains "vip", plan eq "team", country in ["US", "GB"]', {
        "all": [
            {"field": "tags", "op": "contains", "value": "vip"},
            {"field": "attributes.plan", "op": "eq", "value": "team"},
            {"field": "country", "op": "in", "value": ["US", "GB"]},
        ]
    }),
    ("not", 'all: tags contains "vip", not tags contains "churned", unsubscribed_at exists false',
     {
        "all": [
            {"field": "tags", "op": "contains", "value": "vip"},
            {"not": {"field": "tags", "op": "contains", "value": "churned"}},
            {"field": "unsubscribed_at", "op": "exists", "value": False},
        ]
    }),
]  # fmt: skip


def synthetic_leads(account_id: uuid.UUID, n: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """N lead rows for COPY, generated lazily (memory stays flat)."""
    rng = random.Random(seed)
    for i in range(n):
        created = NOW - timedelta(seconds=rng.randrange(730 * 86400))
        attributes: dict[str, Any] = {
            "age": rng.randint(18, 90),
            "plan": rng.choice(PLANS),
            "newsletter": rng.random() < 0.3,
        }
        if rng.random() < 0.7:
            renewal = NOW + timedelta(days=rng.randint(-365, 365))
            attributes["renewal"] = renewal.date().isoformat()
        unsubscribed = created + timedelta(days=1) if rng.random() < 0.05 else None
        yield (
            account_id, f"user{i}@example{i % 97}.com", f"First{i}", f"Last{i}",
            rng.choice(COUNTRIES), rng.sample(TAGS, rng.randint(0, 3)), json.dumps(attributes),
            created, created, unsubscribed,
        )  # fmt: skip


async def load_leads(pool: asyncpg.Pool, n: int, name: str) -> uuid.UUID:
    """A new account named `name` holding `n` synthetic leads (COPY), the table analysed."""
    account_id: uuid.UUID = await pool.fetchval(
        "INSERT INTO accounts (name) VALUES ($1) RETURNING id", name
    )
    async with pool.acquire() as conn:
        leads = synthetic_leads(account_id, n)
        await conn.copy_records_to_table("leads", records=leads, columns=COLUMNS)
        await conn.execute("VACUUM ANALYZE leads")
    return account_id


def plan_summary(node: dict[str, Any]) -> list[str]:
    """Scan nodes of an EXPLAIN (FORMAT JSON) plan, with their index names, and the
    parallel workers a Gather launched."""
    found = []
    kind = node["Node Type"]
    if kind.startswith("Gather"):
        found.append(f"{kind}({node.get('Workers Launched', 0)} workers)")
    if "Scan" in kind:
        kind = f"Parallel {kind}" if node.get("Parallel Aware") else kind
        index = node.get("Index Name")
        found.append(f"{kind}({index})" if index else kind)
    for child in node.get("Plans", []):
        found.extend(plan_summary(child))
    return found


async def measure(
    pool: asyncpg.Pool, account_id: uuid.UUID, raw: Any, runs: int
) -> tuple[int, float, str]:
    """(matched, median seconds of the preview, scans used by its count's plan).

    The preview is what `POST /segments/preview` runs against PostgreSQL: the count and a
    sample of SAMPLE leads (`preview_segment`, in its read-only transaction), then the
    condition's warnings (`warnings_for`)."""
    condition = parse_condition(raw)
    compiled = compile_condition(condition, now=NOW, first_param=2)
    query = f"SELECT count(*) FROM leads l WHERE l.account_id = $1 AND {compiled.sql}"
    timings, matched = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        matched, _sample = await preview_segment(pool, account_id, condition, NOW, SAMPLE)
        await warnings_for(pool, account_id, condition)
        timings.append(time.perf_counter() - started)
    async with pool.acquire() as conn:
        plan = await conn.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", account_id, *compiled.params
        )
    scans = plan_summary(json.loads(plan)[0]["Plan"])
    return matched, statistics.median(timings), " + ".join(scans)


@dataclass(frozen=True)
class ConditionFigures:
    """One condition: leads matched, median time of its preview, scans of its count's plan."""

    operator: str
    label: str
    matched: int
    median_s: float
    scans: str


async def run_conditions(
    database_url: str, n: int, runs: int
) -> tuple[float, list[ConditionFigures]]:
    """Load `n` leads into a scratch database; (load seconds, figures of every condition)."""
    async with scratch_database(database_url) as scratch:
        pool = scratch.pool
        started = time.perf_counter()
        account_id = await load_leads(pool, n, "conditions bench")
        loaded = time.perf_counter() - started
        figures = [
            ConditionFigures(op, label, *await measure(pool, account_id, raw, runs))
            for op, label, raw in CONDITIONS
        ]
    return loaded, figures
