"""JSON (already decoded) → typed condition tree, or a ConditionError naming the bad node."""

from __future__ import annotations

from typing import Any

from shared.conditions import values
from shared.conditions.ast import (
    All,
    AnyOf,
    Column,
    Comparison,
    Condition,
    Kind,
    Not,
    Op,
    Target,
    Value,
)
from shared.conditions.errors import ConditionError
from shared.conditions.fields import COLUMNS, FIELD_HINT, resolve_field

MAX_DEPTH = 16
MAX_NODES = 500
COMBINATORS = ("all", "any", "not")
COMPARISON_KEYS = ("field", "op", "value")
NODE_HINT = (
    'expected an object: {"all": [...]}, {"any": [...]}, {"not": {...}} '
    'or {"field": ..., "op": ..., "value": ...}'
)

ORDERING = (Op.LT, Op.LTE, Op.GT, Op.GTE)
OPS_BY_KIND: dict[Kind, tuple[Op, ...]] = {
    Kind.TEXT: (Op.EQ, Op.NE, *ORDERING, Op.IN, Op.NOT_IN)
    + (Op.STARTS_WITH, Op.ENDS_WITH, Op.CONTAINS_TEXT, Op.EXISTS),
    Kind.DATE: (Op.EQ, Op.NE, *ORDERING, Op.BEFORE, Op.AFTER, Op.WITHIN_LAST, Op.EXISTS),
    Kind.TAGS: (Op.CONTAINS, Op.CONTAINS_ANY, Op.CONTAINS_ALL, Op.EXISTS),
}
OP_NAMES = frozenset(op.value for op in Op)
ATTRIBUTE_OPS = tuple(op for op in Op if op not in OPS_BY_KIND[Kind.TAGS] or op is Op.EXISTS)


def parse_condition(raw: Any) -> Condition:
    """Validate a JSON-decoded condition and return its typed tree.

    Raises ConditionError (path + what was expected) for anything the language does not
    define: unknown keys, fields or operators, wrongly typed values, empty combinators,
    nesting deeper than MAX_DEPTH, more than MAX_NODES nodes, oversized lists or strings.
    """
    return _Parser().node(raw, "$", 1)


class _Parser:
    def __init__(self) -> None:
        self.nodes = 0

    def node(self, raw: Any, path: str, depth: int) -> Condition:
        if depth > MAX_DEPTH:
            raise ConditionError(path, f"expected at most {MAX_DEPTH} levels of nesting")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConditionError(path, f"expected at most {MAX_NODES} conditions in total")
        if not isinstance(raw, dict) or not raw:
            raise ConditionError(path, NODE_HINT)
        combinators = [key for key in COMBINATORS if key in raw]
        if combinators:
            return self.combinator(raw, path, depth, combinators[0])
        if any(key in raw for key in COMPARISON_KEYS):
            return comparison(raw, path)
        raise ConditionError(values.child_path(path, next(iter(raw))), f"unknown key; {NODE_HINT}")

    def combinator(self, raw: dict[Any, Any], path: str, depth: int, name: str) -> Condition:
        _only_keys(raw, path, (name,), f"a {name!r} node has no other keys")
        where = f"{path}.{name}"
        body = raw[name]
        if name == "not":
            return Not(self.node(body, where, depth + 1))
        if not isinstance(body, list) or not body:
            raise ConditionError(where, "expected a non-empty list of conditions")
        children = tuple(self.node(c, f"{where}[{i}]", depth + 1) for i, c in enumerate(body))
        return All(children) if name == "all" else AnyOf(children)


def _only_keys(raw: dict[Any, Any], path: str, allowed: tuple[str, ...], hint: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConditionError(values.child_path(path, key), f"unexpected key; {hint}")


def comparison(raw: dict[Any, Any], path: str) -> Comparison:
    _only_keys(raw, path, COMPARISON_KEYS, "a comparison has exactly 'field', 'op' and 'value'")
    for key in COMPARISON_KEYS:
        if key not in raw:
            raise ConditionError(path, f"missing {key!r}; a comparison has 'field', 'op', 'value'")
    field, op = _field(raw["field"], f"{path}.field"), _op(raw["op"], f"{path}.op")
    target = resolve_field(field)
    assert target is not None
    kind = _kind(target, field, op, raw["value"], path)
    value = _value(kind, op, raw["value"], f"{path}.value")
    return Comparison(field=field, target=target, op=op, kind=kind, value=value)


def _field(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or resolve_field(raw) is None:
        shown = repr(raw) if isinstance(raw, str) else "a non-string"
        raise ConditionError(
            path,
            f"unknown field {shown}; expected one of {FIELD_HINT} "
            "(keys: letters, digits, _; up to 64 characters; up to 4 levels joined by '.')",
        )
    return raw


def _op(raw: Any, path: str) -> Op:
    if isinstance(raw, str) and raw in OP_NAMES:
        return Op(raw)
    shown = repr(raw) if isinstance(raw, str) else "a non-string"
    raise ConditionError(path, f"unknown operator {shown}; expected one of {_names(tuple(Op))}")


def _kind(target: Target, field: str, op: Op, raw: Any, path: str) -> Kind:
    """The comparison type: a column's own; an attribute's from the operator and the value."""
    if op is Op.EXISTS:
        return Kind.PRESENCE
    if isinstance(target, Column):
        kind = COLUMNS[target.name].kind
        allowed = OPS_BY_KIND[kind]
        if op not in allowed:
            raise ConditionError(
                f"{path}.op",
                f"operator {op.value!r} does not apply to {kind.value} field {field!r}; "
                f"expected one of {_names(allowed)}",
            )
        return kind
    if op not in ATTRIBUTE_OPS:
        raise ConditionError(
            f"{path}.op",
            f"operator {op.value!r} applies to tags only; expected one of {_names(ATTRIBUTE_OPS)}",
        )
    return _attribute_kind(op, raw, f"{path}.value")


def _attribute_kind(op: Op, raw: Any, path: str) -> Kind:
    """Attributes are typed by the value: a number compares as a number, and so on."""
    if op in (Op.BEFORE, Op.AFTER, Op.WITHIN_LAST):
        return Kind.DATE
    if op in (Op.STARTS_WITH, Op.ENDS_WITH, Op.CONTAINS_TEXT):
        return Kind.TEXT
    if op in (Op.IN, Op.NOT_IN):
        probe = raw[0] if isinstance(raw, list) and raw else None
        if values.is_number(probe):
            return Kind.NUMBER
        return Kind.TEXT
    if values.is_relative_date(raw):
        return Kind.DATE
    if isinstance(raw, bool):
        if op not in (Op.EQ, Op.NE):
            raise ConditionError(path, f"true/false compare with eq and ne only, not {op.value!r}")
        return Kind.BOOLEAN
    if values.is_number(raw):
        return Kind.NUMBER
    if isinstance(raw, str):
        return Kind.TEXT
    raise ConditionError(
        path,
        'expected a string, a number, true/false or {"ago": {...}}; '
        'to test for a missing value use {"op": "exists", "value": false}',
    )


def _value(kind: Kind, op: Op, raw: Any, path: str) -> Value:
    if kind is Kind.PRESENCE:
        return values.boolean(raw, path)
    if kind is Kind.BOOLEAN:
        return values.boolean(raw, path)
    if kind is Kind.DATE:
        return values.duration(raw, path) if op is Op.WITHIN_LAST else values.date(raw, path)
    if kind is Kind.TAGS:
        return values.text(raw, path) if op is Op.CONTAINS else values.texts(raw, path)
    many = op in (Op.IN, Op.NOT_IN)
    if kind is Kind.NUMBER:
        return values.numbers(raw, path) if many else values.number(raw, path)
    return values.texts(raw, path) if many else values.text(raw, path)


def _names(ops: tuple[Op, ...]) -> str:
    return ", ".join(op.value for op in ops)
