"""parse_condition: accepted shapes and every kind of rejection, with the exact JSON path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.conditions import ConditionError, parse_condition
from shared.conditions.ast import Ago, All, AnyOf, Attribute, Column, Comparison, Kind, Not, Op


def _cmp(field: Any, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _error(raw: Any) -> ConditionError:
    with pytest.raises(ConditionError) as info:
        parse_condition(raw)
    return info.value


def test_parse_condition_builds_typed_tree() -> None:
    cond = parse_condition(
        {
            "all": [
                _cmp("country", "in", ["US", "DE"]),
                {"any": [_cmp("tags", "contains", "vip"), _cmp("attributes.score", "gte", 10)]},
                {"not": _cmp("created_at", "within_last", {"days": 30})},
                _cmp("attributes.renewal", "before", {"ago": {"weeks": 1, "hours": 2}}),
            ]
        }
    )
    assert cond == All(
        (
            Comparison("country", Column("country"), Op.IN, Kind.TEXT, ("US", "DE")),
            AnyOf(
                (
                    Comparison("tags", Column("tags"), Op.CONTAINS, Kind.TAGS, "vip"),
                    Comparison(
                        "attributes.score", Attribute(("score",)), Op.GTE, Kind.NUMBER, Decimal(10)
                    ),
                )
            ),
            Not(
                Comparison(
                    "created_at",
                    Column("created_at"),
                    Op.WITHIN_LAST,
                    Kind.DATE,
                    timedelta(days=30),
                )
            ),
            Comparison(
                "attributes.renewal",
                Attribute(("renewal",)),
                Op.BEFORE,
                Kind.DATE,
                Ago(timedelta(weeks=1, hours=2)),
            ),
        )
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("pro", Kind.TEXT),
        (3, Kind.NUMBER),
        (2.5, Kind.NUMBER),
        (True, Kind.BOOLEAN),
        ({"ago": {"days": 3}}, Kind.DATE),
        ("2024-05-01T00:00:00Z", Kind.TEXT),  # a string compares as a string with eq/lt/...
    ],
)
def test_parse_attribute_comparison_typed_by_value(value: Any, kind: Kind) -> None:
    cond = parse_condition(_cmp("attributes.plan", "eq", value))
    assert isinstance(cond, Comparison)
    assert cond.kind is kind


def test_parse_date_values_absolute_and_relative() -> None:
    cond = parse_condition(_cmp("attributes.renewal", "after", "2024-05-01T10:00:00+02:00"))
    assert isinstance(cond, Comparison)
    assert cond.value == datetime(2024, 5, 1, 8, tzinfo=UTC)
    bare = parse_condition(_cmp("created_at", "gte", "2024-05-01"))
    assert isinstance(bare, Comparison)
    assert bare.value == datetime(2024, 5, 1, tzinfo=UTC)


def test_parse_nested_attribute_key() -> None:
    cond = parse_condition(_cmp("attributes.address.city", "eq", "Paris"))
    assert isinstance(cond, Comparison)
    assert cond.target == Attribute(("address", "city"))


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ([], "$", "expected an object"),
        ({}, "$", "expected an object"),
        ({"or": []}, "$.or", "unknown key"),
        ({"all": []}, "$.all", "non-empty list"),
        ({"any": {}}, "$.any", "non-empty list"),
        ({"all": [_cmp("email", "eq", "a"), 7]}, "$.all[1]", "expected an object"),
        ({"all": [_cmp("email", "eq", "a")], "any": []}, "$.any", "no other keys"),
        ({"not": {"not": None}}, "$.not.not", "expected an object"),
        ({"any": [{"not": _cmp("email", "eq", 5)}]}, "$.any[0].not.value", "expected a string"),
        (_cmp("phone", "eq", "1"), "$.field", "unknown field 'phone'"),
        (_cmp(7, "eq", "1"), "$.field", "unknown field"),
        (_cmp("attributes.bad-key", "eq", "1"), "$.field", "unknown field"),
        (_cmp("attributes.", "eq", "1"), "$.field", "unknown field"),
        (_cmp("attributes." + "k" * 65, "eq", "1"), "$.field", "unknown field"),
        (_cmp("attributes.a.b.c.d.e", "eq", "1"), "$.field", "unknown field"),
        (_cmp("email", "like", "a"), "$.op", "unknown operator 'like'"),
        (_cmp("email", "contains", "a"), "$.op", "does not apply to text field 'email'"),
        (_cmp("country", "gt", 5), "$.value", "expected a string"),
        (_cmp("country", "in", []), "$.value", "non-empty list of strings"),
        (_cmp("country", "in", ["US", 5]), "$.value[1]", "expected a string"),
        (_cmp("tags", "eq", "vip"), "$.op", "does not apply to tags field"),
        (_cmp("tags", "contains", ["vip"]), "$.value", "expected a string"),
        (_cmp("tags", "contains_any", "vip"), "$.value", "non-empty list"),
        (_cmp("created_at", "gt", 5), "$.value", "ISO 8601"),
        (_cmp("created_at", "gt", "yesterday"), "$.value", "ISO 8601"),
        (_cmp("created_at", "gt", "2023-02-29"), "$.value", "ISO 8601"),
        (_cmp("created_at", "starts_with", "2024"), "$.op", "does not apply to date field"),
        (_cmp("created_at", "within_last", 30), "$.value", "a duration"),
        (_cmp("created_at", "within_last", {}), "$.value", "a duration"),
        (_cmp("created_at", "within_last", {"months": 1}), "$.value.months", "unknown unit"),
        (_cmp("created_at", "within_last", {"days": -1}), "$.value.days", "whole number"),
        (_cmp("created_at", "within_last", {"days": 1.5}), "$.value.days", "whole number"),
        (_cmp("created_at", "within_last", {"days": 0}), "$.value", "longer than zero"),
        (_cmp("created_at", "within_last", {"weeks": 10**9}), "$.value", "at most 100 years"),
        (_cmp("created_at", "within_last", {"days": 10**12}), "$.value.days", "at most 100"),
        (_cmp("created_at", "within_last", {"days": 40000}), "$.value", "at most 100 years"),
        (_cmp("created_at", "lt", {"ago": {"years": 1}}), "$.value.ago.years", "unknown unit"),
        (_cmp("attributes.score", "gt", None), "$.value", "to test for a missing value"),
        (_cmp("attributes.score", "gt", [1]), "$.value", "expected a string, a number"),
        (_cmp("attributes.active", "gt", True), "$.value", "eq and ne only"),
        (_cmp("attributes.score", "in", [1, "2"]), "$.value[1]", "finite number"),
        (_cmp("attributes.score", "eq", float("nan")), "$.value", "finite number"),
        (_cmp("attributes.score", "eq", 10**200), "$.value", "in magnitude"),
        (_cmp("attributes.tags", "contains", "x"), "$.op", "applies to tags only"),
        (_cmp("attributes.note", "starts_with", 5), "$.value", "expected a string"),
        (_cmp("attributes.renewal", "before", "soon"), "$.value", "ISO 8601"),
        (_cmp("email", "exists", "yes"), "$.value", "true or false"),
        (_cmp("email", "eq", "x" * 1001), "$.value", "at most 1000 characters"),
        (_cmp("email", "eq", "a\x00b"), "$.value", "NUL"),
        (_cmp("email", "eq", "a\ud800"), "$.value", "surrogates"),
        (_cmp("email", "in", ["a"] * 1001), "$.value", "at most 1000 values"),
        ({"field": "email", "op": "eq"}, "$", "missing 'value'"),
        ({"field": "email", "op": "eq", "value": "a", "x": 1}, "$.x", "unexpected key"),
        ({"field": "email", "op": "eq", "value": "a", "a b": 1}, '$["a b"]', "unexpected key"),
        ({"all": [_cmp("email", "eq", "a"), {"all": [{"flied": 1}]}]}, "$.all[1].all[0].flied", ""),
    ],
)
def test_parse_condition_rejects_with_path(raw: Any, path: str, fragment: str) -> None:
    error = _error(raw)
    assert error.path == path
    assert fragment in error.message
    assert isinstance(error, ValueError)
    assert str(error) == f"{path}: {error.message}"


def _nested(depth: int) -> Any:
    node: Any = _cmp("email", "exists", True)
    for _ in range(depth - 1):
        node = {"not": node}
    return node


def test_parse_condition_depth_limit() -> None:
    parse_condition(_nested(16))
    error = _error(_nested(17))
    assert error.path == "$" + ".not" * 16
    assert "16 levels" in error.message


def test_parse_condition_size_limit() -> None:
    parse_condition({"any": [_cmp("email", "eq", str(i)) for i in range(499)]})
    error = _error({"any": [_cmp("email", "eq", str(i)) for i in range(500)]})
    assert error.path == "$.any[499]"  # the first condition past the limit
    assert "500 conditions" in error.message
