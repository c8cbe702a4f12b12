"""A lead as a template sees it: its fields, and names for the values it lacks.

Every render goes through `template_context`, and every lead row becomes
variables through `lead_merge_vars`, so a lead's fields mean the same in a
preview, a launch check and a sent email. An empty field is empty text; a
JSON null inside attributes stays `None`, which the environment renders as
empty text; `default` replaces both. A value the lead does not have at all
(an attribute key it lacks) is a `MissingValue`, whose error names the path
(`attributes.company is missing`) so failures can be counted per variable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import orjson
from jinja2 import StrictUndefined, UndefinedError
from jinja2.utils import missing

from shared.templating.errors import MISSING, MissingVariable

TEXT_COLUMNS = ("first_name", "last_name", "country")  # text, empty text when NULL
LEAD_FIELDS = frozenset({"email", "first_name", "last_name", "country", "tags", "attributes"})
ALWAYS_DEFINED = frozenset({"unsubscribe_url"})
KNOWN_VARIABLES = LEAD_FIELDS | ALWAYS_DEFINED


class LeadPath(dict[str, Any]):
    """A dict of lead data that knows its path (`attributes`, `attributes.company`)."""

    def __init__(self, path: str, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.path = path


def path_of(parent: Any, name: Any) -> str | None:
    """The dotted path of `parent[name]` when `parent` is lead data or the context."""
    if parent is missing and isinstance(name, str):
        return name
    if not isinstance(parent, LeadPath):
        return None
    if isinstance(name, str) and name.isidentifier():
        return f"{parent.path}.{name}"
    return f"{parent.path}[{name!r}]"


class MissingValue(StrictUndefined):
    """Strict like `StrictUndefined`; lead data it stands for is reported by path."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = UndefinedError,
    ) -> None:
        path = path_of(obj, name) if hint is None and exc is UndefinedError else None
        if path is not None:
            hint, exc = f"{path}{MISSING}", MissingVariable
        super().__init__(hint, obj, name, exc)  # type: ignore[arg-type]


def lead_merge_vars(
    row: Mapping[str, Any], fields: Collection[str] | None = None
) -> dict[str, Any]:
    """The template variables of one lead row (attributes as JSON text or already parsed):
    `email` and, of the other fields, those in `fields` (every one when None). A template
    reads only the fields it names (`shared.templating.usage.fields_read`), so a field it
    does not name need not be read, parsed or sent."""
    wanted = LEAD_FIELDS if fields is None else fields
    found: dict[str, Any] = {"email": row["email"]}
    for name in TEXT_COLUMNS:
        if name in wanted:
            found[name] = row[name] or ""
    if "tags" in wanted:
        found["tags"] = list(row["tags"] or [])
    if "attributes" in wanted:
        attributes = row["attributes"]
        if isinstance(attributes, str | bytes):
            attributes = orjson.loads(attributes)
        found["attributes"] = attributes or {}
    return found


def template_context(merge_vars: Mapping[str, Any], unsubscribe_url: str) -> dict[str, Any]:
    """What one render sees: the lead's fields with defaults, and its unsubscribe link."""
    context: dict[str, Any] = {"tags": [], **merge_vars, "unsubscribe_url": unsubscribe_url}
    context["attributes"] = LeadPath("attributes", merge_vars.get("attributes") or {})
    return context
