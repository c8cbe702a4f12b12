"""What a condition may say, as data: fields, their operators, the units of a duration.

Read from the parser's own tables (`fields.COLUMNS`, `parse.OPS_BY_KIND`,
`parse.ATTRIBUTE_OPS`, `values.DURATION_UNITS`), so a condition builder (the
dashboard's, or a client's through `GET /segments/fields`) offers exactly what
`parse_condition` accepts and nothing it would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.conditions.ast import Op
from shared.conditions.fields import ATTRIBUTE_KEY, ATTRIBUTE_PREFIX, COLUMNS
from shared.conditions.parse import ATTRIBUTE_OPS, OPS_BY_KIND
from shared.conditions.values import DURATION_UNITS

# The operators whose value is a list, a duration, or true/false.
LIST_OPS = (Op.IN, Op.NOT_IN, Op.CONTAINS_ANY, Op.CONTAINS_ALL)
DURATION_OPS = (Op.WITHIN_LAST,)
BOOLEAN_OPS = (Op.EXISTS,)


@dataclass(frozen=True)
class FieldSpec:
    """A field a comparison may name, with the operators that apply to it."""

    field: str
    kind: str  # text, date, tags, or "attribute" (typed by the value compared with)
    nullable: bool
    ops: tuple[str, ...]


def column_fields() -> list[FieldSpec]:
    """Every lead column, with its kind and operators (`exists` included)."""
    return [
        FieldSpec(name, spec.kind.value, spec.nullable, _names(OPS_BY_KIND[spec.kind]))
        for name, spec in COLUMNS.items()
    ]


def attribute_field(key: str) -> FieldSpec | None:
    """`attributes.<key>`: every operator but the tag ones; the value decides its type.
    None for a key a condition cannot name (leads may hold any key; the language reads
    `[A-Za-z0-9_]{1,64}`)."""
    if not ATTRIBUTE_KEY.fullmatch(key):
        return None
    return FieldSpec(f"{ATTRIBUTE_PREFIX}{key}", "attribute", True, _names(ATTRIBUTE_OPS))


def value_shapes() -> dict[str, list[str]]:
    """Which operators take a list, a duration or true/false (the rest: one value)."""
    return {
        "list": [op.value for op in LIST_OPS],
        "duration": [op.value for op in DURATION_OPS],
        "boolean": [op.value for op in BOOLEAN_OPS],
        "duration_units": list(DURATION_UNITS),
    }


def _names(ops: tuple[Op, ...]) -> tuple[str, ...]:
    # `exists` applies to every field: listed last for each
    named = [op.value for op in ops if op is not Op.EXISTS]
    return (*named, Op.EXISTS.value)
