"""The typed syntax tree a parsed condition becomes (immutable, hashable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class Op(StrEnum):
    """Comparison operators, spelled as in the JSON."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    CONTAINS_ANY = "contains_any"
    CONTAINS_ALL = "contains_all"
    EXISTS = "exists"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    CONTAINS_TEXT = "contains_text"
    BEFORE = "before"
    AFTER = "after"
    WITHIN_LAST = "within_last"


class Kind(StrEnum):
    """What a comparison compares: decides the operators, the value type and the SQL cast."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    TAGS = "tags"
    PRESENCE = "presence"  # `exists`: any field, any JSON type


@dataclass(frozen=True)
class Column:
    """A lead column from the whitelist (see fields.COLUMNS)."""

    name: str


@dataclass(frozen=True)
class Attribute:
    """A key (or nested key path) inside the lead's JSON attributes."""

    path: tuple[str, ...]


Target = Column | Attribute


@dataclass(frozen=True)
class Ago:
    """A moment relative to `now`: now - delta."""

    delta: timedelta

    def resolve(self, now: datetime) -> datetime:
        return now - self.delta


DateValue = datetime | Ago
Scalar = str | Decimal | bool | DateValue
Value = Scalar | tuple[str, ...] | tuple[Decimal, ...] | timedelta


class Condition:
    """A parsed condition: `All`, `AnyOf`, `Not` or `Comparison`."""

    __slots__ = ()


@dataclass(frozen=True)
class All(Condition):
    """Matches when every child matches."""

    children: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf(Condition):
    """Matches when at least one child matches."""

    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Condition):
    """Matches exactly the leads its child does not match (missing values included)."""

    child: Condition


@dataclass(frozen=True)
class Comparison(Condition):
    """One test on one field; `kind` says how `value` is typed (see docs/conditions.md).

    value by kind and op: TEXT str (tuple[str, ...] for in/not_in), NUMBER Decimal
    (tuple[Decimal, ...]), BOOLEAN bool, DATE datetime | Ago (timedelta for within_last),
    TAGS str (tuple[str, ...] for contains_any/contains_all), PRESENCE bool.
    """

    field: str
    target: Target
    op: Op
    kind: Kind
    value: Value
