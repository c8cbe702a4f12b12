"""The Jinja2 sandbox Fanout renders with: every way a template spends time or memory is metered.

The hooks the sandbox offers are all used (the work itself is in `hooks.py`):

- `call`: every call is a step (loop iterations and calls share one budget);
  `str.replace` is sized before it runs; results are charged as built text.
- `call_binop` for `+`, `*`, `**` and `%`: repeated or joined text and lists,
  big powers and printf widths are sized before they are built.
- `getattr`/`getitem`: builtin types expose only a short list of harmless
  methods (no `str.format`, no `center`); lead data keeps its path for errors.
- `finalize`: `None` renders as empty text; a value is sized before it becomes output.
- filters: only those in `filters.py`, each guarded; globals: `range` checks its
  length against the iterations left; `lipsum` and `namespace` are not offered.

Loops, `~` and list literals have no hook, so compiling rewrites them
(`rewrite.py`) into the filters `LOOP_FILTER`, `CONCAT_FILTER` and `BUILT_FILTER`.
"""

from __future__ import annotations

from typing import Any

from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner

from shared.templating import hooks
from shared.templating.filters import allowed_filters
from shared.templating.lead import MissingValue
from shared.templating.meter import current
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


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the budget's hooks; one per autoescape mode."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(undefined=MissingValue, autoescape=autoescape, finalize=hooks.finalize)
        self.filters = {
            **allowed_filters(),
            LOOP_FILTER: hooks.loop_budget,
            CONCAT_FILTER: hooks.concat_budget,
            BUILT_FILTER: hooks.built_value,
        }
        self.globals = {
            "range": hooks.budgeted_range,
            "dict": dict,
            "cycler": Cycler,
            "joiner": Joiner,
        }

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
        return hooks.with_path(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        """The sandbox's lookup; dicts inside lead data keep their path."""
        return hooks.with_path(obj, argument, super().getitem(obj, argument))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """One step per call (but `range`); `str.replace` sized first; results charged."""
        meter = current()
        if __obj is not hooks.budgeted_range:  # checked by its length instead
            meter.step()
        hooks.check_method(meter, __obj, args)
        return hooks.charge(meter, super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`+`, `*`, `**` and `%` with their results sized before they are built."""
        meter = current()
        hooks.check_operator(meter, operator, left, right)
        return hooks.charge(meter, super().call_binop(context, operator, left, right))
