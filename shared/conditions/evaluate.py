"""A plain Python evaluator with exactly the semantics of the compiled SQL."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.conditions.ast import Ago, All, AnyOf, Attribute, Comparison, Condition, Kind, Not, Op
from shared.conditions.dates import parse_date
from shared.conditions.text import fold

_ORDER = {
    Op.LT: lambda a, b: a < b,
    Op.LTE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GTE: lambda a, b: a >= b,
    Op.BEFORE: lambda a, b: a < b,
    Op.AFTER: lambda a, b: a > b,
}


def evaluate(cond: Condition, lead: Mapping[str, Any], now: datetime) -> bool:
    """Whether `lead` (column name → value; attributes a dict or JSON text) matches `cond`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(cond, All):
        return all(evaluate(c, lead, now) for c in cond.children)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, lead, now) for c in cond.children)
    if isinstance(cond, Not):
        return not evaluate(cond.child, lead, now)
    if isinstance(cond, Comparison):
        return _comparison(cond, lead, now)
    raise TypeError(f"not a condition: {cond!r}")


def _comparison(cmp: Comparison, lead: Mapping[str, Any], now: datetime) -> bool:
    op, value = cmp.op, cmp.value
    if op is Op.NE:
        return not _positive(cmp, Op.EQ, lead, now)
    if op is Op.NOT_IN:
        return not _positive(cmp, Op.IN, lead, now)
    if cmp.kind is Kind.PRESENCE:
        return _present(cmp, lead) is value
    if cmp.kind is Kind.TAGS:
        return _tags(cmp, list(lead.get("tags") or ()))
    return _positive(cmp, op, lead, now)


def _positive(cmp: Comparison, op: Op, lead: Mapping[str, Any], now: datetime) -> bool:
    actual = _read(cmp, lead)
    if actual is None:  # missing, NULL or another JSON type: no positive comparison matches
        return False
    value = cmp.value
    if op is Op.WITHIN_LAST:
        assert isinstance(value, timedelta)
        return bool(now - value <= actual <= now)
    if op is Op.IN:
        assert isinstance(value, tuple)
        return actual in value
    if op in (Op.STARTS_WITH, Op.ENDS_WITH, Op.CONTAINS_TEXT):
        assert isinstance(value, str)
        return _text_match(op, fold(actual), fold(value))
    if isinstance(value, Ago):
        value = value.resolve(now)
    if op is Op.EQ:
        return bool(actual == value)
    return bool(_ORDER[op](actual, value))


def _text_match(op: Op, actual: str, value: str) -> bool:
    if op is Op.STARTS_WITH:
        return actual.startswith(value)
    if op is Op.ENDS_WITH:
        return actual.endswith(value)
    return value in actual


def _tags(cmp: Comparison, tags: list[Any]) -> bool:
    if cmp.op is Op.CONTAINS:
        return cmp.value in tags
    assert isinstance(cmp.value, tuple)
    if cmp.op is Op.CONTAINS_ANY:
        return any(v in tags for v in cmp.value)
    return all(v in tags for v in cmp.value)


def _present(cmp: Comparison, lead: Mapping[str, Any]) -> bool:
    if isinstance(cmp.target, Attribute):
        return _walk(lead, cmp.target) is not None
    if cmp.target.name == "tags":
        return bool(lead.get("tags"))
    return lead.get(cmp.target.name) is not None


def _read(cmp: Comparison, lead: Mapping[str, Any]) -> Any:
    """The lead's value as the comparison's kind, or None when it has no such value."""
    if isinstance(cmp.target, Attribute):
        return _typed_json(_walk(lead, cmp.target), cmp.kind)
    raw = lead.get(cmp.target.name)
    if isinstance(raw, datetime) and raw.tzinfo is None:
        return raw.replace(tzinfo=UTC)
    return raw


def _walk(lead: Mapping[str, Any], attribute: Attribute) -> Any:
    node: Any = lead.get("attributes")
    if isinstance(node, str | bytes):
        node = json.loads(node)
    for key in attribute.path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _typed_json(raw: Any, kind: Kind) -> Any:
    """Mirror of sql.typed: a JSON value of another type reads as None."""
    if kind is Kind.BOOLEAN:
        return raw if isinstance(raw, bool) else None
    if kind is Kind.TEXT:
        return raw if isinstance(raw, str) else None
    if kind is Kind.DATE:
        return parse_date(raw) if isinstance(raw, str) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if isinstance(raw, float):
        # jsonb keeps the JSON text, so compare the decimal that text denotes
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    return Decimal(raw)
