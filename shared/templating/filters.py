"""The filters a template may use, each wrapped so its cost is known before it runs.

Only filters whose work is bounded by their input are offered; those whose
output can outgrow their input (`replace`, `join`, `format`, `center`,
`tojson`) check the size they would produce against the budget first, and
every filter's result is charged as built text. Filters left out:
`pprint`, `random` (a preview would differ from the sent email), `striptags`
and `urlize` (regular expressions with super-linear worst cases), `wordwrap`,
`indent`, `batch`, `slice` and `xmlattr` (output many times their input).

Text filters treat `None` (an empty lead field) as empty text, and `default`
replaces a value that is missing, `None` or empty text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import Undefined
from jinja2.filters import FILTERS

from shared.templating.errors import BudgetExceeded
from shared.templating.meter import Meter, active, metered

Check = Callable[..., None]
TEXT_FILTERS = frozenset(
    {"capitalize", "center", "e", "escape", "filesizeformat", "forceescape", "format", "lower"}
    | {"replace", "string", "title", "trim", "truncate", "upper", "urlencode", "wordcount"}
)
OTHER_FILTERS = frozenset(
    {"abs", "attr", "count", "dictsort", "first", "float", "groupby", "int", "items", "join"}
    | {"last", "length", "list", "map", "max", "min", "reject", "rejectattr", "reverse"}
    | {"round", "safe", "select", "selectattr", "sort", "sum", "tojson", "unique"}
)
MAX_JSON_INDENT = 16
BUILT = (str, list, tuple, dict)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\d+|\*)?(?:\.(\d+|\*))?")


def refuse_build(meter: Meter, size: int, what: str) -> None:
    """Raise unless `size` more characters fit in what may still be built."""
    if size > meter.room_to_build():
        raise BudgetExceeded(
            "max_built_chars",
            f"{what} would build more than {meter.limits.max_built_chars:,} characters",
        )


def check_printf(meter: Meter, fmt: str, values: Iterable[Any]) -> None:
    """Refuse printf widths or precisions (`%99999999s`) larger than the build budget."""
    stars = False
    for match in _PRINTF.finditer(fmt):
        for number in match.groups():
            stars = stars or number == "*"
            if number and number != "*":
                refuse_build(meter, int(number), "a format width")
    if stars:
        for value in values:
            if isinstance(value, int):
                refuse_build(meter, value, "a format width")


def replaced_size(text: str, old: str, new: str, count: int | None = None) -> int:
    """The exact length of `text.replace(old, new, count)`, without building it."""
    hits = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _check_replace(meter: Meter, s: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
        refuse_build(meter, replaced_size(s, old, new, count), "replace")


def _check_format(meter: Meter, value: Any, *args: Any, **kwargs: Any) -> None:
    check_printf(meter, str(value), [*args, *kwargs.values()])


def _check_tojson(meter: Meter, value: Any, indent: Any = None) -> None:
    if isinstance(indent, int) and indent > MAX_JSON_INDENT:
        raise BudgetExceeded("max_built_chars", f"tojson indent is at most {MAX_JSON_INDENT}")
    # HTML-safe JSON escapes <, >, & and ' as six characters each
    refuse_build(meter, 6 * meter.measure(value), "tojson")


def _check_sum(_: Meter, *__: Any, start: Any = 0) -> None:
    if not isinstance(start, int | float):
        raise TypeError("sum: start must be a number")


def _check_ints(meter: Meter, args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool):
            refuse_build(meter, abs(value), "a filter argument")


def _join(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        meter = _meter()
        items = [] if isinstance(value, Undefined) else list(metered(value))
        size = meter.measure(items)
        refuse_build(meter, size + len(str(d)) * max(len(items) - 1, 0), "join")
        result = original(eval_ctx, items, d, attribute)
        meter.build(len(result))
        return result

    return join


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """`default` for lead data: missing, `None` and empty text all take the default."""
    if isinstance(value, Undefined) or value is None or value == "" or (boolean and not value):
        return default_value
    return value


def _meter() -> Meter:
    meter = active()
    if meter is None:  # called while compiling (constant folding): leave it to render time
        raise RuntimeError("filters run only while rendering")
    return meter


def _guarded(
    original: Callable[..., Any], *, text: bool, check: Check | None
) -> Callable[..., Any]:
    # A filter marked pass_context/pass_environment/pass_eval_context gets that first;
    # `wraps` copies the mark, so the wrapper receives the same arguments.
    offset = 1 if hasattr(original, "jinja_pass_arg") else 0

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        meter = _meter()
        value = args[offset]
        if type(value) is not str:  # text needs no sizing; anything else does
            if text:
                value = "" if value is None else value
                refuse_build(meter, meter.measure(value), "a text filter")
            else:
                value = metered(value)
            args = (*args[:offset], value, *args[offset + 1 :])
        if kwargs or len(args) > offset + 1:
            _check_ints(meter, [*args[offset + 1 :], *kwargs.values()])
        if check is not None:
            check(meter, *args[offset:], **kwargs)
        result = original(*args, **kwargs)
        if isinstance(result, BUILT):
            meter.build(meter.measure(result))
        return result

    return guarded


CHECKS: dict[str, Check] = {
    "replace": _check_replace,
    "format": _check_format,
    "tojson": _check_tojson,
    "sum": _check_sum,
}


def allowed_filters() -> dict[str, Callable[..., Any]]:
    """The filters templates may use, guarded."""
    filters = {
        name: _guarded(FILTERS[name], text=name in TEXT_FILTERS, check=CHECKS.get(name))
        for name in TEXT_FILTERS | OTHER_FILTERS
    }
    filters["join"] = _join(FILTERS["join"])
    filters["default"] = filters["d"] = _default
    return filters
