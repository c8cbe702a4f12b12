"""A JSON request body read by a dependency, so the checks declared before it run first.

FastAPI reads and validates a body parameter before it solves any dependency: an
unauthenticated request's body would be read in full before its 401. A route that
must check its caller before reading (an admin endpoint) declares those checks, then
`Annotated[Model, Depends(json_body(Model))]`, and documents the body with
`openapi_extra=json_body_doc(Model)`. Invalid JSON or fields answer the same 422
problem as FastAPI's own body validation, located under `body`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from shared.http.problems import validation_problem

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency reading the request body as `model` (422 problem when invalid)."""

    async def dependency(request: Request) -> M:
        raw = await request.body()
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise validation_problem(exc.errors(include_url=False), under=["body"]) from None

    dependency.__name__ = f"body_{model.__name__}"
    return dependency


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting `model` as the route's required JSON body."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
