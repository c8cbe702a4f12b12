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
from functools import lru_cache
from typing import Any

import orjson

from services.campaign_api.leads.fields import (
    ATTRIBUTE_KEY,
    LeadFieldError,
    LeadRecord,
    clean_country,
    clean_email,
    clean_name,
    clean_tags,
    encode_attributes,
)
from services.campaign_api.leads.rows import ImportFormatError, RowBatch

SCALAR_COLUMNS = ("email", "first_name", "last_name", "country")
TAG_SEPARATOR = ";"


@lru_cache(maxsize=65_536)  # attribute cells repeat (plans, ages, flags): parse each once
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


@lru_cache(maxsize=4096)  # a file holds a few tag combinations, each on many rows
def _cell_tags(cell: str) -> tuple[str, ...] | None:
    tags = clean_tags([t for t in cell.split(TAG_SEPARATOR) if t.strip()] or None)
    return tuple(tags) if tags is not None else None


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

    def add_row(self, batch: RowBatch, line: int, cells: list[str]) -> None:
        """Validate one data line into `batch`: a record, or its line and the reason."""
        if len(cells) != self.width:
            batch.rejected.append((line, f"expected {self.width} fields, got {len(cells)}"))
            return
        try:
            batch.records.append(self._record(cells))
        except LeadFieldError as exc:
            batch.rejected.append((line, str(exc)))

    def _record(self, cells: list[str]) -> LeadRecord:
        # the checks run in the order of `fields.clean_lead` so a row reports the same error
        attributes: dict[str, Any] | None = None
        if self.attributes_json is not None and cells[self.attributes_json]:
            try:
                attributes = orjson.loads(cells[self.attributes_json])
            except orjson.JSONDecodeError as exc:
                raise LeadFieldError("attributes", f"invalid JSON: {exc}") from exc
            if not isinstance(attributes, dict):
                raise LeadFieldError("attributes", "expected a JSON object")
        for index, key in self.attributes:
            if cells[index]:
                if attributes is None:
                    attributes = {}
                attributes[key] = typed_cell(cells[index])
        scalars = {name: cells[i] or None for i, name in self.scalars}
        email = clean_email(scalars["email"])
        first_name = clean_name("first_name", scalars.get("first_name"))
        last_name = clean_name("last_name", scalars.get("last_name"))
        country = clean_country(scalars.get("country"))
        tags = None
        if self.tags is not None and cells[self.tags]:
            cell_tags = _cell_tags(cells[self.tags])
            tags = list(cell_tags) if cell_tags is not None else None
        text = None
        if attributes:
            # keys of attribute columns were checked with the header; JSON ones are not yet
            text = encode_attributes(attributes, keys_checked=self.attributes_json is None)
        return email, first_name, last_name, country, tags, text
