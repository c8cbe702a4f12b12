"""A thin stand-in for `shared.conditions`, installed only while that package is missing.

It implements the agreed interface for one shape, `{"field": F, "op": "eq", "value": V}`
over text columns, which is all these API tests need.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TEXT_FIELDS = ("email", "first_name", "last_name", "country")


class ConditionError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    value: str


@dataclass(frozen=True)
class CompiledCondition:
    sql: str
    params: list[Any] = field(default_factory=list)


def parse_condition(raw: Any) -> Condition:
    if not isinstance(raw, dict):
        raise ConditionError("$", "expected an object")
    if raw.get("field") not in TEXT_FIELDS:
        raise ConditionError("$.field", f"expected one of {', '.join(TEXT_FIELDS)}")
    if raw.get("op") != "eq":
        raise ConditionError("$.op", "expected 'eq'")
    if not isinstance(raw.get("value"), str):
        raise ConditionError("$.value", "expected a string")
    return Condition(raw["field"], raw["value"])


def compile_condition(cond: Condition, *, now: datetime, first_param: int = 1) -> CompiledCondition:
    return CompiledCondition(f"l.{cond.field} = ${first_param}", [cond.value])


def evaluate(cond: Condition, lead: Mapping[str, Any], now: datetime) -> bool:
    return bool(lead.get(cond.field) == cond.value)


def install() -> None:
    """Register this module as `shared.conditions` if the real one cannot be imported."""
    try:
        from shared.conditions import (  # noqa: F401
            ConditionError,
            compile_condition,
            parse_condition,
        )
    except ImportError:
        module = types.ModuleType("shared.conditions")
        for name in (
            "ConditionError",
            "Condition",
            "CompiledCondition",
            "parse_condition",
            "compile_condition",
            "evaluate",
        ):
            setattr(module, name, globals()[name])
        sys.modules["shared.conditions"] = module
