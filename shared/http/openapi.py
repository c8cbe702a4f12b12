"""The OpenAPI schema of Fanout's HTTP APIs: examples on every operation, and the
behaviour middlewares add, declared on the operations it applies to.

    install_openapi(app, declare_idempotency)   # in create_app, after the routes

- Each JSON request body and JSON answer gets the example of its schema as the
  operation's own example: the models' `examples`, assembled for wrappers that have
  none (`Page[Lead]` is a page of the `Lead` example).
- Each problem answer gets an example problem document of its status.
- Each hook sees every operation (`method`, `path`, the operation object) once, when
  the schema is first built, to declare what routes cannot (a middleware's header).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from shared.http.problem_document import MEDIA_TYPE, title

Operation = dict[str, Any]
OperationHook = Callable[[str, str, Operation], None]
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SCALARS: dict[str, Any] = {"string": "text", "integer": 0, "number": 0, "boolean": False}
FORMATS = {
    "uuid": "8c5d1f3e-3b7a-4f0e-9a53-3b7a5d2f9c10",
    "date-time": "2026-11-23T09:00:00Z",
    "email": "ada@example.com",
}
DETAILS = {
    400: "the statement is not one query this endpoint runs",
    401: "missing or invalid credentials",
    404: "campaign not found",
    409: "only drafts can be edited; this one is sending",
    413: "request body larger than 1048576 bytes",
    415: "send text/csv or application/x-ndjson, or pass ?format= (got text/plain)",
    422: "body.email: value is not a valid email address",
    429: "rate limit of this API key exceeded (1000 per 1 minute); retry in 12 s",
    503: "the count took longer than its time limit; retry later",
}


def problem_answer(status: int) -> dict[str, Any]:
    """An OpenAPI response object for a problem document of `status`, with its example."""
    return {"description": title(status), "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def install_openapi(app: FastAPI, *hooks: OperationHook) -> None:
    """Build the app's schema with `hooks` applied and examples on every operation."""
    built = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = built()  # FastAPI caches this very dict as app.openapi_schema
            schemas = spec.get("components", {}).get("schemas", {})
            for schema in schemas.values():
                for example in schema.get("examples", []):
                    _restore_nulls(example, schema)
            for path, operations in spec["paths"].items():
                for method, operation in operations.items():
                    for hook in hooks:
                        hook(method, path, operation)
                    _add_examples(operation, schemas)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _add_examples(operation: Operation, schemas: dict[str, Any]) -> None:
    bodies = [operation.get("requestBody", {})]
    for status, answer in operation.get("responses", {}).items():
        if int(status) < 400:
            bodies.append(answer)
            continue
        for media in answer.get("content", {}).values():  # problem+json, and FastAPI's json
            media.setdefault("example", _problem_example(int(status)))
    for body in bodies:
        media = body.get("content", {}).get("application/json")
        if media and "schema" in media and "example" not in media and "examples" not in media:
            example = example_of(media["schema"], schemas)
            if example is not None:
                media["example"] = example


def _restore_nulls(example: Any, schema: dict[str, Any]) -> None:
    """Put back the nulls of a model's example: FastAPI drops every None from the schema
    (`exclude_none`), so `"completed_at": null` vanished and the example lost a required
    property."""
    if not isinstance(example, dict):
        return
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        options = properties.get(name, {}).get("anyOf", [])
        if name not in example and {"type": "null"} in options:
            example[name] = None


def _problem_example(status: int) -> dict[str, Any]:
    detail = DETAILS.get(status, title(status))
    return {"type": "about:blank", "title": title(status), "status": status, "detail": detail}


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """An example value of `schema`: its own example, else one assembled from its parts."""
    if depth > 8:
        return None
    if "$ref" in schema:
        return example_of(schemas.get(schema["$ref"].rsplit("/", 1)[-1], {}), schemas, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if "enum" in schema:
        return schema["enum"][0]
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf") or []
    for option in options:
        if option.get("type") != "null":
            return example_of(option, schemas, depth + 1)
    kind = schema.get("type")
    if kind == "array":
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        return [] if item is None else [item]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {}).items()
        return {name: example_of(sub, schemas, depth + 1) for name, sub in properties}
    return FORMATS.get(schema.get("format", ""), SCALARS.get(kind or ""))
