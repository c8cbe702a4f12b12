"""The Jinja2 sandbox Fanout renders with: every way a template spends time or memory is metered.

The hooks the sandbox offers are all used:

- `call`: every call is a step (loop iterations and calls share one budget);
  `str.replace` is sized before it runs; results are charged as built text.
- `call_binop` for `+`, `*`, `**` and `%`: repeated or joined text and lists,
  big powers and printf widths are sized before they are built.
- `getattr`/`getitem`: builtin types expose only a short list of harmless
  methods (no `str.format`, no `center`); lead data keeps its path for errors.
- `finalize`: `None` renders as empty text; a value is sized before it becomes output.
- globals: `range` checks its length against the iterations left; `lipsum`
  and `namespace` are not offered.

Loops, `~` and list literals have no hook, so compiling rewrites them
(`rewrite.py`) into the filters `loop_budget`, `concat_budget` and `built_value`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner

from shared.templating.errors import BudgetExceeded
from shared.templating.filters import allowed_filters, check_printf, refuse_build, replaced_size
from shared.templating.lead import LeadPath, MissingValue, path_of
from shared.templating.limits import MAX_NUMBER_BITS
from shared.templating.meter import Meter, active, stepping
from shared.templating.rewrite import BUILT_FILTER, CONCAT_FILTER, LOOP_FILTER

SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {"capitalize", "casefold", "count", "endswith", "find", "isalnum", "isalpha"}
        | {"isdigit", "islower", "isspace", "isupper", "lower", "lstrip", "replace"}
        | {"rfind", "rsplit", "rstrip", "split", "startswith", "strip", "swapcase", "title"}
        | {"upper"}
    ),
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
    int: frozenset(),
    float: frozenset(),
}
BUILT = (str, list, tuple, dict)


def _meter() -> Meter:
    meter = active()
    if meter is None:  # only while compiling: the sandbox keeps these out of constant folding
        raise RuntimeError("templates run only while rendering")
    return meter


def _charge(meter: Meter, value: Any) -> Any:
    if isinstance(value, BUILT):
        meter.build(meter.measure(value))
    return value


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    meter = active()
    if meter is not None:  # sized before it is turned into text (and escaped)
        meter.check_room_to_emit(meter.measure(value, meter.room_to_emit()))
    return value


def budgeted_range(*args: int) -> range:
    """`range`, refused when it is longer than the iterations left."""
    meter = _meter()
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
    return stepping(_meter(), iter(iterable))


@pass_eval_context
def concat_budget(eval_ctx: EvalContext, *parts: Any) -> str:
    """`a ~ b`, sized first; `None` joins as empty text."""
    meter = _meter()
    parts = tuple("" if part is None else part for part in parts)
    refuse_build(meter, meter.measure(parts), "~")
    joined = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    meter.build(len(joined))
    return joined


def built_value(value: Any) -> Any:
    """A list, tuple or dict written in the template, charged as built."""
    return _charge(_meter(), value)


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the hooks above; one per autoescape mode."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(undefined=MissingValue, autoescape=autoescape, finalize=_finalize)
        self.filters = {
            **allowed_filters(),
            LOOP_FILTER: loop_budget,
            CONCAT_FILTER: concat_budget,
            BUILT_FILTER: built_value,
        }
        self.globals = {"range": budgeted_range, "dict": dict, "cycler": Cycler, "joiner": Joiner}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Builtin values expose only `SAFE_METHODS`; everything else as the sandbox decides."""
        for kind, names in SAFE_METHODS.items():
            if isinstance(obj, kind) and callable(value):
                return attr in names
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:  # noqa: ARG002 - the sandbox's signature
        """No `str.format`: its widths cannot be sized (`is_safe_attribute` refuses it)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        """The sandbox's lookup; dicts inside lead data keep their path."""
        return _with_path(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        """The sandbox's lookup; dicts inside lead data keep their path."""
        return _with_path(obj, argument, super().getitem(obj, argument))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """One step per call (but `range`); `str.replace` sized first; results charged."""
        meter = _meter()
        if __obj is not budgeted_range:  # checked by its length instead
            meter.step()
        _check_method(meter, __obj, args)
        return _charge(meter, super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`+`, `*`, `**` and `%` with their results sized before they are built."""
        meter = _meter()
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(meter, left, right)
        elif operator == "+" and isinstance(left, BUILT) and isinstance(right, BUILT):
            refuse_build(meter, meter.measure(left) + meter.measure(right), "+")
        elif operator == "%" and isinstance(left, str):
            check_printf(meter, left, right if isinstance(right, tuple) else [right])
        return _charge(meter, super().call_binop(context, operator, left, right))


def _with_path(obj: Any, name: Any, value: Any) -> Any:
    if isinstance(obj, LeadPath) and isinstance(value, dict) and not isinstance(value, LeadPath):
        return LeadPath(path_of(obj, name) or obj.path, value)
    return value


def _check_method(meter: Meter, method: Any, args: tuple[Any, ...]) -> None:
    """`str.replace` is the one allowed method whose result can outgrow its input."""
    text = getattr(method, "__self__", None)
    if getattr(method, "__name__", "") != "replace" or not isinstance(text, str):
        return
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else None
        refuse_build(meter, replaced_size(text, args[0], args[1], count), "replace")


def _check_power(base: Any, exponent: Any) -> None:
    numbers = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if numbers and exponent > 0 and base.bit_length() * exponent > MAX_NUMBER_BITS:
        raise BudgetExceeded("max_built_chars", "a power larger than about 4,300 digits")


def _check_product(meter: Meter, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, BUILT):
        left, right = right, left
    if isinstance(left, BUILT) and isinstance(right, int):
        refuse_build(meter, meter.measure(left) * max(right, 0), "*")
    elif (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_NUMBER_BITS
    ):
        raise BudgetExceeded("max_built_chars", "a product larger than about 4,300 digits")
