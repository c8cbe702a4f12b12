"""Checks and conversions of the JSON values a comparison carries."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from shared.conditions.ast import Ago, DateValue
from shared.conditions.dates import DATE_HINT, parse_date
from shared.conditions.errors import ConditionError

MAX_TEXT = 1000
MAX_LIST = 1000
MAX_DURATION = timedelta(days=36525)  # 100 years keeps `now - duration` inside every calendar
MAX_NUMBER_EXPONENT = 100
DURATION_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
DURATION_HINT = 'a duration like {"days": 30} (units: ' + ", ".join(DURATION_UNITS) + ")"
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def child_path(path: str, key: object) -> str:
    """`$.all` for a plain key, `$["odd key"]` otherwise."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(str(key))}]"


def text(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise ConditionError(path, "expected a string")
    if len(raw) > MAX_TEXT:
        raise ConditionError(path, f"expected a string of at most {MAX_TEXT} characters")
    if "\x00" in raw or any("\ud800" <= ch <= "\udfff" for ch in raw):
        raise ConditionError(path, "expected a string without NUL characters or lone surrogates")
    return raw


def is_number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def number(raw: Any, path: str) -> Decimal:
    """A JSON number as the exact decimal its JSON text denotes (as jsonb stores it)."""
    if not is_number(raw) or (isinstance(raw, float) and not math.isfinite(raw)):
        raise ConditionError(path, "expected a finite number, like 42 or 3.5")
    value = Decimal(raw) if isinstance(raw, int) else Decimal(repr(raw))
    if value and abs(value.adjusted()) > MAX_NUMBER_EXPONENT:
        raise ConditionError(
            path,
            f"expected a number between 1e-{MAX_NUMBER_EXPONENT} and "
            f"1e{MAX_NUMBER_EXPONENT} in magnitude",
        )
    return value


def boolean(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise ConditionError(path, "expected true or false")
    return raw


def items(raw: Any, path: str, what: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise ConditionError(path, f"expected a non-empty list of {what}")
    if len(raw) > MAX_LIST:
        raise ConditionError(path, f"expected at most {MAX_LIST} values")
    return raw


def texts(raw: Any, path: str) -> tuple[str, ...]:
    return tuple(text(v, f"{path}[{i}]") for i, v in enumerate(items(raw, path, "strings")))


def numbers(raw: Any, path: str) -> tuple[Decimal, ...]:
    return tuple(number(v, f"{path}[{i}]") for i, v in enumerate(items(raw, path, "numbers")))


def duration(raw: Any, path: str) -> timedelta:
    """`{"days": 30, "hours": 12}`: non-negative whole units, more than zero in total."""
    if not isinstance(raw, dict) or not raw:
        raise ConditionError(path, f"expected {DURATION_HINT}")
    for unit, amount in raw.items():
        where = child_path(path, unit)
        if unit not in DURATION_UNITS:
            raise ConditionError(where, f"unknown unit; expected {DURATION_HINT}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ConditionError(where, "expected a whole number of units, zero or more")
        if amount > MAX_DURATION.days * 86400:
            raise ConditionError(where, "expected a duration of at most 100 years")
    try:
        total = timedelta(**raw)
    except OverflowError:
        total = MAX_DURATION * 2
    if not timedelta(0) < total <= MAX_DURATION:
        raise ConditionError(path, "expected a duration longer than zero and at most 100 years")
    return total


def date(raw: Any, path: str) -> DateValue:
    """An absolute date string or `{"ago": <duration>}`."""
    if isinstance(raw, str):
        parsed = parse_date(raw)
        if parsed is None:
            raise ConditionError(path, f'expected {DATE_HINT}, or {{"ago": {{"days": 30}}}}')
        return parsed
    if isinstance(raw, dict) and set(raw) == {"ago"}:
        return Ago(duration(raw["ago"], f"{path}.ago"))
    raise ConditionError(path, f'expected {DATE_HINT}, or {{"ago": {{"days": 30}}}}')


def is_relative_date(raw: Any) -> bool:
    return isinstance(raw, dict) and "ago" in raw
