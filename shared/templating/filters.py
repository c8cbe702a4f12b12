"""The filters a template may use, each wrapped so its cost is known before it runs.

Only filters whose work is bounded by their input are offered; those whose
output can outgrow their input (`replace`, `join`, `format`, `center`,
`tojson`) check the size they would produce against the budget first, any
integer argument is a size checked the same way, lazy results (`map`,
`select`) step the meter per item pulled, and every result is charged as
built text. Left out: `pprint`, `random` (a preview would differ from the
sent email), `striptags` and `urlize` (regular expressions with super-linear
worst cases), `wordwrap`, `indent`, `batch`, `slice` and `xmlattr` (output
many times their input).

Text filters treat `None` (an empty lead field) as empty text, and `default`
replaces a value that is missing, `None` or empty text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2 import Undefined
from jinja2.filters import FILTERS

from shared.templating.errors import BudgetExceeded
from shared.templating.meter import Meter, current, metered
from shared.templating.sizing import printf_widths, replaced_size

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


def _check_replace(meter: Meter, s: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
        meter.refuse_build(replaced_size(s, old, new, count), "replace")


def _check_format(meter: Meter, value: Any, *args: Any, **kwargs: Any) -> None:
    for width in printf_widths(str(value), [*args, *kwargs.values()]):
        meter.refuse_build(width, "a format width")


def _check_tojson(meter: Meter, value: Any, indent: Any = None) -> None:
    if isinstance(indent, int) and indent > MAX_JSON_INDENT:
        raise BudgetExceeded("max_built_chars", f"tojson indent is at most {MAX_JSON_INDENT}")
    # HTML-safe JSON escapes <, >, & and ' as six characters each
    meter.refuse_build(6 * meter.measure(value), "tojson")


def _check_sum(_: Meter, *__: Any, start: Any = 0) -> None:
    if not isinstance(start, int | float):
        raise TypeError("sum: start must be a number")


CHECKS: dict[str, Check] = {
    "replace": _check_replace,
    "format": _check_format,
    "tojson": _check_tojson,
    "sum": _check_sum,
}


def _check_ints(meter: Meter, args: list[Any]) -> None:
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool):
            meter.refuse_build(abs(value), "a filter argument")


def _guarded(
    original: Callable[..., Any], *, text: bool, check: Check | None
) -> Callable[..., Any]:
    # A filter marked pass_context/pass_environment/pass_eval_context gets that first;
    # `wraps` copies the mark, so the wrapper receives the same arguments.
    offset = 1 if hasattr(original, "jinja_pass_arg") else 0

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        meter = current()
        value = args[offset]
        if type(value) is not str:  # text needs no sizing; anything else does
            if text:
                value = "" if value is None else value
                meter.refuse_build(meter.measure(value), "a text filter")
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


def _join(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        meter = current()
        items = [] if isinstance(value, Undefined) else list(metered(value))
        separators = len(str(d)) * max(len(items) - 1, 0)
        meter.refuse_build(meter.measure(items) + separators, "join")
        result = original(eval_ctx, items, d, attribute)
        meter.build(len(result))
        return result

    return join


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """`default` for lead data: missing, `None` and empty text all take the default."""
    if isinstance(value, Undefined) or value is None or value == "" or (boolean and not value):
        return default_value
    return value


def allowed_filters() -> dict[str, Callable[..., Any]]:
    """The filters templates may use, guarded."""
    filters = {
        name: _guarded(FILTERS[name], text=name in TEXT_FILTERS, check=CHECKS.get(name))
        for name in TEXT_FILTERS | OTHER_FILTERS
    }
    filters["join"] = _join(FILTERS["join"])
    filters["default"] = filters["d"] = _default
    return filters
