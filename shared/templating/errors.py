"""What can go wrong with a template: at save (`TemplateError`) and per email (`RenderError`).

A render failure says whose fault it is (`RenderErrorKind`): this lead's data
(a value it lacks or that does not fit), the render budget, or the template
itself. The sender uses the kind to tell a campaign-wide problem from a few
odd leads; the launch check uses `variable` to count the leads that lack it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from jinja2 import UndefinedError

MISSING = " is missing"


class TemplateError(ValueError):
    """A template that cannot be saved or rendered, with the part and line at fault."""

    def __init__(self, part: str, message: str, line: int | None = None) -> None:
        where = f"{part} line {line}" if line is not None else part
        super().__init__(f"{where}: {message}")
        self.part = part
        self.line = line
        self.message = message

    def __reduce__(self) -> tuple[type[TemplateError], tuple[str, str, int | None]]:
        # rebuilt from its fields, so it survives the trip back from a worker process
        return type(self), (self.part, self.message, self.line)


class RenderErrorKind(StrEnum):
    """Whose fault a render failure is."""

    LEAD_DATA = "lead_data"  # a value this lead lacks, or one that does not fit the template
    BUDGET = "budget"  # the render budget (time, output, iterations, built size) ran out
    TEMPLATE = "template"  # the template does something never allowed (an unsafe attribute)


class RenderError(TemplateError):
    """One email could not be rendered: the part, line, kind and the variable or limit."""

    def __init__(
        self,
        part: str,
        message: str,
        line: int | None,
        kind: RenderErrorKind,
        variable: str | None = None,
        limit: str | None = None,
    ) -> None:
        super().__init__(part, message, line)
        self.kind = kind
        self.variable = variable  # the missing value's path, e.g. "attributes.company"
        self.limit = limit  # the `TemplateLimits` field that ran out, for a budget failure

    def __reduce__(self) -> tuple[type[RenderError], tuple[Any, ...]]:
        fields = (self.part, self.message, self.line, self.kind, self.variable, self.limit)
        return type(self), fields


class BudgetExceeded(Exception):
    """Raised inside rendering when one of the limits is reached; `limit` names the setting."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class MissingVariable(UndefinedError):
    """A lead lacks a value the template uses; the message is "<variable> is missing"."""

    @property
    def variable(self) -> str:
        """The dotted path of the value, e.g. `attributes.company`."""
        return str(self.message or "").removesuffix(MISSING)
