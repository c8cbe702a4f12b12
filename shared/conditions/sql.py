"""SQL expressions for condition targets over the leads table aliased `l`.

Attribute keys are spliced into SQL as literals: they match [A-Za-z0-9_]{1,64} (fields.py),
so they can hold no quote. Values never appear here; they travel as parameters.
"""

from __future__ import annotations

import calendar

from shared.conditions.ast import Attribute, Column, Kind, Target
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


# What DATE_PATTERN admits, written with every digit as 0: a bare date, or a date and time
# with up to 6 decimals and an optional Z or ±HH:MM.
DATE_SHAPES = ("0000-00-00",) + tuple(
    "0000-00-00T00:00:00" + decimals + offset
    for decimals in ("", *("." + "0" * n for n in range(1, 7)))
    for offset in ("", "Z", "+00:00", "-00:00")
)


# Every month and day of a common year as `MM-DD` (365: 02-29 is checked with the year).
MONTH_DAYS = tuple(
    f"{month:02d}-{day:02d}"
    for month in range(1, 13)
    for day in range(1, calendar.monthrange(2023, month)[1] + 1)
)


def _attribute_date(j: str, t: str) -> str:
    """A string attribute in the one date format (dates.py) as timestamptz, else NULL.

    Exactly what DATE_PATTERN and a days-in-month check admit, tested without a regular
    expression (which cost ~4 µs a row, most of a million-lead date condition): the
    string's shape with digits mapped to 0 must be one of DATE_SHAPES, then the month and
    day are one look-up in MONTH_DAYS (Postgres hashes a list of constants this long: 0.4
    µs a row less than range-checking month and day apart, 1.80-1.90 against 1.44-1.47 s
    serially over 1M dates, a third with a time), then the time's fields are range-checked
    as two-digit text. Each CASE guards the next step, so the casts never raise. No offset
    means UTC, a bare date midnight UTC.
    """
    c = ' COLLATE "C"'
    shapes = ", ".join(f"'{shape}'" for shape in DATE_SHAPES)
    month_days = ", ".join(f"'{day}'" for day in MONTH_DAYS)
    year = f"substr({t}, 1, 4)::int"
    leap = f"({year} % 4 = 0 AND ({year} % 100 <> 0 OR {year} % 400 = 0))"
    month_day = f"substr({t}, 6, 5){c}"
    offset = f"substr({t}, length({t}) - 5, 1) IN ('+', '-')"
    fields_ok = (
        f"{t}{c} >= '1' AND ({month_day} IN ({month_days}) OR ({month_day} = '02-29' AND {leap})) "
        f"AND (length({t}) = 10 OR (substr({t}, 12, 2){c} <= '23' "
        f"AND substr({t}, 15, 2){c} <= '59' AND substr({t}, 18, 2){c} <= '59' "
        f"AND (NOT {offset} OR (substr({t}, length({t}) - 4, 2){c} <= '14' "
        f"AND right({t}, 2){c} <= '59'))))"
    )
    normalised = (
        f"(CASE WHEN length({t}) = 10 THEN {t} || 'T00:00:00Z' "
        f"WHEN right({t}, 1) = 'Z' OR {offset} THEN {t} ELSE {t} || 'Z' END)::timestamptz"
    )
    return (
        f"(CASE WHEN jsonb_typeof({j}) = 'string' "
        f"AND translate({t}, '123456789', '000000000') IN ({shapes}) THEN "
        f"CASE WHEN {fields_ok} THEN {normalised} END END)"
    )
