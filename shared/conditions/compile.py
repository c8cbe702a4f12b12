"""Typed condition → a parameterised boolean SQL fragment over `leads l`.

Every comparison is two-valued: true or false, never NULL, wherever NULL could change the
answer. Under `all`/`any` alone a NULL leaf behaves as false in WHERE, so leaves stay bare
there (and index-friendly); below a `not`, and inside `ne`/`not_in`/`exists: false`, nullable
leaves are wrapped in COALESCE(..., false) so NOT means "does not match".
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.conditions.ast import (
    Ago,
    All,
    AnyOf,
    Attribute,
    Column,
    Comparison,
    Condition,
    Kind,
    Not,
    Op,
)
from shared.conditions.fields import COLUMNS
from shared.conditions.sql import json_path, typed
from shared.conditions.text import fold, like_literal

SQL_OPS = {Op.LT: "<", Op.LTE: "<=", Op.GT: ">", Op.GTE: ">=", Op.BEFORE: "<", Op.AFTER: ">"}
NEGATED = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN}
SLACK = timedelta(hours=15)  # dates.py admits offsets up to ±14:59
CASTS = {
    Kind.TEXT: "text",
    Kind.NUMBER: "numeric",
    Kind.BOOLEAN: "boolean",
    Kind.DATE: "timestamptz",
}


@dataclass(frozen=True)
class CompiledCondition:
    """`sql`: a boolean expression over `leads l` with $n placeholders; `params`: their values."""

    sql: str
    params: list[Any] = field(default_factory=list)


def compile_condition(cond: Condition, *, now: datetime, first_param: int = 1) -> CompiledCondition:
    """Compile `cond`; relative dates become absolute parameters computed from `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    compiler = _Compiler(now, first_param)
    # every node compiles to a parenthesised expression, safe to AND onto another WHERE
    sql = compiler.node(cond, strict=False)
    return CompiledCondition(sql=sql, params=compiler.params)


class _Compiler:
    def __init__(self, now: datetime, first_param: int) -> None:
        self.now = now
        self.first = first_param
        self.params: list[Any] = []

    def param(self, value: Any, cast: str) -> str:
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}::{cast}"

    def node(self, cond: Condition, *, strict: bool) -> str:
        if isinstance(cond, All | AnyOf):
            joiner = " AND " if isinstance(cond, All) else " OR "
            return "(" + joiner.join(self.node(c, strict=strict) for c in cond.children) + ")"
        if isinstance(cond, Not):
            return f"(NOT {self.node(cond.child, strict=True)})"
        if isinstance(cond, Comparison):
            return self.comparison(cond, strict=strict)
        raise TypeError(f"not a condition: {cond!r}")

    def comparison(self, cmp: Comparison, *, strict: bool) -> str:
        if cmp.op in NEGATED:
            return f"(NOT {self.comparison(_with_op(cmp, NEGATED[cmp.op]), strict=True)})"
        sql, nullable = self.leaf(cmp)
        return f"COALESCE({sql}, false)" if strict and nullable else f"({sql})"

    def leaf(self, cmp: Comparison) -> tuple[str, bool]:
        """The SQL of one positive comparison and whether it can evaluate to NULL."""
        if cmp.kind is Kind.PRESENCE:
            return _presence(cmp), False
        if cmp.kind is Kind.TAGS:
            return self.tags(cmp), False
        if cmp.op is Op.EQ and isinstance(cmp.target, Attribute) and cmp.kind is not Kind.DATE:
            # jsonb containment uses the GIN (jsonb_path_ops) index; it is exact for scalars
            return f"l.attributes @> {self.param(_containment(cmp), 'text')}::jsonb", False
        expr, nullable = typed(cmp.target, cmp.kind)
        sql = self.typed_leaf(cmp, expr)
        if isinstance(cmp.target, Attribute) and cmp.kind is Kind.DATE:
            sql = self.date_prefilter(cmp, sql)
        return sql, nullable

    def typed_leaf(self, cmp: Comparison, expr: str) -> str:
        cast, value = CASTS[cmp.kind], cmp.value
        if cmp.op is Op.WITHIN_LAST:
            assert isinstance(value, timedelta)
            start, end = self.param(self.now - value, cast), self.param(self.now, cast)
            return f"{expr} BETWEEN {start} AND {end}"
        if cmp.op is Op.IN:
            return f"{expr} = ANY({self.param(list(_as_tuple(value)), cast + '[]')})"
        if cmp.op in (Op.STARTS_WITH, Op.ENDS_WITH, Op.CONTAINS_TEXT):
            return f'lower({expr} COLLATE "C") LIKE {self.param(_pattern(cmp), "text")}'
        if isinstance(value, Ago):
            value = value.resolve(self.now)
        if cmp.op is Op.EQ:
            return f"{expr} = {self.param(value, cast)}"
        collate = ' COLLATE "C"' if cmp.kind is Kind.TEXT else ""  # code-point order, as Python
        return f"{expr}{collate} {SQL_OPS[cmp.op]} {self.param(value, cast)}"

    def date_prefilter(self, cmp: Comparison, sql: str) -> str:
        """Put a cheap text comparison before the costly date check of a string attribute.

        A date string starts with its local calendar date and offsets stay within ±15 h, so
        an instant in [low, high] is written on a day in [low - 15 h, high + 15 h]; comparing
        the raw text against those days discards most rows before the regex and the cast.
        The test is only necessary, never sufficient: the exact check still follows.
        """
        low, high = _date_bounds(cmp, self.now)
        text = json_path(_attribute(cmp), as_text=True) + ' COLLATE "C"'
        tests = []
        with contextlib.suppress(OverflowError):
            if low is not None:
                tests.append(f"{text} >= {self.param(_day(low - SLACK), 'text')}")
            if high is not None:
                tests.append(f"{text} < {self.param(_day(high + SLACK + timedelta(1)), 'text')}")
        return " AND ".join([*tests, sql])

    def tags(self, cmp: Comparison) -> str:
        if cmp.op is Op.CONTAINS:
            return f"l.tags @> ARRAY[{self.param(cmp.value, 'text')}]"
        array = self.param(list(_as_tuple(cmp.value)), "text[]")
        return f"l.tags && {array}" if cmp.op is Op.CONTAINS_ANY else f"l.tags @> {array}"


def _date_bounds(cmp: Comparison, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The instants a matching date must lie between (None: unbounded on that side)."""
    value = cmp.value
    if isinstance(value, timedelta):
        return now - value, now
    assert isinstance(value, datetime | Ago)
    moment = value.resolve(now) if isinstance(value, Ago) else value
    if cmp.op in (Op.LT, Op.LTE, Op.BEFORE):
        return None, moment
    if cmp.op in (Op.GT, Op.GTE, Op.AFTER):
        return moment, None
    return moment, moment


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _attribute(cmp: Comparison) -> Attribute:
    assert isinstance(cmp.target, Attribute)
    return cmp.target


def _presence(cmp: Comparison) -> str:
    target = cmp.target
    if isinstance(target, Column):
        spec = COLUMNS[target.name]
        test = "cardinality(l.tags) > 0" if spec.kind is Kind.TAGS else f"{spec.sql} IS NOT NULL"
    else:
        test = f"COALESCE(jsonb_typeof({json_path(target)}) <> 'null', false)"
    return test if cmp.value is True else f"NOT ({test})"


def _containment(cmp: Comparison) -> str:
    """`{"a": {"b": value}}` as JSON text: what an attribute equal to `value` contains."""
    assert isinstance(cmp.target, Attribute)
    value = cmp.value
    text = str(value) if isinstance(value, Decimal) else json.dumps(value)
    for key in reversed(cmp.target.path):
        text = f"{{{json.dumps(key)}: {text}}}"
    return text


def _pattern(cmp: Comparison) -> str:
    assert isinstance(cmp.value, str)
    literal = like_literal(fold(cmp.value))
    if cmp.op is Op.STARTS_WITH:
        return literal + "%"
    if cmp.op is Op.ENDS_WITH:
        return "%" + literal
    return "%" + literal + "%"


def _as_tuple(value: Any) -> tuple[Any, ...]:
    assert isinstance(value, tuple)
    return value


def _with_op(cmp: Comparison, op: Op) -> Comparison:
    return Comparison(field=cmp.field, target=cmp.target, op=op, kind=cmp.kind, value=cmp.value)
