"""SQL expressions for condition targets over the leads table aliased `l`.

Attribute keys are spliced into SQL as literals: they match [A-Za-z0-9_]{1,64} (fields.py),
so they can hold no quote. Values never appear here; they travel as parameters.
"""

from __future__ import annotations

from shared.conditions.ast import Attribute, Column, Kind, Target
from shared.conditions.dates import DATE_PATTERN, OFFSET_PATTERN
from shared.conditions.fields import ATTRIBUTE_KEY, COLUMNS


def json_path(attribute: Attribute, *, as_text: bool = False) -> str:
    """`l.attributes -> 'a' -> 'b'`, or `(l.attributes -> 'a' ->> 'b')` for the text."""
    for key in attribute.path:
        if not ATTRIBUTE_KEY.fullmatch(key):  # parse_condition guarantees this; belt and braces
            raise ValueError(f"attribute key {key!r} is not allowed in SQL")
    steps = [f" -> '{key}'" for key in attribute.path]
    if not as_text:
        return "l.attributes" + "".join(steps)
    steps[-1] = f" ->> '{attribute.path[-1]}'"
    return "(l.attributes" + "".join(steps) + ")"


def typed(target: Target, kind: Kind) -> tuple[str, bool]:
    """The SQL value of `target` read as `kind`, and whether it can be NULL.

    An attribute whose JSON type is not the comparison's type reads as NULL, so a cast
    can never fail at query time (CASE fixes the evaluation order; AND does not).
    """
    if isinstance(target, Column):
        spec = COLUMNS[target.name]
        return spec.sql, spec.nullable
    j, t = json_path(target), json_path(target, as_text=True)
    if kind is Kind.TEXT:
        return f"(CASE WHEN jsonb_typeof({j}) = 'string' THEN {t} END)", True
    if kind is Kind.NUMBER:
        return f"(CASE WHEN jsonb_typeof({j}) = 'number' THEN ({j})::numeric END)", True
    if kind is Kind.BOOLEAN:
        return f"(CASE WHEN jsonb_typeof({j}) = 'boolean' THEN ({j})::boolean END)", True
    if kind is Kind.DATE:
        return _attribute_date(j, t), True
    raise ValueError(f"attributes cannot be read as {kind.value}")


def _attribute_date(j: str, t: str) -> str:
    """A string attribute in the one date format (dates.py) as timestamptz, else NULL.

    The regex admits only well-formed fields; the inner CASE rejects days the month lacks
    (2023-02-29) before the cast could raise. No offset means UTC, a bare date midnight UTC.
    """
    last_day = (
        f"date_part('day', make_date(substr({t}, 1, 4)::int, substr({t}, 6, 2)::int, 1)"
        " + interval '1 month - 1 day')"
    )
    normalised = (
        f"(CASE WHEN length({t}) = 10 THEN {t} || 'T00:00:00Z' "
        f"WHEN {t} ~ '{OFFSET_PATTERN}$' THEN {t} ELSE {t} || 'Z' END)::timestamptz"
    )
    return (
        f"(CASE WHEN jsonb_typeof({j}) = 'string' AND {t} ~ '^{DATE_PATTERN}$' THEN "
        f"CASE WHEN substr({t}, 9, 2)::int <= {last_day} THEN {normalised} END END)"
    )
