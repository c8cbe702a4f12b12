"""The rules a lead's fields follow, shared by the JSON API and the bulk importer.

Plain functions rather than a pydantic model, because the importer applies
them to a million rows and every microsecond counts there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from shared.emails import InvalidEmail, normalize_email

MAX_NAME = 200
MAX_TAG = 64
MAX_TAGS = 100
MAX_ATTRIBUTES_BYTES = 16 * 1024
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
FIELDS = frozenset({"email", "first_name", "last_name", "country", "tags", "attributes"})


class LeadFieldError(ValueError):
    """A field value a lead cannot have; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# A validated lead as the importer COPYs it: email, first_name, last_name, country, tags,
# attributes (JSON text). None means "not given" (an import never erases with it).
LeadRecord = tuple[str, str | None, str | None, str | None, list[str] | None, str | None]


def clean_email(value: object) -> str:
    if not isinstance(value, str):
        raise LeadFieldError("email", "expected a string")
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise LeadFieldError("email", str(exc)) from exc


def clean_name(field: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise LeadFieldError(field, "expected a string")
    text = value.strip()
    if "\x00" in text:
        raise LeadFieldError(field, "NUL characters are not allowed")
    if len(text) > MAX_NAME:
        raise LeadFieldError(field, f"longer than {MAX_NAME} characters")
    return text or None


def clean_country(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LeadFieldError("country", "expected a 2-letter ISO 3166-1 code such as 'DE'")
    return _country(value)


@lru_cache(maxsize=4096)  # an import repeats a few dozen codes a million times
def _country(value: str) -> str:
    if not COUNTRY.match(value.strip()):
        raise LeadFieldError("country", "expected a 2-letter ISO 3166-1 code such as 'DE'")
    return value.strip().upper()


def clean_tags(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise LeadFieldError("tags", "expected a list of strings")
    tags: dict[str, None] = {}
    for tag in value:
        if (
            not isinstance(tag, str)
            or not tag.strip()
            or len(tag.strip()) > MAX_TAG
            or "\x00" in tag
        ):
            raise LeadFieldError("tags", f"each tag must be a non-empty string of <= {MAX_TAG}")
        tags[tag.strip()] = None
    if len(tags) > MAX_TAGS:
        raise LeadFieldError("tags", f"at most {MAX_TAGS} tags")
    return list(tags)


def clean_attributes(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise LeadFieldError("attributes", "expected a JSON object")
    encode_attributes(value)
    return value


@lru_cache(maxsize=4096)  # keys repeat on every row of an import
def _valid_key(key: str) -> bool:
    return ATTRIBUTE_KEY.match(key) is not None


def encode_attributes(value: dict[Any, Any], *, keys_checked: bool = False) -> str:
    """`value` (a dict) as the JSON text stored, after the attribute rules.

    `keys_checked`: the keys were validated already (a CSV header's attribute columns).
    """
    if not keys_checked:
        for key in value:
            if not isinstance(key, str) or not _valid_key(key):
                raise LeadFieldError(
                    "attributes", f"key {key!r} must match {ATTRIBUTE_KEY.pattern} (letters, _)"
                )
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise LeadFieldError("attributes", f"not JSON-encodable: {exc}") from exc
    if len(encoded) > MAX_ATTRIBUTES_BYTES:
        raise LeadFieldError("attributes", f"larger than {MAX_ATTRIBUTES_BYTES} bytes as JSON")
    if b"\\u0000" in encoded:
        raise LeadFieldError("attributes", "NUL characters are not allowed")
    return encoded.decode()


def clean_lead(raw: Mapping[str, Any]) -> LeadRecord:
    """A validated `LeadRecord` from a mapping of field names; unknown fields are errors."""
    unknown = raw.keys() - FIELDS
    if unknown:
        raise LeadFieldError(
            sorted(unknown)[0], f"unknown field (known: {', '.join(sorted(FIELDS))})"
        )
    if "email" not in raw:
        raise LeadFieldError("email", "required")
    email = clean_email(raw["email"])
    first_name = clean_name("first_name", raw.get("first_name"))
    last_name = clean_name("last_name", raw.get("last_name"))
    country = clean_country(raw.get("country"))
    tags = clean_tags(raw.get("tags"))
    attributes = raw.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise LeadFieldError("attributes", "expected a JSON object")
    text = encode_attributes(attributes) if attributes is not None else None
    return email, first_name, last_name, country, tags, text
