"""Warnings for a valid condition that can match none of the account's leads as written.

Two mistakes preview as 0 matches without an error, because the condition language
cannot know an account's attributes: a key no lead has (`attributes.Plan` when leads
have `plan`), and a value of another JSON type than the leads hold (`"10"` where they
hold the number 10: attribute comparisons are typed by the value). Both are checked
against the account's attribute catalogue (`attribute_keys`). Only the top-level key
of a nested path is known there, so nested paths are checked for their first key.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from uuid import UUID

import asyncpg

from services.campaign_api.api.models.conditions import ConditionWarning, WarningType
from services.campaign_api.attribute_keys import Catalogue, attribute_catalogue, uses_attributes
from shared.conditions.ast import All, AnyOf, Attribute, Comparison, Condition, Kind, Not, Op
from shared.conditions.fields import ATTRIBUTE_PREFIX

JSON_TYPE = {
    Kind.TEXT: "string",
    Kind.DATE: "string",
    Kind.NUMBER: "number",
    Kind.BOOLEAN: "boolean",
}
PATTERN_OPS = (Op.STARTS_WITH, Op.ENDS_WITH, Op.CONTAINS_TEXT)
_JSON_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


async def warnings_for(
    db: asyncpg.Pool | asyncpg.Connection, account: UUID, cond: Condition
) -> list[ConditionWarning]:
    """The warnings for `cond` against `account`'s catalogue (read only when needed)."""
    if not uses_attributes(cond):
        return []
    return condition_warnings(cond, await attribute_catalogue(db, account))


def condition_warnings(cond: Condition, catalogue: Catalogue) -> list[ConditionWarning]:
    """The warnings for every attribute comparison of `cond`, in document order."""
    return [
        warning
        for path, cmp in _comparisons(cond, "$")
        if isinstance(cmp.target, Attribute)
        for warning in _check(path, cmp, cmp.target, catalogue)
    ]


def _comparisons(cond: Condition, path: str) -> Iterator[tuple[str, Comparison]]:
    """Each comparison with its JSON path, spelled as the parser spells it."""
    if isinstance(cond, All | AnyOf):
        name = "all" if isinstance(cond, All) else "any"
        for i, child in enumerate(cond.children):
            yield from _comparisons(child, f"{path}.{name}[{i}]")
    elif isinstance(cond, Not):
        yield from _comparisons(cond.child, f"{path}.not")
    elif isinstance(cond, Comparison):
        yield path, cond


def _check(
    path: str, cmp: Comparison, target: Attribute, catalogue: Catalogue
) -> Iterator[ConditionWarning]:
    key = target.path[0]
    held = catalogue.get(key)
    if held is None:
        yield _unknown_key(f"{path}.field", key, catalogue)
        return
    wanted = "object" if len(target.path) > 1 else JSON_TYPE.get(cmp.kind)
    if wanted is None or wanted in held:  # `exists` accepts any type
        return
    kinds = " or ".join(sorted(held))
    msg = f"leads of this account hold {kinds} values in '{key}', not {wanted}"
    suggestions = [] if wanted == "object" else _respelled(cmp, held)
    if suggestions:
        msg += f"; did you mean {' or '.join(suggestions)}?"
    yield ConditionWarning(
        path=f"{path}.value", type=WarningType.ATTRIBUTE_TYPE, msg=msg, suggestions=suggestions
    )


def _unknown_key(path: str, key: str, catalogue: Catalogue) -> ConditionWarning:
    same_but_case = [k for k in catalogue if k.lower() == key.lower()]
    close = difflib.get_close_matches(key, list(catalogue), n=3, cutoff=0.7)
    names = [ATTRIBUTE_PREFIX + k for k in dict.fromkeys([*same_but_case, *close])]
    msg = f"no lead of this account has the attribute '{key}'"
    if names:
        msg += f"; did you mean {' or '.join(names)}?"
    return ConditionWarning(
        path=path, type=WarningType.UNKNOWN_ATTRIBUTE, msg=msg, suggestions=names
    )


def _respelled(cmp: Comparison, held: frozenset[str]) -> list[str]:
    """The comparison's value as JSON text of each held type it converts to."""
    if cmp.op in PATTERN_OPS or cmp.kind is Kind.DATE:
        return []
    values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
    found = []
    for json_type in sorted(held):
        converted = [_as(json_type, value) for value in values]
        if all(c is not None for c in converted):
            texts = [c for c in converted if c is not None]
            found.append(texts[0] if not isinstance(cmp.value, tuple) else f"[{', '.join(texts)}]")
    return found


def _as(json_type: str, value: object) -> str | None:
    """`value` as JSON text of `json_type`, when it converts without loss, else None."""
    if json_type == "string" and isinstance(value, bool):
        return json.dumps(str(value).lower())
    if json_type == "string" and isinstance(value, Decimal):
        return json.dumps(str(value))
    if json_type == "number" and isinstance(value, str) and _JSON_NUMBER.fullmatch(value):
        return value
    if json_type == "boolean" and isinstance(value, str) and value in ("true", "false"):
        return value
    return None
