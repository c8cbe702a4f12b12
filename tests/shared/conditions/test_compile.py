"""compile_condition: values only ever travel as parameters; index-friendly shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.conditions import compile_condition, parse_condition

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
TEXT_SHAPES = [
    ("email", "eq"),
    ("first_name", "ne"),
    ("last_name", "lt"),
    ("country", "in"),
    ("country", "not_in"),
    ("email", "starts_with"),
    ("first_name", "ends_with"),
    ("last_name", "contains_text"),
    ("tags", "contains"),
    ("tags", "contains_any"),
    ("attributes.note", "eq"),
    ("attributes.note", "gte"),
    ("attributes.note", "not_in"),
    ("attributes.a.b", "contains_text"),
]
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


def _shape(field: str, op: str, value: str) -> dict[str, Any]:
    many = op in ("in", "not_in", "contains_any")
    return {"field": field, "op": op, "value": [value, value + "2"] if many else value}


@settings(max_examples=150, deadline=None)
@given(shape=st.sampled_from(TEXT_SHAPES), first=texts, second=texts)
def test_compile_condition_sql_independent_of_text_values(
    shape: tuple[str, str], first: str, second: str
) -> None:
    field, op = shape
    sentinel = "zq'\";--" + first
    one = compile_condition(parse_condition(_shape(field, op, sentinel)), now=NOW)
    two = compile_condition(parse_condition(_shape(field, op, second)), now=NOW)
    assert one.sql == two.sql
    assert sentinel not in one.sql
    assert "zq'" not in one.sql
    assert len(one.params) == len(two.params) >= 1


@settings(max_examples=50, deadline=None)
@given(
    first=st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    second=st.integers(-(10**6), 10**6),
)
def test_compile_condition_sql_independent_of_numbers(first: float, second: int) -> None:
    if first and abs(Decimal(repr(first)).adjusted()) > 100:
        return
    sqls = {
        compile_condition(parse_condition(cond), now=NOW).sql
        for value in (first, second)
        for cond in (
            {"field": "attributes.score", "op": "gt", "value": value},
            {"field": "attributes.score", "op": "eq", "value": value},
        )
    }
    assert len(sqls) == 2  # one per operator, whatever the number


def test_compile_condition_numbers_placeholders_from_first_param() -> None:
    cond = parse_condition(
        {
            "all": [
                {"field": "country", "op": "eq", "value": "US"},
                {"field": "created_at", "op": "within_last", "value": {"days": 30}},
                {"not": {"field": "attributes.score", "op": "in", "value": [1, 2.5]}},
            ]
        }
    )
    compiled = compile_condition(cond, now=NOW, first_param=3)
    numbers = [int(n) for n in re.findall(r"\$(\d+)", compiled.sql)]
    assert numbers == [3, 4, 5, 6]
    assert compiled.params == [
        "US",
        NOW - timedelta(days=30),
        NOW,
        [Decimal(1), Decimal("2.5")],
    ]


@pytest.mark.parametrize(
    ("raw", "sql", "params"),
    [
        (
            {"field": "tags", "op": "contains", "value": "vip"},
            "(l.tags @> ARRAY[$1::text])",
            ["vip"],
        ),
        (
            {"field": "attributes.plan", "op": "eq", "value": "pro"},
            "(l.attributes @> $1::text::jsonb)",
            ['{"plan": "pro"}'],
        ),
        (
            {"field": "attributes.a.b", "op": "eq", "value": 1.5},
            "(l.attributes @> $1::text::jsonb)",
            ['{"a": {"b": 1.5}}'],
        ),
        ({"field": "country", "op": "eq", "value": "US"}, "(l.country = $1::text)", ["US"]),
        (
            {"field": "created_at", "op": "gte", "value": {"ago": {"days": 7}}},
            "(l.created_at >= $1::timestamptz)",
            [NOW - timedelta(days=7)],
        ),
        (
            {"field": "first_name", "op": "starts_with", "value": "A_b%"},
            '(lower(l.first_name COLLATE "C") LIKE $1::text)',
            ["a\\_b\\%%"],
        ),
        (
            {"not": {"field": "country", "op": "eq", "value": "US"}},
            "(NOT COALESCE(l.country = $1::text, false))",
            ["US"],
        ),
    ],
)
def test_compile_condition_index_friendly_shapes(raw: Any, sql: str, params: list[Any]) -> None:
    compiled = compile_condition(parse_condition(raw), now=NOW)
    assert compiled.sql == sql
    assert compiled.params == params


def test_compile_condition_requires_aware_now() -> None:
    cond = parse_condition({"field": "email", "op": "exists", "value": True})
    with pytest.raises(ValueError, match="timezone-aware"):
        compile_condition(cond, now=datetime(2025, 1, 1))
