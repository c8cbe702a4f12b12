"""Small model pieces shared by several resources."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from shared.emails import InvalidEmail, normalize_email


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise ValueError(str(exc)) from exc


Text = Annotated[str, AfterValidator(_no_nul)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
