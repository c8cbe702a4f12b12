"""What the budgeted environment runs where Jinja would just run the operation.

Each function sizes what an operation would build against the active meter
before it runs, or steps the meter per item; `environment.py` wires them into
the sandbox (finalize, globals, `call`, `call_binop`) and `rewrite.py` routes
loops, `~` and literals through the last three.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from jinja2.runtime import markup_join, str_join

from shared.templating.errors import BudgetExceeded
from shared.templating.lead import LeadPath, path_of
from shared.templating.limits import MAX_NUMBER_BITS
from shared.templating.meter import Meter, active, current, stepping
from shared.templating.sizing import printf_widths, replaced_size

BUILT = (str, list, tuple, dict)


def charge(meter: Meter, value: Any) -> Any:
    """`value`, charged as built if it is text or a container."""
    if isinstance(value, BUILT):
        meter.build(meter.measure(value))
    return value


def finalize(value: Any) -> Any:
    """Every printed value: `None` is empty text; anything else is sized before it is text."""
    if value is None:
        return ""
    meter = active()
    if meter is not None:  # None only while compiling (constants are bounded by the source)
        meter.check_room_to_emit(meter.measure(value, meter.room_to_emit()))
    return value


def budgeted_range(*args: int) -> range:
    """`range`, refused when it is longer than the iterations left."""
    meter = current()
    numbers = range(*args)
    left = meter.limits.max_iterations - meter.iterations
    try:
        too_long = len(numbers) > left
    except OverflowError:
        too_long = True
    if too_long:
        raise BudgetExceeded(
            "max_iterations",
            f"range() longer than the {meter.limits.max_iterations:,} loop iterations allowed",
        )
    return numbers


def loop_budget(iterable: Iterable[Any]) -> Iterator[Any]:
    """What every `{% for %}` iterates: one step per item."""
    return stepping(current(), iter(iterable))


@pass_eval_context
def concat_budget(eval_ctx: EvalContext, *parts: Any) -> str:
    """`a ~ b`, sized first; `None` joins as empty text."""
    meter = current()
    parts = tuple("" if part is None else part for part in parts)
    meter.refuse_build(meter.measure(parts), "~")
    joined = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    meter.build(len(joined))
    return joined


def built_value(value: Any) -> Any:
    """A list, tuple or dict written in the template, charged as built."""
    return charge(current(), value)


def with_path(obj: Any, name: Any, value: Any) -> Any:
    """`value` looked up as `obj[name]`; a dict inside lead data keeps its path."""
    if isinstance(obj, LeadPath) and isinstance(value, dict) and not isinstance(value, LeadPath):
        return LeadPath(path_of(obj, name) or obj.path, value)
    return value


def check_method(meter: Meter, method: Any, args: tuple[Any, ...]) -> None:
    """`str.replace` is the one allowed method whose result can outgrow its input."""
    text = getattr(method, "__self__", None)
    if getattr(method, "__name__", "") != "replace" or not isinstance(text, str):
        return
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else None
        meter.refuse_build(replaced_size(text, args[0], args[1], count), "replace")


def check_operator(meter: Meter, operator: str, left: Any, right: Any) -> None:
    """Refuse `+`, `*`, `**` or `%` whose result would pass the budget, before it is built."""
    if operator == "**":
        _check_power(left, right)
    elif operator == "*":
        _check_product(meter, left, right)
    elif operator == "+" and isinstance(left, BUILT) and isinstance(right, BUILT):
        meter.refuse_build(meter.measure(left) + meter.measure(right), "+")
    elif operator == "%" and isinstance(left, str):
        values = list(right) if isinstance(right, tuple) else [right]
        for width in printf_widths(left, values):
            meter.refuse_build(width, "a format width")


def _check_power(base: Any, exponent: Any) -> None:
    numbers = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if numbers and exponent > 0 and base.bit_length() * exponent > MAX_NUMBER_BITS:
        raise BudgetExceeded("max_built_chars", "a power larger than about 4,300 digits")


def _check_product(meter: Meter, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, BUILT):
        left, right = right, left
    if isinstance(left, BUILT) and isinstance(right, int):
        meter.refuse_build(meter.measure(left) * max(right, 0), "*")
    elif (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_NUMBER_BITS
    ):
        raise BudgetExceeded("max_built_chars", "a product larger than about 4,300 digits")
