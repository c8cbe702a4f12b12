"""The field whitelist: which names a condition may use and what each one is.

Only these names (and `attributes.<key>` with keys matching ATTRIBUTE_KEY) ever reach SQL,
so a field name can never inject SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.conditions.ast import Attribute, Column, Kind, Target

ATTRIBUTE_PREFIX = "attributes."
ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_ATTRIBUTE_DEPTH = 4


@dataclass(frozen=True)
class ColumnSpec:
    """A whitelisted lead column: its SQL expression, type and whether it can be NULL."""

    sql: str
    kind: Kind
    nullable: bool


COLUMNS: dict[str, ColumnSpec] = {
    "email": ColumnSpec("l.email", Kind.TEXT, nullable=False),
    "first_name": ColumnSpec("l.first_name", Kind.TEXT, nullable=True),
    "last_name": ColumnSpec("l.last_name", Kind.TEXT, nullable=True),
    "country": ColumnSpec("l.country", Kind.TEXT, nullable=True),
    "tags": ColumnSpec("l.tags", Kind.TAGS, nullable=False),
    "created_at": ColumnSpec("l.created_at", Kind.DATE, nullable=False),
    "updated_at": ColumnSpec("l.updated_at", Kind.DATE, nullable=False),
    "unsubscribed_at": ColumnSpec("l.unsubscribed_at", Kind.DATE, nullable=True),
}

FIELD_HINT = ", ".join(COLUMNS) + " or attributes.<key>"


def resolve_field(name: str) -> Target | None:
    """The target a field name denotes, or None when the name is not allowed."""
    if name in COLUMNS:
        return Column(name)
    if not name.startswith(ATTRIBUTE_PREFIX):
        return None
    keys = tuple(name[len(ATTRIBUTE_PREFIX) :].split("."))
    if len(keys) > MAX_ATTRIBUTE_DEPTH:
        return None
    if not all(ATTRIBUTE_KEY.fullmatch(key) for key in keys):
        return None
    return Attribute(keys)
