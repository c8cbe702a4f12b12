"""Hypothesis strategies: leads and conditions drawn from small, colliding value pools.

Values come from the same small pools on both sides so conditions actually match some
leads, and the pools are full of edge cases: case variants, non-ASCII letters, LIKE
wildcards, quotes, NULLs, attributes of every JSON type, malformed dates, boundaries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from shared.conditions.dates import parse_date

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
WORDS = ["Ann", "ann", "ANNA", "anne", "Émile", "émile", "ÉMILE", "Zoë", "bob_x", "bobax", "50%off"]
WORDS += ["o'neil", "a\\b", "x;DROP", "İz", "ß", ""]
FRAGMENTS = ["an", "AN", "a", "é", "É", "_", "%", "\\", "'", "off", "x;", "ë", "", "n"]
COUNTRIES = ["US", "DE", "fr", "GB", "us"]
TAGS = ["vip", "new", "churned", "beta"]
ATTRIBUTE_FIELDS = ["plan", "score", "active", "renewal", "note", "nested.level", "absent"]
DAYS = [0, 1, 7, 30, 90]

offsets = st.builds(
    lambda days, seconds, micros: timedelta(days=days, seconds=seconds, microseconds=micros),
    st.integers(-100, 100) | st.sampled_from([-d for d in DAYS]),
    st.sampled_from([0, 0, 1, -1, 3600]) | st.integers(-86400, 86400),
    st.sampled_from([0, 0, 1, 500000]),
)
moments = st.builds(lambda offset: NOW + offset, offsets)


def _date_text(moment: datetime, form: int) -> str:
    forms = [
        moment.date().isoformat(),
        moment.strftime("%Y-%m-%dT%H:%M:%S"),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.astimezone(UTC).isoformat(),
        (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f+02:00"),
        (moment + timedelta(hours=14, minutes=59)).strftime("%Y-%m-%dT%H:%M:%S+14:59"),
        (moment - timedelta(hours=14, minutes=59)).strftime("%Y-%m-%dT%H:%M:%S-14:59"),
    ]
    return forms[form]


date_texts = st.builds(_date_text, moments, st.integers(0, 6)) | st.sampled_from(
    ["2023-02-29", "2024-02-29", "2025-13-01", "2025-06-15 12:00:00", "0999-01-01", "20250615"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.5, 2.5, -1.25, 3.0, 1e16, 10**17 + 1])
    | st.sampled_from(WORDS)
    | date_texts
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.just("level"), inner)
)
attributes = st.dictionaries(
    st.sampled_from(["plan", "score", "active", "renewal", "note", "nested"]), json_values
)


@st.composite
def leads(draw: st.DrawFn, index: int) -> dict[str, Any]:
    """One lead row (column name → value); `index` keeps emails unique per account."""
    return {
        "email": f"{index}.{draw(st.sampled_from(WORDS))}@Example.com",
        "first_name": draw(st.none() | st.sampled_from(WORDS)),
        "last_name": draw(st.none() | st.sampled_from(WORDS)),
        "country": draw(st.none() | st.sampled_from(COUNTRIES)),
        "tags": draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True)),
        "attributes": draw(attributes),
        "created_at": draw(moments),
        "updated_at": draw(moments),
        "unsubscribed_at": draw(st.none() | moments),
    }


@st.composite
def lead_batches(draw: st.DrawFn, max_size: int = 30) -> list[dict[str, Any]]:
    size = draw(st.integers(0, max_size))
    return [draw(leads(i)) for i in range(size)]


durations = st.fixed_dictionaries(
    {"days": st.sampled_from(DAYS)}, optional={"hours": st.integers(0, 30)}
).filter(lambda d: sum(d.values()) > 0)
relative = st.builds(lambda d: {"ago": d}, durations)
date_values = relative | date_texts.filter(lambda s: parse_date(s) is not None)


def _cmp(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _text_leaf(field: str) -> st.SearchStrategy[dict[str, Any]]:
    pool = COUNTRIES if field == "country" else WORDS
    return (
        st.builds(
            _cmp,
            st.just(field),
            st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]),
            st.sampled_from(pool),
        )
        | st.builds(
            _cmp,
            st.just(field),
            st.sampled_from(["in", "not_in"]),
            st.lists(st.sampled_from(pool), min_size=1, max_size=3),
        )
        | st.builds(
            _cmp,
            st.just(field),
            st.sampled_from(["starts_with", "ends_with", "contains_text"]),
            st.sampled_from(FRAGMENTS + pool),
        )
    )


def _date_leaf(field: str) -> st.SearchStrategy[dict[str, Any]]:
    ops = (
        ["before", "after"]
        if field.startswith("attributes.")
        else ["eq", "ne", "lt", "lte", "gt", "gte", "before", "after"]
    )
    return st.builds(_cmp, st.just(field), st.sampled_from(ops), date_values) | st.builds(
        _cmp, st.just(field), st.just("within_last"), durations
    )


def _attribute_leaf(field: str) -> st.SearchStrategy[dict[str, Any]]:
    ordered = st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"])
    numbers = st.integers(-3, 3) | st.sampled_from([0.5, 2.5, -1.25, 3.0, 1e16, 10**17])
    return (
        st.builds(_cmp, st.just(field), ordered, numbers | st.sampled_from(WORDS))
        | st.builds(_cmp, st.just(field), st.sampled_from(["eq", "ne"]), st.booleans())
        | st.builds(
            _cmp,
            st.just(field),
            st.sampled_from(["in", "not_in"]),
            st.lists(numbers, min_size=1, max_size=3)
            | st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        )
        | st.builds(
            _cmp,
            st.just(field),
            st.sampled_from(["starts_with", "ends_with", "contains_text"]),
            st.sampled_from(FRAGMENTS),
        )
        | _date_leaf(field)
        | st.builds(_cmp, st.just(field), ordered, relative)
    )


def _leaf(field: str) -> st.SearchStrategy[dict[str, Any]]:
    exists = st.builds(_cmp, st.just(field), st.just("exists"), st.booleans())
    if field in ("email", "first_name", "last_name", "country"):
        return _text_leaf(field) | exists
    if field in ("created_at", "updated_at", "unsubscribed_at"):
        return _date_leaf(field) | exists
    if field == "tags":
        tag = st.sampled_from(TAGS + ["VIP"])
        return (
            st.builds(_cmp, st.just(field), st.just("contains"), tag)
            | st.builds(
                _cmp,
                st.just(field),
                st.sampled_from(["contains_any", "contains_all"]),
                st.lists(tag, min_size=1, max_size=3),
            )
            | exists
        )
    return _attribute_leaf(field) | exists


FIELDS = ["email", "first_name", "last_name", "country", "tags", "created_at", "updated_at"]
FIELDS += ["unsubscribed_at"] + [f"attributes.{key}" for key in ATTRIBUTE_FIELDS]
comparisons = st.sampled_from(FIELDS).flatmap(_leaf)
conditions = st.recursive(
    comparisons,
    lambda inner: (
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda c: {"not": c}, inner)
    ),
    max_leaves=8,
)
