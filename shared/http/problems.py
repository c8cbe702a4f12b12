"""Every 4xx/5xx answer of Fanout's HTTP services is an RFC 9457 problem document.

    {"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
     "detail": "body.condition.all[0].field: unknown field 'plan'",
     "errors": [{"loc": ["body", "condition", "all", 0, "field"], "msg": "...", "type": "..."}]}

`detail` is always a human-readable string; `errors` (an extension member) lists
the fields at fault, in FastAPI's `loc`/`msg`/`type` shape, so a client finds the
path of every bad field in one place whatever the route. Routes raise
`ProblemError` (or FastAPI's `HTTPException`); `install_problem_handlers` turns both,
and request-validation failures, into `application/problem+json` answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One field at fault: where it is, what is wrong, and a machine-readable kind."""

    loc: list[str | int] = Field(description="Path of the field, e.g. ['body', 'email'].")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A stable machine-readable kind of error.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
            ]
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


class ProblemError(Exception):
    """Raise from a route or dependency to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.extra = dict(extra) if extra is not None else None
        self.headers = dict(headers) if headers is not None else None


def field_error(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> FieldError:
    """A `FieldError` at `loc`."""
    return FieldError(loc=list(loc), msg=msg, type=kind)


def invalid(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> ProblemError:
    """A 422 naming one field at fault (the common case of a domain check in a route)."""
    where = ".".join(str(part) for part in loc)
    return ProblemError(422, f"{where}: {msg}", errors=[field_error(loc, msg, kind)])


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldError] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The `application/problem+json` answer itself."""
    body = Problem(
        title=_title(status),
        status=status,
        detail=detail,
        errors=list(errors) if errors is not None else None,
        extra=dict(extra) if extra is not None else None,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type=MEDIA_TYPE,
    )


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
    where = ".".join(str(part) for part in first.loc)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.msg}{more}"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status, exc.detail, errors=exc.errors, extra=exc.extra, headers=exc.headers
    )


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    return problem_response(422, summary(errors), errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer `ProblemError`, `HTTPException` and validation failures as problem documents."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for `statuses`, each a problem document."""
    return {
        status: {
            "model": Problem,
            "description": _title(status),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
