"""Properties of condition warnings, over random leads and conditions (no database).

The catalogue is what the `leads` triggers would record for the leads: each top-level
attribute key with the JSON types of its values. Values come from one small pool on
both sides (numbers, numeric and boolean text, dates, lists, objects), so conditions
often match and often differ from the leads only by type or by the case of a key.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.campaign_api.condition_warnings import condition_warnings
from shared.conditions import ConditionError, evaluate, parse_condition
from shared.conditions.ast import Condition
from tests.shared.conditions.strategies import NOW

KEYS = ["plan", "Plan", "seats", "vip", "renewal", "nested"]
SCALARS = [None, True, False, 0, 10, 2.5, "10", "true", "pro", "Pro", "2025-06-01"]
NEGATIVE = ("ne", "not_in")  # they match leads without the key by design

scalars = st.sampled_from(SCALARS)
json_values = scalars | st.lists(scalars, max_size=2) | st.builds(lambda v: {"level": v}, scalars)
leads = st.lists(
    st.builds(lambda a: {"attributes": a}, st.dictionaries(st.sampled_from(KEYS), json_values)),
    min_size=1,
    max_size=6,
)
fields = st.sampled_from([*KEYS, "nested.level", "absent"]).map(lambda k: f"attributes.{k}")
numbers, texts = st.sampled_from([0, 10, 2.5]), st.sampled_from(["10", "true", "pro", "Pro"])
ops_and_values = (
    st.tuples(st.sampled_from(["eq", "ne"]), st.sampled_from(SCALARS[1:]))
    | st.tuples(st.sampled_from(["lt", "gte"]), numbers | texts)
    | st.tuples(st.sampled_from(["in", "not_in"]), st.lists(numbers, min_size=1, max_size=2))
    | st.tuples(st.sampled_from(["in", "not_in"]), st.lists(texts, min_size=1, max_size=2))
    | st.tuples(st.just("starts_with"), texts)
    | st.tuples(st.just("before"), st.just("2025-06-01"))
    | st.tuples(st.just("exists"), st.booleans())
)
raw_comparisons = st.builds(
    lambda f, op_value: {"field": f, "op": op_value[0], "value": op_value[1]},
    fields,
    ops_and_values,
)
raw_conditions = st.recursive(
    raw_comparisons,
    lambda inner: (
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda c: {"not": c}, inner)
    ),
    max_leaves=5,
)


@st.composite
def leads_and_comparison(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Leads and a comparison; half the time one equal to an attribute a lead holds."""
    drawn = draw(leads)
    held = [(k, v) for lead in drawn for k, v in lead["attributes"].items() if v is not None]
    equal_to_held: bool = draw(st.booleans())
    if held and equal_to_held:
        key, value = draw(st.sampled_from(held))
        if not isinstance(value, list | dict):
            return drawn, {"field": f"attributes.{key}", "op": "eq", "value": value}
    return drawn, draw(raw_comparisons)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _catalogue(leads: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    types: dict[str, set[str]] = {}
    for lead in leads:
        for key, value in lead["attributes"].items():
            types.setdefault(key, set()).add(_json_type(value))
    return {key: frozenset(found) for key, found in types.items()}


def _parsed(raw: Any) -> Condition:
    try:
        return parse_condition(raw)
    except ConditionError:
        assume(False)
        raise


@settings(max_examples=200, deadline=None)
@given(leads_and_comparison())
def test_no_warning_for_a_comparison_some_lead_matches(
    case: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    leads, raw = case
    assume(raw["op"] not in NEGATIVE and not (raw["op"] == "exists" and raw["value"] is False))
    cond = _parsed(raw)
    if any(evaluate(cond, lead, NOW) for lead in leads):
        assert condition_warnings(cond, _catalogue(leads)) == []


@settings(max_examples=100, deadline=None)
@given(leads, raw_conditions)
def test_every_warning_points_at_an_attribute_comparison(
    leads: list[dict[str, Any]], raw: dict[str, Any]
) -> None:
    for warning in condition_warnings(_parsed(raw), _catalogue(leads)):
        node: Any = raw
        *steps, last = re.findall(r"\.(\w+)|\[(\d+)\]", warning.path.removeprefix("$"))
        for name, index in steps:
            node = node[name] if name else node[int(index)]
        assert last[0] in ("field", "value")
        assert node["field"].startswith("attributes.")
