"""The RFC 9457 problem document itself: its model, and its fields built from errors.

Kept apart from the handlers (`shared.http.problems`) so clients and the OpenAPI
schema can use the shape without the FastAPI wiring.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

from shared.http.examples import example_config

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One field at fault: where it is, what is wrong, and a machine-readable kind."""

    loc: list[str | int] = Field(description="Path of the field, e.g. ['body', 'email'].")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A stable machine-readable kind of error.")
    line: int | None = Field(None, description="The line at fault in a text field or file.")
    path: str | None = Field(
        None, description="The JSON path at fault inside the field's value, e.g. '$.all[1]'."
    )


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = example_config(
        {
            "type": "about:blank",
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "body.email: value is not a valid email address",
            "errors": [
                {
                    "loc": ["body", "email"],
                    "msg": "value is not a valid email address",
                    "type": "value_error",
                }
            ],
        }
    )

    type: str = Field("about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, for a person.")
    errors: list[FieldError] | None = Field(
        None, description="The fields at fault (validation errors)."
    )
    extra: dict[str, Any] | None = Field(
        None, description="Facts specific to this problem (e.g. the campaign's current state)."
    )


def title(status: int) -> str:
    """The status phrase (`Conflict` for 409)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_errors(raw: Sequence[Any]) -> list[FieldError]:
    """FastAPI/pydantic validation errors as `FieldError`s."""
    return [
        FieldError(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "")),
            type=str(e.get("type", "value_error")),
        )
        for e in raw
    ]


def summary(errors: Sequence[FieldError]) -> str:
    """One line naming the first field at fault (and how many more there are)."""
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.loc) or "body"
    if first.line is not None:
        where += f" line {first.line}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.msg}{more}"
