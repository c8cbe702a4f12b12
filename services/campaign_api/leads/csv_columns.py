"""The columns of a lead CSV file and how a row's cells become lead fields.

Columns `email` (required), `first_name`, `last_name`, `country`, `tags`
(separated by `;`) and `attributes` (a JSON object) map to the lead's fields;
every other column, named `key` or `attributes.key`, becomes an attribute.
Attribute cells are typed: `true`/`false` become booleans, canonical numbers
(`42`, `3.5`; not `007`) become numbers, anything else stays a string. An
empty cell means "not given".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from services.campaign_api.leads.fields import ATTRIBUTE_KEY, LeadFieldError, clean_lead
from services.campaign_api.leads.rows import ImportFormatError, ParsedRow

SCALAR_COLUMNS = ("email", "first_name", "last_name", "country")
TAG_SEPARATOR = ";"


def typed_cell(text: str) -> Any:
    """An attribute cell's JSON value: boolean, canonical number or string."""
    if text in ("true", "false"):
        return text == "true"
    try:
        whole = int(text)
        if str(whole) == text:
            return whole
    except ValueError:
        pass
    try:
        real = float(text)
        if math.isfinite(real) and repr(real) == text:
            return real
    except ValueError:
        pass
    return text


@dataclass(frozen=True)
class CsvHeader:
    """A validated header row: which column feeds which field."""

    width: int
    scalars: tuple[tuple[int, str], ...]
    tags: int | None
    attributes_json: int | None
    attributes: tuple[tuple[int, str], ...]

    @classmethod
    def parse(cls, names: list[str]) -> CsvHeader:
        cleaned = [name.strip().lower() for name in names]
        if "email" not in cleaned:
            raise ImportFormatError(
                f"the header has no `email` column (found: {', '.join(cleaned) or 'nothing'}; "
                "columns are separated by commas)",
                1,
            )
        seen: set[str] = set()
        scalars: list[tuple[int, str]] = []
        attributes: list[tuple[int, str]] = []
        tags = attributes_json = None
        for index, name in enumerate(cleaned):
            if name in seen:
                raise ImportFormatError(f"duplicate column {name!r} in the header", 1)
            seen.add(name)
            if name in SCALAR_COLUMNS:
                scalars.append((index, name))
            elif name == "tags":
                tags = index
            elif name == "attributes":
                attributes_json = index
            else:
                key = name.removeprefix("attributes.")
                if not ATTRIBUTE_KEY.match(key):
                    raise ImportFormatError(
                        f"column {names[index]!r} is neither a lead field nor a valid attribute "
                        f"name ({ATTRIBUTE_KEY.pattern})",
                        1,
                    )
                attributes.append((index, key))
        return cls(len(cleaned), tuple(scalars), tags, attributes_json, tuple(attributes))

    def row(self, line: int, cells: list[str]) -> ParsedRow:
        if len(cells) != self.width:
            return ParsedRow(line, None, f"expected {self.width} fields, got {len(cells)}")
        try:
            return ParsedRow(line, clean_lead(self._raw(cells)))
        except LeadFieldError as exc:
            return ParsedRow(line, None, str(exc))

    def _raw(self, cells: list[str]) -> dict[str, Any]:
        raw: dict[str, Any] = {name: cells[i] or None for i, name in self.scalars}
        if self.tags is not None and cells[self.tags]:
            tags = [t for t in cells[self.tags].split(TAG_SEPARATOR) if t.strip()]
            raw["tags"] = tags or None
        attributes: dict[str, Any] = {}
        if self.attributes_json is not None and cells[self.attributes_json]:
            try:
                attributes = orjson.loads(cells[self.attributes_json])
            except orjson.JSONDecodeError as exc:
                raise LeadFieldError("attributes", f"invalid JSON: {exc}") from exc
            if not isinstance(attributes, dict):
                raise LeadFieldError("attributes", "expected a JSON object")
        for index, key in self.attributes:
            if cells[index]:
                attributes[key] = typed_cell(cells[index])
        if attributes:
            raw["attributes"] = attributes
        return raw
