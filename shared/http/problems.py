"""Every 4xx/5xx answer of Fanout's HTTP services is an RFC 9457 problem document.

    {"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
     "detail": "body.condition.all[0].field: unknown field 'plan'",
     "errors": [{"loc": ["body", "condition", "all", 0, "field"], "msg": "...", "type": "..."}]}

`detail` is always a human-readable string; `errors` (an extension member) lists
the fields at fault, in FastAPI's `loc`/`msg`/`type` shape, so a client finds the
path of every bad field in one place whatever the route; `extra` carries facts of
one kind of problem (a campaign's current state). Routes raise `ProblemError` (or
FastAPI's `HTTPException`); `install_problem_handlers` turns both, request-validation
failures and unexpected errors into `application/problem+json` answers, and
`problem_for` maps a domain exception to its problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.http.problem_document import (
    MEDIA_TYPE,
    FieldError,
    Problem,
    summary,
    title,
    validation_errors,
)

__all__ = [
    "MEDIA_TYPE",
    "FieldError",
    "Problem",
    "ProblemError",
    "field_error",
    "install_problem_handlers",
    "invalid",
    "problem_for",
    "problem_response",
    "problem_responses",
    "validation_problem",
]

E = TypeVar("E", bound=Exception)


class ProblemError(StarletteHTTPException):
    """Raise from a route, dependency or middleware to answer with a problem document.

    An `HTTPException`, so FastAPI lets it through where it wraps other errors
    (a middleware refusing a body while FastAPI reads it).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, dict(headers) if headers is not None else None)
        self.status = status
        self.errors = list(errors) if errors is not None else None
        self.extra = dict(extra) if extra is not None else None


def field_error(
    loc: Sequence[str | int],
    msg: str,
    kind: str = "value_error",
    *,
    line: int | None = None,
    path: str | None = None,
) -> FieldError:
    """A `FieldError` at `loc` (`line`/`path`: where inside the field's value)."""
    return FieldError(loc=list(loc), msg=msg, type=kind, line=line, path=path)


def invalid(
    loc: Sequence[str | int],
    msg: str,
    kind: str = "value_error",
    *,
    line: int | None = None,
    path: str | None = None,
) -> ProblemError:
    """A 422 naming one field at fault (the common case of a domain check in a route)."""
    error = field_error(loc, msg, kind, line=line, path=path)
    return ProblemError(422, summary([error]), errors=[error])


def validation_problem(raw: Sequence[Any], *, under: Sequence[str | int] = ()) -> ProblemError:
    """A 422 from pydantic's `errors()`; `under` prefixes each location (e.g. `["body"]`)."""
    errors = validation_errors(raw)
    for error in errors:
        error.loc = [*under, *error.loc]
    return ProblemError(422, summary(errors), errors=errors)


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
        title=title(status),
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


def _respond(problem: ProblemError) -> JSONResponse:
    return problem_response(
        problem.status,
        problem.detail,
        errors=problem.errors,
        extra=problem.extra,
        headers=problem.headers,
    )


def problem_for(app: FastAPI, kind: type[E], convert: Callable[[E], ProblemError]) -> None:
    """Answer the domain exception `kind` with the problem `convert` makes of it."""

    async def handler(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, kind)
        return _respond(convert(exc))

    app.add_exception_handler(kind, handler)


async def _on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return _respond(exc)


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else title(exc.status_code)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _respond(validation_problem(exc.errors()))


async def _on_unexpected(_: Request, __: Exception) -> JSONResponse:
    # Starlette logs and re-raises the error after this answer; the client learns nothing
    # of the internals.
    return problem_response(500, "internal error; the service logged it")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer `ProblemError`, `HTTPException`, validation failures and crashes as problems."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for `statuses`, each a problem document."""
    return {
        status: {
            "model": Problem,
            "description": title(status),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
