"""The account's lead attribute keys and the JSON types their values have.

Read from `lead_attribute_keys`, which statement-level triggers on `leads` keep
current for every writer (migration 0008): one small indexed read here instead of
a scan of the account's leads. Keys are never removed, so the catalogue may name
a key no lead holds any more, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias
from uuid import UUID

import asyncpg

from shared.conditions.ast import All, AnyOf, Attribute, Comparison, Condition, Not

Catalogue: TypeAlias = Mapping[str, frozenset[str]]  # key → JSON types (jsonb_typeof)
CATALOGUE = """
SELECT key, array_agg(DISTINCT json_type) AS types
FROM lead_attribute_keys WHERE account_id = $1 GROUP BY key
"""


def uses_attributes(cond: Condition) -> bool:
    """Whether any comparison of `cond` reads an attribute (else no catalogue is needed)."""
    if isinstance(cond, All | AnyOf):
        return any(uses_attributes(child) for child in cond.children)
    if isinstance(cond, Not):
        return uses_attributes(cond.child)
    return isinstance(cond, Comparison) and isinstance(cond.target, Attribute)


async def attribute_catalogue(db: asyncpg.Pool | asyncpg.Connection, account: UUID) -> Catalogue:
    """Every top-level attribute key the account's leads have held, with its JSON types."""
    rows = await db.fetch(CATALOGUE, account)
    return {row["key"]: frozenset(row["types"]) for row in rows}
